/* check_freelist.c - white-box tests of what freed blocks hold: nothing
 * at all when their own thread frees them (the slab's bitmap knows they
 * are free), and an encoded link (internal.h) while they wait on the
 * remote list of a slab another thread freed them into.  Such a link
 * holds no plain pointer, and one overwritten with a plausible pointer, or
 * changed in one byte by an overrun of the block before it, is reported by
 * the owner's collection (which aborts) and by my_heap_check, never
 * followed. */
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

/* ------------------------------------------------------- remote list -- */
static void child_collect(void *arg)
{
    (void)myalloc__slab_collect(arg);
}

/* Two blocks freed by another thread: the first word of each is no
 * address, and decodes to the next on the remote list. */
START_TEST(test_links_encoded)
{
    void *hold = my_malloc(32), *p = my_malloc(32), *q = my_malloc(32);
    struct slab *s = slab_of(p);

    free_remotely(p);
    free_remotely(q);
    ck_assert_uint_eq(atomic_load(&s->xfree), (uintptr_t)q); /* xfree: q, p */
    ck_assert_uint_ne(word_get(q), (uintptr_t)p);
    ck_assert_ptr_eq(slab_link_next(s, q), p);
    ck_assert_uint_eq(myalloc__slab_collect(s), 2);
    my_free(hold);
}
END_TEST

/* A block freed by its own thread is not written: its bytes stay as the
 * program left them (it may be purged, and nothing in it can be
 * corrupted). */
START_TEST(test_local_free_writes_nothing)
{
    enum { SIZE = 48 };
    void *hold = my_malloc(SIZE);
    unsigned char *p = my_malloc(SIZE);
    unsigned char copy[SIZE];

    for (int i = 0; i < SIZE; i++)
        p[i] = (unsigned char)(0xa5 ^ i);
    memcpy(copy, p, SIZE);
    my_free(tu_launder(p));
    annotate_link_open(p);
    ck_assert_int_eq(memcmp(copy, p, 8), 0);
    annotate_link_close(p);
    /* Taken again, lowest free first: the same block. */
    ck_assert_ptr_eq(my_malloc(SIZE), p);
    my_free(p);
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
    struct slab *s = slab_of(b);
    struct tu_child res;
    char want[300];

    ck_assert_ptr_eq(b, a + size);
    free_remotely(b);
    bytes = tu_launder(a);
    corrupted_line(want, sizeof want, s, b);
    /* a[size], one past the end, is the first byte of b's link
     * (opened for the write: AddressSanitizer would report it first). */
    for (unsigned flip = 1; flip < 256; flip <<= 1) {
        annotate_link_open(b);
        bytes[size] ^= (unsigned char)flip;
        annotate_link_close(b);
        expect_heap_check(s, "remote free list holds a link that does not decode");
        ck_assert_int_eq(tu_run_captured(child_collect, s, &res), 0);
        ck_assert_int_eq(res.signal, SIGABRT);
        ck_assert_str_eq(res.text, want);
        annotate_link_open(b);
        bytes[size] ^= (unsigned char)flip;
        annotate_link_close(b);
    }
    my_free(a);
}
END_TEST

START_TEST(test_remote_link_overwrite)
{
    size_t size = 160;
    void *hold = my_malloc(size), *p = my_malloc(size), *q = my_malloc(size);
    struct slab *s = slab_of(p);
    struct tu_child res;
    uint64_t saved;
    char want[300];

    /* xfree: q, p. */
    free_remotely(p);
    free_remotely(q);
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
    tcase_add_test(tc, test_local_free_writes_nothing);
    tcase_add_test(tc, test_one_byte_overrun);
    tcase_add_test(tc, test_remote_link_overwrite);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(freelist_suite());
}
