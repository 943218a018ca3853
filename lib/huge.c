/* huge.c - blocks above BUDDY_MAX_REQUEST, each mapped on its own.
 *
 * The mapping starts with a struct huge at a REGION_SIZE-aligned address,
 * registered like a region, so that the block's pointer finds it by the
 * same masking.  The header has a page of its own and the block starts at
 * the next page (or at the alignment asked for, if larger), so the block
 * is page-aligned and its usable size is the request rounded up to a page
 * (or more, from the cache below).
 * For alignments of a region or more, the header takes a whole leading
 * chunk: the block starts at the next chunk.
 *
 * A few freed mappings (HUGE_CACHE_SLOTS, HUGE_CACHE_BYTES in all, each at
 * most HUGE_CACHE_MAX) are kept, pages resident, for the next huge request
 * with the same block offset (alignment below a region): a program that
 * allocates and frees large buffers in a loop then pays neither mmap nor a
 * page fault per page (measured on bench/'s calloc_aligned and
 * realloc_growth, where faults were most of the time).  Pages are what the
 * cache saves, so it gives none back while it has room: a request larger
 * than every cached mapping of its offset grows the largest one; a much
 * smaller one splits the tail off into a mapping of its own (mremap moves
 * the pages) that goes back to the cache; a full cache drops the mapping
 * put in longest ago.  "Much smaller": the mapping is more than a quarter
 * larger than needed, or twice as large if it has a hole before the block
 * (alignments above a page; the hole costs no memory): on calloc_aligned,
 * 2 MiB-aligned requests alternate between 2 MiB and a few KiB, and
 * cutting made each 2 MiB one fault its pages in again.
 * A cached mapping is unregistered, so freeing its old pointer again is
 * still reported; my_trim and fork's child empty nothing but the cache's
 * use.
 *
 * huge_alloc says how much of the mapping was handed out before, so that
 * calloc clears only that (and faults the rest in, zero, at once). */
#include "config.h"

#include <errno.h>

#include "internal.h"

static _Atomic size_t huge_count;
static _Atomic size_t huge_bytes;

/* The list of live huge blocks, for the heat map and my_heap_check; a
 * block's list links move with it when mremap moves it.  Under huge_lock,
 * every listed block is registered (registered before it is linked,
 * unlinked before it is unregistered) and its header is whole (a resize
 * writes map_size and usable under the lock). */
static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;
static struct huge *huge_list;

#define HUGE_CACHE_SLOTS 16
#define HUGE_CACHE_BYTES ((size_t)32 << 20)
#define HUGE_CACHE_MAX ((size_t)8 << 20)
_Static_assert(HUGE_CACHE_MAX <= HUGE_CACHE_BYTES, "a mapping the cache takes must fit in it");
static struct huge *huge_cache[HUGE_CACHE_SLOTS]; /* under huge_lock */
static size_t huge_cache_bytes;
static uint64_t huge_cache_age[HUGE_CACHE_SLOTS], huge_cache_serial; /* order of the puts */
static struct huge *huge_cache_take(size_t map_size, size_t offset);
static void huge_unmap(struct huge *h);
static struct huge *huge_cache_put(struct huge *h, struct huge *evicted[HUGE_CACHE_SLOTS]);
static void huge_unmap_all(struct huge *evicted[HUGE_CACHE_SLOTS], struct huge *gone);

static void huge_link(struct huge *h)
{
    pthread_mutex_lock(&huge_lock);
    h->prev = NULL;
    h->next = huge_list;
    if (huge_list != NULL)
        huge_list->prev = h;
    huge_list = h;
    pthread_mutex_unlock(&huge_lock);
}

static void huge_unlink(struct huge *h)
{
    pthread_mutex_lock(&huge_lock);
    if (h->prev != NULL)
        h->prev->next = h->next;
    else
        huge_list = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&huge_lock);
}

void myalloc__huge_walk(bool (*visit)(const struct huge *h, void *arg), void *arg)
{
    pthread_mutex_lock(&huge_lock);
    for (struct huge *h = huge_list; h != NULL; h = h->next) {
        if (!visit(h, arg))
            break;
    }
    pthread_mutex_unlock(&huge_lock);
}

void myalloc__huge_fork_prepare(void)
{
    pthread_mutex_lock(&huge_lock);
}

void myalloc__huge_fork_parent(void)
{
    pthread_mutex_unlock(&huge_lock);
}

void myalloc__huge_fork_child(void)
{
    pthread_mutex_init(&huge_lock, NULL);
}

/* Where the mapping must sit: (base + skew) % map_align == 0. */
static void huge_placement(size_t alignment, size_t *offset, size_t *map_align, size_t *skew)
{
    if (alignment >= REGION_SIZE) {
        *offset = REGION_SIZE;
        *map_align = alignment;
        *skew = alignment > REGION_SIZE ? REGION_SIZE : 0;
    } else {
        *offset = alignment > PAGE_SIZE ? alignment : PAGE_SIZE;
        *map_align = REGION_SIZE;
        *skew = 0;
    }
}

/* Mapping size for size bytes at offset, or 0 when it overflows. */
static size_t huge_map_size(size_t offset, size_t size)
{
    if (size > REQUEST_MAX - offset - PAGE_SIZE)
        return 0;
    return align_up(offset + size, PAGE_SIZE);
}

static void huge_account(struct huge *h, size_t old_usable, size_t old_map)
{
    if (h->usable >= old_usable)
        atomic_fetch_add(&huge_bytes, h->usable - old_usable);
    else
        atomic_fetch_sub(&huge_bytes, old_usable - h->usable);
    if (h->map_size >= old_map)
        myalloc__stats_mapped(h->map_size - old_map, 0);
    else
        myalloc__stats_mapped(0, old_map - h->map_size);
}

/* Transparent huge pages are asked for on the mapping of a block that
 * will be written whole at once (filled: calloc) with no hole before it:
 * then a huge page only covers a 2 MiB range wholly inside the mapping,
 * which the block covers, so it adds no memory and saves 511 faults in
 * 512.  Not for other blocks: a buffer grown by doubling and written as it
 * fills would get whole 2 MiB pages it never touches (realloc_growth's
 * peak RSS rose 3 %).  The request is withdrawn when the mapping goes to
 * such a block.  The whole mapping is advised: advising a part would split
 * it in two, and mremap refuses to grow a range of several. */
static void huge_thp(struct huge *h, bool want)
{
    if (h->thp != want) {
        myalloc__os_hugepage(h, h->map_size, want);
        h->thp = want;
    }
}

void *myalloc__huge_alloc(size_t size, size_t alignment, bool filled)
{
    size_t offset, map_align, skew, map_size;
    void *mem;
    struct huge *h;

    if (alignment < MIN_ALIGN)
        alignment = MIN_ALIGN;
    huge_placement(alignment, &offset, &map_align, &skew);
    map_size = huge_map_size(offset, size);
    if (map_size == 0) {
        errno = ENOMEM;
        return NULL;
    }
    h = offset < REGION_SIZE ? huge_cache_take(map_size, offset) : NULL;
    /* A cached mapping is counted in bytes_mapped already. */
    size_t mapped_before = h != NULL ? h->map_size : 0;
    if (h == NULL) {
        if (myalloc__os_map_aligned(map_size, map_align, skew, NULL, &mem) != 0) {
            errno = ENOMEM;
            return NULL;
        }
        bool thp = filled && offset == PAGE_SIZE;

        h = mem;
        /* Advised before the header's page is touched, which would keep
         * its 2 MiB range from getting a huge page. */
        if (thp)
            myalloc__os_hugepage(mem, map_size, true);
        h->thp = thp;
        h->dirty = PAGE_SIZE; /* the header */
        h->map_size = map_size;
    } else if (!filled || (offset == PAGE_SIZE && h->dirty < h->map_size)) {
        huge_thp(h, filled); /* kept as it is for a calloc that clears it all */
    }
    h->hdr.magic = CHUNK_MAGIC;
    h->hdr.kind = CHUNK_HUGE;
    h->user_offset = offset;
    h->usable = h->map_size - offset;
    h->alignment = alignment;
    atomic_fetch_add(&huge_count, 1);
    huge_account(h, 0, mapped_before);
    myalloc__chunk_register((uintptr_t)h);
    huge_link(h);
    return huge_block(h);
}

/* Moves the old_map bytes mapped at h (their pages, not a copy) to a
 * fresh placement of map_size bytes that keeps the masking invariant:
 * 0 and *out, or ENOMEM with h untouched. */
static int mapping_move(void *h, size_t old_map, size_t map_size, size_t map_align, size_t skew,
                        void **out)
{
    void *target;

    if (myalloc__os_map_aligned(map_size, map_align, skew, NULL, &target) != 0)
        return ENOMEM;
    if (myalloc__os_remap(h, old_map, map_size, target, out) != 0) {
        (void)myalloc__os_unmap(target, map_size);
        return ENOMEM;
    }
    return 0;
}

/* A cached mapping (unregistered, unlisted, its block below a region's
 * offset) grown to map_size, its pages kept: in place, or moved.  NULL,
 * with the mapping unmapped, if the OS refuses. */
static struct huge *huge_cache_grow(struct huge *h, size_t map_size)
{
    size_t old_map = h->map_size;
    void *moved;

    if (myalloc__os_remap(h, old_map, map_size, NULL, &moved) != 0 &&
        mapping_move(h, old_map, map_size, REGION_SIZE, 0, &moved) != 0) {
        huge_unmap(h);
        return NULL;
    }
    h = moved;
    h->map_size = map_size;
    myalloc__stats_mapped(map_size - old_map, 0);
    return h;
}

/* Cuts the cached mapping h (taken out of the cache) to map_size bytes.
 * A tail large enough to serve a huge block moves, pages and all, to a
 * placement of its own and goes back to the cache: its pages stay in
 * memory for the next request, where unmapping them would cost a fault
 * per page when a mapping grows again. */
static void huge_cache_split(struct huge *h, size_t map_size)
{
    size_t tail_size = h->map_size - map_size;
    void *tail = (char *)h + map_size, *moved;

    if (tail_size > BUDDY_MAX_REQUEST + PAGE_SIZE &&
        mapping_move(tail, tail_size, tail_size, REGION_SIZE, 0, &moved) == 0) {
        struct huge *t = moved, *evicted[HUGE_CACHE_SLOTS];

        h->map_size = map_size;
        /* The new header lies in what was the freed block's tail. */
        annotate_writable(t, sizeof *t);
        t->hdr.magic = 0;
        t->map_size = tail_size;
        t->user_offset = PAGE_SIZE;
        t->thp = h->thp; /* the advice moves with the pages */
        huge_unmap_all(evicted, huge_cache_put(t, evicted));
        return;
    }
    if (myalloc__os_unmap(tail, tail_size) == 0) {
        myalloc__stats_mapped(0, tail_size);
        h->map_size = map_size;
    }
}

/* The smallest cached mapping of at least map_size bytes, split at
 * map_size when it is much larger (see the top); but if it is more than a
 * quarter larger, rather the largest smaller one, grown, when that one is
 * short by half the size or less:
 * large mappings are kept for large requests, which would otherwise grow
 * a small one by more (calloc_aligned: 75k -> 67k faults, peak RSS 91.5 ->
 * 89.3 MiB).  Without a large enough one, the largest, grown: its pages
 * are in memory already, where a fresh mapping would fault every page in.
 * Sets h->dirty.  NULL if the cache has no mapping of that offset. */
static struct huge *huge_cache_take(size_t map_size, size_t offset)
{
    struct huge *h = NULL;
    unsigned best = HUGE_CACHE_SLOTS, largest = HUGE_CACHE_SLOTS, below = HUGE_CACHE_SLOTS;
    size_t dirty;

    pthread_mutex_lock(&huge_lock);
    for (unsigned i = 0; i < HUGE_CACHE_SLOTS; i++) {
        struct huge *c = huge_cache[i];
        if (c == NULL || c->user_offset != offset)
            continue;
        if (c->map_size >= map_size &&
            (best == HUGE_CACHE_SLOTS || c->map_size < huge_cache[best]->map_size))
            best = i;
        if (largest == HUGE_CACHE_SLOTS || c->map_size > huge_cache[largest]->map_size)
            largest = i;
        if (c->map_size < map_size &&
            (below == HUGE_CACHE_SLOTS || c->map_size > huge_cache[below]->map_size))
            below = i;
    }
    if (best == HUGE_CACHE_SLOTS)
        best = largest;
    else if (below < HUGE_CACHE_SLOTS && huge_cache[best]->map_size - map_size > map_size / 4 &&
             map_size - huge_cache[below]->map_size <= map_size / 2)
        best = below;
    if (best < HUGE_CACHE_SLOTS) {
        h = huge_cache[best];
        huge_cache[best] = NULL;
        huge_cache_bytes -= h->map_size;
    }
    pthread_mutex_unlock(&huge_lock);
    if (h == NULL)
        return NULL;
    /* What a grown mapping adds is fresh. */
    dirty = h->map_size;
    if (h->map_size < map_size && (h = huge_cache_grow(h, map_size)) == NULL)
        return NULL;
    if (h->map_size - map_size > (offset == PAGE_SIZE ? map_size / 4 : map_size))
        huge_cache_split(h, map_size);
    h->dirty = dirty < h->map_size ? dirty : h->map_size;
    return h;
}

/* Keeps h for reuse if it is of a kind cached, pushing out the entries put
 * in longest ago until it fits; returns what must be unmapped (h itself,
 * or NULL; the pushed out ones are in evicted). */
static struct huge *huge_cache_put(struct huge *h, struct huge *evicted[HUGE_CACHE_SLOTS])
{
    unsigned slot;

    for (unsigned i = 0; i < HUGE_CACHE_SLOTS; i++)
        evicted[i] = NULL;
    if (h->user_offset >= REGION_SIZE || h->map_size > HUGE_CACHE_MAX)
        return h;
    pthread_mutex_lock(&huge_lock);
    /* Each round evicts one entry, the one put longest ago, until a slot
     * is free and h fits (h alone always fits). */
    for (;;) {
        unsigned oldest = HUGE_CACHE_SLOTS;

        slot = HUGE_CACHE_SLOTS;
        for (unsigned i = 0; i < HUGE_CACHE_SLOTS; i++) {
            if (huge_cache[i] == NULL) {
                if (slot == HUGE_CACHE_SLOTS)
                    slot = i;
            } else if (oldest == HUGE_CACHE_SLOTS || huge_cache_age[i] < huge_cache_age[oldest]) {
                oldest = i;
            }
        }
        if (slot < HUGE_CACHE_SLOTS && huge_cache_bytes + h->map_size <= HUGE_CACHE_BYTES)
            break;
        evicted[oldest] = huge_cache[oldest];
        huge_cache_bytes -= huge_cache[oldest]->map_size;
        huge_cache[oldest] = NULL;
    }
    huge_cache[slot] = h;
    huge_cache_age[slot] = huge_cache_serial++;
    huge_cache_bytes += h->map_size;
    pthread_mutex_unlock(&huge_lock);
    return NULL;
}

static void huge_unmap(struct huge *h)
{
    size_t map_size = h->map_size;

    myalloc__stats_mapped(0, map_size);
    h->hdr.magic = 0;
    (void)myalloc__os_unmap(h, map_size);
}

/* Unmaps what huge_cache_put let go of. */
static void huge_unmap_all(struct huge *evicted[HUGE_CACHE_SLOTS], struct huge *gone)
{
    for (unsigned i = 0; i < HUGE_CACHE_SLOTS; i++)
        if (evicted[i] != NULL)
            huge_unmap(evicted[i]);
    if (gone != NULL)
        huge_unmap(gone);
}

void myalloc__huge_free(struct huge *h)
{
    struct huge *evicted[HUGE_CACHE_SLOTS];

    huge_unlink(h);
    myalloc__chunk_unregister((uintptr_t)h);
    atomic_fetch_sub(&huge_count, 1);
    atomic_fetch_sub(&huge_bytes, h->usable);
    h->hdr.magic = 0;
    huge_unmap_all(evicted, huge_cache_put(h, evicted));
}

int myalloc__huge_trim(void)
{
    struct huge *cached[HUGE_CACHE_SLOTS];

    pthread_mutex_lock(&huge_lock);
    for (unsigned i = 0; i < HUGE_CACHE_SLOTS; i++) {
        cached[i] = huge_cache[i];
        huge_cache[i] = NULL;
    }
    huge_cache_bytes = 0;
    pthread_mutex_unlock(&huge_lock);
    for (unsigned i = 0; i < HUGE_CACHE_SLOTS; i++)
        if (cached[i] != NULL)
            huge_unmap(cached[i]);
    return 0;
}

void *myalloc__huge_resize(struct huge *h, size_t size)
{
    size_t old_map = h->map_size, old_usable = h->usable;
    size_t offset, map_align, skew, map_size;
    void *moved, *old_block = huge_block(h);
    /* What a memory checker was told the block holds (annotate.h). */
    size_t old_size = annotate_block_size(old_block, old_usable);

    huge_placement(h->alignment, &offset, &map_align, &skew);
    map_size = huge_map_size(offset, size);
    if (map_size == 0) {
        errno = ENOMEM;
        return NULL;
    }
    if (map_size > old_map)
        huge_thp(h, false); /* a growing block is not written whole at once */
    if (map_size <= old_map) {
        /* Annotated before the tail is unmapped and can be mapped again. */
        annotate_block_resized(old_block, old_size, size, old_usable, map_size - offset);
        if (map_size < old_map)
            (void)myalloc__os_unmap((char *)h + map_size, old_map - map_size);
    } else if (myalloc__os_remap(h, old_map, map_size, NULL, &moved) != 0) {
        /* No room to grow in place: move the pages.  The block leaves the
         * list while its header is in flight, and the registry before the
         * move: once moved, the old chunk may at once be mapped and
         * registered by another thread, whose bit this must not clear. */
        huge_unlink(h);
        myalloc__chunk_unregister((uintptr_t)h);
        if (mapping_move(h, old_map, map_size, map_align, skew, &moved) != 0) {
            myalloc__chunk_register((uintptr_t)h);
            huge_link(h);
            errno = ENOMEM;
            return NULL;
        }
        h = moved;
        myalloc__chunk_register((uintptr_t)h);
        huge_link(h);
    }
    pthread_mutex_lock(&huge_lock);
    h->map_size = map_size;
    h->usable = map_size - offset;
    pthread_mutex_unlock(&huge_lock);
    huge_account(h, old_usable, old_map);
    if (huge_block(h) != old_block)
        annotate_block_moved(old_block, huge_block(h), old_size, size, h->usable);
    else if (map_size > old_map)
        annotate_block_resized(old_block, old_size, size, old_usable, h->usable);
    return huge_block(h);
}

void myalloc__huge_add_stats(struct my_stats *st)
{
    st->huge_blocks += atomic_load(&huge_count);
    st->bytes_huge += atomic_load(&huge_bytes);
}

/* ------------------------------------------------------------- check -- */
static const char *check_fault(const void **where, const void *at, const char *problem)
{
    if (where != NULL)
        *where = at;
    return problem;
}

/* A listed block's header (huge_lock held): placed as huge_placement
 * says for its alignment, usable up to the end of its mapping. */
static const char *huge_check_header(const struct huge *h, const void **where)
{
    size_t offset, map_align, skew;

    if (h->hdr.magic != CHUNK_MAGIC || h->hdr.kind != CHUNK_HUGE)
        return check_fault(where, h, "huge block header %p: chunk header is not a huge block's");
    if (!is_pow2(h->alignment) || h->alignment < MIN_ALIGN)
        return check_fault(where, h, "huge block header %p: alignment is not a power of two >= 16");
    huge_placement(h->alignment, &offset, &map_align, &skew);
    if (h->user_offset != offset)
        return check_fault(where, h,
                           "huge block header %p: block offset disagrees with its alignment");
    if (((uintptr_t)huge_block((struct huge *)h) & (h->alignment - 1)) != 0)
        return check_fault(where, h, "huge block header %p: block misaligned");
    if (h->map_size % PAGE_SIZE != 0 || h->map_size <= h->user_offset)
        return check_fault(where, h,
                           "huge block header %p: mapping size is not pages past the block start");
    if (h->usable != h->map_size - h->user_offset)
        return check_fault(where, h,
                           "huge block header %p: usable size disagrees with its mapping");
    return NULL;
}

const char *myalloc__huge_check(const void **where)
{
    const char *problem = NULL;
    const struct huge *prev = NULL;
    size_t cached = 0;

    pthread_mutex_lock(&huge_lock);
    /* The back links rule out a cycle: a block met twice would have two
     * predecessors. */
    for (const struct huge *h = huge_list; h != NULL && problem == NULL; prev = h, h = h->next) {
        if (((uintptr_t)h & REGION_MASK) != 0 || !chunk_registered((uintptr_t)h))
            problem = check_fault(where, h, "huge block header %p: listed but not registered");
        else if (h->prev != prev)
            problem = check_fault(where, h, "huge block header %p: list back link broken");
        else
            problem = huge_check_header(h, where);
    }
    /* Cached mappings: freed, so unregistered (their address is still
     * mapped: nothing else can be registered there). */
    for (unsigned i = 0; i < HUGE_CACHE_SLOTS && problem == NULL; i++) {
        const struct huge *c = huge_cache[i];
        if (c == NULL)
            continue;
        if (c->hdr.magic != 0 || chunk_registered((uintptr_t)c))
            problem = check_fault(where, c,
                                  "huge block header %p: cached mapping still looks live");
        else if (c->user_offset >= REGION_SIZE || c->map_size > HUGE_CACHE_MAX ||
                 c->map_size % PAGE_SIZE != 0)
            problem = check_fault(where, c,
                                  "huge block header %p: cached mapping of a kind never cached");
        cached += c->map_size;
    }
    if (problem == NULL && cached != huge_cache_bytes)
        problem = check_fault(where, huge_cache,
                              "huge cache %p: byte count disagrees with its mappings");
    pthread_mutex_unlock(&huge_lock);
    return problem;
}
