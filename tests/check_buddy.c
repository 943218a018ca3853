/* check_buddy.c - white-box tests of the buddy system, the arenas built on
 * it and OS failure handling: split, coalesce, every order, in-place
 * resizing, purging, region release, and the invariant checker itself. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "testutil.h"

static struct region *region_new(void)
{
    void *mem;
    ck_assert_int_eq(myalloc__os_map_aligned(REGION_SIZE, REGION_SIZE, 0, NULL, &mem), 0);
    ck_assert_uint_eq((uintptr_t)mem & REGION_MASK, 0);
    struct region *r = mem;
    r->list_order = -1;
    myalloc__buddy_init(r);
    return r;
}

static void region_gone(struct region *r)
{
    ck_assert_int_eq(myalloc__os_unmap(r, REGION_SIZE), 0);
}

#define ck_assert_region_ok(r)                                                   \
    do {                                                                         \
        const char *problem_ = myalloc__buddy_check(r, NULL);                    \
        ck_assert_msg(problem_ == NULL, "buddy invariant broken: %s", problem_); \
    } while (0)

START_TEST(test_init_tiles_region)
{
    struct region *r = region_new();
    ck_assert_region_ok(r);
    ck_assert_uint_eq(r->free_pages, REGION_USABLE_PAGES);
    ck_assert(myalloc__buddy_is_empty(r));
    ck_assert_int_eq(myalloc__buddy_largest_order(r), BUDDY_MAX_ORDER);
    region_gone(r);
}
END_TEST

/* Allocating order 0 twice splits the next block: pages come in address
 * order and the remainder is split into free halves. */
START_TEST(test_split)
{
    struct region *r = region_new();
    unsigned first = REGION_META_PAGES;
    unsigned a = myalloc__buddy_alloc(r, 0, PAGE_USED);
    unsigned b = myalloc__buddy_alloc(r, 0, PAGE_USED);

    ck_assert_uint_eq(a, first);
    ck_assert_uint_eq(b, first + 1);
    ck_assert_uint_eq(r->pages[b].kind, PAGE_USED);
    ck_assert_uint_eq(r->pages[b].order, 0);
    ck_assert_region_ok(r);
    ck_assert_uint_eq(r->free_pages, REGION_USABLE_PAGES - 2);
    myalloc__buddy_free(r, b);
    myalloc__buddy_free(r, a);
    ck_assert_region_ok(r);
    ck_assert(myalloc__buddy_is_empty(r));
    region_gone(r);
}
END_TEST

/* Every order can be allocated, is aligned to its size and comes back. */
START_TEST(test_every_order)
{
    struct region *r = region_new();

    for (unsigned o = 0; o < BUDDY_ORDERS; o++) {
        unsigned page = myalloc__buddy_alloc(r, o, PAGE_USED);
        ck_assert_uint_ne(page, PAGE_NONE);
        ck_assert_uint_eq(page % (1u << o), 0);
        ck_assert_uint_eq(((uintptr_t)r + ((uintptr_t)page << PAGE_SHIFT)) % (PAGE_SIZE << o), 0);
        ck_assert_uint_eq(r->pages[page].order, o);
        ck_assert_uint_eq(r->free_pages, REGION_USABLE_PAGES - (1u << o));
        ck_assert_region_ok(r);
        myalloc__buddy_free(r, page);
        ck_assert_region_ok(r);
        ck_assert(myalloc__buddy_is_empty(r));
    }
    region_gone(r);
}
END_TEST

/* Exhaust the region page by page, free in a scrambled order: merging
 * restores the initial tiling exactly. */
START_TEST(test_coalesce_everything)
{
    struct region *r = region_new();
    unsigned initial[BUDDY_ORDERS], pages[REGION_PAGES], n = 0;
    uint64_t seed = 0x9e3779b97f4a7c15u;

    for (unsigned o = 0; o < BUDDY_ORDERS; o++)
        initial[o] = myalloc__buddy_free_count(r, o);
    for (;;) {
        unsigned p = myalloc__buddy_alloc(r, 0, PAGE_USED);
        if (p == PAGE_NONE)
            break;
        pages[n++] = p;
    }
    ck_assert_uint_eq(n, REGION_USABLE_PAGES);
    ck_assert_uint_eq(r->free_pages, 0);
    ck_assert_int_eq(myalloc__buddy_largest_order(r), -1);
    for (unsigned i = n - 1; i > 0; i--) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        unsigned j = (unsigned)(seed % (i + 1)), t = pages[i];
        pages[i] = pages[j];
        pages[j] = t;
    }
    for (unsigned i = 0; i < n; i++) {
        myalloc__buddy_free(r, pages[i]);
        if (i % 97 == 0)
            ck_assert_region_ok(r);
    }
    ck_assert_region_ok(r);
    ck_assert(myalloc__buddy_is_empty(r));
    for (unsigned o = 0; o < BUDDY_ORDERS; o++)
        ck_assert_uint_eq(myalloc__buddy_free_count(r, o), initial[o]);
    region_gone(r);
}
END_TEST

/* A freed block merges with its free buddy and serves a larger order. */
START_TEST(test_buddy_merge_serves_larger)
{
    struct region *r = region_new();
    unsigned a = myalloc__buddy_alloc(r, 8, PAGE_USED); /* the lone order-8 block */
    unsigned b = myalloc__buddy_alloc(r, 8, PAGE_USED); /* splits the order-9 one */
    unsigned c = myalloc__buddy_alloc(r, 8, PAGE_USED);

    ck_assert_uint_ne(a, PAGE_NONE);
    ck_assert_uint_ne(b, PAGE_NONE);
    ck_assert_uint_ne(c, PAGE_NONE);
    ck_assert_uint_eq(b ^ c, 1u << 8); /* buddies */
    ck_assert_int_lt(myalloc__buddy_largest_order(r), BUDDY_MAX_ORDER);
    myalloc__buddy_free(r, b);
    ck_assert_int_lt(myalloc__buddy_largest_order(r), BUDDY_MAX_ORDER);
    myalloc__buddy_free(r, c);
    ck_assert_int_eq(myalloc__buddy_largest_order(r), BUDDY_MAX_ORDER);
    ck_assert_uint_eq(myalloc__buddy_free_count(r, BUDDY_MAX_ORDER), 1);
    ck_assert_region_ok(r);
    myalloc__buddy_free(r, a);
    ck_assert(myalloc__buddy_is_empty(r));
    region_gone(r);
}
END_TEST

START_TEST(test_grow_and_shrink_in_place)
{
    struct region *r = region_new();
    unsigned low[BUDDY_MAX_ORDER], p;

    /* Take every initial block but the order-9 one, so that the next
     * block is cut from its left end, a left half at every order. */
    for (unsigned o = 0; o < BUDDY_MAX_ORDER; o++) {
        if (myalloc__buddy_free_count(r, o) != 0)
            ck_assert_uint_ne(low[o] = myalloc__buddy_alloc(r, o, PAGE_USED), PAGE_NONE);
        else
            low[o] = PAGE_NONE;
    }
    p = myalloc__buddy_alloc(r, 3, PAGE_USED);
    ck_assert_uint_eq(p, REGION_PAGES / 2);
    ck_assert(myalloc__buddy_grow(r, p, 5));
    ck_assert_uint_eq(r->pages[p].order, 5);
    ck_assert_region_ok(r);
    myalloc__buddy_shrink(r, p, 1);
    ck_assert_uint_eq(r->pages[p].order, 1);
    ck_assert_region_ok(r);
    /* A used buddy blocks growth; nothing changes. */
    unsigned q = myalloc__buddy_alloc(r, 1, PAGE_USED);
    ck_assert_uint_eq(q, p + 2);
    ck_assert(!myalloc__buddy_grow(r, p, 2));
    ck_assert_uint_eq(r->pages[p].order, 1);
    ck_assert_region_ok(r);
    /* The right half of a pair cannot grow. */
    ck_assert(!myalloc__buddy_grow(r, q, 2));
    myalloc__buddy_free(r, q);
    myalloc__buddy_free(r, p);
    for (unsigned o = 0; o < BUDDY_MAX_ORDER; o++) {
        if (low[o] != PAGE_NONE)
            myalloc__buddy_free(r, low[o]);
    }
    ck_assert(myalloc__buddy_is_empty(r));
    ck_assert_region_ok(r);
    region_gone(r);
}
END_TEST

START_TEST(test_slab_pages_marked)
{
    struct region *r = region_new();
    unsigned p = myalloc__buddy_alloc(r, 3, PAGE_SLAB);

    for (unsigned i = 0; i < 8; i++) {
        ck_assert_uint_eq(r->pages[p + i].kind, PAGE_SLAB);
        ck_assert_uint_eq(r->pages[p + i].link.head, p);
    }
    ck_assert_region_ok(r);
    myalloc__buddy_free(r, p);
    for (unsigned i = 1; i < 8; i++)
        ck_assert_uint_eq(r->pages[p + i].kind, PAGE_INTERIOR);
    ck_assert_region_ok(r);
    region_gone(r);
}
END_TEST

START_TEST(test_purge_accounting)
{
    struct region *r = region_new();
    unsigned p = myalloc__buddy_alloc(r, 4, PAGE_USED);

    int err = 0;
    ck_assert_uint_eq(myalloc__buddy_purge(r, &err), REGION_USABLE_PAGES - 16);
    ck_assert_int_eq(err, 0);
    ck_assert_uint_eq(r->purged_pages, r->free_pages);
    ck_assert_uint_eq(myalloc__buddy_purge(r, &err), 0); /* nothing left to purge */
    ck_assert_region_ok(r);
    /* Splitting a purged block keeps the halves purged; the allocated
     * part is no longer counted. */
    unsigned q = myalloc__buddy_alloc(r, 0, PAGE_USED);
    ck_assert_uint_eq(r->purged_pages, r->free_pages);
    myalloc__buddy_free(r, q);
    myalloc__buddy_free(r, p);
    ck_assert_region_ok(r);
    ck_assert_uint_le(r->purged_pages, r->free_pages);
    region_gone(r);
}
END_TEST

/* The checker is not vacuous: each kind of damage is found. */
START_TEST(test_checker_finds_damage)
{
    struct region *r = region_new();
    unsigned p = myalloc__buddy_alloc(r, 2, PAGE_USED);

    r->pages[p + 1].kind = PAGE_FREE;
    ck_assert_ptr_nonnull(myalloc__buddy_check(r, NULL));
    r->pages[p + 1].kind = PAGE_INTERIOR;
    ck_assert_region_ok(r);
    r->free_pages++;
    ck_assert_ptr_nonnull(myalloc__buddy_check(r, NULL));
    r->free_pages--;
    r->free_mask ^= 1;
    ck_assert_ptr_nonnull(myalloc__buddy_check(r, NULL));
    r->free_mask ^= 1;
    ck_assert_region_ok(r);
    region_gone(r);
}
END_TEST

/* ------------------------------------------------------------- arenas -- */
static struct arena test_arena;

static void arena_setup(void)
{
    ck_assert_int_eq(myalloc__init(), 0);
    myalloc__arena_init(&test_arena, 99);
}

static struct region *region_of(void *p)
{
    return (struct region *)((uintptr_t)p & ~(uintptr_t)REGION_MASK);
}

START_TEST(test_arena_grows_and_releases_regions)
{
    enum { N = 40 };
    void *blocks[N];

    arena_setup();
    for (unsigned i = 0; i < N; i++) {
        blocks[i] = myalloc__arena_alloc(&test_arena, 8, PAGE_USED); /* 1 MiB */
        ck_assert_ptr_nonnull(blocks[i]);
        ck_assert(chunk_registered((uintptr_t)region_of(blocks[i])));
    }
    /* 3 blocks of 1 MiB fit a region: the arena grew. */
    ck_assert_uint_ge(test_arena.regions, N / 3);
    ck_assert_uint_eq(test_arena.blocks_used[8], N);
    ck_assert_ptr_null(myalloc__arena_check(&test_arena, NULL, NULL, NULL));
    for (unsigned i = 0; i < N; i++)
        myalloc__arena_free_used(region_of(blocks[i]), blocks[i], "test");
    ck_assert_ptr_null(myalloc__arena_check(&test_arena, NULL, NULL, NULL));
    /* Empty regions went back to the OS, but one spare. */
    ck_assert_uint_le(test_arena.regions, 1);
    ck_assert_uint_eq(test_arena.blocks_used[8], 0);
    ck_assert_uint_eq(test_arena.spares, 1);
    myalloc__arena_trim(&test_arena);
    ck_assert_uint_eq(test_arena.regions, 0);
}
END_TEST

/* Past the arena's dirty limit (16 MiB, or half of its regions if more),
 * large freed blocks go back to the OS at once, without my_trim:
 * the dirty count never overshoots the limit by more than one block. */
START_TEST(test_arena_purges_past_dirty_limit)
{
    enum { N = 60 };
    void *blocks[N];
    size_t purged = 0, limit;

    arena_setup();
    for (unsigned i = 0; i < N; i++) {
        blocks[i] = myalloc__arena_alloc(&test_arena, 8, PAGE_USED); /* 1 MiB */
        ck_assert_ptr_nonnull(blocks[i]);
    }
    limit = test_arena.regions * REGION_PAGES / 2;
    if (limit < (16 << 20) / PAGE_SIZE)
        limit = (16 << 20) / PAGE_SIZE;
    /* Free two of every three: every region keeps one block, so none
     * falls empty, and 40 MiB of free blocks pile up. */
    for (unsigned i = 0; i < N; i++) {
        if (i % 3 == 0)
            continue;
        myalloc__arena_free_used(region_of(blocks[i]), blocks[i], "test");
        ck_assert_uint_le(test_arena.dirty_pages, limit + 256);
    }
    ck_assert_ptr_null(myalloc__arena_check(&test_arena, NULL, NULL, NULL));
    for (struct region *r = test_arena.all; r != NULL; r = r->all_next)
        purged += r->purged_pages;
    ck_assert_uint_gt(purged, 0);
    ck_assert_uint_ge(purged + limit + 256, 40 * 256);
    for (unsigned i = 0; i < N; i += 3)
        myalloc__arena_free_used(region_of(blocks[i]), blocks[i], "test");
    ck_assert_ptr_null(myalloc__arena_check(&test_arena, NULL, NULL, NULL));
    myalloc__arena_trim(&test_arena);
    ck_assert_uint_eq(test_arena.regions, 0);
    ck_assert_uint_eq(test_arena.dirty_pages, 0);
}
END_TEST

START_TEST(test_arena_resize)
{
    arena_setup();
    /* In a fresh region the order-8 block is the right half of the first
     * 2 MiB: it can shrink, grow back, but not grow past order 8. */
    void *p = myalloc__arena_alloc(&test_arena, 8, PAGE_USED);
    ck_assert_ptr_nonnull(p);
    ck_assert(myalloc__arena_resize(region_of(p), p, 2, "test"));
    ck_assert_uint_eq(test_arena.blocks_used[2], 1);
    ck_assert_uint_eq(test_arena.blocks_used[8], 0);
    ck_assert_uint_eq(test_arena.bytes_used, PAGE_SIZE << 2);
    ck_assert(myalloc__arena_resize(region_of(p), p, 8, "test"));
    ck_assert_uint_eq(test_arena.bytes_used, PAGE_SIZE << 8);
    ck_assert(!myalloc__arena_resize(region_of(p), p, 9, "test"));
    ck_assert_uint_eq(test_arena.blocks_used[8], 1);
    ck_assert_ptr_null(myalloc__arena_check(&test_arena, NULL, NULL, NULL));
    myalloc__arena_free_used(region_of(p), p, "test");
    ck_assert_uint_eq(test_arena.bytes_used, 0);
}
END_TEST

/* When the OS refuses memory, calls fail with ENOMEM and the allocator
 * keeps working afterwards. */
START_TEST(test_os_enomem)
{
    arena_setup();
    myalloc__os_inject_enomem(1);
    errno = 0;
    ck_assert_ptr_null(myalloc__arena_alloc(&test_arena, 0, PAGE_USED));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(test_arena.regions, 0);

    myalloc__os_inject_enomem(1);
    errno = 0;
    ck_assert_ptr_null(my_malloc(8 << 20));
    ck_assert_int_eq(errno, ENOMEM);

    void *keep = my_malloc(100);
    ck_assert_ptr_nonnull(keep);
    myalloc__os_inject_enomem(1);
    errno = 0;
    ck_assert_ptr_null(my_realloc(keep, 8 << 20));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_ge(my_malloc_usable_size(keep), 100); /* still ours */

    void *p = my_malloc(8 << 20);
    ck_assert_ptr_nonnull(p);
    my_free(p);
    my_free(keep);
}
END_TEST

/* my_trim reports a purge the OS refused, and still purges the rest. */
START_TEST(test_trim_reports_refused_purge)
{
    void *a = my_malloc(256 << 10), *b = my_malloc(256 << 10), *keep = my_malloc(100);
    struct my_stats before, after;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    my_free(a);
    my_free(b);
    ck_assert_int_eq(my_stats_get(&before, sizeof before), 0);
    myalloc__os_inject_purge_failure(1);
    errno = 0;
    ck_assert_int_eq(my_trim(), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(my_stats_get(&after, sizeof after), 0);
    ck_assert_uint_lt(after.bytes_mapped, before.bytes_mapped);
    ck_assert_int_eq(my_trim(), 0);
    my_free(keep);
}
END_TEST

static Suite *buddy_suite(void)
{
    Suite *s = suite_create("buddy");
    TCase *tc = tcase_create("region");
    TCase *ta = tcase_create("arena");

    tcase_add_test(tc, test_init_tiles_region);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_every_order);
    tcase_add_test(tc, test_coalesce_everything);
    tcase_add_test(tc, test_buddy_merge_serves_larger);
    tcase_add_test(tc, test_grow_and_shrink_in_place);
    tcase_add_test(tc, test_slab_pages_marked);
    tcase_add_test(tc, test_purge_accounting);
    tcase_add_test(tc, test_checker_finds_damage);
    suite_add_tcase(s, tc);
    tcase_add_test(ta, test_arena_grows_and_releases_regions);
    tcase_add_test(ta, test_arena_resize);
    tcase_add_test(ta, test_arena_purges_past_dirty_limit);
    tcase_add_test(ta, test_os_enomem);
    tcase_add_test(ta, test_trim_reports_refused_purge);
    suite_add_tcase(s, ta);
    return s;
}

int main(void)
{
    return tu_run_suite(buddy_suite());
}
