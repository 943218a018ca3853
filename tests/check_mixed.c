/* check_mixed.c - a random workload over every size range, with a table of
 * live blocks whose contents are checked at every free, every realloc and
 * at the end.
 *
 * MYALLOC_STRESS_ITERS sets the number of operations (default below, sized
 * for a few seconds); MYALLOC_STRESS_SEED changes the seed. */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

#define DEFAULT_ITERS 60000
#define NSLOTS 1024

struct slot {
    unsigned char *p;
    size_t size;   /* the size asked for */
    size_t usable; /* what my_malloc_usable_size said */
    size_t align;  /* asked-for alignment, 0 for none */
    uint64_t seed;
};

struct counts {
    size_t allocs, frees, reallocs, small, buddy, huge;
};

static void count_size(struct counts *c, size_t usable)
{
    if (usable <= TU_SMALL_MAX)
        c->small++;
    else if (usable <= TU_BUDDY_MAX)
        c->buddy++;
    else
        c->huge++;
}

static void slot_check(const struct slot *s)
{
    tu_assert_pattern(s->p, s->usable, s->seed);
}

static void slot_alloc(struct slot *s, uint64_t *rng, struct counts *c)
{
    size_t n = tu_rand_size(rng, 9, 5, 4 * TU_MIB);
    unsigned how = (unsigned)(tu_rand(rng) % 20);

    s->align = 0;
    s->size = n;
    s->seed = tu_rand(rng);
    if (how < 13) {
        s->p = my_malloc(n);
    } else if (how < 16) {
        s->p = my_calloc(1, n);
        tu_check(s->p != NULL, "my_calloc(1, %zu) failed", n);
        tu_check(tu_find_not(s->p, n, 0) == SIZE_MAX,
                 "my_calloc(1, %zu): byte %zu not zero", n,
                 tu_find_not(s->p, n, 0));
    } else if (how < 19) {
        s->align = (size_t)16 << tu_rand_range(rng, 0, 12); /* ..64 KiB */
        s->p = my_aligned_alloc(s->align, n);
        tu_check(s->p == NULL || tu_is_aligned(s->p, s->align),
                 "my_aligned_alloc(%zu, %zu) = %p", s->align, n,
                 (void *)s->p);
    } else {
        s->p = my_realloc(NULL, n);
    }
    tu_check(s->p != NULL, "allocating %zu bytes (way %u) failed", n, how);
    tu_check(tu_is_aligned(s->p, TU_ALIGN), "%p is not 16-aligned",
             (void *)s->p);
    s->usable = my_malloc_usable_size(s->p);
    tu_check(s->usable >= n, "%zu bytes asked, %zu usable", n, s->usable);
    tu_fill(s->p, s->usable, s->seed);
    c->allocs++;
    count_size(c, s->usable);
}

static void slot_realloc(struct slot *s, uint64_t *rng, struct counts *c)
{
    size_t n = tu_rand(rng) % 4 == 0 ? s->size / 2 + 1
                                      : tu_rand_size(rng, 9, 5, 4 * TU_MIB);
    size_t keep = n < s->size ? n : s->size;
    unsigned char *q;

    slot_check(s);
    q = my_realloc(s->p, n);
    tu_check(q != NULL, "my_realloc(%p, %zu) failed", (void *)s->p, n);
    tu_check(tu_is_aligned(q, TU_ALIGN), "%p is not 16-aligned", (void *)q);
    s->p = q;
    s->size = n;
    s->align = 0;
    s->usable = my_malloc_usable_size(q);
    tu_check(s->usable >= n, "realloc to %zu: %zu usable", n, s->usable);
    tu_assert_pattern(q, keep, s->seed);
    tu_fill_from(q, keep, s->usable, s->seed);
    c->reallocs++;
    count_size(c, s->usable);
}

static void slot_free(struct slot *s, struct counts *c)
{
    slot_check(s);
    my_free(s->p);
    s->p = NULL;
    c->frees++;
}

static int slot_cmp(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;

    return x->p < y->p ? -1 : x->p > y->p;
}

START_TEST(test_random_mix)
{
    static struct slot slots[NSLOTS];
    size_t iters = tu_env_size("MYALLOC_STRESS_ITERS", DEFAULT_ITERS);
    uint64_t rng = tu_env_size("MYALLOC_STRESS_SEED", 20240601);
    struct counts c = {0};
    struct my_stats st0, st1;
    size_t i, nlive = 0;

    tu_stats(&st0);
    for (i = 0; i < iters; i++) {
        struct slot *s = &slots[tu_rand(&rng) % NSLOTS];

        if (s->p == NULL)
            slot_alloc(s, &rng, &c);
        else if (tu_rand(&rng) % 3 == 0)
            slot_realloc(s, &rng, &c);
        else
            slot_free(s, &c);
    }
    /* Everything still live is intact and no two blocks overlap. */
    for (i = 0; i < NSLOTS; i++)
        if (slots[i].p != NULL)
            slots[nlive++] = slots[i];
    qsort(slots, nlive, sizeof slots[0], slot_cmp);
    for (i = 0; i < nlive; i++) {
        slot_check(&slots[i]);
        if (i > 0)
            tu_check(slots[i - 1].p + slots[i - 1].usable <= slots[i].p,
                     "live blocks %p and %p overlap", (void *)slots[i - 1].p,
                     (void *)slots[i].p);
    }
    for (i = 0; i < nlive; i++)
        slot_free(&slots[i], &c);
    memset(slots, 0, sizeof slots);

    /* The workload really went through all three regimes. */
    ck_assert_msg(c.small > 0 && c.buddy > 0 && c.huge > 0,
                  "small %zu, buddy %zu, huge %zu blocks", c.small, c.buddy,
                  c.huge);
    ck_assert_uint_eq(c.allocs, c.frees);
    /* One thread allocated and freed everything: the live total is back
     * where it was. */
    tu_stats(&st1);
    ck_assert_msg(st1.bytes_allocated == st0.bytes_allocated,
                  "bytes_allocated %zu before, %zu after freeing everything",
                  st0.bytes_allocated, st1.bytes_allocated);
    ck_assert_uint_eq(st1.huge_blocks, st0.huge_blocks);
    ck_assert_uint_eq(st1.calls_free - st0.calls_free, c.frees);
    ck_assert_uint_eq(st1.calls_realloc - st0.calls_realloc, c.reallocs);
}
END_TEST

/* The same with sizes near the regime boundaries only, where rounding
 * and the choice of allocator change; every usable size is the documented
 * one (asserted at the end, so that contents are checked throughout). */
START_TEST(test_boundary_mix)
{
    static const size_t edges[] = {0, 16, 128, 256, 4096, 8192, TU_MIB};
    static struct slot slots[256];
    uint64_t rng = 99;
    size_t i, iters = tu_env_size("MYALLOC_STRESS_ITERS", DEFAULT_ITERS) / 4;
    size_t bad_n = SIZE_MAX, bad_usable = 0;
    struct counts c = {0};

    for (i = 0; i < iters; i++) {
        struct slot *s = &slots[tu_rand(&rng) % 256];
        size_t e = edges[tu_rand(&rng) % (sizeof edges / sizeof edges[0])];
        size_t n = e + tu_rand_range(&rng, 0, 2);

        n = n >= 1 ? n - 1 : n; /* e - 1, e or e + 1 */
        if (s->p == NULL) {
            s->p = my_malloc(n);
            tu_check(s->p != NULL, "my_malloc(%zu) failed", n);
            s->size = n;
            s->usable = my_malloc_usable_size(s->p);
            tu_check(s->usable >= n, "my_malloc(%zu): usable %zu", n,
                     s->usable);
            if (s->usable != tu_expected_usable(n) && bad_n == SIZE_MAX) {
                bad_n = n; /* reported at the end */
                bad_usable = s->usable;
            }
            s->seed = tu_rand(&rng);
            tu_fill(s->p, s->usable, s->seed);
            c.allocs++;
        } else if (tu_rand(&rng) % 2) {
            size_t keep = n < s->size ? n : s->size;
            unsigned char *q;

            slot_check(s);
            q = my_realloc(s->p, n);
            tu_check(q != NULL, "my_realloc(%zu) failed", n);
            s->p = q;
            s->size = n;
            s->usable = my_malloc_usable_size(q);
            tu_check(s->usable >= n, "realloc to %zu: %zu usable", n,
                     s->usable);
            tu_assert_pattern(q, keep, s->seed);
            tu_fill_from(q, keep, s->usable, s->seed);
        } else {
            slot_free(s, &c);
        }
    }
    for (i = 0; i < 256; i++)
        if (slots[i].p != NULL)
            slot_free(&slots[i], &c);
    ck_assert_uint_eq(c.allocs, c.frees);
    ck_assert_msg(bad_n == SIZE_MAX, "my_malloc(%zu): usable %zu, want %zu",
                  bad_n, bad_usable, tu_expected_usable(bad_n));
}
END_TEST

static Suite *mixed_suite(void)
{
    Suite *s = suite_create("mixed");
    TCase *tc = tcase_create("mixed");

    tcase_add_test(tc, test_random_mix);
    tcase_add_test(tc, test_boundary_mix);
    /* Long stress runs set MYALLOC_STRESS_ITERS; give them time. */
    tcase_set_timeout(tc, tu_env_size("MYALLOC_STRESS_ITERS", 0) >
                              10 * DEFAULT_ITERS
                          ? 3600
                          : 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(mixed_suite());
}
