/* check_freelist.c - white-box tests of the encoded free-list links
 * (internal.h): a freed block holds no plain pointer, and a link
 * overwritten with a plausible pointer, or changed in one byte by an
 * overrun of the block before it, is reported by the allocation that would
 * follow it (which aborts) and by my_heap_check, never followed. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"
#include "whitebox.h"

/* The line the allocator writes before it aborts. */
static void corrupted_line(char *buf, size_t size, const void *slab, const void *block)
{
    snprintf(buf, size,
             "myalloc: malloc: free list of slab %p corrupted (block %p holds a link that does "
             "not decode)\n",
             slab, block);
}

static void child_heap_check(void *arg)
{
    (void)arg;
    _exit(my_heap_check() == -1 ? 3 : 0);
}

/* my_heap_check, run in a child, fails with exactly this line. */
static void expect_heap_check(const struct slab *s, const char *problem)
{
    struct tu_child res;
    char want[300];

    snprintf(want, sizeof want, "myalloc: my_heap_check: slab %p: %s\n", (const void *)s,
             problem);
    ck_assert_int_eq(tu_run_captured(child_heap_check, NULL, &res), 0);
    ck_assert_int_eq(res.exited, 1);
    ck_assert_int_eq(res.status, 3);
    ck_assert_str_eq(res.text, want);
}

static void child_malloc(void *arg)
{
    size_t size = *(size_t *)arg;

    for (int i = 0; i < 4; i++)
        (void)tu_launder(my_malloc(size));
}

/* my_malloc(size), run in a child, aborts with the report on block. */
static void expect_malloc_aborts(size_t size, const void *block)
{
    struct tu_child res;
    char want[300];

    corrupted_line(want, sizeof want, slab_of(block), block);
    ck_assert_int_eq(tu_run_captured(child_malloc, &size, &res), 0);
    ck_assert_int_eq(res.signal, SIGABRT);
    ck_assert_str_eq(res.text, want);
}

/* ------------------------------------------------------------- the key -- */
START_TEST(test_key_drawn)
{
    my_free(my_malloc(1)); /* started */
    ck_assert_uint_eq(myalloc__link_key.mul & 1, 1);
    ck_assert_uint_eq(myalloc__link_key.mul * myalloc__link_key.inv, 1);
    /* Not the fixed key the library starts with. */
    ck_assert_uint_ne(myalloc__link_key.mul, UINT64_C(0x9e3779b97f4a7c15));
}
END_TEST

/* A freed block's first word is no address, and decodes to the next. */
START_TEST(test_links_encoded)
{
    void *hold = my_malloc(32), *p = my_malloc(32), *q = my_malloc(32);
    my_free(tu_launder(p));
    my_free(tu_launder(q)); /* the list: q, p, ... */
    ck_assert_uint_ne(word_get(q), (uintptr_t)p);
    ck_assert_ptr_eq(slab_link_next(slab_of(q), q), p);
    ck_assert_ptr_eq(my_malloc(32), q);
    ck_assert_ptr_eq(my_malloc(32), p);
    my_free(q);
    my_free(p);
    my_free(hold);
}
END_TEST

/* --------------------------------------------------------- local list -- */
/* A plausible pointer (a live block of the same slab) written over the
 * link of the first free block. */
START_TEST(test_plain_pointer_overwrite)
{
    size_t size = 96;
    void *hold = my_malloc(size), *p = my_malloc(size);
    struct slab *s = slab_of(p);
    uint64_t saved;

    my_free(tu_launder(p));
    ck_assert_ptr_eq(s->free, p);
    saved = word_get(p);
    word_put(p, (uintptr_t)hold);
    expect_heap_check(s, "local free list holds a link that does not decode");
    expect_malloc_aborts(size, p);
    word_put(p, saved);
    my_free(hold);
}
END_TEST

/* An off-by-one write past a block changes the low byte of the next
 * block's link: the product in the encoding carries it into high bits. */
START_TEST(test_one_byte_overrun)
{
    size_t size = 208; /* a class size: the block ends where the next starts */
    unsigned char *a = my_malloc(size), *b = my_malloc(size);
    unsigned char *bytes;

    ck_assert_ptr_eq(b, a + size);
    my_free(tu_launder(b));
    bytes = tu_launder(a);
    /* a[size], one past the end, is the first byte of b's link
     * (opened for the write: AddressSanitizer would report it first). */
    for (unsigned flip = 1; flip < 256; flip <<= 1) {
        annotate_link_open(b);
        bytes[size] ^= (unsigned char)flip;
        annotate_link_close(b);
        expect_heap_check(slab_of(b), "local free list holds a link that does not decode");
        expect_malloc_aborts(size, b);
        annotate_link_open(b);
        bytes[size] ^= (unsigned char)flip;
        annotate_link_close(b);
    }
    my_free(a);
}
END_TEST

/* ------------------------------------------------------- remote list -- */
static void *thread_free(void *p)
{
    my_free(p);
    return NULL;
}

static void child_collect(void *arg)
{
    (void)myalloc__slab_collect(arg);
}

START_TEST(test_remote_link_overwrite)
{
    size_t size = 160;
    void *hold = my_malloc(size), *p = my_malloc(size), *q = my_malloc(size);
    struct slab *s = slab_of(p);
    struct tu_child res;
    pthread_t t;
    uint64_t saved;
    char want[300];

    /* xfree: q, p. */
    ck_assert_int_eq(pthread_create(&t, NULL, thread_free, p), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, thread_free, q), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(atomic_load(&s->xfree), (uintptr_t)q);
    saved = word_get(q);
    word_put(q, (uintptr_t)hold);
    expect_heap_check(s, "remote free list holds a link that does not decode");
    corrupted_line(want, sizeof want, s, q);
    ck_assert_int_eq(tu_run_captured(child_collect, s, &res), 0);
    ck_assert_int_eq(res.signal, SIGABRT);
    ck_assert_str_eq(res.text, want);
    word_put(q, saved);
    my_free(hold);
}
END_TEST

static Suite *freelist_suite(void)
{
    Suite *s = suite_create("freelist");
    TCase *tc = tcase_create("links");

    tcase_add_test(tc, test_key_drawn);
    tcase_add_test(tc, test_links_encoded);
    tcase_add_test(tc, test_plain_pointer_overwrite);
    tcase_add_test(tc, test_one_byte_overrun);
    tcase_add_test(tc, test_remote_link_overwrite);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(freelist_suite());
}
