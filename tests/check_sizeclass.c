/* check_sizeclass.c - white-box tests of the size-class table, the slab
 * geometry built on it, and how a heap tracks its slabs. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"
#include "whitebox.h"

START_TEST(test_table_shape)
{
    ck_assert_uint_eq(myalloc__class_sizes[0], 16);
    ck_assert_uint_eq(myalloc__class_sizes[SIZE_CLASSES - 1], SMALL_MAX);
    for (unsigned c = 0; c < SIZE_CLASSES; c++) {
        ck_assert_uint_eq(myalloc__class_sizes[c] % MIN_ALIGN, 0);
        if (c > 0)
            ck_assert_uint_gt(myalloc__class_sizes[c], myalloc__class_sizes[c - 1]);
    }
}
END_TEST

/* Every request maps to the smallest class that holds it. */
START_TEST(test_smallest_fitting_class)
{
    for (size_t n = 0; n <= SMALL_MAX; n++) {
        unsigned c = size_class_of(n);
        ck_assert_uint_eq(size_class_lookup(n), c);
        ck_assert_uint_lt(c, SIZE_CLASSES);
        ck_assert_uint_ge(myalloc__class_sizes[c], n == 0 ? 1 : n);
        if (c > 0)
            ck_assert_uint_lt(myalloc__class_sizes[c - 1], n);
    }
}
END_TEST

/* Above 128 bytes rounding loses less than 1/8 of the block; below, at
 * most the 15 bytes of the alignment quantum. */
START_TEST(test_rounding_loss)
{
    for (size_t n = 1; n <= SMALL_MAX; n++) {
        size_t size = myalloc__class_sizes[size_class_of(n)];
        if (n > 128)
            ck_assert_msg((size - n) * 8 < size, "request %zu rounds to %zu", n, size);
        else
            ck_assert_uint_le(size - n, 15);
    }
}
END_TEST

START_TEST(test_class_alignment)
{
    for (unsigned c = 0; c < SIZE_CLASSES; c++) {
        size_t a = myalloc__class_align(c);
        ck_assert(is_pow2(a));
        ck_assert_uint_eq(myalloc__class_sizes[c] % a, 0);
        ck_assert_uint_ne((myalloc__class_sizes[c] / a) % 2, 0);
    }
    for (size_t align = 16; align <= PAGE_SIZE; align *= 2) {
        for (size_t n = 0; n <= SMALL_MAX; n += 7) {
            unsigned c = myalloc__class_for_aligned(n, align);
            if (c == SIZE_CLASSES) {
                ck_assert_uint_gt(n, SMALL_MAX - align);
                continue;
            }
            ck_assert_uint_ge(myalloc__class_sizes[c], n);
            ck_assert_uint_ge(myalloc__class_align(c), align);
        }
    }
    ck_assert_uint_eq(myalloc__class_for_aligned(SMALL_MAX + 1, 16), SIZE_CLASSES);
}
END_TEST

START_TEST(test_slab_geometry)
{
    for (unsigned c = 0; c < SIZE_CLASSES; c++) {
        unsigned order = myalloc__slab_order(c);
        size_t bytes = PAGE_SIZE << order, first, size = myalloc__class_sizes[c];
        uint32_t capacity;

        ck_assert_uint_ge(order, SLAB_MIN_ORDER);
        ck_assert_uint_le(order, SLAB_MAX_ORDER);
        myalloc__slab_layout(c, order, &first, &capacity);
        ck_assert_uint_ge(first, sizeof(struct slab) + ((capacity + 63) / 64) * 8);
        ck_assert_uint_eq(first % myalloc__class_align(c), 0);
        ck_assert_uint_le(first + (size_t)capacity * size, bytes);
        ck_assert_uint_ge(capacity, 8);
        ck_assert_uint_le(capacity, SLAB_MAX_BLOCKS);
        /* The chosen slab loses at most 1/16 to header, padding and tail. */
        ck_assert_msg((bytes - (size_t)capacity * size) * 16 <= bytes,
                      "class %u wastes %zu of %zu", c, bytes - (size_t)capacity * size, bytes);
    }
}
END_TEST

/* Room for a slab of any order, aligned as the buddy system aligns one;
 * reused by every test of this process. */
static char *slab_space(void)
{
    static char *base;
    size_t span = PAGE_SIZE << SLAB_MAX_ORDER;

    if (base == NULL) {
        void *mem = mmap(NULL, 2 * span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        ck_assert_ptr_ne(mem, MAP_FAILED);
        base = (char *)align_up((uintptr_t)mem, span);
    }
    return base;
}

/* The reciprocal division finds exactly the block starts. */
START_TEST(test_slab_index_exact)
{
    char *base = slab_space();

    for (unsigned c = 0; c < SIZE_CLASSES; c++) {
        struct slab *s = myalloc__slab_init(base, c, NULL);
        size_t bytes = PAGE_SIZE << s->order;
        char *blocks = slab_blocks(s);
        for (size_t off = 0; off < bytes; off += 16) {
            char *p = base + off;
            uint32_t idx = slab_index_of(s, p);
            bool start = p >= blocks && (size_t)(p - blocks) % s->block_size == 0 &&
                         (size_t)(p - blocks) / s->block_size < s->capacity;
            if (start)
                ck_assert_uint_eq(idx, (uint32_t)((size_t)(p - blocks) / s->block_size));
            else
                ck_assert_uint_eq(idx, UINT32_MAX);
        }
        ck_assert_uint_eq(s->in_use, 0);
    }
}
END_TEST

/* slab_take hands out every block once, lowest address first, then has
 * none left; blocks given back are taken again, lowest first. */
START_TEST(test_slab_take_covers_blocks)
{
    char *base = slab_space();

    for (unsigned c = 0; c < SIZE_CLASSES; c++) {
        struct slab *s = myalloc__slab_init(base, c, NULL);
        uint32_t n = s->capacity;
        for (uint32_t i = 0; i < n; i++) {
            ck_assert_uint_ne(s->not_full, 0);
            char *b = slab_take(s);
            ck_assert_ptr_eq(b, slab_blocks(s) + (size_t)i * s->block_size);
            ck_assert(slab_block_live(s, i));
        }
        ck_assert_uint_eq(s->not_full, 0);
        ck_assert_uint_eq(s->in_use, n);
        ck_assert_ptr_null(myalloc__slab_check(s, true, NULL));
        /* Give back the last and the first: the first comes back first. */
        ck_assert(slab_give(s, n - 1));
        ck_assert(slab_give(s, 0));
        ck_assert(!slab_give(s, 0)); /* a double free, refused */
        ck_assert_uint_eq(s->in_use, n - 2);
        ck_assert_ptr_null(myalloc__slab_check(s, true, NULL));
        ck_assert_ptr_eq(slab_take(s), slab_blocks(s));
        ck_assert_ptr_eq(slab_take(s), slab_blocks(s) + (size_t)(n - 1) * s->block_size);
        ck_assert_uint_eq(s->not_full, 0);
    }
}
END_TEST

/* A slab that ran out of blocks is no longer tracked (FULL).  Local frees
 * go back to it, but it is listed again, and its blocks reused, only once
 * an eighth of it is free: a slab hovering at full does not bounce between
 * the slow paths on every free. */
START_TEST(test_full_slab_relisted_after_an_eighth)
{
    enum { MAX = 4096 };
    static void *got[MAX];
    void *mine[MAX];
    size_t size = 64, n = 0, nmine = 0;
    struct slab *s;
    uint32_t eighth;

    got[n++] = my_malloc(size);
    s = slab_of(got[0]);
    while (s->state == SLAB_LISTED) {
        ck_assert_uint_lt(n, MAX);
        got[n++] = my_malloc(size);
    }
    ck_assert_uint_eq(s->state, SLAB_FULL);
    ck_assert_uint_eq(s->in_use, s->capacity);
    for (size_t i = 0; i < n; i++)
        if (slab_of(got[i]) == s)
            mine[nmine++] = got[i];
    eighth = s->capacity / 8;
    ck_assert_uint_ge(nmine, eighth);

    for (uint32_t i = 0; i + 1 < eighth; i++)
        my_free(mine[i]);
    ck_assert_uint_eq(s->state, SLAB_FULL);
    ck_assert_uint_eq(s->in_use, s->capacity - (eighth - 1));
    ck_assert_int_eq(my_heap_check(), 0);

    my_free(mine[eighth - 1]);
    ck_assert_uint_eq(s->state, SLAB_LISTED);
    void *again = my_malloc(size);
    ck_assert_ptr_eq(slab_of(again), s);
    my_free(again);

    for (size_t i = 0; i < n; i++) {
        bool freed = false;
        for (uint32_t k = 0; k < eighth; k++)
            freed |= got[i] == mine[k];
        if (!freed)
            my_free(got[i]);
    }
}
END_TEST

/* Whether the page at p is resident (mincore). */
static bool resident(const void *p)
{
    unsigned char vec;

    ck_assert_int_eq(mincore((void *)((uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1)), PAGE_SIZE,
                             &vec),
                     0);
    return vec & 1;
}

/* Fills slabs of 1 KiB blocks, bytes of them in all, writing every block;
 * returns the slab of the first and sets *n to the blocks in got. */
static struct slab *fill_slabs(char **got, size_t max, size_t bytes, size_t *n)
{
    size_t size = 1024, count = 0;

    while (count * size < bytes) {
        ck_assert_uint_lt(count, max);
        got[count] = my_malloc(size);
        ck_assert_ptr_nonnull(got[count]);
        memset(got[count], 0x5a, size);
        count++;
    }
    *n = count;
    return slab_of(got[0]);
}

/* Frees every block of s but its first, the last first. */
static void drain_slab(char **got, size_t n, struct slab *s)
{
    for (size_t i = n; i-- > 0;)
        if (got[i] != NULL && slab_of(got[i]) == s && got[i] != slab_blocks(s)) {
            my_free(got[i]);
            got[i] = NULL;
        }
    ck_assert_uint_eq(s->in_use, 1);
}

static void free_all(char **got, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != NULL)
            my_free(got[i]);
}

/* Once the heap's slabs hold more than SLAB_PURGE_FLOOR (16 MiB) free, a
 * slab that filled up and then fell to a quarter in use (and again at an
 * eighth, ...) gives the pages holding only free blocks back to the OS;
 * bytes_mapped says so.  Its blocks serve again from those pages, which
 * read as zero. */
START_TEST(test_sparse_slab_purges_free_pages)
{
    enum { MAX = 40 << 10 };
    static char *got[MAX];
    size_t size = 1024, n;
    struct my_stats before, after;
    struct slab *s = fill_slabs(got, MAX, (size_t)24 << 20, &n);

    ck_assert_uint_eq(s->purge_at, s->capacity / 4);
    /* Three blocks in four of the other slabs first (18 MiB that stay in
     * slabs: a slab with no block left would go back to the buddy system),
     * s last. */
    for (size_t i = n; i-- > 0;)
        if (i % 4 != 0 && slab_of(got[i]) != s) {
            my_free(got[i]);
            got[i] = NULL;
        }
    ck_assert_int_eq(my_stats_get(&before, sizeof before), 0);
    drain_slab(got, n, s);
    ck_assert_uint_lt(s->purge_at, s->capacity / 4);
    ck_assert(s->purged_pages != 0);
    char *first = slab_blocks(s), *last = first + (size_t)(s->capacity - 1) * size;
    ck_assert(resident(first));
    ck_assert(!resident(last));
    ck_assert_int_eq(my_stats_get(&after, sizeof after), 0);
    ck_assert_uint_eq(before.bytes_mapped - after.bytes_mapped,
                      (size_t)__builtin_popcount(s->purged_pages) * PAGE_SIZE);
    ck_assert_int_eq(my_heap_check(), 0);

    /* Taken again, lowest first: the purged pages come back as zero. */
    char *again = my_malloc(size);
    ck_assert_ptr_eq(again, first + size);
    if (((uintptr_t)again & (PAGE_SIZE - 1)) == 0)
        ck_assert_uint_eq((unsigned char)again[0], 0);
    my_free(again);
    free_all(got, n);
}
END_TEST

/* Below the floor nothing is purged: a few MiB of small blocks that come
 * and go would only be faulted in again. */
START_TEST(test_small_heap_keeps_slab_pages)
{
    enum { MAX = 4096 };
    static char *got[MAX];
    size_t n;
    struct slab *s = fill_slabs(got, MAX, (size_t)1 << 20, &n);

    drain_slab(got, n, s);
    ck_assert_uint_eq(s->purged_pages, 0);
    ck_assert(resident(slab_blocks(s) + (size_t)(s->capacity - 1) * 1024));
    free_all(got, n);
}
END_TEST

static Suite *sizeclass_suite(void)
{
    Suite *s = suite_create("sizeclass");
    TCase *tc = tcase_create("table");

    tcase_add_test(tc, test_table_shape);
    tcase_add_test(tc, test_smallest_fitting_class);
    tcase_add_test(tc, test_rounding_loss);
    tcase_add_test(tc, test_class_alignment);
    tcase_add_test(tc, test_slab_geometry);
    tcase_add_test(tc, test_slab_index_exact);
    tcase_add_test(tc, test_slab_take_covers_blocks);
    suite_add_tcase(s, tc);
    tc = tcase_create("tracking");
    tcase_add_test(tc, test_full_slab_relisted_after_an_eighth);
    tcase_add_test(tc, test_sparse_slab_purges_free_pages);
    tcase_add_test(tc, test_small_heap_keeps_slab_pages);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(sizeclass_suite());
}
