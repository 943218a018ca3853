/* check_align.c - alignment: my_aligned_alloc and my_posix_memalign for
 * every power of two up to 4 MiB, with sizes around the alignment, and the
 * 16-byte alignment of every plain allocation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

#define MAX_ALIGN (4 * TU_MIB)

struct blk {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

static int blk_cmp(const void *a, const void *b)
{
    const struct blk *x = a, *y = b;

    return x->p < y->p ? -1 : x->p > y->p;
}

/* The blocks are live together: assert that none overlaps another. */
static void assert_disjoint(struct blk *v, size_t n)
{
    size_t i;

    qsort(v, n, sizeof *v, blk_cmp);
    for (i = 1; i < n; i++)
        tu_check(v[i - 1].p + my_malloc_usable_size(v[i - 1].p) <= v[i].p,
                 "aligned blocks %p and %p overlap", (void *)v[i - 1].p,
                 (void *)v[i].p);
}

/* Check one aligned block: aligned, big enough, writable, keeps its content
 * through a realloc up and one down, then freed with my_free. */
static void check_block(struct blk *b, size_t align)
{
    size_t u = my_malloc_usable_size(b->p);

    tu_check(tu_is_aligned(b->p, align),
             "alignment %zu, size %zu: %p is misaligned", align, b->size,
             (void *)b->p);
    tu_check(tu_is_aligned(b->p, TU_ALIGN), "%p not 16-aligned",
             (void *)b->p);
    tu_check(u >= b->size, "alignment %zu, size %zu: usable %zu", align,
             b->size, u);
    tu_fill(b->p, u, b->seed);
    b->size = u;
}

static void resize_and_free(struct blk *b)
{
    unsigned char *q;
    size_t up = b->size + 1000, down = b->size / 3;

    tu_assert_pattern(b->p, b->size, b->seed);
    q = my_realloc(b->p, up);
    ck_assert_msg(q != NULL, "realloc of an aligned block to %zu failed", up);
    tu_assert_pattern(q, b->size, b->seed);
    tu_check(tu_is_aligned(q, TU_ALIGN), "realloc gave %p", (void *)q);
    b->p = q;
    q = my_realloc(b->p, down);
    ck_assert_msg(q != NULL, "realloc of an aligned block to %zu failed",
                  down);
    tu_assert_pattern(q, down, b->seed);
    my_free(q);
    b->p = NULL;
}

/* The sizes tried with each alignment a. */
static size_t case_sizes(size_t a, size_t out[7])
{
    out[0] = 0;
    out[1] = 1;
    out[2] = 100;
    out[3] = a - 1;
    out[4] = a;
    out[5] = 3 * a + 5;
    out[6] = 2 * TU_MIB;
    return 7;
}

/* my_aligned_alloc for alignments 1 .. 4 MiB. */
START_TEST(test_aligned_alloc)
{
    size_t a;

    for (a = 1; a <= MAX_ALIGN; a <<= 1) {
        struct blk v[7];
        size_t sizes[7], n = case_sizes(a, sizes), i;

        for (i = 0; i < n; i++) {
            v[i].p = my_aligned_alloc(a, sizes[i]);
            ck_assert_msg(v[i].p != NULL, "my_aligned_alloc(%zu, %zu) failed",
                          a, sizes[i]);
            v[i].size = sizes[i];
            v[i].seed = a * 16 + i;
            check_block(&v[i], a);
        }
        assert_disjoint(v, n);
        for (i = 0; i < n; i++)
            resize_and_free(&v[i]);
    }
}
END_TEST

/* my_posix_memalign for alignments sizeof(void *) .. 4 MiB. */
START_TEST(test_posix_memalign)
{
    size_t a;

    for (a = sizeof(void *); a <= MAX_ALIGN; a <<= 1) {
        struct blk v[7];
        size_t sizes[7], n = case_sizes(a, sizes), i;

        for (i = 0; i < n; i++) {
            void *p = NULL;
            int e;

            errno = 12345;
            e = my_posix_memalign(&p, a, sizes[i]);
            ck_assert_msg(e == 0, "my_posix_memalign(%zu, %zu) = %d", a,
                          sizes[i], e);
            ck_assert_int_eq(errno, 12345); /* not touched on success */
            ck_assert_ptr_nonnull(p);
            v[i].p = p;
            v[i].size = sizes[i];
            v[i].seed = a * 16 + i;
            check_block(&v[i], a);
        }
        assert_disjoint(v, n);
        for (i = 0; i < n; i++)
            resize_and_free(&v[i]);
    }
}
END_TEST

/* Many aligned blocks of random alignment and size live together. */
START_TEST(test_aligned_many_live)
{
    enum { N = 3000 };
    static struct blk v[N];
    uint64_t rng = 17;
    size_t i;

    for (i = 0; i < N; i++) {
        size_t a = (size_t)1 << tu_rand_range(&rng, 0, 16); /* ..64 KiB */
        size_t n = tu_rand_size(&rng, 10, 2, 3 * TU_MIB);
        void *p = NULL;

        if (i % 2)
            p = my_aligned_alloc(a, n);
        else
            tu_check(my_posix_memalign(&p, a < sizeof(void *)
                                                ? sizeof(void *)
                                                : a,
                                       n) == 0,
                     "my_posix_memalign(%zu, %zu) failed", a, n);
        tu_check(p != NULL, "alignment %zu, size %zu failed", a, n);
        v[i].p = p;
        v[i].size = n;
        v[i].seed = i;
        check_block(&v[i], a);
    }
    for (i = 0; i < N; i++)
        tu_assert_pattern(v[i].p, v[i].size, v[i].seed);
    assert_disjoint(v, N);
    for (i = 0; i < N; i++)
        my_free(v[i].p);
}
END_TEST

/* The header's example: a small aligned request takes a size class whose
 * blocks are naturally aligned, 64-byte alignment for 100 bytes giving a
 * 128-byte block; at 16 or less, the plain class. */
START_TEST(test_small_aligned_class)
{
    void *p = my_aligned_alloc(64, 100), *q = my_aligned_alloc(8, 100);

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    ck_assert(tu_is_aligned(p, 64));
    ck_assert_uint_eq(my_malloc_usable_size(p), 128);
    ck_assert_uint_eq(my_malloc_usable_size(q), tu_class_size(100));
    my_free(p);
    my_free(q);
}
END_TEST

/* Every plain allocation is 16-aligned, whatever its size and however it
 * was made. */
START_TEST(test_malloc_16_aligned)
{
    enum { N = 6000 };
    static void *v[N];
    uint64_t rng = 23;
    size_t i;

    for (i = 0; i < N; i++) {
        size_t n = i < 4200 ? i : tu_rand_size(&rng, 40, 20, 3 * TU_MIB);

        switch (i % 3) {
        case 0:
            v[i] = my_malloc(n);
            break;
        case 1:
            v[i] = my_calloc(1, n);
            break;
        default:
            v[i] = my_realloc(NULL, n);
            break;
        }
        tu_check(v[i] != NULL, "allocating %zu failed", n);
        tu_check(tu_is_aligned(v[i], TU_ALIGN), "size %zu: %p", n, v[i]);
    }
    for (i = 0; i < N; i++) {
        void *q = my_realloc(v[i], (i * 7919) % (2 * TU_MIB));

        tu_check(q != NULL, "realloc failed");
        tu_check(tu_is_aligned(q, TU_ALIGN), "realloc gave %p", q);
        my_free(q);
    }
}
END_TEST

static Suite *align_suite(void)
{
    Suite *s = suite_create("align");
    TCase *tc = tcase_create("align");

    tcase_add_test(tc, test_aligned_alloc);
    tcase_add_test(tc, test_posix_memalign);
    tcase_add_test(tc, test_aligned_many_live);
    tcase_add_test(tc, test_small_aligned_class);
    tcase_add_test(tc, test_malloc_16_aligned);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(align_suite());
}
