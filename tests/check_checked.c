/* check_checked.c - checked mode through the public API.
 *
 * Each test switches checked mode on in its own process (Check forks one
 * per test; checked mode cannot be switched off).  Correct programs must
 * behave exactly as without it; each heap bug runs in a captured child and
 * must end the child with SIGABRT after a first report line naming the
 * entry point, the kind, the block, its size and the byte, followed by the
 * block's history. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

static void check_on(void)
{
    ck_assert_msg(my_option_set("check", "1") == 0, "check=1: %s", strerror(errno));
}

/* The child's first line, and that the report goes on with a history. */
static void expect_report(const struct tu_child *res, const char *first_line, bool freed_history)
{
    size_t n = strlen(first_line);

    ck_assert_msg(res->signal == SIGABRT, "the child was not aborted (signal %d, exit %d): %s",
                  res->signal, res->status, res->text);
    ck_assert_msg(strncmp(res->text, first_line, n) == 0 && res->text[n] == '\n',
                  "report is\n%s\nwant first line\n%s", res->text, first_line);
    ck_assert_msg(strstr(res->text, "\nmyalloc:   allocated by ") != NULL,
                  "no allocation history: %s", res->text);
    ck_assert_msg((strstr(res->text, "\nmyalloc:   freed by ") != NULL) == freed_history,
                  "free history %s expected: %s", freed_history ? "" : "not", res->text);
    ck_assert_msg(strstr(res->text, "myalloc:     #0 0x") != NULL, "no stack frame: %s",
                  res->text);
}

/* ------------------------------------------------- correct programs -- */

START_TEST(test_sizes_and_contents)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 4096, 4097, 70000, TU_MIB,
                                   TU_MIB + 1, 5 * TU_MIB + 3};
    void *p[sizeof sizes / sizeof sizes[0]];

    check_on();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = my_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert(tu_is_aligned(p[i], TU_ALIGN));
        /* Byte-precise: the usable size is the request. */
        ck_assert_uint_eq(my_malloc_usable_size(p[i]), sizes[i]);
        tu_fill(p[i], sizes[i], i);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tu_assert_pattern(p[i], sizes[i], i);
        my_free(p[i]);
    }
    ck_assert_int_eq(my_heap_check(), 0);
}
END_TEST

START_TEST(test_calloc_realloc_aligned)
{
    unsigned char *z = my_calloc(1000, 3);
    void *a;

    check_on();
    my_free(z);
    z = my_calloc(1000, 3);
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_eq(tu_find_not(z, 3000, 0), SIZE_MAX);

    /* realloc always moves and keeps the contents. */
    char *r = my_malloc(10);
    tu_fill(r, 10, 7);
    for (size_t n = 20; n < 3 * TU_MIB; n = n * 3 + 1) {
        char *q = my_realloc(r, n);
        ck_assert_ptr_nonnull(q);
        ck_assert_ptr_ne(q, r);
        tu_assert_pattern(q, 10, 7);
        ck_assert_uint_eq(my_malloc_usable_size(q), n);
        r = q;
    }
    r = my_realloc(r, 5);
    tu_assert_pattern(r, 5, 7);
    my_free(r);

    for (size_t align = 16; align <= 64 * TU_KIB; align *= 4) {
        a = my_aligned_alloc(align, 3 * align + 8);
        ck_assert_ptr_nonnull(a);
        ck_assert(tu_is_aligned(a, align));
        memset(a, 1, 3 * align + 8);
        my_free(a);
        ck_assert_int_eq(my_posix_memalign(&a, align, 100), 0);
        ck_assert(tu_is_aligned(a, align));
        memset(a, 2, 100);
        my_free(a);
    }
    my_free(z);

    /* Sized frees that state the truth. */
    my_free_sized(my_malloc(100), 100);
    my_free_sized(my_calloc(10, 30), 300);
    my_free_aligned_sized(my_aligned_alloc(64, 256), 64, 256);
    ck_assert_int_eq(my_posix_memalign(&a, 8, 24), 0);
    my_free_aligned_sized(a, 8, 24);
    ck_assert_int_eq(my_heap_check(), 0);
}
END_TEST

/* Blocks made before checked mode stay valid under it. */
START_TEST(test_blocks_from_before)
{
    void *small = my_malloc(40), *big = my_malloc(200000), *moved;

    tu_fill(small, 40, 1);
    check_on();
    moved = my_realloc(small, 4000);
    ck_assert_ptr_nonnull(moved);
    tu_assert_pattern(moved, 40, 1);
    ck_assert_uint_eq(my_malloc_usable_size(moved), 4000);
    my_free(big);
    my_free(moved);
    ck_assert_int_eq(my_heap_check(), 0);
}
END_TEST

START_TEST(test_options)
{
    check_on();
    errno = 0;
    ck_assert_int_eq(my_option_set("check", "0"), -1);
    ck_assert_int_eq(errno, EBUSY);
    ck_assert_int_eq(my_option_set("check", "1"), 0);
    errno = 0;
    ck_assert_int_eq(my_option_set("check_guard", "sometimes"), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(my_option_set("check_trace", "17"), -1);
    ck_assert_int_eq(my_option_set("check_quarantine", "12k"), -1);
    ck_assert_int_eq(my_option_set("check_guard", "7"), 0);
    ck_assert_int_eq(my_option_set("check_trace", "0"), 0);
    ck_assert_int_eq(my_option_set("check_quarantine", "0"), 0);
    /* With these, blocks still work. */
    for (int i = 0; i < 100; i++) {
        void *p = my_malloc((size_t)i * 10);
        memset(p, 3, (size_t)i * 10);
        my_free(p);
    }
    ck_assert_int_eq(my_heap_check(), 0);
}
END_TEST

#define THREADS 4
static void *thread_churn(void *arg)
{
    uint64_t rng = (uintptr_t)arg + 1;
    void **slots = arg;

    for (int i = 0; i < 20000; i++) {
        size_t k = tu_rand_range(&rng, 0, 255);
        size_t n = tu_rand_range(&rng, 0, 3000);
        /* Slots are shared: blocks are freed by other threads too. */
        void *old = __atomic_exchange_n(&slots[k], NULL, __ATOMIC_ACQ_REL);
        if (old != NULL) {
            tu_check(tu_verify(old, 8 < my_malloc_usable_size(old) ? 8 : my_malloc_usable_size(old),
                               tu_seed_of(old, 0)) == SIZE_MAX, "block %p damaged", old);
            my_free(old);
        }
        void *p = my_malloc(n);
        tu_fill(p, n < 8 ? n : 8, tu_seed_of(p, 0));
        old = __atomic_exchange_n(&slots[k], p, __ATOMIC_ACQ_REL);
        if (old != NULL)
            my_free(old);
    }
    return NULL;
}

START_TEST(test_threads)
{
    static void *slots[256];
    pthread_t t[THREADS];

    check_on();
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, thread_churn, slots), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 256; i++)
        my_free(slots[i]);
    ck_assert_int_eq(my_heap_check(), 0);
}
END_TEST

START_TEST(test_fork)
{
    void *kept;
    pid_t pid;
    int status;

    check_on();
    kept = my_malloc(300);
    memset(kept, 9, 300);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        my_free(kept);
        void *p = my_malloc(5000);
        memset(p, 1, 5000);
        my_free(p);
        _exit(my_heap_check() == 0 ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    my_free(kept);
    ck_assert_int_eq(my_heap_check(), 0);
}
END_TEST

/* ------------------------------------------------------------ bugs -- */
/* Each bug function stores the block it damages here, for the message. */
static void *volatile bug_block;

static void bug_overflow(void *arg)
{
    char *p;

    (void)arg;
    check_on();
    bug_block = p = tu_launder(my_malloc(10));
    p[10] = 'x';
    my_free(p);
}

static void bug_underflow(void *arg)
{
    char *p;

    (void)arg;
    check_on();
    bug_block = p = tu_launder(my_malloc(32));
    p[-3] = 'x';
    my_free(p);
}

static void bug_double_free(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_malloc(24);
    my_free(bug_block);
    my_free(bug_block);
}

static void bug_interior(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_malloc(64);
    my_free(tu_launder((char *)bug_block + 16));
}

static void *free_there(void *p)
{
    my_free(p);
    return NULL;
}

/* Another thread frees the core block under a checked block, 16 bytes
 * before its start: the remote fast path must leave it to checked mode. */
static void bug_interior_remote(void *arg)
{
    pthread_t t;

    (void)arg;
    check_on();
    bug_block = my_malloc(40);
    ck_assert_int_eq(pthread_create(&t, NULL, free_there, tu_launder((char *)bug_block - 16)), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

/* The same free, 16 bytes before the block, by the allocating thread: the
 * local fast path must leave it to checked mode too. */
static void bug_interior_local(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_malloc(40);
    my_free(tu_launder((char *)bug_block - 16));
}

static void bug_realloc_freed(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_malloc(16);
    my_free(bug_block);
    tu_launder(my_realloc(bug_block, 32));
}

static void bug_free_sized(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_malloc(100);
    my_free_sized(bug_block, 99);
}

static void bug_free_aligned_sized(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_aligned_alloc(64, 100);
    my_free_aligned_sized(bug_block, 32, 100);
}

/* An aligned block freed as a plain one. */
static void bug_free_sized_aligned_block(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_aligned_alloc(256, 512);
    my_free_sized(bug_block, 512);
}

/* A write after free, found when the block leaves a 4 KiB quarantine. */
static void bug_write_after_free(void *arg)
{
    (void)arg;
    check_on();
    ck_assert_int_eq(my_option_set("check_quarantine", "4096"), 0);
    bug_block = my_malloc(48);
    my_free(bug_block);
    ((char *)bug_block)[5] = 'x';
    for (int i = 0; i < 3; i++)
        my_free(my_malloc(2000));
}

/* A second free long after the first: the block has left a 4 KiB
 * quarantine and its memory is the core's again, its history is not. */
static void bug_late_double_free(void *arg)
{
    void *again;

    (void)arg;
    check_on();
    ck_assert_int_eq(my_option_set("check_quarantine", "4096"), 0);
    bug_block = my_malloc(48);
    again = tu_launder(bug_block);
    my_free(bug_block);
    for (int i = 0; i < 3; i++)
        my_free(my_malloc(2000));
    my_free(again);
}

/* The same write, found by my_heap_check. */
static void bug_heap_check(void *arg)
{
    (void)arg;
    check_on();
    bug_block = my_malloc(48);
    my_free(bug_block);
    ((char *)bug_block)[5] = 'x';
    fprintf(stderr, "returned %d\n", my_heap_check());
    _exit(0);
}

/* A huge block ends at a guard page. */
static void bug_huge_overrun(void *arg)
{
    char *p;

    (void)arg;
    check_on();
    bug_block = p = tu_launder(my_malloc(3 * TU_MIB));
    ((volatile char *)p)[3 * TU_MIB + 100] = 'x';
}

/* check_guard=all: a read of a freed block faults. */
static void bug_read_after_free(void *arg)
{
    (void)arg;
    check_on();
    ck_assert_int_eq(my_option_set("check_guard", "all"), 0);
    bug_block = my_malloc(4096);
    my_free(bug_block);
    (void)((volatile char *)bug_block)[100];
}

static void bug_continue(void *arg)
{
    char *p;

    (void)arg;
    check_on();
    ck_assert_int_eq(my_option_set("check_abort", "0"), 0);
    ck_assert_int_eq(my_option_set("check_leaks", "0"), 0);
    ck_assert_int_eq(my_option_set("check_trace", "1"), 0); /* short reports */
    p = tu_launder(my_malloc(10));
    p[12] = 'x';
    my_free(p);
    p = my_malloc(10);
    void *again = tu_launder(p);
    my_free(p);
    my_free(again);
    p = my_malloc(100);
    strcpy(p, "still working");
    fprintf(stderr, "%s\n", p);
    my_free(p);
    exit(0);
}

/* Named in backtraces: global, not inlined, and the program is linked
 * with -export-dynamic. */
void leak_site_a(void);
void leak_site_b(void);

/* A volatile bound: an unrolled loop would make a site per call. */
static volatile int leak_count_a = 3, leak_count_b = 2;

__attribute__((noinline)) void leak_site_a(void)
{
    for (int i = 0; i < leak_count_a; i++)
        tu_launder(my_malloc(100));
}

__attribute__((noinline)) void leak_site_b(void)
{
    for (int i = 0; i < leak_count_b; i++)
        tu_launder(my_malloc(1000));
}

static void bug_leaks(void *arg)
{
    (void)arg;
    check_on();
    /* Short traces: the report must fit the captured 2 KiB, whatever the
     * length of the build directory's path. */
    ck_assert_int_eq(my_option_set("check_trace", "2"), 0);
    leak_site_a();
    leak_site_b();
    my_free(my_malloc(50));
    exit(0); /* destructors run: the leak report */
}

static void close_stderr(void)
{
    close(STDERR_FILENO);
}

/* As the GNU core utilities do: stderr closed in an atexit handler, which
 * runs before the library's destructors write the leak report. */
static void bug_leak_stderr_closed(void *arg)
{
    (void)arg;
    check_on();
    ck_assert_int_eq(my_option_set("check_trace", "1"), 0);
    tu_launder(my_malloc(77));
    atexit(close_stderr);
    exit(0);
}

static void run_bug(void (*fn)(void *), struct tu_child *res)
{
    ck_assert_int_eq(tu_run_captured(fn, NULL, res), 0);
}

/* The child's bug_block is at the same address in the parent's image:
 * fork copies the address space, and the child allocates it the same way
 * each run only if the parent did nothing in between, so the address is
 * taken from the report itself and checked for consistency. */
static void *reported_block(const struct tu_child *res)
{
    const char *s = strstr(res->text, "-byte block 0x");
    void *p = NULL;

    if (s != NULL)
        sscanf(s + strlen("-byte block "), "%p", &p);
    return p;
}

/* Each bug's first report line: "myalloc: FN(ADDR): KIND: SIZE-byte block
 * BLOCK" and the tail, where ADDR is the block plus addr_offset. */
static const struct bug_case {
    const char *name;
    void (*run)(void *);
    const char *fn, *kind;
    size_t size, addr_offset;
    const char *tail;
    bool freed_history;
} bug_cases[] = {
    {"overflow", bug_overflow, "my_free", "buffer overflow", 10, 0,
     ": byte 10 (1 past the end) overwritten", false},
    {"underflow", bug_underflow, "my_free", "buffer underflow", 32, 0,
     ": byte -3 (3 before the start) overwritten", false},
    {"double free", bug_double_free, "my_free", "double free", 24, 0, "", true},
    {"double free after the quarantine", bug_late_double_free, "my_free", "double free", 48, 0,
     "", true},
    {"interior free", bug_interior, "my_free", "not the start of a block", 64, 16, ": byte 16",
     false},
    {"free 16 bytes before the block, by another thread", bug_interior_remote, "my_free",
     "not the start of a block", 40, (size_t)-16, ": byte -16 (16 before the start)", false},
    {"free 16 bytes before the block, by its own thread", bug_interior_local, "my_free",
     "not the start of a block", 40, (size_t)-16, ": byte -16 (16 before the start)", false},
    {"realloc of a freed block", bug_realloc_freed, "my_realloc", "block already freed", 16, 0,
     "", true},
    {"sized free, wrong size", bug_free_sized, "my_free_sized", "mismatched sized free", 100, 0,
     ": freed with size 99", false},
    {"aligned sized free, wrong alignment", bug_free_aligned_sized, "my_free_aligned_sized",
     "mismatched aligned free", 100, 0, ": allocated with alignment 64, freed with alignment 32",
     false},
    {"sized free of an aligned block", bug_free_sized_aligned_block, "my_free_sized",
     "mismatched aligned free", 512, 0, ": allocated with alignment 256, freed with no alignment",
     false},
    {"write after free", bug_write_after_free, "quarantine", "use after free", 48, 0,
     ": byte 5 written after free", true},
    {"huge block overrun", bug_huge_overrun, "SIGSEGV", "buffer overflow", 3 * TU_MIB,
     3 * TU_MIB + 100, ": byte 3145828 (101 past the end) accessed", false},
    {"read after free", bug_read_after_free, "SIGSEGV", "use after free", 4096, 100,
     ": byte 100 accessed after free", true},
};
#define NBUG_CASES ((int)(sizeof bug_cases / sizeof bug_cases[0]))

START_TEST(test_bug_report)
{
    const struct bug_case *c = &bug_cases[_i];
    struct tu_child res;
    char want[512];
    void *b;

    run_bug(c->run, &res);
    b = reported_block(&res);
    snprintf(want, sizeof want, "myalloc: %s(%p): %s: %zu-byte block %p%s", c->fn,
             (void *)((char *)b + c->addr_offset), c->kind, c->size, b, c->tail);
    ck_assert_msg(b != NULL, "%s: no block in the report: %s", c->name, res.text);
    expect_report(&res, want, c->freed_history);
}
END_TEST

START_TEST(test_bug_heap_check)
{
    struct tu_child res;
    char want[256];

    run_bug(bug_heap_check, &res);
    void *b = reported_block(&res);
    snprintf(want, sizeof want,
             "myalloc: my_heap_check: use after free: 48-byte block %p: byte 5 written after free\n"
             "returned -1\n",
             b);
    ck_assert_msg(res.exited && res.status == 0, "the child failed: %s", res.text);
    ck_assert_str_eq(res.text, want);
}
END_TEST

START_TEST(test_bug_continue)
{
    struct tu_child res;

    run_bug(bug_continue, &res);
    ck_assert_msg(res.exited && res.status == 0, "check_abort=0 did not go on: %s", res.text);
    ck_assert_msg(strstr(res.text, ": buffer overflow: 10-byte block ") != NULL, "%s", res.text);
    ck_assert_msg(strstr(res.text, ": double free: 10-byte block ") != NULL, "%s", res.text);
    ck_assert_msg(strstr(res.text, "\nstill working\n") != NULL, "%s", res.text);
}
END_TEST

START_TEST(test_leak_report_stderr_closed)
{
    struct tu_child res;

    run_bug(bug_leak_stderr_closed, &res);
    ck_assert_msg(res.exited && res.status == 0, "%s", res.text);
    ck_assert_msg(strstr(res.text, "myalloc: leaks: 77 bytes in 1 block from 1 site\n") != NULL,
                  "no leak report after stderr was closed: \"%s\"", res.text);
}
END_TEST

START_TEST(test_leak_report)
{
    struct tu_child res;
    const char *a, *b, *total;

    run_bug(bug_leaks, &res);
    ck_assert_msg(res.exited && res.status == 0, "%s", res.text);
    /* Largest site first, each with a frame in the site's function. */
    b = strstr(res.text, "myalloc: leak: 2000 bytes in 2 blocks allocated at:\n");
    a = strstr(res.text, "myalloc: leak: 300 bytes in 3 blocks allocated at:\n");
    total = strstr(res.text, "myalloc: leaks: 2300 bytes in 5 blocks from 2 sites\n");
    ck_assert_msg(a != NULL && b != NULL && total != NULL && b < a && a < total, "%s", res.text);
    ck_assert_msg(strstr(b, "leak_site_b+0x") != NULL && strstr(b, "leak_site_b+0x") < a,
                  "site b not named: %s", res.text);
    ck_assert_msg(strstr(a, "leak_site_a+0x") != NULL && strstr(a, "leak_site_a+0x") < total,
                  "site a not named: %s", res.text);
}
END_TEST

static Suite *checked_suite(void)
{
    Suite *s = suite_create("checked");
    TCase *ok = tcase_create("correct programs");
    TCase *bugs = tcase_create("bugs");

    tcase_add_test(ok, test_sizes_and_contents);
    tcase_add_test(ok, test_calloc_realloc_aligned);
    tcase_add_test(ok, test_blocks_from_before);
    tcase_add_test(ok, test_options);
    tcase_add_test(ok, test_threads);
    tcase_add_test(ok, test_fork);
    tcase_set_timeout(ok, 60);
    suite_add_tcase(s, ok);
    tcase_add_loop_test(bugs, test_bug_report, 0, NBUG_CASES);
    tcase_add_test(bugs, test_bug_heap_check);
    tcase_add_test(bugs, test_bug_continue);
    tcase_add_test(bugs, test_leak_report);
    tcase_add_test(bugs, test_leak_report_stderr_closed);
    suite_add_tcase(s, bugs);
    return s;
}

int main(void)
{
    return tu_run_suite(checked_suite());
}
