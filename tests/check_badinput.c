/* check_badinput.c - every error case of the contract.
 *
 * Calls that fail return NULL (or an error number) with the documented
 * errno, and the library keeps working afterwards.  Bad pointers abort:
 * each such call runs in a forked child whose stderr is captured, and the
 * test asserts that the child died of SIGABRT after writing exactly the
 * documented line,
 *     myalloc: <function>(<address>): <problem>
 * with the address as "%p" prints it.  Two cases also let Check itself
 * expect the signal (tcase_add_test_raise_signal). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

#define P_DOUBLE "double free"
#define P_FREED "block already freed"
#define P_FOREIGN "not a block allocated by myalloc"
#define P_INTERIOR "not the start of a block"
#define P_SIZE "mismatched sized free"
#define P_ALIGN "mismatched aligned free"

/* After an error, the library still serves every regime. */
static void assert_still_works(void)
{
    static const size_t sizes[] = {0, 100, 4096, 5000, TU_MIB, 2 * TU_MIB};
    void *p[sizeof sizes / sizeof sizes[0]];
    size_t i;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = my_malloc(sizes[i]);
        ck_assert_msg(p[i] != NULL, "my_malloc(%zu) fails after an error",
                      sizes[i]);
        tu_fill(p[i], my_malloc_usable_size(p[i]), i);
    }
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tu_assert_pattern(p[i], my_malloc_usable_size(p[i]), i);
        my_free(p[i]);
    }
}

/* -------------------------------------------------- returned errors -- */

static const size_t too_large[] = {
    SIZE_MAX, (size_t)PTRDIFF_MAX + 1, SIZE_MAX - 4095, SIZE_MAX - 15,
    SIZE_MAX - TU_MIB, (size_t)PTRDIFF_MAX,
};
#define NTOO_LARGE (sizeof too_large / sizeof too_large[0])

START_TEST(test_malloc_too_large)
{
    size_t i;

    for (i = 0; i < NTOO_LARGE; i++) {
        void *p;

        errno = 0;
        p = my_malloc(tu_hide_size(too_large[i]));
        ck_assert_msg(p == NULL, "my_malloc(%zu) = %p", too_large[i], p);
        ck_assert_msg(errno == ENOMEM, "my_malloc(%zu): errno %d",
                      too_large[i], errno);
        errno = 0;
        p = my_realloc(NULL, tu_hide_size(too_large[i]));
        ck_assert_msg(p == NULL && errno == ENOMEM,
                      "my_realloc(NULL, %zu) = %p, errno %d", too_large[i], p,
                      errno);
    }
    assert_still_works();
}
END_TEST

START_TEST(test_calloc_overflow)
{
    static const size_t bad[][2] = {
        {SIZE_MAX, 2},
        {2, SIZE_MAX},
        {SIZE_MAX, SIZE_MAX},
        {(size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)},
        {SIZE_MAX / 2 + 1, 2},
        {(size_t)PTRDIFF_MAX / 2 + 1, 2}, /* no overflow, but too large */
        {1, SIZE_MAX},
    };
    size_t i;
    void *p, *q;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        p = my_calloc(tu_hide_size(bad[i][0]), tu_hide_size(bad[i][1]));
        ck_assert_msg(p == NULL, "my_calloc(%zu, %zu) = %p", bad[i][0],
                      bad[i][1], p);
        ck_assert_msg(errno == ENOMEM, "my_calloc(%zu, %zu): errno %d",
                      bad[i][0], bad[i][1], errno);
    }
    /* A zero factor is no error: a unique, freeable block. */
    p = my_calloc(0, 100);
    q = my_calloc(100, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_ne(p, q);
    my_free(p);
    my_free(q);
    assert_still_works();
}
END_TEST

START_TEST(test_aligned_alloc_errors)
{
    static const size_t bad_align[] = {0, 3, 5, 6, 12, 24, 48, 100, 4095,
                                       (size_t)1 << 20 | 1, SIZE_MAX};
    size_t i;
    void *p;

    for (i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        errno = 0;
        p = my_aligned_alloc(tu_hide_size(bad_align[i]), 64);
        ck_assert_msg(p == NULL, "my_aligned_alloc(%zu, 64) = %p",
                      bad_align[i], p);
        ck_assert_msg(errno == EINVAL, "my_aligned_alloc(%zu, 64): errno %d",
                      bad_align[i], errno);
    }
    for (i = 0; i < NTOO_LARGE; i++) {
        errno = 0;
        p = my_aligned_alloc(64, tu_hide_size(too_large[i]));
        ck_assert_msg(p == NULL && errno == ENOMEM,
                      "my_aligned_alloc(64, %zu) = %p, errno %d",
                      too_large[i], p, errno);
    }
    /* A valid alignment that no memory can meet. */
    errno = 0;
    p = my_aligned_alloc(tu_hide_size((size_t)1 << (sizeof(size_t) * 8 - 1)),
                         1);
    ck_assert_msg(p == NULL && errno == ENOMEM,
                  "my_aligned_alloc(2^%zu, 1) = %p, errno %d",
                  sizeof(size_t) * 8 - 1, p, errno);
    assert_still_works();
}
END_TEST

START_TEST(test_posix_memalign_errors)
{
    static const size_t bad_align[] = {0, 1, 2, 4, 3, 12, 24, 48, 100,
                                       (size_t)1 << 20 | 1, SIZE_MAX};
    void *const sentinel = (void *)(uintptr_t)0x5151;
    size_t i;
    void *p;
    int e;

    for (i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        if (bad_align[i] == sizeof(void *))
            continue;
        p = sentinel;
        errno = 4242;
        e = my_posix_memalign(&p, bad_align[i], 64);
        ck_assert_msg(e == EINVAL, "my_posix_memalign(%zu, 64) = %d",
                      bad_align[i], e);
        ck_assert_ptr_eq(p, sentinel);
        ck_assert_int_eq(errno, 4242);
    }
    for (i = 0; i < NTOO_LARGE; i++) {
        p = sentinel;
        errno = 4242;
        e = my_posix_memalign(&p, 64, too_large[i]);
        ck_assert_msg(e == ENOMEM, "my_posix_memalign(64, %zu) = %d",
                      too_large[i], e);
        ck_assert_ptr_eq(p, sentinel);
        ck_assert_int_eq(errno, 4242);
    }
    p = sentinel;
    errno = 4242;
    e = my_posix_memalign(&p, (size_t)1 << (sizeof(size_t) * 8 - 1), 1);
    ck_assert_int_eq(e, ENOMEM);
    ck_assert_ptr_eq(p, sentinel);
    ck_assert_int_eq(errno, 4242);
    assert_still_works();
}
END_TEST

START_TEST(test_realloc_errors)
{
    static const size_t sizes[] = {40, 5000, 3 * TU_MIB};
    size_t i, k;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = my_malloc(sizes[i]);
        void *q;

        ck_assert_ptr_nonnull(p);
        tu_fill(p, sizes[i], i);
        for (k = 0; k < NTOO_LARGE; k++) {
            errno = 0;
            q = my_realloc(p, tu_hide_size(too_large[k]));
            ck_assert_msg(q == NULL && errno == ENOMEM,
                          "my_realloc(p, %zu) = %p, errno %d", too_large[k],
                          q, errno);
            errno = 0;
            q = my_reallocarray(p, tu_hide_size(too_large[k]), 2);
            ck_assert_msg(q == NULL && errno == ENOMEM,
                          "my_reallocarray(p, %zu, 2) = %p, errno %d",
                          too_large[k], q, errno);
        }
        tu_assert_pattern(p, sizes[i], i);
        my_free(p);
    }
    assert_still_works();
}
END_TEST

START_TEST(test_stats_errors)
{
    errno = 0;
    ck_assert_int_eq(my_stats_get(NULL, sizeof(struct my_stats)), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(my_stats_print(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    assert_still_works();
}
END_TEST

START_TEST(test_null_pointer)
{
    my_free(NULL);
    ck_assert_uint_eq(my_malloc_usable_size(NULL), 0);
    assert_still_works();
}
END_TEST

/* ---------------------------------------------------- aborting calls -- */

static char static_array[64];

/* What a case set up in the test process; the child inherits it. */
struct bad {
    void *p, *q, *r; /* blocks the case allocated (or foreign memory) */
    void *addr;      /* the address the report must name */
    int malloced;    /* p comes from the C library's malloc */
    int live_p;      /* p is still ours to free after the child */
    int live_q;
    int live_r;
};

struct bad_case {
    const char *name;
    const char *func;    /* the function the report names */
    const char *problem; /* the problem it reports */
    const char *alt;     /* another acceptable problem, or NULL */
    void (*setup)(struct bad *b, char *stack);
    void (*run)(void *arg); /* in the child; arg is the struct bad */
};

static void *must_alloc(size_t n)
{
    void *p = my_malloc(n);

    ck_assert_msg(p != NULL, "my_malloc(%zu) failed", n);
    return p;
}

/* Setups. */
static void set_stack(struct bad *b, char *stack)
{
    b->addr = stack;
}

static void set_static(struct bad *b, char *stack)
{
    (void)stack;
    b->addr = static_array;
}

static void set_libc(struct bad *b, char *stack)
{
    (void)stack;
    b->p = malloc(64); /* the C library's, not ours */
    ck_assert_ptr_nonnull(b->p);
    b->malloced = 1;
    b->addr = b->p;
}

static void set_wild(struct bad *b, char *stack)
{
    (void)stack;
    b->addr = (void *)(uintptr_t)0x1000;
}

/* A small block, with a neighbour of its class that keeps the slab busy. */
static void set_small(struct bad *b, char *stack)
{
    (void)stack;
    b->q = must_alloc(200);
    b->p = must_alloc(200);
    b->live_p = b->live_q = 1;
    b->addr = b->p;
}

/* A small block alone in a class no other case uses. */
static void set_small_alone(struct bad *b, char *stack)
{
    (void)stack;
    b->p = must_alloc(3000);
    b->live_p = 1;
    b->addr = b->p;
}

static void set_small_interior(struct bad *b, char *stack)
{
    set_small(b, stack);
    b->addr = (char *)b->p + 32;
}

static void set_small_unaligned(struct bad *b, char *stack)
{
    set_small(b, stack);
    b->addr = (char *)b->p + 1;
}

/* A buddy block, with another one so the region stays. */
static void set_buddy(struct bad *b, char *stack)
{
    (void)stack;
    b->q = must_alloc(64 * TU_KIB);
    b->p = must_alloc(64 * TU_KIB);
    b->live_p = b->live_q = 1;
    b->addr = b->p;
}

static void set_buddy_page_interior(struct bad *b, char *stack)
{
    set_buddy(b, stack);
    b->addr = (char *)b->p + TU_PAGE;
}

static void set_buddy_interior(struct bad *b, char *stack)
{
    set_buddy(b, stack);
    b->addr = (char *)b->p + 100;
}

static void set_huge(struct bad *b, char *stack)
{
    (void)stack;
    b->p = must_alloc(3 * TU_MIB);
    b->live_p = 1;
    b->addr = b->p;
}

/* Child actions. */
static void run_free_addr(void *arg)
{
    struct bad *b = arg;

    my_free(tu_launder(b->addr));
}

static void run_realloc_addr(void *arg)
{
    struct bad *b = arg;
    void *r = my_realloc(tu_launder(b->addr), 100);

    (void)r;
}

static void run_usable_addr(void *arg)
{
    struct bad *b = arg;

    (void)my_malloc_usable_size(tu_launder(b->addr));
}

static void run_double_free(void *arg)
{
    struct bad *b = arg;
    void *again = tu_launder(b->p);

    my_free(b->p);
    my_free(again);
}

static void *free_in_thread(void *p)
{
    my_free(p);
    return NULL;
}

/* The second free comes from another thread, which takes the remote path
 * (fastpath.h): it must see that the block is no longer handed out. */
static void run_double_free_remote(void *arg)
{
    struct bad *b = arg;
    void *again = tu_launder(b->p);
    pthread_t t;

    my_free(b->p);
    if (pthread_create(&t, NULL, free_in_thread, again) == 0)
        pthread_join(t, NULL);
}

/* Free both halves of a buddy pair, which merge, then the upper half
 * again: it is no longer the start of any block, but it was one. */
static void run_double_free_merged(void *arg)
{
    struct bad *b = arg;

    my_free(b->q);
    my_free(b->p);
    my_free(tu_launder(b->addr));
}

static void run_realloc_freed(void *arg)
{
    struct bad *b = arg;
    void *again = tu_launder(b->p), *r;

    my_free(b->p);
    r = my_realloc(again, 300);
    (void)r;
}

static void run_usable_freed(void *arg)
{
    struct bad *b = arg;
    void *again = tu_launder(b->p);

    my_free(b->p);
    (void)my_malloc_usable_size(again);
}

static void run_sized_free_freed(void *arg)
{
    struct bad *b = arg;
    void *again = tu_launder(b->p);

    my_free(b->p);
    my_free_sized(again, 200);
}

/* A size beyond the 208-byte class of a 200-byte block. */
static void run_free_sized_too_large(void *arg)
{
    struct bad *b = arg;

    my_free_sized(b->p, 209);
}

/* A small block is never 1 MiB-aligned (its slab's header comes first). */
static void run_free_aligned_misaligned(void *arg)
{
    struct bad *b = arg;

    my_free_aligned_sized(b->p, TU_MIB, 200);
}

static void run_free_aligned_not_pow2(void *arg)
{
    struct bad *b = arg;

    my_free_aligned_sized(b->p, 48, 200);
}

/* An interior pointer into a block that is already free. */
static void run_free_interior_of_freed(void *arg)
{
    struct bad *b = arg;

    my_free(b->p);
    my_free(tu_launder(b->addr));
}

/* Two 64 KiB blocks that are each other's buddy: p the lower, q the
 * upper.  Of three consecutive ones, two form a pair; the third (r) stays
 * allocated. */
static void set_buddy_pair(struct bad *b, char *stack)
{
    void *v[3];
    unsigned i, j;

    (void)stack;
    for (i = 0; i < 3; i++)
        v[i] = must_alloc(64 * TU_KIB);
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++)
            if (((uintptr_t)v[i] ^ (uintptr_t)v[j]) == 64 * TU_KIB &&
                v[i] < v[j] && b->p == NULL) {
                b->p = v[i];
                b->q = v[j];
                b->r = v[3 - i - j];
            }
    ck_assert_msg(b->p != NULL, "no buddy pair among %p %p %p", v[0], v[1],
                  v[2]);
    b->live_p = b->live_q = b->live_r = 1;
    b->addr = b->q;
}

static const struct bad_case cases[] = {
    {"free of a stack address", "my_free", P_FOREIGN, NULL, set_stack,
     run_free_addr},
    {"free of a static array", "my_free", P_FOREIGN, NULL, set_static,
     run_free_addr},
    {"free of a C library malloc block", "my_free", P_FOREIGN, NULL,
     set_libc, run_free_addr},
    {"free of a wild address", "my_free", P_FOREIGN, NULL, set_wild,
     run_free_addr},
    {"double free of a small block", "my_free", P_DOUBLE, NULL, set_small,
     run_double_free},
    {"double free of the only block of its slab", "my_free", P_DOUBLE, NULL,
     set_small_alone, run_double_free},
    {"double free of a small block, the second by another thread", "my_free",
     P_DOUBLE, NULL, set_small, run_double_free_remote},
    {"double free of a buddy block", "my_free", P_DOUBLE, NULL, set_buddy,
     run_double_free},
    {"double free of a buddy block merged with its buddy", "my_free",
     P_DOUBLE, NULL, set_buddy_pair, run_double_free_merged},
    {"double free of a huge block", "my_free", P_FOREIGN, P_DOUBLE, set_huge,
     run_double_free},
    {"free of an interior pointer of a small block", "my_free", P_INTERIOR,
     NULL, set_small_interior, run_free_addr},
    {"free of an unaligned pointer into a small block", "my_free",
     P_INTERIOR, NULL, set_small_unaligned, run_free_addr},
    {"free of an interior pointer of a freed small block", "my_free",
     P_INTERIOR, NULL, set_small_interior, run_free_interior_of_freed},
    {"free of a page inside a buddy block", "my_free", P_INTERIOR, NULL,
     set_buddy_page_interior, run_free_addr},
    {"free of an interior pointer of a buddy block", "my_free", P_INTERIOR,
     NULL, set_buddy_interior, run_free_addr},
    {"realloc of a freed small block", "my_realloc", P_FREED, NULL,
     set_small, run_realloc_freed},
    {"realloc of a freed buddy block", "my_realloc", P_FREED, NULL,
     set_buddy, run_realloc_freed},
    {"realloc of a stack address", "my_realloc", P_FOREIGN, NULL, set_stack,
     run_realloc_addr},
    {"realloc of an interior pointer", "my_realloc", P_INTERIOR, NULL,
     set_small_interior, run_realloc_addr},
    {"sized free with a size beyond the block", "my_free_sized", P_SIZE, NULL,
     set_small, run_free_sized_too_large},
    {"aligned sized free of a block not so aligned", "my_free_aligned_sized",
     P_ALIGN, NULL, set_small, run_free_aligned_misaligned},
    {"aligned sized free with an alignment not a power of two",
     "my_free_aligned_sized", P_ALIGN, NULL, set_small,
     run_free_aligned_not_pow2},
    {"sized free of a freed block", "my_free_sized", P_DOUBLE, NULL, set_small,
     run_sized_free_freed},
    {"usable size of a freed small block", "my_malloc_usable_size", P_FREED,
     NULL, set_small, run_usable_freed},
    {"usable size of a freed buddy block", "my_malloc_usable_size", P_FREED,
     NULL, set_buddy, run_usable_freed},
    {"usable size of a C library malloc block", "my_malloc_usable_size",
     P_FOREIGN, NULL, set_libc, run_usable_addr},
    {"usable size of an interior pointer", "my_malloc_usable_size",
     P_INTERIOR, NULL, set_buddy_interior, run_usable_addr},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_abort_case)
{
    const struct bad_case *c = &cases[_i];
    struct bad b;
    struct tu_child res;
    char stack[64];
    char want[256], want_alt[256];
    size_t len;

    memset(&b, 0, sizeof b);
    memset(stack, 0, sizeof stack);
    c->setup(&b, stack);
    ck_assert_int_eq(tu_run_captured(c->run, &b, &res), 0);

    tu_abort_line(want, sizeof want, c->func, b.addr, c->problem);
    tu_abort_line(want_alt, sizeof want_alt, c->func, b.addr,
                  c->alt != NULL ? c->alt : c->problem);
    ck_assert_msg(res.signal == SIGABRT,
                  "%s: the child %s %d, not SIGABRT; it wrote \"%s\"",
                  c->name, res.exited ? "exited with" : "died of signal",
                  res.exited ? res.status : res.signal, res.text);
    len = strlen(res.text);
    ck_assert_msg(strncmp(res.text, "myalloc: ", 9) == 0,
                  "%s: report \"%s\"", c->name, res.text);
    ck_assert_msg(len > 0 && res.text[len - 1] == '\n' &&
                      strchr(res.text, '\n') == res.text + len - 1,
                  "%s: not exactly one line: \"%s\"", c->name, res.text);
    res.text[len - 1] = '\0';
    ck_assert_msg(strcmp(res.text, want) == 0 ||
                      strcmp(res.text, want_alt) == 0,
                  "%s:\n  got  \"%s\"\n  want \"%s\"", c->name, res.text,
                  want);

    /* The test process still owns what the child broke in its copy. */
    if (b.malloced)
        free(b.p);
    if (b.live_p)
        my_free(b.p);
    if (b.live_q)
        my_free(b.q);
    if (b.live_r)
        my_free(b.r);
    assert_still_works();
}
END_TEST

/* Check itself expects the signal; stderr is silenced so that the test
 * log holds no report that looks like a failure. */
static void silence_stderr(void)
{
    int fd = open("/dev/null", O_WRONLY);

    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

START_TEST(test_raise_double_free)
{
    void *keep = my_malloc(50), *p = my_malloc(50), *again = tu_launder(p);

    ck_assert(keep != NULL && p != NULL);
    silence_stderr();
    my_free(p);
    my_free(again);
    ck_abort_msg("a double free of %p returned", p);
}
END_TEST

START_TEST(test_raise_free_stack)
{
    char local[32];

    silence_stderr();
    memset(local, 1, sizeof local);
    my_free(tu_launder(local));
    ck_abort_msg("my_free of a stack address returned");
}
END_TEST

static Suite *badinput_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc_err = tcase_create("errors");
    TCase *tc_abort = tcase_create("aborts");
    TCase *tc_signal = tcase_create("signal");

    tcase_add_test(tc_err, test_malloc_too_large);
    tcase_add_test(tc_err, test_calloc_overflow);
    tcase_add_test(tc_err, test_aligned_alloc_errors);
    tcase_add_test(tc_err, test_posix_memalign_errors);
    tcase_add_test(tc_err, test_realloc_errors);
    tcase_add_test(tc_err, test_stats_errors);
    tcase_add_test(tc_err, test_null_pointer);
    suite_add_tcase(s, tc_err);

    tcase_add_loop_test(tc_abort, test_abort_case, 0, NCASES);
    suite_add_tcase(s, tc_abort);

    tcase_add_test_raise_signal(tc_signal, test_raise_double_free, SIGABRT);
    tcase_add_test_raise_signal(tc_signal, test_raise_free_stack, SIGABRT);
    suite_add_tcase(s, tc_signal);
    return s;
}

int main(void)
{
    return tu_run_suite(badinput_suite());
}
