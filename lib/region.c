/* region.c - regions, arenas, and the way from a pointer to its metadata.
 *
 * A region is REGION_SIZE bytes at a REGION_SIZE-aligned address, holding
 * a buddy system.  An arena owns regions and a lock over all of their
 * buddy state; it keeps them on lists by the order of their largest free
 * block, so that finding a region for an order-k request looks at no more
 * than BUDDY_ORDERS list heads, and takes the region with the smallest
 * block that fits.  A region that falls entirely free is unmapped, except
 * one per arena that is kept, purged, to absorb alloc/free cycles.
 *
 * The chunk registry is one bit per REGION_SIZE slice of the address
 * space, in zero-initialised static storage (8 MiB of address space, pages
 * committed as chunks are registered): a pointer is ours only if the bit
 * of its chunk is set, which is checked before any header is read. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ registry -- */
_Atomic uint64_t myalloc__registry[REGISTRY_CHUNKS / 64];

void myalloc__chunk_register(uintptr_t chunk)
{
    _Atomic uint64_t *bits = myalloc__registry;
    uint64_t i = chunk >> REGION_SHIFT;

    if (i >= REGISTRY_CHUNKS)
        myalloc__report_internal("the OS mapped memory beyond the registry");
    atomic_fetch_or_explicit(&bits[i >> 6], (uint64_t)1 << (i & 63), memory_order_release);
}

void myalloc__chunk_unregister(uintptr_t chunk)
{
    _Atomic uint64_t *bits = myalloc__registry;
    uint64_t i = chunk >> REGION_SHIFT;

    atomic_fetch_and_explicit(&bits[i >> 6], ~((uint64_t)1 << (i & 63)), memory_order_release);
}

/* -------------------------------------------------------------- arenas -- */
static char *page_addr(const struct region *r, unsigned page)
{
    return (char *)r + ((size_t)page << PAGE_SHIFT);
}

static unsigned page_of(const struct region *r, const void *p)
{
    return (unsigned)(((uintptr_t)p - (uintptr_t)r) >> PAGE_SHIFT);
}

void myalloc__arena_init(struct arena *a, unsigned index)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    a->index = index;
}

/* Keeps r on the arena list of its largest free order. */
static void arena_relist(struct arena *a, struct region *r)
{
    int order = myalloc__buddy_largest_order(r);

    if (order == r->list_order)
        return;
    if (r->list_order >= 0) {
        if (r->prev != NULL)
            r->prev->next = r->next;
        else
            a->by_order[r->list_order] = r->next;
        if (r->next != NULL)
            r->next->prev = r->prev;
    }
    r->list_order = order;
    r->prev = NULL;
    r->next = NULL;
    if (order >= 0) {
        r->next = a->by_order[order];
        if (r->next != NULL)
            r->next->prev = r;
        a->by_order[order] = r;
    }
}

/* What an operation on a region changes in the accounts: taken before it
 * (region_mark), settled after it (region_settle). */
struct region_mark {
    uint32_t purged; /* r->purged_pages */
    uint32_t dirty;  /* free pages not purged */
};

static struct region_mark region_mark(const struct region *r)
{
    struct region_mark m = { r->purged_pages, r->free_pages - r->purged_pages };
    return m;
}

/* bytes_mapped follows the region's purged pages (pages leaving the purged
 * state are held again, pages entering it are given back), and the arena's
 * dirty count its free pages not purged. */
static void region_settle(struct arena *a, const struct region *r, struct region_mark m)
{
    if (r->purged_pages < m.purged)
        myalloc__stats_mapped((size_t)(m.purged - r->purged_pages) << PAGE_SHIFT, 0);
    else if (r->purged_pages > m.purged)
        myalloc__stats_mapped(0, (size_t)(r->purged_pages - m.purged) << PAGE_SHIFT);
    a->dirty_pages = a->dirty_pages - m.dirty + (r->free_pages - r->purged_pages);
    a->changes++;
}

static struct region *region_create(struct arena *a)
{
    void *mem;
    /* Regions tend to be mapped downwards: asking for the slice below the
     * newest one often gets an aligned mapping in one call. */
    void *hint = a->all != NULL ? (char *)a->all - REGION_SIZE : NULL;
    int err = myalloc__os_map_aligned(REGION_SIZE, REGION_SIZE, 0, hint, &mem);
    struct region *r;

    if (err != 0) {
        errno = ENOMEM;
        return NULL;
    }
    r = mem;
    r->hdr.magic = CHUNK_MAGIC;
    r->hdr.kind = CHUNK_REGION;
    r->arena = a;
    r->list_order = -1;
    /* Free pages are closed to memory checkers; the metadata stays open. */
    annotate_noaccess(page_addr(r, REGION_META_PAGES), REGION_USABLE_PAGES << PAGE_SHIFT);
    myalloc__buddy_init(r);
    a->dirty_pages += r->free_pages;
    r->all_next = a->all;
    if (a->all != NULL)
        a->all->all_prev = r;
    a->all = r;
    a->regions++;
    myalloc__stats_mapped(REGION_SIZE, 0);
    myalloc__chunk_register((uintptr_t)r);
    arena_relist(a, r);
    return r;
}

static int region_destroy(struct arena *a, struct region *r)
{
    size_t held = REGION_SIZE - ((size_t)r->purged_pages << PAGE_SHIFT);

    a->dirty_pages -= r->free_pages - r->purged_pages;
    r->free_mask = 0;
    arena_relist(a, r);
    if (r->all_prev != NULL)
        r->all_prev->all_next = r->all_next;
    else
        a->all = r->all_next;
    if (r->all_next != NULL)
        r->all_next->all_prev = r->all_prev;
    a->regions--;
    if (r->spare)
        a->spares--;
    myalloc__chunk_unregister((uintptr_t)r);
    r->hdr.magic = 0;
    myalloc__stats_mapped(0, held);
    return myalloc__os_unmap(r, REGION_SIZE);
}

/* How many entirely free regions an arena keeps: one, or an eighth of its
 * regions.  Their pages stay in place, so that a program whose use goes up
 * and down across region boundaries (threads that come and go, buffers
 * freed and allocated again) does not pay munmap, mmap and a page fault per
 * page each time: on bench/'s calloc_aligned those were most of the time.
 * my_trim unmaps them. */
static size_t arena_spare_limit(const struct arena *a)
{
    return a->regions / 8 > 1 ? a->regions / 8 : 1;
}

/* After a free: a region that fell empty is unmapped, or kept as a spare. */
static void region_after_free(struct arena *a, struct region *r)
{
    if (!myalloc__buddy_is_empty(r)) {
        arena_relist(a, r);
        return;
    }
    if (!r->spare && a->spares >= arena_spare_limit(a)) {
        (void)region_destroy(a, r);
        return;
    }
    if (!r->spare) {
        r->spare = true;
        a->spares++;
    }
    arena_relist(a, r);
}

/* arena_alloc with the lock held. */
static void *arena_alloc_locked(struct arena *a, unsigned order, uint8_t kind)
{
    struct region *r = NULL;
    struct region_mark m;
    unsigned page;

    for (unsigned o = order; o < BUDDY_ORDERS && r == NULL; o++)
        r = a->by_order[o];
    if (r == NULL && (r = region_create(a)) == NULL)
        return NULL;
    m = region_mark(r);
    page = myalloc__buddy_alloc(r, order, kind);
    if (page == PAGE_NONE)
        myalloc__report_internal("arena list names a region without a fitting block");
    region_settle(a, r, m);
    if (r->spare) {
        r->spare = false;
        a->spares--;
    }
    arena_relist(a, r);
    if (kind == PAGE_USED) {
        a->blocks_used[order]++;
        a->bytes_used += PAGE_SIZE << order;
    } else {
        a->blocks_slab[order]++;
    }
    return page_addr(r, page);
}

void *myalloc__arena_alloc(struct arena *a, unsigned order, uint8_t kind)
{
    void *p;

    pthread_mutex_lock(&a->lock);
    p = arena_alloc_locked(a, order, kind);
    pthread_mutex_unlock(&a->lock);
    return p;
}

/* The header is written before the unlock: whoever finds a slab head page
 * under the lock (my_heap_check) reads an initialised geometry and owner,
 * which never change until the slab is freed, under the lock again. */
struct slab *myalloc__arena_alloc_slab(struct arena *a, unsigned cls, struct heap *owner)
{
    struct slab *s = NULL;
    void *p;

    pthread_mutex_lock(&a->lock);
    p = arena_alloc_locked(a, myalloc__slab_order(cls), PAGE_SLAB);
    if (p != NULL)
        s = myalloc__slab_init(p, cls, owner);
    pthread_mutex_unlock(&a->lock);
    return s;
}

bool myalloc__slab_at(const void *p)
{
    uintptr_t chunk = (uintptr_t)p & ~(uintptr_t)REGION_MASK;
    const struct region *r = (const struct region *)chunk;
    unsigned page = page_of(r, p);
    bool head;

    if (((uintptr_t)p & (PAGE_SIZE - 1)) != 0 || page < REGION_META_PAGES ||
        !chunk_registered(chunk) || r->hdr.kind != CHUNK_REGION)
        return false;
    pthread_mutex_lock(&r->arena->lock);
    head = r->pages[page].kind == PAGE_SLAB && r->pages[page].link.head == page;
    pthread_mutex_unlock(&r->arena->lock);
    return head;
}

/* Checks, under the lock, that ptr is a live caller block; reports
 * otherwise (after unlocking, so that the report cannot deadlock). */
static unsigned used_block_page(struct region *r, void *ptr, const char *fn)
{
    unsigned page = page_of(r, ptr);
    uint8_t kind = r->pages[page].kind;

    if (kind == PAGE_USED && ((uintptr_t)ptr & (PAGE_SIZE - 1)) == 0)
        return page;
    pthread_mutex_unlock(&r->arena->lock);
    if (kind == PAGE_FREE && ((uintptr_t)ptr & (PAGE_SIZE - 1)) == 0)
        myalloc__report_freed(fn, ptr);
    myalloc__report_block(fn, ptr, PROBLEM_INTERIOR);
}

/* Frees the block at page (arena lock held).  Once the arena's dirty
 * pages pass its limit, a freed block that merged into 256 KiB or more is
 * purged at once: memory a program lets go of goes back to the OS without
 * waiting for my_trim, while the churn of a steady working set (whose
 * free memory stays under half the arena) never pays for page faults:
 * measured on bench/'s mixed_sizes, a quarter cost 2.6x the page faults
 * and 1.8x the time. */
#define PURGE_MIN_ORDER 6

static size_t arena_dirty_limit(const struct arena *a)
{
    size_t floor = (size_t)(16 << 20) >> PAGE_SHIFT;
    size_t half = (a->regions * REGION_PAGES) / 2;
    return half > floor ? half : floor;
}

static void region_free_block(struct arena *a, struct region *r, unsigned page)
{
    struct region_mark m = region_mark(r);
    unsigned head = myalloc__buddy_free(r, page);

    if (a->dirty_pages + (r->free_pages - r->purged_pages) - m.dirty > arena_dirty_limit(a) &&
        r->pages[head].order >= PURGE_MIN_ORDER)
        (void)myalloc__buddy_purge_block(r, head);
    region_settle(a, r, m);
    region_after_free(a, r);
}

void myalloc__arena_free_used(struct region *r, void *ptr, const char *fn)
{
    struct arena *a = r->arena;
    unsigned page, order;

    pthread_mutex_lock(&a->lock);
    page = used_block_page(r, ptr, fn);
    order = r->pages[page].order;
    a->blocks_used[order]--;
    a->bytes_used -= PAGE_SIZE << order;
    region_free_block(a, r, page);
    pthread_mutex_unlock(&a->lock);
}

void myalloc__arena_free_slab(struct region *r, void *slab_start)
{
    struct arena *a = r->arena;
    unsigned page = page_of(r, slab_start);

    pthread_mutex_lock(&a->lock);
    a->blocks_slab[r->pages[page].order]--;
    annotate_noaccess(slab_start, PAGE_SIZE << r->pages[page].order);
    region_free_block(a, r, page);
    pthread_mutex_unlock(&a->lock);
}

bool myalloc__arena_resize(struct region *r, void *ptr, unsigned new_order, const char *fn)
{
    struct arena *a = r->arena;
    struct region_mark m;
    unsigned page, order;
    bool done = true;

    pthread_mutex_lock(&a->lock);
    page = used_block_page(r, ptr, fn);
    order = r->pages[page].order;
    m = region_mark(r);
    if (new_order < order)
        myalloc__buddy_shrink(r, page, new_order);
    else if (new_order > order)
        done = myalloc__buddy_grow(r, page, new_order);
    region_settle(a, r, m);
    if (done && new_order != order) {
        a->blocks_used[order]--;
        a->blocks_used[new_order]++;
        a->bytes_used = a->bytes_used - (PAGE_SIZE << order) + (PAGE_SIZE << new_order);
        arena_relist(a, r);
    }
    pthread_mutex_unlock(&a->lock);
    return done;
}

/* Purges every free buddy block of a (lock held); *err: the last error of
 * a purge the OS refused. */
static void arena_purge_locked(struct arena *a, int *err)
{
    for (struct region *r = a->all; r != NULL; r = r->all_next) {
        struct region_mark m = region_mark(r);
        (void)myalloc__buddy_purge(r, err);
        region_settle(a, r, m);
    }
}

int myalloc__arena_trim(struct arena *a)
{
    int err = 0;

    pthread_mutex_lock(&a->lock);
    for (struct region *r = a->all, *next; r != NULL; r = next) {
        next = r->all_next;
        if (r->spare) {
            int e = region_destroy(a, r);
            if (e != 0)
                err = e;
        }
    }
    arena_purge_locked(a, &err);
    pthread_mutex_unlock(&a->lock);
    return err;
}

bool myalloc__arena_idle_purge(struct arena *a, uint64_t *seen)
{
    bool idle;
    int err = 0;

    pthread_mutex_lock(&a->lock);
    idle = a->changes == *seen;
    if (idle && a->dirty_pages != 0)
        arena_purge_locked(a, &err);
    *seen = a->changes; /* this purge's own changes are not the program's */
    pthread_mutex_unlock(&a->lock);
    return idle;
}

void myalloc__arena_add_stats(struct arena *a, struct my_stats *st)
{
    pthread_mutex_lock(&a->lock);
    st->regions += a->regions;
    st->bytes_buddy += a->bytes_used;
    for (unsigned o = 0; o < BUDDY_ORDERS; o++) {
        st->orders[o].blocks_used += a->blocks_used[o];
        st->orders[o].blocks_slab += a->blocks_slab[o];
        if (a->by_order[o] != NULL && (PAGE_SIZE << o) > st->buddy_largest_free)
            st->buddy_largest_free = PAGE_SIZE << o;
    }
    for (struct region *r = a->all; r != NULL; r = r->all_next) {
        for (unsigned o = 0; o < BUDDY_ORDERS; o++)
            st->orders[o].blocks_free += myalloc__buddy_free_count(r, o);
        st->buddy_bytes_free += (size_t)r->free_pages << PAGE_SHIFT;
    }
    pthread_mutex_unlock(&a->lock);
}

/* Sets *where (when asked for) to the structure a problem is about. */
static const char *check_fault(const void **where, const void *at, const char *problem)
{
    if (where != NULL)
        *where = at;
    return problem;
}

/* What the regions of an arena add up to, for its accounts. */
struct arena_tally {
    size_t regions, spares, dirty_pages, bytes_used;
    size_t blocks_used[BUDDY_ORDERS], blocks_slab[BUDDY_ORDERS];
};

/* One region of a (lock held): its header, buddy system and list order;
 * counts it in t and visits its slabs. */
static const char *region_check(struct arena *a, const struct region *r, struct arena_tally *t,
                                const char *(*visit_slab)(struct slab *, void *, const void **),
                                void *arg, const void **where)
{
    const char *problem;

    if (r->hdr.magic != CHUNK_MAGIC || r->hdr.kind != CHUNK_REGION)
        return check_fault(where, r, "region %p: chunk header is not a region's");
    if (r->arena != a)
        return check_fault(where, r, "region %p: names another arena than the one listing it");
    if ((problem = myalloc__buddy_check(r, where)) != NULL)
        return problem;
    if (r->list_order != myalloc__buddy_largest_order(r))
        return check_fault(where, r, "region %p: listed under the wrong order");
    /* A region that falls empty is unmapped or kept as a spare at once. */
    if (r->spare != myalloc__buddy_is_empty(r))
        return check_fault(where, r, "region %p: spare flag disagrees with the region being empty");
    t->regions++;
    t->spares += r->spare;
    t->dirty_pages += r->free_pages - r->purged_pages;
    /* The tiling is sound (checked above): walk it head by head. */
    for (unsigned page = REGION_META_PAGES; page < REGION_PAGES;
         page += 1u << r->pages[page].order) {
        const struct page_desc *d = &r->pages[page];
        if (d->kind == PAGE_USED) {
            t->blocks_used[d->order]++;
            t->bytes_used += PAGE_SIZE << d->order;
        } else if (d->kind == PAGE_SLAB) {
            struct slab *s = (struct slab *)page_addr(r, page);
            t->blocks_slab[d->order]++;
            if (visit_slab == NULL)
                continue;
            if (s->order != d->order)
                return check_fault(where, s, "slab %p: order disagrees with its buddy block");
            if ((problem = visit_slab(s, arg, where)) != NULL)
                return problem;
        }
    }
    return NULL;
}

/* The list of regions whose largest free block has the order (lock held):
 * well linked, each region of the arena and of that order. */
static const char *order_list_check(struct arena *a, unsigned order, size_t *listed,
                                    const void **where)
{
    const struct region *prev = NULL;

    for (const struct region *r = a->by_order[order]; r != NULL; prev = r, r = r->next) {
        if (!chunk_registered((uintptr_t)r) || ((uintptr_t)r & REGION_MASK) != 0)
            return check_fault(where, a, "arena %p: an order list holds an unknown region");
        if (r->prev != prev)
            return check_fault(where, r, "region %p: order list back link broken");
        if (r->arena != a || r->list_order != (int)order)
            return check_fault(where, r, "region %p: on the list of another order or arena");
        if (++*listed > a->regions)
            return check_fault(where, a, "arena %p: an order list has a cycle");
    }
    return NULL;
}

/* Lock held.  The all-regions list is checked for its links first, so that
 * nothing is read through a pointer that is not a region's. */
static const char *arena_check_locked(struct arena *a,
                                      const char *(*visit_slab)(struct slab *, void *,
                                                                const void **),
                                      void *arg, const void **where)
{
    struct arena_tally t = { 0 };
    const struct region *prev = NULL;
    size_t listed = 0, with_free = 0;
    const char *problem;

    for (const struct region *r = a->all; r != NULL; prev = r, r = r->all_next) {
        if (!chunk_registered((uintptr_t)r) || ((uintptr_t)r & REGION_MASK) != 0)
            return check_fault(where, r, "region %p: missing from the chunk registry");
        if (r->all_prev != prev)
            return check_fault(where, r, "region %p: all-regions list back link broken");
        if (t.regions >= a->regions)
            return check_fault(where, a, "arena %p: more regions on its list than it counts");
        if ((problem = region_check(a, r, &t, visit_slab, arg, where)) != NULL)
            return problem;
        with_free += r->list_order >= 0;
    }
    if (t.regions != a->regions)
        return check_fault(where, a, "arena %p: region count disagrees with its list");
    if (t.spares != a->spares)
        return check_fault(where, a, "arena %p: spare count disagrees with its regions");
    if (t.dirty_pages != a->dirty_pages)
        return check_fault(where, a, "arena %p: dirty page count disagrees with its regions");
    if (t.bytes_used != a->bytes_used)
        return check_fault(where, a, "arena %p: bytes_used disagrees with its blocks in use");
    for (unsigned o = 0; o < BUDDY_ORDERS; o++) {
        if (t.blocks_used[o] != a->blocks_used[o])
            return check_fault(where, a, "arena %p: blocks_used disagrees with its blocks in use");
        if (t.blocks_slab[o] != a->blocks_slab[o])
            return check_fault(where, a, "arena %p: blocks_slab disagrees with its slabs");
        if ((problem = order_list_check(a, o, &listed, where)) != NULL)
            return problem;
    }
    if (listed != with_free)
        return check_fault(where, a, "arena %p: a region with free blocks is on no order list");
    return NULL;
}

const char *myalloc__arena_check(struct arena *a,
                                 const char *(*visit_slab)(struct slab *s, void *arg,
                                                           const void **where),
                                 void *arg, const void **where)
{
    const char *problem;

    pthread_mutex_lock(&a->lock);
    problem = arena_check_locked(a, visit_slab, arg, where);
    pthread_mutex_unlock(&a->lock);
    return problem;
}

/* ------------------------------------------------- pointer -> metadata -- */
/* The head page of the buddy block holding page, or PAGE_NONE: the block
 * starts at page rounded down to its order, and the first head met going
 * down decides (buddy blocks never straddle one another).  O(orders). */
static unsigned region_page_head(const struct region *r, unsigned page)
{
    for (unsigned order = 0; order < BUDDY_ORDERS; order++) {
        unsigned head = page & ~((1u << order) - 1);
        const struct page_desc *d = &r->pages[head];
        if (d->kind != PAGE_INTERIOR)
            return d->order >= order ? head : PAGE_NONE;
    }
    return PAGE_NONE;
}

/* Whether page lies in a free buddy block.  Read without the lock, so only
 * good for choosing the words of a report. */
static bool region_page_is_free(const struct region *r, unsigned page)
{
    unsigned head = region_page_head(r, page);
    return head != PAGE_NONE && r->pages[head].kind == PAGE_FREE;
}

void myalloc__block_find(const void *ptr, const char *fn, struct block_ref *b)
{
    uintptr_t p = (uintptr_t)ptr;
    uintptr_t chunk = (p - 1) & ~(uintptr_t)REGION_MASK;
    const struct chunk_header *h;

    if (!chunk_registered(chunk))
        myalloc__report_block(fn, ptr, PROBLEM_FOREIGN);
    h = (const struct chunk_header *)chunk;
    if (h->kind == CHUNK_HUGE) {
        struct huge *hg = (struct huge *)chunk;
        if (p != (uintptr_t)huge_block(hg))
            myalloc__report_block(fn, ptr, PROBLEM_INTERIOR);
        b->kind = BLOCK_HUGE;
        b->huge = hg;
        return;
    }

    struct region *r = (struct region *)chunk;
    size_t page = (p - chunk) >> PAGE_SHIFT;
    const struct page_desc *d;

    if (page >= REGION_PAGES)
        myalloc__report_block(fn, ptr, PROBLEM_FOREIGN);
    d = &r->pages[page];
    b->region = r;
    switch (d->kind) {
    case PAGE_SLAB: {
        struct slab *s = (struct slab *)page_addr(r, d->link.head);
        uint32_t idx = slab_index_of(s, ptr);
        if (idx == UINT32_MAX)
            myalloc__report_block(fn, ptr, PROBLEM_INTERIOR);
        if (!slab_block_live(s, idx))
            myalloc__report_freed(fn, ptr);
        b->kind = BLOCK_SMALL;
        b->slab = s;
        b->index = idx;
        return;
    }
    case PAGE_USED:
        if ((p & (PAGE_SIZE - 1)) != 0)
            myalloc__report_block(fn, ptr, PROBLEM_INTERIOR);
        b->kind = BLOCK_BUDDY;
        b->order = d->order;
        return;
    case PAGE_META:
        myalloc__report_block(fn, ptr, PROBLEM_FOREIGN);
    default:
        /* Inside free memory: most likely a block freed before (and merged
         * since, or its slab released); else inside a live block. */
        if ((p & (MIN_ALIGN - 1)) == 0 && region_page_is_free(r, (unsigned)page))
            myalloc__report_freed(fn, ptr);
        myalloc__report_block(fn, ptr, PROBLEM_INTERIOR);
    }
}

uintptr_t myalloc__core_block_start(uintptr_t p)
{
    uintptr_t chunk = p & ~(uintptr_t)REGION_MASK;
    struct region *r = (struct region *)chunk;
    unsigned page = (unsigned)((p - chunk) >> PAGE_SHIFT), head;
    uintptr_t start = 0;

    if (!chunk_registered(chunk))
        return 0;
    if (r->hdr.kind == CHUNK_HUGE) {
        struct huge *hg = (struct huge *)chunk;
        return p >= (uintptr_t)huge_block(hg) && p < (uintptr_t)huge_block(hg) + hg->usable
                   ? (uintptr_t)huge_block(hg)
                   : 0;
    }
    if (r->pages[page].kind == PAGE_SLAB) {
        struct slab *s = (struct slab *)page_addr(r, r->pages[page].link.head);
        uint32_t idx;
        if (p < (uintptr_t)slab_blocks(s))
            return 0;
        idx = slab_index_of_block(s, (const void *)p);
        return idx < s->capacity && slab_block_live(s, idx)
                   ? (uintptr_t)slab_blocks(s) + (uintptr_t)idx * s->block_size
                   : 0;
    }
    pthread_mutex_lock(&r->arena->lock);
    head = region_page_head(r, page);
    if (head != PAGE_NONE && r->pages[head].kind == PAGE_USED)
        start = (uintptr_t)page_addr(r, head);
    pthread_mutex_unlock(&r->arena->lock);
    return start;
}
