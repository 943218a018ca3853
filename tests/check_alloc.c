/* check_alloc.c - allocation and freeing through the public API: every size
 * class, every buddy order, huge blocks, zero sizes, NULL, many live blocks,
 * calloc over reused memory, and gigabytes in total. */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

struct live {
    unsigned char *p;
    size_t usable;
    size_t index;
};

static int live_cmp(const void *a, const void *b)
{
    const struct live *x = a, *y = b;

    return x->p < y->p ? -1 : x->p > y->p;
}

/* Sort blocks by address and assert that no two overlap. */
static void assert_disjoint(struct live *v, size_t n)
{
    size_t i;

    qsort(v, n, sizeof *v, live_cmp);
    for (i = 1; i < n; i++)
        tu_check(v[i - 1].p + v[i - 1].usable <= v[i].p,
                 "blocks %zu (%p, %zu bytes) and %zu (%p) overlap",
                 v[i - 1].index, (void *)v[i - 1].p, v[i - 1].usable,
                 v[i].index, (void *)v[i].p);
}

/* Every request size 0..4096, so every class size, and every class size
 * minus and plus one: the usable size is the documented class size, the
 * block is 16-aligned, and all of it can be written while all are live. */
START_TEST(test_every_size_class)
{
    enum { N = 4097 };
    static struct live v[N];
    size_t n, seen_classes = 0, last = 0;

    for (n = 0; n < N; n++) {
        unsigned char *p = my_malloc(n);
        size_t u;

        tu_check(p != NULL, "my_malloc(%zu) failed", n);
        u = my_malloc_usable_size(p);
        tu_check(u >= n, "my_malloc(%zu): usable %zu", n, u);
        tu_check(u == tu_class_size(n),
                 "my_malloc(%zu): usable %zu, class size %zu", n, u,
                 tu_class_size(n));
        tu_check(tu_is_aligned(p, TU_ALIGN), "my_malloc(%zu) = %p", n,
                 (void *)p);
        tu_fill(p, u, n);
        v[n].p = p;
        v[n].usable = u;
        v[n].index = n;
        if (u != last)
            seen_classes++;
        last = u;
    }
    ck_assert_uint_eq(seen_classes, TU_NCLASSES);
    for (n = 0; n < N; n++)
        tu_assert_pattern(v[n].p, v[n].usable, n);
    assert_disjoint(v, N);
    for (n = 0; n < N; n++)
        my_free(v[n].p);
}
END_TEST

/* Every buddy order a request can reach: 4097 .. 1 MiB, at each power of
 * two, one below and one above. */
START_TEST(test_every_buddy_order)
{
    static struct live v[64];
    size_t nv = 0, top, i;
    unsigned orders_seen = 0;

    for (top = TU_BUDDY_MIN; top <= TU_BUDDY_MAX; top <<= 1) {
        size_t sizes[3] = {top / 2 + 1, top - 1, top};
        unsigned k;

        if (top == TU_BUDDY_MIN)
            sizes[0] = TU_SMALL_MAX + 1;
        for (k = 0; k < 3; k++) {
            size_t n = sizes[k], u;
            unsigned char *p = my_malloc(n);

            ck_assert_msg(p != NULL, "my_malloc(%zu) failed", n);
            u = my_malloc_usable_size(p);
            ck_assert_msg(u == top, "my_malloc(%zu): usable %zu, want %zu",
                          n, u, top);
            ck_assert_msg(tu_is_aligned(p, TU_ALIGN), "my_malloc(%zu) = %p",
                          n, (void *)p);
            tu_fill(p, u, nv);
            v[nv].p = p;
            v[nv].usable = u;
            v[nv].index = nv;
            nv++;
        }
        orders_seen++;
    }
    ck_assert_uint_eq(orders_seen, 8); /* 8 KiB .. 1 MiB */
    for (i = 0; i < nv; i++)
        tu_assert_pattern(v[i].p, v[i].usable, v[i].index);
    assert_disjoint(v, nv);
    for (i = 0; i < nv; i++)
        my_free(v[i].p);
}
END_TEST

/* Directly mapped blocks: usable size is the request rounded to 4 KiB.
 * The exact sizes are asserted last, after the contents were checked. */
START_TEST(test_huge)
{
    static const size_t sizes[] = {TU_MIB + 1, TU_MIB + TU_PAGE,
                                   5 * TU_MIB, 5 * TU_MIB + 123,
                                   64 * TU_MIB};
    enum { N = sizeof sizes / sizeof sizes[0] };
    unsigned char *p[N];
    size_t usable[N], i, off;

    for (i = 0; i < N; i++) {
        size_t n = sizes[i], u;

        p[i] = my_malloc(n);
        ck_assert_msg(p[i] != NULL, "my_malloc(%zu) failed", n);
        u = usable[i] = my_malloc_usable_size(p[i]);
        ck_assert_msg(u >= n, "my_malloc(%zu): usable %zu", n, u);
        ck_assert(tu_is_aligned(p[i], TU_ALIGN));
        /* The first and last byte, and one byte per MiB between. */
        for (off = 0; off < u; off += TU_MIB)
            p[i][off] = (unsigned char)(i + off / TU_MIB);
        p[i][u - 1] = (unsigned char)(0xC0 + i);
    }
    for (i = 0; i < N; i++) {
        for (off = 0; off < usable[i]; off += TU_MIB)
            ck_assert_uint_eq(p[i][off], (unsigned char)(i + off / TU_MIB));
        ck_assert_uint_eq(p[i][usable[i] - 1], (unsigned char)(0xC0 + i));
    }
    /* The smaller huge blocks can be written completely. */
    tu_fill(p[0], usable[0], 1);
    tu_fill(p[2], usable[2], 2);
    tu_assert_pattern(p[0], usable[0], 1);
    tu_assert_pattern(p[2], usable[2], 2);
    for (i = 0; i < N; i++)
        my_free(p[i]);
    for (i = 0; i < N; i++)
        ck_assert_msg(usable[i] == tu_expected_usable(sizes[i]),
                      "my_malloc(%zu): usable %zu, want %zu", sizes[i],
                      usable[i], tu_expected_usable(sizes[i]));
}
END_TEST

/* my_malloc(0) returns distinct, writable (16 bytes), freeable pointers. */
START_TEST(test_malloc_zero)
{
    enum { N = 1000 };
    static struct live v[N];
    size_t i;

    for (i = 0; i < N; i++) {
        /* Laundered: the compiler would flag 16 bytes written into 0. */
        unsigned char *p = tu_launder(my_malloc(0));

        tu_check(p != NULL, "my_malloc(0) failed");
        tu_check(tu_is_aligned(p, TU_ALIGN), "my_malloc(0) = %p", (void *)p);
        tu_check(my_malloc_usable_size(p) == 16, "my_malloc(0): usable %zu",
                 my_malloc_usable_size(p));
        memset(p, (int)(i & 0xff), 16);
        v[i].p = p;
        v[i].usable = 16;
        v[i].index = i;
    }
    ck_assert_ptr_ne(v[0].p, v[1].p);
    for (i = 0; i < N; i++)
        tu_check(tu_find_not(v[i].p, 16, (unsigned char)(i & 0xff)) ==
                 SIZE_MAX, "zero-size block %zu changed", i);
    assert_disjoint(v, N); /* distinct, and no two share a byte */
    for (i = 0; i < N; i++)
        my_free(v[i].p);
}
END_TEST

/* my_free(NULL) does nothing; usable size of NULL is 0. */
START_TEST(test_free_null)
{
    struct my_stats a, b;
    void *p;

    tu_stats(&a);
    my_free(NULL);
    my_free(NULL);
    tu_stats(&b);
    ck_assert_uint_eq(b.calls_free, a.calls_free);
    ck_assert_uint_eq(b.bytes_allocated, a.bytes_allocated);
    ck_assert_uint_eq(my_malloc_usable_size(NULL), 0);
    p = my_malloc(10);
    ck_assert_ptr_nonnull(p);
    my_free(p);
}
END_TEST

/* 100000 small blocks live at once: all distinct, none overlapping, each
 * keeping its own content. */
START_TEST(test_many_live_blocks)
{
    enum { N = 100000 };
    struct live *v = calloc(N, sizeof *v); /* the C library's, on purpose */
    uint64_t rng = 42;
    size_t i;

    ck_assert_ptr_nonnull(v);
    for (i = 0; i < N; i++) {
        size_t n = tu_rand_size(&rng, 0, 0, 0);
        unsigned char *p = my_malloc(n);

        tu_check(p != NULL, "block %zu: my_malloc(%zu) failed", i, n);
        v[i].p = p;
        v[i].usable = my_malloc_usable_size(p);
        v[i].index = i;
        tu_check(v[i].usable == tu_class_size(n),
                 "my_malloc(%zu): usable %zu", n, v[i].usable);
        tu_fill(p, v[i].usable, i);
    }
    assert_disjoint(v, N);
    for (i = 0; i < N; i++)
        tu_assert_pattern(v[i].p, v[i].usable, v[i].index);
    for (i = 0; i < N; i++)
        my_free(v[i].p);
    free(v);
}
END_TEST

/* my_calloc hands out zeroes even where a dirty block was just freed, in
 * every regime. */
START_TEST(test_calloc_reuses_dirty)
{
    static const size_t sizes[] = {
        1, 16, 100, 256, 1000, 4096,          /* size classes */
        4097, 8192, 65536, 300000, TU_MIB,    /* buddy */
        TU_MIB + 1, 3 * TU_MIB, 9 * TU_MIB + 7 /* huge */
    };
    enum { K = 8 };
    size_t i, k;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *dirty[K], *clean[K];

        for (k = 0; k < K; k++) {
            dirty[k] = my_malloc(n);
            ck_assert_ptr_nonnull(dirty[k]);
            memset(tu_launder(dirty[k]), 0xAA,
                   my_malloc_usable_size(dirty[k]));
        }
        for (k = 0; k < K; k++)
            my_free(dirty[k]);
        for (k = 0; k < K; k++) {
            /* Alternate the two ways of asking for n bytes. */
            clean[k] = k % 2 ? my_calloc(1, n) : my_calloc(n, 1);
            ck_assert_ptr_nonnull(clean[k]);
            ck_assert_msg(tu_find_not(clean[k], n, 0) == SIZE_MAX,
                          "my_calloc(%zu): byte %zu not zero", n,
                          tu_find_not(clean[k], n, 0));
            memset(clean[k], 0xAA, n); /* dirty it for the next round */
        }
        for (k = 0; k < K; k++)
            my_free(clean[k]);
    }
    /* An array: nmemb * size with both factors above one. */
    {
        unsigned *a = my_malloc(1000 * sizeof *a), *b;

        ck_assert_ptr_nonnull(a);
        memset(a, 0xAA, 1000 * sizeof *a);
        my_free(a);
        b = my_calloc(1000, sizeof *b);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(tu_find_not(b, 1000 * sizeof *b, 0), SIZE_MAX);
        my_free(b);
    }
}
END_TEST

/* calloc of n bytes is zero, and usable; the block is then dirtied. */
static unsigned char *calloc_checked(size_t n, unsigned char dirt)
{
    unsigned char *p = my_calloc(n, 1);

    ck_assert_msg(p != NULL, "my_calloc(%zu) failed", n);
    ck_assert_msg(tu_find_not(p, n, 0) == SIZE_MAX, "my_calloc(%zu): byte %zu not zero", n,
                  tu_find_not(p, n, 0));
    ck_assert_uint_ge(my_malloc_usable_size(p), n);
    memset(p, dirt, n);
    return p;
}

/* The huge cache splits a freed mapping for a much smaller request (the
 * tail, dirty, goes back to the cache) and grows one for a larger request
 * (its head dirty, its new tail fresh): calloc is zero every time, and a
 * block live all along keeps its bytes. */
START_TEST(test_huge_cache_reshaped)
{
    unsigned char *keep, *a, *b, *c, *d, *e;
    size_t keep_usable;

    ck_assert_int_eq(my_trim(), 0); /* an empty cache */
    keep = my_malloc(3 * TU_MIB);
    ck_assert_ptr_nonnull(keep);
    keep_usable = my_malloc_usable_size(keep);
    tu_fill(keep, keep_usable, 41);

    a = my_malloc(6 * TU_MIB);
    ck_assert_ptr_nonnull(a);
    memset(tu_launder(a), 0xAA, my_malloc_usable_size(a));
    my_free(a);
    b = calloc_checked(2 * TU_MIB, 0xBB); /* the head of a's mapping */
    ck_assert_uint_eq(my_malloc_usable_size(b), tu_expected_usable(2 * TU_MIB));
    c = calloc_checked(3 * TU_MIB + 5, 0xCC); /* its tail */
    ck_assert_int_eq(my_heap_check(), 0);
    my_free(b);
    d = calloc_checked(5 * TU_MIB + 3, 0xDD); /* b's mapping, grown */
    my_free(c);
    my_free(d);
    e = calloc_checked(5 * TU_MIB, 0xEE); /* a cached mapping, dirty all over */
    ck_assert_int_eq(my_heap_check(), 0);
    tu_assert_pattern(keep, keep_usable, 41);
    my_free(e);
    my_free(keep);
}
END_TEST

/* Blocks aligned to 2 MiB, alternately large and small, reuse one another's
 * mappings: each is aligned and holds what is written to it. */
START_TEST(test_huge_cache_aligned)
{
    static const size_t sizes[] = {2 * TU_MIB, 64 * 1024, 2 * TU_MIB, 8, 2 * TU_MIB + TU_PAGE};
    size_t i;

    ck_assert_int_eq(my_trim(), 0);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = NULL, *q;
        size_t u;

        ck_assert_int_eq(my_posix_memalign((void **)&p, 2 * TU_MIB, sizes[i]), 0);
        ck_assert(tu_is_aligned(p, 2 * TU_MIB));
        u = my_malloc_usable_size(p);
        ck_assert_uint_ge(u, sizes[i]);
        tu_fill(p, u, 50 + i);
        q = my_malloc(3 * TU_MIB); /* a neighbour from the same cache */
        ck_assert_ptr_nonnull(q);
        tu_fill(q, 3 * TU_MIB, 60 + i);
        tu_assert_pattern(p, u, 50 + i);
        tu_assert_pattern(q, 3 * TU_MIB, 60 + i);
        my_free(q);
        my_free(p);
    }
}
END_TEST

/* Three gigabytes live at once, half in 1 MiB buddy blocks, half in 64 MiB
 * huge blocks; a sample of them is touched on every page.  All of it goes
 * back after the frees. */
START_TEST(test_gigabytes)
{
    enum { NBUDDY = 1536, NHUGE = 24, N = NBUDDY + NHUGE };
    static struct live v[N];
    struct my_stats st0, st1, st2;
    size_t i, off, total = 0;

    tu_stats(&st0);
    for (i = 0; i < N; i++) {
        size_t n = i < NBUDDY ? TU_MIB : 64 * TU_MIB;
        unsigned char *p = my_malloc(n);
        uint64_t tag = tu_seed_of(p, i);

        tu_check(p != NULL, "block %zu of %zu bytes: my_malloc failed "
                 "after %zu bytes", i, n, total);
        v[i].p = p;
        v[i].usable = my_malloc_usable_size(p);
        v[i].index = i;
        tu_check(v[i].usable >= n, "block %zu: usable %zu", i, v[i].usable);
        total += n;
        memcpy(p, &tag, sizeof tag);
        memcpy(p + v[i].usable - sizeof tag, &tag, sizeof tag);
        if (i % 16 == 0 || (i >= NBUDDY && i % 8 == 0))
            for (off = 0; off < n; off += TU_PAGE)
                p[off + 8] = (unsigned char)(off / TU_PAGE);
    }
    ck_assert_uint_eq(total, 3 * TU_GIB);
    tu_stats(&st1);
    ck_assert_msg(st1.bytes_allocated >= st0.bytes_allocated + total,
                  "bytes_allocated %zu with %zu bytes live",
                  st1.bytes_allocated, total);
    ck_assert_msg(st1.bytes_mapped >= total, "bytes_mapped %zu < %zu",
                  st1.bytes_mapped, total);
    for (i = 0; i < N; i++) {
        uint64_t tag = tu_seed_of(v[i].p, v[i].index), head, tail;

        memcpy(&head, v[i].p, sizeof head);
        memcpy(&tail, v[i].p + v[i].usable - sizeof tail, sizeof tail);
        tu_check(head == tag && tail == tag, "block %zu lost its tags", i);
        if (i % 16 == 0 || (i >= NBUDDY && i % 8 == 0))
            for (off = 0; off < v[i].usable; off += TU_PAGE)
                tu_check(v[i].p[off + 8] == (unsigned char)(off / TU_PAGE),
                         "block %zu: page %zu changed", i, off / TU_PAGE);
    }
    assert_disjoint(v, N);
    for (i = 0; i < N; i++)
        my_free(v[i].p);
    ck_assert_int_eq(my_trim(), 0);
    tu_stats(&st2);
    ck_assert_msg(st2.bytes_mapped <= st0.bytes_mapped + 16 * TU_MIB,
                  "bytes_mapped %zu after freeing 3 GiB (was %zu before)",
                  st2.bytes_mapped, st0.bytes_mapped);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("sizes");
    TCase *tc_big = tcase_create("big");

    tcase_add_test(tc, test_every_size_class);
    tcase_add_test(tc, test_every_buddy_order);
    tcase_add_test(tc, test_huge);
    tcase_add_test(tc, test_malloc_zero);
    tcase_add_test(tc, test_free_null);
    tcase_add_test(tc, test_calloc_reuses_dirty);
    tcase_add_test(tc, test_huge_cache_reshaped);
    tcase_add_test(tc, test_huge_cache_aligned);
    suite_add_tcase(s, tc);

    tcase_add_test(tc_big, test_many_live_blocks);
    tcase_add_test(tc_big, test_gigabytes);
    tcase_set_timeout(tc_big, 60);
    suite_add_tcase(s, tc_big);
    return s;
}

int main(void)
{
    return tu_run_suite(alloc_suite());
}
