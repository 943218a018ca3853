/* buddy.c - the buddy system inside one region.
 *
 * A region's pages after its metadata are split into blocks of 2^k pages,
 * each aligned to its size (relative to the region, which is aligned to
 * REGION_SIZE, so block addresses are aligned to the block size too).
 * Free blocks sit on one list per order, linked through the page
 * descriptors so that free memory itself is never touched (and can be
 * purged).  Allocation splits the smallest sufficient free block; freeing
 * merges with the buddy (page ^ 2^k) as long as it is a free head of the
 * same order.  Every call here runs under the region's arena lock and is
 * O(orders), except the checker and the purger.
 *
 * Invariants (checked by myalloc__buddy_check):
 *  - blocks tile the usable pages; only a block's first page has a head
 *    kind, the others are PAGE_INTERIOR (PAGE_SLAB for all slab pages);
 *  - only the head of a free block may be marked purged;
 *  - a free block is on free_head[order] exactly once, and free_mask,
 *    free_count, free_pages and purged_pages agree with the lists;
 *  - no free block has a free buddy of the same order (merging is eager). */
#include "config.h"

#include "internal.h"

static char *page_addr(const struct region *r, unsigned page)
{
    return (char *)r + ((size_t)page << PAGE_SHIFT);
}

static void free_list_push(struct region *r, unsigned page, unsigned order, bool purged)
{
    struct page_desc *d = &r->pages[page];
    unsigned head = r->free_head[order];

    d->kind = PAGE_FREE;
    d->order = (uint8_t)order;
    d->purged = purged;
    d->prev = PAGE_NONE;
    d->link.next = (uint16_t)head;
    if (head != PAGE_NONE)
        r->pages[head].prev = (uint16_t)page;
    r->free_head[order] = (uint16_t)page;
    r->free_mask |= (uint16_t)(1u << order);
    r->free_count[order]++;
    r->free_pages += 1u << order;
    if (purged)
        r->purged_pages += 1u << order;
}

/* Takes a free block off its list; its head becomes PAGE_INTERIOR. */
static void free_list_remove(struct region *r, unsigned page)
{
    struct page_desc *d = &r->pages[page];
    unsigned order = d->order;

    if (d->prev != PAGE_NONE)
        r->pages[d->prev].link.next = d->link.next;
    else
        r->free_head[order] = d->link.next;
    if (d->link.next != PAGE_NONE)
        r->pages[d->link.next].prev = d->prev;
    if (r->free_head[order] == PAGE_NONE)
        r->free_mask &= (uint16_t)~(1u << order);
    r->free_count[order]--;
    r->free_pages -= 1u << order;
    if (d->purged)
        r->purged_pages -= 1u << order;
    d->kind = PAGE_INTERIOR;
    d->purged = 0;
    d->link.next = PAGE_NONE;
    d->prev = PAGE_NONE;
}

void myalloc__buddy_init(struct region *r)
{
    unsigned page;

    for (page = 0; page < REGION_META_PAGES; page++)
        r->pages[page].kind = PAGE_META;
    /* Tile the rest with the largest aligned blocks that fit. */
    while (page < REGION_PAGES) {
        unsigned order = (unsigned)__builtin_ctz(page);
        if (order > BUDDY_MAX_ORDER)
            order = BUDDY_MAX_ORDER;
        while (page + (1u << order) > REGION_PAGES)
            order--;
        free_list_push(r, page, order, false);
        page += 1u << order;
    }
}

static void block_mark(struct region *r, unsigned page, unsigned order, uint8_t kind)
{
    struct page_desc *d = &r->pages[page];
    d->kind = kind;
    d->order = (uint8_t)order;
    if (kind == PAGE_SLAB) {
        for (unsigned i = 0; i < (1u << order); i++) {
            r->pages[page + i].kind = PAGE_SLAB;
            r->pages[page + i].link.head = (uint16_t)page;
        }
    }
}

unsigned myalloc__buddy_alloc(struct region *r, unsigned order, uint8_t kind)
{
    unsigned avail = r->free_mask & ~((1u << order) - 1);
    unsigned o, page;
    bool purged;

    if (avail == 0)
        return PAGE_NONE;
    o = (unsigned)__builtin_ctz(avail);
    page = r->free_head[o];
    purged = r->pages[page].purged;
    free_list_remove(r, page);
    while (o > order) {
        o--;
        free_list_push(r, page + (1u << o), o, purged);
    }
    block_mark(r, page, order, kind);
    return page;
}

unsigned myalloc__buddy_free(struct region *r, unsigned page)
{
    struct page_desc *d = &r->pages[page];
    unsigned order = d->order;

    if (d->kind == PAGE_SLAB) {
        for (unsigned i = 1; i < (1u << order); i++)
            r->pages[page + i].kind = PAGE_INTERIOR;
    }
    d->kind = PAGE_INTERIOR;
    while (order < BUDDY_MAX_ORDER) {
        unsigned buddy = page ^ (1u << order);
        struct page_desc *b = &r->pages[buddy];
        if (b->kind != PAGE_FREE || b->order != order)
            break;
        free_list_remove(r, buddy);
        if (buddy < page)
            page = buddy;
        order++;
    }
    /* The freed block was in use, so the merged block is not purged as a
     * whole: purged buddies absorbed here count as held again, which
     * overstates bytes_mapped, never the reverse. */
    free_list_push(r, page, order, false);
    return page;
}

bool myalloc__buddy_grow(struct region *r, unsigned page, unsigned new_order)
{
    unsigned order = r->pages[page].order;

    if (new_order > BUDDY_MAX_ORDER)
        return false;
    for (unsigned k = order; k < new_order; k++) {
        unsigned buddy = page + (1u << k);
        if ((page & ((1u << (k + 1)) - 1)) != 0)
            return false; /* our block is the right half: cannot grow up */
        if (r->pages[buddy].kind != PAGE_FREE || r->pages[buddy].order != k)
            return false;
    }
    for (unsigned k = order; k < new_order; k++)
        free_list_remove(r, page + (1u << k));
    r->pages[page].order = (uint8_t)new_order;
    return true;
}

void myalloc__buddy_shrink(struct region *r, unsigned page, unsigned new_order)
{
    unsigned order = r->pages[page].order;

    /* Each upper half's buddy is the part we keep, so no merge is
     * possible. */
    while (order > new_order) {
        order--;
        free_list_push(r, page + (1u << order), order, false);
    }
    r->pages[page].order = (uint8_t)new_order;
}

int myalloc__buddy_largest_order(const struct region *r)
{
    return r->free_mask == 0 ? -1 : 31 - __builtin_clz(r->free_mask);
}

unsigned myalloc__buddy_free_count(const struct region *r, unsigned order)
{
    return r->free_count[order];
}

bool myalloc__buddy_is_empty(const struct region *r)
{
    return r->free_pages == REGION_USABLE_PAGES;
}

size_t myalloc__buddy_purge(struct region *r, int *err)
{
    size_t purged = 0;

    for (unsigned order = 0; order < BUDDY_ORDERS; order++) {
        for (unsigned page = r->free_head[order]; page != PAGE_NONE;
             page = r->pages[page].link.next) {
            struct page_desc *d = &r->pages[page];
            if (d->purged)
                continue;
            int e = myalloc__os_purge(page_addr(r, page), PAGE_SIZE << order);
            if (e != 0) {
                *err = e;
                continue;
            }
            d->purged = 1;
            r->purged_pages += 1u << order;
            purged += 1u << order;
        }
    }
    return purged;
}

size_t myalloc__buddy_purge_block(struct region *r, unsigned page)
{
    struct page_desc *d = &r->pages[page];

    if (d->kind != PAGE_FREE || d->purged ||
        myalloc__os_purge(page_addr(r, page), PAGE_SIZE << d->order) != 0)
        return 0;
    d->purged = 1;
    r->purged_pages += 1u << d->order;
    return (size_t)1 << d->order;
}

/* Sets *where (when asked for) to the structure a problem is about. */
static const char *check_fault(const void **where, const void *at, const char *problem)
{
    if (where != NULL)
        *where = at;
    return problem;
}

const char *myalloc__buddy_check(const struct region *r, const void **where)
{
    unsigned counts[BUDDY_ORDERS] = { 0 };
    unsigned free_pages = 0, purged_pages = 0;
    unsigned page;

    for (page = 0; page < REGION_META_PAGES; page++) {
        if (r->pages[page].kind != PAGE_META)
            return check_fault(where, page_addr(r, page), "page %p: metadata page not marked");
    }
    /* The blocks tile the usable pages: each head's order leads to the
     * next head. */
    while (page < REGION_PAGES) {
        const struct page_desc *d = &r->pages[page];
        const char *at = page_addr(r, page);
        unsigned order = d->order;

        if (d->kind != PAGE_FREE && d->kind != PAGE_USED && d->kind != PAGE_SLAB)
            return check_fault(where, at, "page %p: block does not start with a head page");
        if (d->kind == PAGE_SLAB && d->link.head != page)
            return check_fault(where, at, "page %p: slab page names another head at a block start");
        if (order > BUDDY_MAX_ORDER || (page & ((1u << order) - 1)) != 0 ||
            page + (1u << order) > REGION_PAGES)
            return check_fault(where, at,
                               "page %p: block misaligned for its order or past the region");
        if (d->kind != PAGE_FREE && d->purged)
            return check_fault(where, at, "page %p: block in use marked purged");
        for (unsigned i = 1; i < (1u << order); i++) {
            const struct page_desc *in = &r->pages[page + i];
            if (in->purged || (d->kind == PAGE_SLAB
                                   ? (in->kind != PAGE_SLAB || in->link.head != page)
                                   : in->kind != PAGE_INTERIOR))
                return check_fault(where, page_addr(r, page + i),
                                   "page %p: interior page wrongly marked");
        }
        if (d->kind == PAGE_FREE) {
            unsigned buddy = page ^ (1u << order);
            counts[order]++;
            free_pages += 1u << order;
            if (d->purged)
                purged_pages += 1u << order;
            if (order < BUDDY_MAX_ORDER && r->pages[buddy].kind == PAGE_FREE &&
                r->pages[buddy].order == order)
                return check_fault(where, at, "page %p: two free buddies left unmerged");
        }
        page += 1u << order;
    }
    /* Each free list holds exactly the free blocks of its order. */
    if ((r->free_mask >> BUDDY_ORDERS) != 0)
        return check_fault(where, r, "region %p: free_mask has a bit past the last order");
    for (unsigned order = 0; order < BUDDY_ORDERS; order++) {
        unsigned n = 0, prev = PAGE_NONE;
        for (unsigned p = r->free_head[order]; p != PAGE_NONE; p = r->pages[p].link.next) {
            if (p < REGION_META_PAGES || p >= REGION_PAGES)
                return check_fault(where, r, "region %p: free list link out of the region");
            if (r->pages[p].kind != PAGE_FREE || r->pages[p].order != order)
                return check_fault(where, page_addr(r, p),
                                   "page %p: on a free list but not a free block of its order");
            if (r->pages[p].prev != prev)
                return check_fault(where, page_addr(r, p), "page %p: free list back link broken");
            if (++n > REGION_PAGES)
                return check_fault(where, r, "region %p: free list has a cycle");
            prev = p;
        }
        if (n != counts[order])
            return check_fault(where, r, "region %p: a free list misses free blocks of its order");
        if (n != r->free_count[order])
            return check_fault(where, r, "region %p: free_count disagrees with its free list");
        if (((r->free_mask >> order) & 1u) != (n != 0))
            return check_fault(where, r, "region %p: free_mask disagrees with the free lists");
    }
    if (free_pages != r->free_pages)
        return check_fault(where, r, "region %p: free_pages disagrees with the free blocks");
    if (purged_pages != r->purged_pages)
        return check_fault(where, r, "region %p: purged_pages disagrees with the purged blocks");
    return NULL;
}
