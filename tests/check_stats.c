/* check_stats.c - the statistics move as the header says: call counters,
 * live bytes per regime, per-class and per-order figures, fragmentation,
 * the st_size contract and the printed report.  Everything here runs on
 * one thread, where the figures are exact. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

/* The documented table: 48 classes, 10 orders, their block sizes. */
START_TEST(test_layout)
{
    struct my_stats st;
    size_t table[TU_NCLASSES];
    unsigned i;

    tu_class_table(table);
    tu_stats(&st);
    ck_assert_uint_eq(st.nclasses, TU_NCLASSES);
    ck_assert_uint_eq(st.norders, TU_NORDERS);
    ck_assert_uint_le(st.nclasses, MYALLOC_STATS_CLASSES);
    ck_assert_uint_le(st.norders, MYALLOC_STATS_ORDERS);
    for (i = 0; i < TU_NCLASSES; i++)
        ck_assert_msg(st.classes[i].block_size == table[i],
                      "classes[%u].block_size %zu, want %zu", i,
                      st.classes[i].block_size, table[i]);
    for (i = 0; i < TU_NORDERS; i++)
        ck_assert_msg(st.orders[i].block_size == (size_t)4096 << i,
                      "orders[%u].block_size %zu", i, st.orders[i].block_size);
}
END_TEST

#define ASSERT_DELTA(b, a, field, want)                                       \
    ck_assert_msg((b).field - (a).field == (want),                            \
                  #field " moved by %llu, want %llu",                         \
                  (unsigned long long)((b).field - (a).field),                \
                  (unsigned long long)(want))

/* Each call counter moves by the number of its calls, and only it. */
START_TEST(test_call_counters)
{
    static const size_t sizes[] = {0, 1, 100, 4096, 4097, 65536, TU_MIB,
                                   TU_MIB + 1, 5 * TU_MIB, 300};
    enum { N = sizeof sizes / sizeof sizes[0] };
    void *p[N], *q;
    struct my_stats a, b;
    size_t i;

    tu_stats(&a);
    for (i = 0; i < N; i++) {
        p[i] = my_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p[i]);
    }
    tu_stats(&b);
    ASSERT_DELTA(b, a, calls_malloc, N);
    ASSERT_DELTA(b, a, calls_calloc, 0);
    ASSERT_DELTA(b, a, calls_realloc, 0);
    ASSERT_DELTA(b, a, calls_aligned, 0);
    ASSERT_DELTA(b, a, calls_free, 0);

    a = b;
    for (i = 0; i < N; i++)
        my_free(p[i]);
    my_free(NULL); /* counts only with a non-NULL pointer */
    tu_stats(&b);
    ASSERT_DELTA(b, a, calls_free, N);
    ASSERT_DELTA(b, a, calls_malloc, 0);

    a = b;
    for (i = 0; i < N; i++) {
        p[i] = my_calloc(sizes[i] / 4 + 1, 4);
        ck_assert_ptr_nonnull(p[i]);
    }
    tu_stats(&b);
    ASSERT_DELTA(b, a, calls_calloc, N);
    ASSERT_DELTA(b, a, calls_malloc, 0);

    a = b;
    for (i = 0; i < N; i++) {
        q = my_realloc(p[i], sizes[N - 1 - i] + 1);
        ck_assert_ptr_nonnull(q);
        p[i] = q;
    }
    tu_stats(&b);
    ASSERT_DELTA(b, a, calls_realloc, N);
    ASSERT_DELTA(b, a, calls_malloc, 0);
    ASSERT_DELTA(b, a, calls_free, 0);
    for (i = 0; i < N; i++)
        my_free(p[i]);

    /* my_realloc(NULL, n) is a malloc. */
    tu_stats(&a);
    for (i = 0; i < 3; i++) {
        p[i] = my_realloc(NULL, sizes[i * 3]);
        ck_assert_ptr_nonnull(p[i]);
    }
    tu_stats(&b);
    ASSERT_DELTA(b, a, calls_malloc, 3);
    ASSERT_DELTA(b, a, calls_realloc, 0);
    for (i = 0; i < 3; i++)
        my_free(p[i]);

    tu_stats(&a);
    for (i = 0; i < 4; i++) {
        p[i] = my_aligned_alloc((size_t)64 << (i * 4), sizes[i * 2]);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_int_eq(my_posix_memalign(&p[4 + i], (size_t)32 << (i * 4),
                                           sizes[i * 2 + 1]),
                         0);
    }
    tu_stats(&b);
    ASSERT_DELTA(b, a, calls_aligned, 8);
    ASSERT_DELTA(b, a, calls_malloc, 0);
    for (i = 0; i < 8; i++)
        my_free(p[i]);

    tu_stats(&a);
    ck_assert_int_eq(my_trim(), 0);
    ck_assert_int_eq(my_trim(), 0);
    tu_stats(&b);
    ASSERT_DELTA(b, a, calls_trim, 2);
}
END_TEST

/* bytes_allocated rises by the usable size of a block and falls back when
 * it is freed; the regime's own figure moves with it, the others not. */
static void bytes_case(void *(*get)(size_t), size_t n)
{
    struct my_stats a, b, c;
    size_t u;
    void *p;

    tu_stats(&a);
    p = get(n);
    ck_assert_ptr_nonnull(p);
    u = my_malloc_usable_size(p);
    tu_stats(&b);
    ck_assert_msg(b.bytes_allocated - a.bytes_allocated == u,
                  "%zu bytes (usable %zu): bytes_allocated moved by %zu", n,
                  u, b.bytes_allocated - a.bytes_allocated);
    ASSERT_DELTA(b, a, bytes_small, u <= TU_SMALL_MAX ? u : 0);
    ASSERT_DELTA(b, a, bytes_buddy,
                 u > TU_SMALL_MAX && u <= TU_BUDDY_MAX ? u : 0);
    ASSERT_DELTA(b, a, bytes_huge, u > TU_BUDDY_MAX ? u : 0);
    ASSERT_DELTA(b, a, huge_blocks, u > TU_BUDDY_MAX ? 1 : 0);
    ck_assert_uint_ge(b.bytes_mapped, b.bytes_allocated);
    ck_assert_uint_ge(b.peak_bytes_mapped, b.bytes_mapped);
    ck_assert_uint_ge(b.regions + b.huge_blocks, 1);
    my_free(p);
    tu_stats(&c);
    ck_assert_uint_eq(c.bytes_allocated, a.bytes_allocated);
    ck_assert_uint_eq(c.bytes_small, a.bytes_small);
    ck_assert_uint_eq(c.bytes_buddy, a.bytes_buddy);
    ck_assert_uint_eq(c.bytes_huge, a.bytes_huge);
    ck_assert_uint_eq(c.huge_blocks, a.huge_blocks);
}

static void *get_malloc(size_t n)
{
    return my_malloc(n);
}

static void *get_calloc(size_t n)
{
    return my_calloc(n, 1);
}

static void *get_aligned(size_t n)
{
    return my_aligned_alloc(256, n);
}

static void *get_realloc(size_t n)
{
    void *p = my_malloc(24), *q;

    if (p == NULL)
        return NULL;
    q = my_realloc(p, n);
    if (q == NULL)
        my_free(p);
    return q;
}

START_TEST(test_bytes_allocated)
{
    static const size_t sizes[] = {0, 1, 100, 4096, 4097, 100000, TU_MIB,
                                   TU_MIB + 1, 3 * TU_MIB + 5};
    void *(*const gets[])(size_t) = {get_malloc, get_calloc, get_aligned,
                                     get_realloc};
    size_t i, k;

    for (k = 0; k < sizeof gets / sizeof gets[0]; k++)
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            bytes_case(gets[k], sizes[i]);
}
END_TEST

/* Many blocks: the live total is their usable sum, and all goes back. */
START_TEST(test_bytes_allocated_many)
{
    enum { N = 3000 };
    static void *p[N];
    struct my_stats a, b;
    uint64_t rng = 5;
    size_t i, sum = 0;

    tu_stats(&a);
    for (i = 0; i < N; i++) {
        p[i] = my_malloc(tu_rand_size(&rng, 10, 3, 3 * TU_MIB));
        ck_assert_ptr_nonnull(p[i]);
        sum += my_malloc_usable_size(p[i]);
    }
    tu_stats(&b);
    ck_assert_uint_eq(b.bytes_allocated - a.bytes_allocated, sum);
    ck_assert_uint_eq(b.bytes_small + b.bytes_buddy + b.bytes_huge,
                      b.bytes_allocated);
    for (i = 0; i < N; i++)
        my_free(p[i]);
    tu_stats(&b);
    ck_assert_uint_eq(b.bytes_allocated, a.bytes_allocated);
}
END_TEST

/* classes[i]: a block of the class is live, then not; allocs counts. */
START_TEST(test_class_counters)
{
    size_t table[TU_NCLASSES];
    unsigned i;

    tu_class_table(table);
    for (i = 0; i < TU_NCLASSES; i++) {
        struct my_stats a, b, c;
        unsigned j = i == 0 ? 1 : i - 1; /* a neighbour */
        void *p;

        tu_stats(&a);
        p = my_malloc(table[i] - (i % 2 ? 1 : 0));
        ck_assert_ptr_nonnull(p);
        tu_stats(&b);
        ck_assert_msg(b.classes[i].blocks_live == a.classes[i].blocks_live + 1,
                      "class %u (%zu): blocks_live %zu -> %zu", i, table[i],
                      a.classes[i].blocks_live, b.classes[i].blocks_live);
        ck_assert_msg(b.classes[i].allocs == a.classes[i].allocs + 1,
                      "class %u (%zu): allocs %llu -> %llu", i, table[i],
                      (unsigned long long)a.classes[i].allocs,
                      (unsigned long long)b.classes[i].allocs);
        ck_assert_uint_eq(b.classes[j].blocks_live, a.classes[j].blocks_live);
        ck_assert_uint_eq(b.classes[j].allocs, a.classes[j].allocs);
        ck_assert_uint_ge(b.classes[i].slabs, 1);
        ck_assert_uint_ge(b.classes[i].slab_bytes, table[i]);
        my_free(p);
        tu_stats(&c);
        ck_assert_uint_eq(c.classes[i].blocks_live, a.classes[i].blocks_live);
        ck_assert_uint_eq(c.classes[i].allocs, a.classes[i].allocs + 1);
    }
}
END_TEST

/* orders[k].blocks_used for every order a request reaches (8 KiB .. 1 MiB). */
START_TEST(test_order_counters)
{
    unsigned k;

    for (k = 1; k <= 8; k++) {
        size_t block = TU_PAGE << k;
        struct my_stats a, b, c;
        void *p, *q;

        tu_stats(&a);
        p = my_malloc(block);
        q = my_malloc(block / 2 + 1 > TU_SMALL_MAX ? block / 2 + 1 : block);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(q);
        tu_stats(&b);
        ck_assert_msg(b.orders[k].blocks_used == a.orders[k].blocks_used + 2,
                      "order %u: blocks_used %zu -> %zu", k,
                      a.orders[k].blocks_used, b.orders[k].blocks_used);
        ck_assert_uint_eq(b.orders[k - 1].blocks_used,
                          a.orders[k - 1].blocks_used);
        my_free(p);
        tu_stats(&c);
        ck_assert_uint_eq(c.orders[k].blocks_used, a.orders[k].blocks_used + 1);
        my_free(q);
        tu_stats(&c);
        ck_assert_uint_eq(c.orders[k].blocks_used, a.orders[k].blocks_used);
    }
}
END_TEST

/* Fragmentation figures: in range, and as the header defines them. */
START_TEST(test_fragmentation)
{
    enum { N = 2000 };
    static void *p[N];
    struct my_stats a, b;
    uint64_t rng = 11;
    size_t i;
    void *one;

    tu_stats(&a);
    one = my_malloc(100); /* class 112: 12 bytes lost to rounding */
    ck_assert_ptr_nonnull(one);
    tu_stats(&b);
    ASSERT_DELTA(b, a, bytes_requested_total, 100);
    ASSERT_DELTA(b, a, bytes_rounded_total, 112);
    my_free(one);

    for (i = 0; i < N; i++) {
        p[i] = my_malloc(tu_rand_size(&rng, 20, 2, 2 * TU_MIB));
        ck_assert_ptr_nonnull(p[i]);
    }
    for (i = 0; i < N; i += 2)
        my_free(p[i]);
    tu_stats(&b);
    ck_assert_uint_le(b.bytes_requested_total, b.bytes_rounded_total);
    ck_assert_uint_gt(b.bytes_rounded_total, 0);
    ck_assert_msg(b.frag_internal >= 0.0 && b.frag_internal <= 1.0,
                  "frag_internal %g", b.frag_internal);
    ck_assert_msg(b.frag_internal > 0.0, "random sizes lost nothing?");
    ck_assert_double_eq_tol(b.frag_internal,
                            1.0 - (double)b.bytes_requested_total /
                                      (double)b.bytes_rounded_total,
                            1e-6);
    ck_assert_msg(b.frag_external >= 0.0 && b.frag_external <= 1.0,
                  "frag_external %g", b.frag_external);
    ck_assert_uint_le(b.buddy_largest_free, b.buddy_bytes_free);
    if (b.buddy_bytes_free == 0)
        ck_assert_double_eq(b.frag_external, 0.0);
    else
        ck_assert_double_eq_tol(b.frag_external,
                                1.0 - (double)b.buddy_largest_free /
                                          (double)b.buddy_bytes_free,
                                1e-6);
    ck_assert_uint_ge(b.peak_bytes_mapped, b.bytes_mapped);
    for (i = 1; i < N; i += 2)
        my_free(p[i]);
    tu_stats(&b);
    ck_assert(b.frag_internal >= 0.0 && b.frag_internal <= 1.0);
    ck_assert(b.frag_external >= 0.0 && b.frag_external <= 1.0);
    ck_assert_uint_ge(b.peak_bytes_mapped, b.bytes_mapped);
}
END_TEST

/* A caller with a smaller struct gets only that prefix written. */
START_TEST(test_partial_size)
{
    static const size_t cut[] = {0, offsetof(struct my_stats, bytes_mapped),
                                 offsetof(struct my_stats, bytes_mapped) + 3,
                                 offsetof(struct my_stats, nclasses),
                                 sizeof(struct my_stats) - 1};
    struct my_stats full;
    _Alignas(struct my_stats) unsigned char buf[sizeof(struct my_stats) + 64];
    size_t i;
    void *p = my_malloc(1000); /* so that bytes_allocated is not 0 */

    ck_assert_ptr_nonnull(p);
    tu_stats(&full);
    ck_assert_uint_gt(full.bytes_allocated, 0);
    for (i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        struct my_stats got;

        memset(buf, 0xA5, sizeof buf);
        ck_assert_int_eq(my_stats_get((struct my_stats *)(void *)buf, cut[i]),
                         0);
        ck_assert_msg(tu_find_not(buf + cut[i], sizeof buf - cut[i], 0xA5) ==
                          SIZE_MAX,
                      "st_size %zu: byte %zu written", cut[i],
                      cut[i] + tu_find_not(buf + cut[i], sizeof buf - cut[i],
                                           0xA5));
        if (cut[i] >= sizeof got.bytes_allocated) {
            memcpy(&got, buf, sizeof got.bytes_allocated);
            ck_assert_uint_eq(got.bytes_allocated, full.bytes_allocated);
        }
    }
    /* The full size fills the whole struct, nothing beyond it. */
    memset(buf, 0xA5, sizeof buf);
    ck_assert_int_eq(my_stats_get((struct my_stats *)(void *)buf,
                                  sizeof(struct my_stats)),
                     0);
    ck_assert_uint_eq(tu_find_not(buf + sizeof(struct my_stats), 64, 0xA5),
                      SIZE_MAX);
    {
        struct my_stats got;

        memcpy(&got, buf, sizeof got);
        ck_assert_uint_eq(got.nclasses, TU_NCLASSES);
        ck_assert_uint_eq(got.bytes_allocated, full.bytes_allocated);
    }
    my_free(p);
}
END_TEST

START_TEST(test_get_null)
{
    errno = 0;
    ck_assert_int_eq(my_stats_get(NULL, sizeof(struct my_stats)), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(my_stats_get(NULL, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* The report: written, non-empty, with the figures it is for. */
START_TEST(test_print)
{
    static const char *const words[] = {"allocated", "mapped", "peak",
                                        "class", "order", "fragmentation"};
    FILE *f = tmpfile();
    void *p = my_malloc(5000), *q = my_malloc(50), *r = my_malloc(3 * TU_MIB);
    char *text;
    long len;
    size_t i;

    ck_assert_ptr_nonnull(f);
    ck_assert(p != NULL && q != NULL && r != NULL);
    ck_assert_int_eq(my_stats_print(f), 0);
    ck_assert_int_eq(fflush(f), 0);
    len = ftell(f);
    ck_assert_int_gt(len, 0);
    text = calloc((size_t)len + 1, 1);
    ck_assert_ptr_nonnull(text);
    rewind(f);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
        ck_assert_msg(strstr(text, words[i]) != NULL,
                      "the report has no \"%s\":\n%s", words[i], text);
    ck_assert_msg(text[len - 1] == '\n', "the report ends mid-line");
    free(text);
    fclose(f);
    my_free(p);
    my_free(q);
    my_free(r);
}
END_TEST

START_TEST(test_print_errors)
{
    tu_check_writer_errors(my_stats_print);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");

    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_call_counters);
    tcase_add_test(tc, test_bytes_allocated);
    tcase_add_test(tc, test_bytes_allocated_many);
    tcase_add_test(tc, test_class_counters);
    tcase_add_test(tc, test_order_counters);
    tcase_add_test(tc, test_fragmentation);
    tcase_add_test(tc, test_partial_size);
    tcase_add_test(tc, test_get_null);
    tcase_add_test(tc, test_print);
    tcase_add_test(tc, test_print_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(stats_suite());
}
