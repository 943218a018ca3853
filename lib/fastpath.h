/* fastpath.h - the inline fast paths of malloc and free, shared by the
 * my_* entry points (api.c) and the malloc family (preload.c) so that
 * neither pays a call for the common case.
 *
 * Cost, malloc of <= 4 KiB with a free block in the thread's first slab of
 * its class: a TLS load, the class (a table load), the lowest clear bit
 * of the slab's live bitmap found and set (two bit scans), the block's
 * address (a multiply), and two counter stores; the block is not touched.
 * free of a block of this thread's slab: the registry bit, the page
 * descriptor, the block index (a multiply), the live bit tested and
 * cleared, one counter store (the call counters are derived, see struct
 * heap_counters), one compare against the slab's free_slow_at; nothing is
 * written into the block (bench/run --callgrind counts the pair).
 * No lock and no atomic read-modify-write in either.  A small block of
 * another thread's slab is pushed onto its remote list from here, once
 * found (one compare-and-swap; and heaps_lock when that returns the slab
 * to an exited thread's heap); anything else falls through to the slow
 * path. */
#ifndef MYALLOC_FASTPATH_H
#define MYALLOC_FASTPATH_H

#include "checked.h"
#include "internal.h"

/* Inlined even where used several times: a call here is a fifth of the
 * fast path's cost. */
#define FASTPATH static inline __attribute__((always_inline))

/* The whole of malloc: a block of a slab of this thread's heap, else the
 * slow path. */
FASTPATH void *entry_malloc(size_t size)
{
    struct heap *h = myalloc__tls_heap;

    /* Checked mode takes every allocation (never reset once set). */
    if (likely(h != NULL && size <= SMALL_MAX && !myalloc__check_on)) {
        unsigned cls = size_class_lookup(size);
        struct slab *s = h->avail[cls];
        if (likely(s != NULL && s->not_full != 0)) {
            void *b = slab_take(s);
            annotate_block_handed_out(b, size, s->block_size, false);
            counter_add(&h->counters.class_allocs[cls], 1);
            counter_add(&h->counters.bytes_requested, size);
            return b;
        }
    }
    return myalloc__malloc_slow(size);
}

/* After a free by its owner of a block of s (its live bit now clear): the
 * count, then the slow path for an untracked slab with an eighth of it
 * free again, or an idle one that is not its class's last. */
FASTPATH void local_free_done(struct heap *h, struct slab *s)
{
    counter_add(&h->counters.class_frees[s->cls], 1);
    if (unlikely(s->in_use <= s->free_slow_at) &&
        (s->in_use != 0 || s->state != SLAB_LISTED || h->avail[s->cls] != s || s->next != NULL))
        myalloc__heap_free_small_slow(h, s);
}

/* true when ptr (not NULL) was taken care of: a small block of this
 * thread now free, or one of another thread's slab gone its way (see
 * myalloc__free_remote_small); false leaves everything to the slow path,
 * which also reports whatever is wrong with ptr. */
FASTPATH bool fastpath_free(void *ptr, const char *fn)
{
    uintptr_t p = (uintptr_t)ptr;
    /* Not (p - 1) as for huge blocks, which the region test turns away: a
     * region's block never starts at its first byte, so the page index
     * stays below REGION_PAGES. */
    uintptr_t chunk = p & ~(uintptr_t)REGION_MASK;
    const struct region *r = (const struct region *)chunk;
    uintptr_t page = (p - chunk) >> PAGE_SHIFT;
    struct heap *h = myalloc__tls_heap;
    const struct page_desc *d;
    struct slab *s;
    uint32_t idx;

    if (unlikely(!chunk_registered(chunk) || r->hdr.kind != CHUNK_REGION))
        return false;
    d = &r->pages[page];
    if (unlikely(d->kind != PAGE_SLAB))
        return false;
    s = (struct slab *)(chunk + ((uintptr_t)d->link.head << PAGE_SHIFT));
    idx = slab_index_of(s, ptr);
    if (unlikely(idx == UINT32_MAX))
        return false;
    /* Another thread's block: one push, without finding it again. */
    if (unlikely(s->owner != h)) {
        myalloc__free_remote_small(s, ptr, idx, fn);
        return true;
    }
    /* In checked mode a core block start may lie inside a checked block:
     * the slow path decides. */
    if (unlikely(myalloc__check_on) || unlikely(!slab_give(s, idx)))
        return false;
    annotate_block_freed(ptr, s->block_size);
    local_free_done(h, s);
    return true;
}

/* The whole of free: fast path, else the slow one. */
FASTPATH void entry_free(void *ptr, const char *fn)
{
    if (ptr == NULL || likely(fastpath_free(ptr, fn)))
        return;
    myalloc__free_slow(ptr, fn);
}

#endif /* MYALLOC_FASTPATH_H */
