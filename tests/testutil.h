/* testutil.h - helpers shared by the black-box Check suites of libmyalloc.
 *
 * Everything here is a static inline function, so that each suite stays one
 * self-contained program.  The helpers know the library only through its
 * public header and through the sizes its manual documents:
 *
 *   size classes  requests 0..4096 bytes, 48 classes: 16..128 in steps of
 *                 16, then 8 classes per doubling up to 4096;
 *   buddy blocks  requests 4097 bytes .. 1 MiB: the next power of two, at
 *                 least 8 KiB (orders 0..9 are 4 KiB .. 2 MiB);
 *   huge blocks   above 1 MiB: the request rounded up to 4 KiB.
 *
 * Content checks use a pattern that depends on a seed and on the position
 * inside the block, never on the address, so that a block keeps its pattern
 * when realloc moves it and a copy made to the wrong offset is caught.
 */
#ifndef MYALLOC_TESTUTIL_H
#define MYALLOC_TESTUTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <myalloc.h>

#define TU_KIB ((size_t)1024)
#define TU_MIB ((size_t)1024 * 1024)
#define TU_GIB ((size_t)1024 * 1024 * 1024)

#define TU_PAGE ((size_t)4096)      /* the library's page */
#define TU_ALIGN ((size_t)16)       /* alignment of every block */
#define TU_SMALL_MAX ((size_t)4096) /* largest size-class request */
#define TU_BUDDY_MIN ((size_t)8192) /* smallest buddy block handed out */
#define TU_BUDDY_MAX TU_MIB         /* largest buddy request */
#define TU_NCLASSES 48u
#define TU_NORDERS 10u

/* ------------------------------------------------------------ sizes -- */

/* The documented size class of a request of n <= 4096 bytes. */
static inline size_t tu_class_size(size_t n)
{
    size_t top, step;

    if (n <= 128)
        return n == 0 ? 16 : (n + 15) & ~(size_t)15;
    top = 256;
    while (top < n)
        top <<= 1;
    step = top / 16;
    return (n + step - 1) / step * step;
}

/* The index of that class in my_stats.classes[]. */
static inline unsigned tu_class_index(size_t n)
{
    size_t size = tu_class_size(n), top = 256, step;
    unsigned group = 0;

    if (size <= 128)
        return (unsigned)(size / 16 - 1);
    while (top < size) {
        top <<= 1;
        group++;
    }
    step = top / 16;
    return 8u + group * 8u + (unsigned)((size - top / 2) / step) - 1u;
}

/* All 48 class sizes in increasing order. */
static inline void tu_class_table(size_t out[TU_NCLASSES])
{
    unsigned i = 0;
    size_t n;

    for (n = 16; n <= TU_SMALL_MAX; n = tu_class_size(n + 1))
        out[i++] = n;
}

/* The documented buddy block for 4096 < n <= 1 MiB. */
static inline size_t tu_buddy_size(size_t n)
{
    size_t b = TU_BUDDY_MIN;

    while (b < n)
        b <<= 1;
    return b;
}

/* The buddy order of a block of that size (block = 4096 << order). */
static inline unsigned tu_buddy_order(size_t block)
{
    unsigned k = 0;

    while ((TU_PAGE << k) < block)
        k++;
    return k;
}

/* The documented usable size of my_malloc(n), for any n. */
static inline size_t tu_expected_usable(size_t n)
{
    if (n <= TU_SMALL_MAX)
        return tu_class_size(n);
    if (n <= TU_BUDDY_MAX)
        return tu_buddy_size(n);
    return (n + TU_PAGE - 1) & ~(TU_PAGE - 1);
}

static inline int tu_is_aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* ----------------------------------------------------- random numbers -- */

/* splitmix64: tiny, deterministic, good enough to pick sizes and seeds. */
static inline uint64_t tu_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A uniform value in [lo, hi]. */
static inline size_t tu_rand_range(uint64_t *state, size_t lo, size_t hi)
{
    return lo + (size_t)(tu_rand(state) % (uint64_t)(hi - lo + 1));
}

/* A request size across all regimes: buddy_percent per cent buddy sizes
 * (spread evenly over the orders), huge_per_mille per thousand huge ones of
 * up to huge_max bytes, and the rest small (one in eight anywhere in
 * 0..4096, the others in 0..512, as real programs ask). */
static inline size_t tu_rand_size(uint64_t *state, unsigned buddy_percent,
                                  unsigned huge_per_mille, size_t huge_max)
{
    unsigned r = (unsigned)(tu_rand(state) % 1000);

    if (r < huge_per_mille)
        return tu_rand_range(state, TU_BUDDY_MAX + 1, huge_max);
    if (r < huge_per_mille + buddy_percent * 10u) {
        size_t top = TU_BUDDY_MIN << tu_rand_range(state, 0, 7);
        size_t lo = top == TU_BUDDY_MIN ? TU_SMALL_MAX + 1 : top / 2 + 1;
        return tu_rand_range(state, lo, top);
    }
    if (r % 8 == 0)
        return tu_rand_range(state, 0, TU_SMALL_MAX);
    return tu_rand_range(state, 0, 512);
}

/* ------------------------------------------------------------ content -- */

/* Hide a pointer's origin from the compiler.  Tests write the whole
 * usable size of a block, which may exceed the size asked for and so the
 * size that the alloc_size attribute tells the compiler; and some make
 * deliberately bad calls (freeing a stack address, using a freed pointer).
 * Laundered, such code compiles without the warnings (and the fortified
 * checks) that would rightly flag it in ordinary programs. */
static inline void *tu_launder(void *p)
{
    void *volatile v = p;

    return v;
}

/* The same for a size: an absurd constant size passed to a call marked
 * alloc_size would otherwise be reported at compile time. */
static inline size_t tu_hide_size(size_t n)
{
    volatile size_t v = n;

    return v;
}

/* The 64-bit word at word index j of the pattern for seed. */
static inline uint64_t tu_pattern_word(uint64_t seed, size_t j)
{
    uint64_t w = (seed ^ UINT64_C(0x5851F42D4C957F2D)) +
                 (uint64_t)j * UINT64_C(0x9E3779B97F4A7C15);

    w ^= w >> 29;
    w *= UINT64_C(0xBF58476D1CE4E5B9);
    return w ^ (w >> 32);
}

/* Write the pattern of seed over n bytes at p. */
static inline void tu_fill(void *p, size_t n, uint64_t seed)
{
    unsigned char *b = tu_launder(p);
    size_t j, words = n / 8;

    for (j = 0; j < words; j++) {
        uint64_t w = tu_pattern_word(seed, j);
        memcpy(b + j * 8, &w, 8);
    }
    if (n % 8) {
        uint64_t w = tu_pattern_word(seed, words);
        memcpy(b + words * 8, &w, n % 8);
    }
}

/* Write the pattern of seed over bytes [from, n) at p only, continuing a
 * prefix written earlier (after a realloc, say). */
static inline void tu_fill_from(void *p, size_t from, size_t n, uint64_t seed)
{
    unsigned char *b = tu_launder(p);
    size_t j;

    for (; from < n && from % 8 != 0; from++)
        b[from] = (unsigned char)(tu_pattern_word(seed, from / 8) >>
                                  (from % 8 * 8));
    for (j = from / 8; j < n / 8; j++) {
        uint64_t w = tu_pattern_word(seed, j);
        memcpy(b + j * 8, &w, 8);
    }
    for (from = from > n / 8 * 8 ? from : n / 8 * 8; from < n; from++)
        b[from] = (unsigned char)(tu_pattern_word(seed, from / 8) >>
                                  (from % 8 * 8));
}

/* The offset of the first byte of [p, p + n) that differs from the
 * pattern of seed, or SIZE_MAX when all match. */
static inline size_t tu_verify(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    size_t j, k, words = n / 8;

    for (j = 0; j <= words; j++) {
        uint64_t w = tu_pattern_word(seed, j), got;
        size_t len = j < words ? 8 : n % 8;

        if (len == 0)
            break;
        got = 0;
        memcpy(&got, b + j * 8, len);
        if (len < 8)
            w &= (UINT64_C(1) << (len * 8)) - 1;
        if (got != w) {
            for (k = 0; k < len; k++)
                if (b[j * 8 + k] != ((const unsigned char *)&w)[k])
                    return j * 8 + k;
        }
    }
    return SIZE_MAX;
}

/* The offset of the first byte of [p, p + n) that is not c, or SIZE_MAX. */
static inline size_t tu_find_not(const void *p, size_t n, unsigned char c)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        if (b[i] != c)
            return i;
    return SIZE_MAX;
}

/* A seed derived from an address and a salt. */
static inline uint64_t tu_seed_of(const void *p, uint64_t salt)
{
    uint64_t s = (uint64_t)(uintptr_t)p ^ (salt * UINT64_C(0xD6E8FEB86659FD93));

    return tu_rand(&s);
}

/* Assert cond quietly.  Every passing ck_assert*() records its place
 * through a write to Check's parent process, which costs a system call; in
 * loops that run millions of times that dominates the run time.  This one
 * calls into Check only when it fails. */
#define tu_check(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond))                                                          \
            ck_abort_msg(__VA_ARGS__);                                        \
    } while (0)

/* Assert that p holds the pattern of seed over n bytes. */
#define tu_assert_pattern(p, n, seed)                                         \
    do {                                                                      \
        size_t tu_bad_ = tu_verify((p), (n), (seed));                         \
        tu_check(tu_bad_ == SIZE_MAX,                                         \
                 "block %p of %zu bytes: pattern broken at offset %zu",       \
                 (void *)(p), (size_t)(n), tu_bad_);                          \
    } while (0)

/* ------------------------------------------------------------- stats -- */

static inline void tu_stats(struct my_stats *st)
{
    memset(st, 0, sizeof *st);
    ck_assert_int_eq(my_stats_get(st, sizeof *st), 0);
}

/* ---------------------------------------------------- process memory -- */

/* The resident set size of this process in KiB, from /proc/self/status;
 * -1 when it cannot be read. */
static inline long tu_vmrss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* A size from the environment (a decimal number), or dflt. */
static inline size_t tu_env_size(const char *name, size_t dflt)
{
    const char *s = getenv(name);
    char *end;
    unsigned long long v;

    if (s == NULL || *s == '\0')
        return dflt;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0)
        return dflt;
    return (size_t)v;
}

/* ------------------------------------------------ running in a child -- */

struct tu_child {
    int exited;      /* 1 when the child returned or called exit */
    int status;      /* its exit status then */
    int signal;      /* the signal that killed it, or 0 */
    char text[2048]; /* what it wrote to stderr, NUL-terminated */
};

/* Run fn(arg) in a forked child whose stderr goes into a pipe; wait for
 * it, and report how it ended and what it wrote.  The child never dumps
 * core.  Returns 0, or -1 when the child could not be started. */
static inline int tu_run_captured(void (*fn)(void *), void *arg,
                                  struct tu_child *res)
{
    int fds[2], wstatus;
    size_t len = 0;
    pid_t pid;

    memset(res, 0, sizeof *res);
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        struct rlimit no_core = {0, 0};

        setrlimit(RLIMIT_CORE, &no_core);
        close(fds[0]);
        if (dup2(fds[1], STDERR_FILENO) < 0)
            _exit(126);
        close(fds[1]);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        ssize_t got;

        if (len + 1 >= sizeof res->text) {
            char sink[256];
            got = read(fds[0], sink, sizeof sink);
        } else {
            got = read(fds[0], res->text + len, sizeof res->text - 1 - len);
            if (got > 0)
                len += (size_t)got;
        }
        if (got == 0)
            break;
        if (got < 0 && errno != EINTR)
            break;
    }
    res->text[len] = '\0';
    close(fds[0]);
    while (waitpid(pid, &wstatus, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(wstatus)) {
        res->exited = 1;
        res->status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        res->signal = WTERMSIG(wstatus);
    }
    return 0;
}

/* The report line the library writes for a bad pointer. */
static inline void tu_abort_line(char *buf, size_t size, const char *func,
                                 const void *ptr, const char *problem)
{
    snprintf(buf, size, "myalloc: %s(%p): %s", func, ptr, problem);
}

/* The error cases every report writer shares: NULL gives -1 with EINVAL,
 * and a failing write (/dev/full, unbuffered) gives -1 with its errno. */
static inline void tu_check_writer_errors(int (*writer)(FILE *))
{
    FILE *f;

    errno = 0;
    ck_assert_int_eq(writer(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    f = fopen("/dev/full", "w");
    if (f != NULL) {
        setvbuf(f, NULL, _IONBF, 0);
        errno = 0;
        ck_assert_int_eq(writer(f), -1);
        ck_assert_int_eq(errno, ENOSPC);
        fclose(f);
    }
}

/* ------------------------------------------- heap check after each test -- */

/* Every test ends with my_heap_check() == 0: a checked teardown, run in
 * the test's own process (Check's forked child) when the test function
 * returns; not after a test that failed, or that ended by a signal or an
 * exit it expected.  tcase_create is redirected here, so that every test
 * case of every suite including this file gets it. */
static inline void tu_heap_check_teardown(void)
{
    ck_assert_int_eq(my_heap_check(), 0);
}

static inline TCase *tu_tcase_create(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, NULL, tu_heap_check_teardown);
    return tc;
}
#define tcase_create(name) tu_tcase_create(name)

/* Run a suite in Check's fork mode; the exit status of a test program. */
static inline int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* MYALLOC_TESTUTIL_H */
