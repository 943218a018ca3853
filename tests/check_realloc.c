/* check_realloc.c - my_realloc and my_reallocarray: contents kept across
 * every regime, the NULL and zero cases, resizing in place where the header
 * promises it, and failures that leave the old block alone. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

/* Sizes from each regime and its edges. */
static const size_t regime_sizes[] = {
    1,      15,      16,           17,           100,         128,
    129,    1000,    4095,         4096,         4097,        8192,
    8193,   100000,  TU_MIB - 1,   TU_MIB,       TU_MIB + 1,  3 * TU_MIB,
    20 * TU_MIB,
};
#define NREGIME (sizeof regime_sizes / sizeof regime_sizes[0])

/* Resize p (holding the pattern of seed over *have bytes) to n and check
 * that the prefix survived; extend the pattern over the new block. */
static unsigned char *resize(unsigned char *p, size_t *have, size_t n,
                             uint64_t seed)
{
    size_t keep = n < *have ? n : *have, u;
    unsigned char *q = my_realloc(p, n);

    tu_check(q != NULL, "my_realloc(%p, %zu) failed", (void *)p, n);
    tu_check(tu_is_aligned(q, TU_ALIGN), "my_realloc gave %p", (void *)q);
    u = my_malloc_usable_size(q);
    tu_check(u >= n, "my_realloc to %zu: usable %zu", n, u);
    tu_check(tu_verify(q, keep, seed) == SIZE_MAX,
             "my_realloc %zu -> %zu: byte %zu of the kept %zu changed",
             *have, n, tu_verify(q, keep, seed), keep);
    tu_fill_from(q, keep, u, seed);
    *have = u;
    return q;
}

/* One block grown through every regime, then shrunk back. */
START_TEST(test_grow_and_shrink)
{
    unsigned char *p = my_malloc(0);
    size_t have = my_malloc_usable_size(p), i;

    ck_assert_ptr_nonnull(p);
    tu_fill(p, have, 1);
    for (i = 0; i < NREGIME; i++)
        p = resize(p, &have, regime_sizes[i], 1);
    for (i = NREGIME; i-- > 0;)
        p = resize(p, &have, regime_sizes[i], 1);
    my_free(p);
}
END_TEST

/* Every pair of regime sizes, from one to the other. */
START_TEST(test_every_pair)
{
    size_t i, j;

    for (i = 0; i < NREGIME; i++)
        for (j = 0; j < NREGIME; j++) {
            unsigned char *p = my_malloc(regime_sizes[i]);
            size_t have;

            ck_assert_ptr_nonnull(p);
            have = my_malloc_usable_size(p);
            tu_fill(p, have, i * 100 + j);
            p = resize(p, &have, regime_sizes[j], i * 100 + j);
            my_free(p);
        }
}
END_TEST

/* A huge block grown 1 MiB at a time, with other huge blocks mapped in
 * between so that it cannot always grow where it is. */
START_TEST(test_huge_growth)
{
    unsigned char *p = my_malloc(2 * TU_MIB), *other[24];
    size_t have = my_malloc_usable_size(p), i;

    ck_assert_ptr_nonnull(p);
    tu_fill(p, have, 77);
    for (i = 0; i < 24; i++) {
        other[i] = my_malloc(TU_MIB + 1);
        ck_assert_ptr_nonnull(other[i]);
        other[i][0] = (unsigned char)i;
        p = resize(p, &have, (3 + i) * TU_MIB + 5, 77);
    }
    for (i = 0; i < 24; i++) {
        ck_assert_uint_eq(other[i][0], (unsigned char)i);
        my_free(other[i]);
    }
    p = resize(p, &have, 5 * TU_MIB, 77);
    p = resize(p, &have, TU_MIB + 1, 77);
    my_free(p);
}
END_TEST

/* A huge calloc block (its mapping advised for huge pages) grown and
 * shrunk by my_realloc, then its mapping reused, from the cache, by a
 * plain block that grows too. */
START_TEST(test_huge_calloc_resized)
{
    unsigned char *p = my_calloc(3 * TU_MIB, 1), *q;
    size_t have, i;

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(tu_find_not(p, 3 * TU_MIB, 0), SIZE_MAX);
    have = my_malloc_usable_size(p);
    tu_fill(p, have, 88);
    p = resize(p, &have, 9 * TU_MIB + 5, 88);
    p = resize(p, &have, 2 * TU_MIB, 88);
    my_free(p);
    q = my_malloc(2 * TU_MIB);
    ck_assert_ptr_nonnull(q);
    have = my_malloc_usable_size(q);
    tu_fill(q, have, 89);
    for (i = 3; i < 7; i++)
        q = resize(q, &have, i * TU_MIB + 1, 89);
    my_free(q);
}
END_TEST

/* my_realloc(NULL, n) allocates. */
START_TEST(test_realloc_null)
{
    static const size_t sizes[] = {0, 1, 100, 5000, 2 * TU_MIB};
    size_t i;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = my_realloc(NULL, sizes[i]);
        size_t u;

        ck_assert_msg(p != NULL, "my_realloc(NULL, %zu) failed", sizes[i]);
        u = my_malloc_usable_size(p);
        ck_assert_uint_eq(u, tu_expected_usable(sizes[i]));
        tu_fill(p, u, i);
        tu_assert_pattern(p, u, i);
        my_free(p);
    }
}
END_TEST

/* my_realloc(p, 0) gives back a minimal block and releases the old one. */
START_TEST(test_realloc_zero)
{
    static const size_t sizes[] = {1, 100, 4096, 5000, TU_MIB, 3 * TU_MIB};
    void *z = my_malloc(0);
    size_t zero_usable = my_malloc_usable_size(z), i;

    ck_assert_ptr_nonnull(z);
    my_free(z);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct my_stats a, b;
        unsigned char *p, *q;

        tu_stats(&a);
        p = my_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        memset(p, 0x5A, sizes[i]);
        q = my_realloc(p, 0);
        ck_assert_msg(q != NULL, "my_realloc(%zu bytes, 0) returned NULL",
                      sizes[i]);
        ck_assert_uint_eq(my_malloc_usable_size(q), zero_usable);
        tu_stats(&b);
        ck_assert_msg(b.bytes_allocated == a.bytes_allocated + zero_usable,
                      "after my_realloc(%zu bytes, 0) bytes_allocated moved "
                      "by %zu, want %zu",
                      sizes[i], b.bytes_allocated - a.bytes_allocated,
                      zero_usable);
        memset(tu_launder(q), 1, zero_usable);
        my_free(q);
    }
}
END_TEST

/* Within a size class, my_realloc does not move the block. */
START_TEST(test_same_class_in_place)
{
    size_t table[TU_NCLASSES], lo = 0;
    unsigned i;

    tu_class_table(table);
    for (i = 0; i < TU_NCLASSES; lo = table[i++] + 1) {
        size_t have;
        unsigned char *p = my_malloc(lo), *q;

        ck_assert_ptr_nonnull(p);
        have = my_malloc_usable_size(p);
        ck_assert_uint_eq(have, table[i]);
        tu_fill(p, have, i);
        q = my_realloc(p, table[i]); /* up to the top of the class */
        ck_assert_msg(q == p, "my_realloc %zu -> %zu moved %p to %p", lo,
                      table[i], (void *)p, (void *)q);
        q = my_realloc(p, lo); /* and down to its bottom */
        ck_assert_msg(q == p, "my_realloc %zu -> %zu moved %p to %p",
                      table[i], lo, (void *)p, (void *)q);
        tu_assert_pattern(q, lo, i);
        ck_assert_uint_eq(my_malloc_usable_size(q), table[i]);
        my_free(q);
    }
}
END_TEST

/* A buddy block shrinks in place, and grows in place within its block. */
START_TEST(test_buddy_in_place)
{
    static const size_t steps[] = {600000, 300000, 100000, 40000, 8193};
    unsigned char *p = my_malloc(TU_MIB), *q;
    size_t i, have;

    ck_assert_ptr_nonnull(p);
    tu_fill(p, TU_MIB, 5);
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        q = my_realloc(p, steps[i]);
        ck_assert_msg(q == p, "shrinking a buddy block to %zu moved it",
                      steps[i]);
        ck_assert_uint_ge(my_malloc_usable_size(q), steps[i]);
        tu_assert_pattern(q, steps[i], 5);
    }
    my_free(p);

    for (i = 1; i <= 8; i++) {
        size_t block = TU_PAGE << i;
        size_t lo = i == 1 ? TU_SMALL_MAX + 1 : block / 2 + 1;

        p = my_malloc(lo);
        ck_assert_ptr_nonnull(p);
        have = my_malloc_usable_size(p);
        ck_assert_uint_eq(have, block);
        tu_fill(p, have, i);
        q = my_realloc(p, block);
        ck_assert_msg(q == p, "my_realloc %zu -> %zu (one block) moved it",
                      lo, block);
        tu_assert_pattern(q, block, i);
        my_free(q);
    }
}
END_TEST

/* A request that cannot be met: NULL, ENOMEM, and the old block intact. */
START_TEST(test_failing_realloc)
{
    static const size_t bad[] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 1,
                                 SIZE_MAX - 4095, SIZE_MAX - 15};
    static const size_t sizes[] = {10, 4000, 5000, TU_MIB, 3 * TU_MIB};
    size_t i, k;

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = my_malloc(sizes[i]);
        size_t u;

        ck_assert_ptr_nonnull(p);
        u = my_malloc_usable_size(p);
        tu_fill(p, u, i);
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            void *q;

            errno = 0;
            q = my_realloc(p, bad[k]);
            ck_assert_msg(q == NULL, "my_realloc(%zu bytes, %zu) = %p",
                          sizes[i], bad[k], q);
            ck_assert_msg(errno == ENOMEM, "my_realloc(p, %zu): errno %d",
                          bad[k], errno);
            ck_assert_uint_eq(my_malloc_usable_size(p), u);
            tu_assert_pattern(p, u, i);
        }
        /* Still the caller's, still resizable, still freeable. */
        p = my_realloc(p, u + 1);
        ck_assert_ptr_nonnull(p);
        tu_assert_pattern(p, u, i);
        my_free(p);
    }
}
END_TEST

START_TEST(test_reallocarray)
{
    static const size_t over[][2] = {
        {SIZE_MAX / 2 + 1, 2},
        {(size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)},
        {SIZE_MAX, SIZE_MAX},
        {3, SIZE_MAX / 3 + 1},
        {(size_t)PTRDIFF_MAX / 2 + 1, 2}, /* no overflow, but too large */
    };
    unsigned char *p = my_reallocarray(NULL, 10, 100), *q;
    size_t i, u;

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(my_malloc_usable_size(p), 1000);
    tu_fill(p, 1000, 3);
    p = my_reallocarray(p, 1000, 100); /* 100000: a buddy block */
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(my_malloc_usable_size(p), tu_expected_usable(100000));
    tu_assert_pattern(p, 1000, 3);
    u = my_malloc_usable_size(p);
    tu_fill(p, u, 4);
    for (i = 0; i < sizeof over / sizeof over[0]; i++) {
        errno = 0;
        q = my_reallocarray(p, over[i][0], over[i][1]);
        ck_assert_msg(q == NULL, "my_reallocarray(p, %zu, %zu) = %p",
                      over[i][0], over[i][1], (void *)q);
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(my_malloc_usable_size(p), u);
        tu_assert_pattern(p, u, 4);
    }
    q = my_reallocarray(p, 0, 5);
    ck_assert_ptr_nonnull(q);
    my_free(q);
}
END_TEST

/* A block from the aligned calls keeps its content through realloc. */
START_TEST(test_realloc_aligned)
{
    static const size_t cases[][3] = {
        /* alignment, size, new size */
        {64, 100, 50},          {64, 100, 3000},       {4096, 1000, 100000},
        {4096, 1000, 10},       {65536, 5000, 2 * TU_MIB},
        {TU_MIB, 3 * TU_MIB, 5 * TU_MIB}, {2 * TU_MIB, 100, 200},
        {4 * TU_MIB, 10000, 100},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t a = cases[i][0], n = cases[i][1], m = cases[i][2], have;
        unsigned char *p;
        void *vp = NULL;

        if (i % 2)
            p = my_aligned_alloc(a, n);
        else
            p = my_posix_memalign(&vp, a, n) == 0 ? vp : NULL;
        ck_assert_msg(p != NULL, "alignment %zu, size %zu failed", a, n);
        ck_assert(tu_is_aligned(p, a));
        have = my_malloc_usable_size(p);
        tu_fill(p, have, i);
        p = resize(p, &have, m, i);
        my_free(p);
    }
}
END_TEST

static Suite *realloc_suite(void)
{
    Suite *s = suite_create("realloc");
    TCase *tc = tcase_create("realloc");

    tcase_add_test(tc, test_grow_and_shrink);
    tcase_add_test(tc, test_every_pair);
    tcase_add_test(tc, test_huge_growth);
    tcase_add_test(tc, test_huge_calloc_resized);
    tcase_add_test(tc, test_realloc_null);
    tcase_add_test(tc, test_realloc_zero);
    tcase_add_test(tc, test_same_class_in_place);
    tcase_add_test(tc, test_buddy_in_place);
    tcase_add_test(tc, test_failing_realloc);
    tcase_add_test(tc, test_reallocarray);
    tcase_add_test(tc, test_realloc_aligned);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(realloc_suite());
}
