/* types.h - the structures of libmyalloc and their invariants.
 *
 * Map of the main structures (data flows down):
 *
 *   struct heap      one per thread (recycled when a thread exits): for each
 *                    size class a list of slabs with free blocks, and a
 *                    stack of slabs handed back by other threads' frees.
 *   struct slab      a buddy block cut into equal blocks of one size class;
 *                    its header sits at the start of the block.
 *   struct arena     a lock and the regions whose buddy systems it manages;
 *                    heaps are spread over arenas.
 *   struct region    REGION_SIZE bytes aligned to REGION_SIZE: a header, a
 *                    page descriptor per page, then buddy-managed pages.
 *   struct huge      the header of a block mapped on its own, placed at a
 *                    REGION_SIZE-aligned address like a region header.
 *
 * Vocabulary: a *page* is PAGE_SIZE bytes; an *order* k block is
 * PAGE_SIZE << k bytes aligned to its size inside its region; a *chunk* is
 * a REGION_SIZE-aligned slice of the address space; a *block* is what a
 * caller gets; *remote* means done by a thread other than the owner.
 *
 * Finding metadata: chunk = (ptr - 1) & ~REGION_MASK holds a chunk_header
 * (regions never hand out their first page and huge blocks start past the
 * header, so ptr - 1 lies in the same chunk).  The chunk registry says
 * whether a chunk is ours before anything is read from it.
 */
#ifndef MYALLOC_TYPES_H
#define MYALLOC_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ geometry -- */
#define PAGE_SHIFT 12
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT)
#define REGION_SHIFT 22
#define REGION_SIZE ((size_t)1 << REGION_SHIFT)
#define REGION_MASK (REGION_SIZE - 1)
#define REGION_PAGES (REGION_SIZE >> PAGE_SHIFT)

/* Orders 0 .. BUDDY_ORDERS-1; the largest block is half a region, since
 * the first half holds the metadata pages. */
#define BUDDY_ORDERS 10
#define BUDDY_MAX_ORDER (BUDDY_ORDERS - 1)
/* Requests above this go to huge blocks; keeps a region able to serve
 * several of the largest buddy requests. */
#define BUDDY_MAX_REQUEST ((size_t)1 << 20)
#define BUDDY_MAX_REQUEST_ORDER 8

#define SMALL_MAX 4096
#define SIZE_CLASSES 48
#define MIN_ALIGN 16

/* Slabs are buddy blocks of these orders (16 KiB .. 64 KiB). */
#define SLAB_MIN_ORDER 2
#define SLAB_MAX_ORDER 4
#define SLAB_MAX_BLOCKS ((PAGE_SIZE << SLAB_MAX_ORDER) / MIN_ALIGN)

/* The chunk registry covers a 48-bit address space, a bit per chunk. */
#define ADDRESS_BITS 48
#define REGISTRY_CHUNKS ((uint64_t)1 << (ADDRESS_BITS - REGION_SHIFT))

/* The largest request accepted at all, as for malloc: PTRDIFF_MAX. */
#define REQUEST_MAX ((size_t)PTRDIFF_MAX)

_Static_assert((PAGE_SIZE << BUDDY_MAX_ORDER) * 2 == REGION_SIZE,
               "the largest buddy block must be half a region");
_Static_assert((PAGE_SIZE << BUDDY_MAX_REQUEST_ORDER) == BUDDY_MAX_REQUEST,
               "BUDDY_MAX_REQUEST_ORDER does not match BUDDY_MAX_REQUEST");

/* ----------------------------------------------------- chunk headers -- */
#define CHUNK_MAGIC 0x6d79616cu /* "myal" */
enum chunk_kind { CHUNK_REGION = 1, CHUNK_HUGE = 2 };

struct chunk_header {
    uint32_t magic; /* CHUNK_MAGIC while the chunk is ours */
    uint32_t kind;  /* enum chunk_kind */
};

/* ---------------------------------------------------------- regions -- */
/* Page kinds.  PAGE_INTERIOR is 0 so that a fresh, zeroed descriptor table
 * says "interior" everywhere.
 * Invariant: exactly the first page of every block (free, used by a
 * caller, or a slab) has a head kind; every other usable page is
 * PAGE_INTERIOR, except that all pages of a slab are PAGE_SLAB and name the
 * slab's first page in link.head. */
enum page_kind {
    PAGE_INTERIOR = 0,
    PAGE_META,  /* region header and descriptor table */
    PAGE_FREE,  /* head of a free buddy block, in free_head[order] */
    PAGE_USED,  /* head of a buddy block handed to a caller */
    PAGE_SLAB,  /* any page of a slab */
};

/* Page index 0 is a metadata page, so 0 serves as the null link. */
#define PAGE_NONE 0

struct page_desc {
    uint8_t kind;   /* enum page_kind */
    uint8_t order;  /* heads: the block's order */
    uint8_t purged; /* PAGE_FREE: the block's pages were given back */
    uint8_t unused;
    union {
        uint16_t next; /* PAGE_FREE: next free block of the same order */
        uint16_t head; /* PAGE_SLAB: the slab's first page */
    } link;
    uint16_t prev; /* PAGE_FREE: previous free block of the same order */
};
_Static_assert(sizeof(struct page_desc) == 8, "page_desc must stay 8 bytes");

struct arena;

struct region {
    struct chunk_header hdr;
    struct arena *arena;
    /* Arena list of regions whose largest free block has order list_order
     * (-1: no free block, not listed). */
    struct region *next, *prev;
    int list_order;
    /* Arena list of all its regions. */
    struct region *all_next, *all_prev;
    uint16_t free_head[BUDDY_ORDERS]; /* PAGE_NONE when empty */
    uint16_t free_mask;               /* bit k: free_head[k] non-empty */
    uint16_t free_count[BUDDY_ORDERS]; /* blocks on each free list */
    uint32_t free_pages;              /* pages in free blocks */
    uint32_t purged_pages;            /* pages of free blocks given back */
    bool spare;                       /* entirely free, kept for reuse */
    struct page_desc pages[REGION_PAGES];
};

/* Pages holding the region header and descriptors; never handed out. */
#define REGION_META_PAGES ((sizeof(struct region) + PAGE_SIZE - 1) / PAGE_SIZE)
#define REGION_USABLE_PAGES (REGION_PAGES - REGION_META_PAGES)
_Static_assert(REGION_META_PAGES < REGION_PAGES / 2,
               "metadata must fit in the first half of a region");

/* ----------------------------------------------------------- arenas -- */
/* An arena's lock protects its regions' buddy state and its counters.
 * Lock order: heaps_lock, then an arena lock; never the reverse. */
struct arena {
    pthread_mutex_t lock;
    struct region *by_order[BUDDY_ORDERS]; /* by largest free order */
    struct region *all;
    size_t spares;        /* regions kept although entirely free */
    size_t regions;
    size_t blocks_free[BUDDY_ORDERS];
    size_t blocks_used[BUDDY_ORDERS];
    size_t blocks_slab[BUDDY_ORDERS];
    size_t bytes_used;  /* usable bytes of caller buddy blocks */
    size_t dirty_pages; /* free pages not purged, in all its regions */
    uint64_t changes;   /* buddy operations so far: idle.c looks for none */
    unsigned index;
};

#define MAX_ARENAS 32

/* ------------------------------------------------------------- slabs -- */
/* Remote frees go onto slab->xfree, a list of blocks linked through their
 * first word (encoded: see internal.h), with
 * SLAB_XFREE_FULL in the low bit (blocks are 16-aligned).
 * FULL is set only by the slab's owner, only when the list is empty and the
 * owner stops tracking the slab (no free block left).  The remote free that
 * clears FULL must push the slab onto its owner's returned stack: this way
 * a full slab comes back exactly once, with one atomic on the free path. */
#define SLAB_XFREE_FULL ((uintptr_t)1)

/* Where the owner keeps a slab. */
enum slab_state {
    SLAB_LISTED,  /* in heap->avail[cls] */
    SLAB_FULL,    /* untracked (or on an abandoned heap's parked
                   * list); xfree carries FULL or a remote freer
                   * cleared it and is returning the slab */
    SLAB_PENDING, /* untracked; known to be on its way to heap->returned */
};

struct heap;

/* A slab's free blocks are the clear bits of its live bitmap: the owner
 * takes the lowest (slab_take) and clears a block's bit when it comes back
 * (slab_give).  A free block holds nothing of the allocator's, so a page
 * of free blocks can be purged at any time, and no use-after-free write
 * can corrupt a list: only blocks on the remote list (xfree) carry a link
 * until the owner collects them. */
struct slab {
    /* Line 0: what only slow paths and other threads touch. */
    _Atomic uintptr_t xfree; /* written by any thread */
    uintptr_t link_mask; /* bits never set in a sound link's next ^ block:
                          * those above the slab's buddy block, and those
                          * below MIN_ALIGN */
    struct slab *next, *prev;  /* heap->avail[cls], or heap->parked */
    struct slab *returned_next; /* heap->returned */
    /* Purging of the pages that hold only free blocks (slab.c): when a
     * listed slab falls to purge_at blocks in use, then to half as many,
     * and so on; reset to a quarter of the capacity each time the slab
     * runs out of free blocks, 0 (never) before.  purged_pages: pages given
     * back since, not yet counted in bytes_mapped again. */
    uint16_t purge_at;
    uint16_t purged_pages;
    uint8_t order;
    uint8_t state;          /* enum slab_state */
    uint8_t return_pending; /* on (or bound for) heap->returned */
    /* Line 1: everything the fast paths read, then the first two words of
     * the live bitmap, where the lowest blocks, taken first, are.  Below
     * xfree everything belongs to the owner (or to the holder of
     * heaps_lock for an abandoned heap). */
    _Alignas(64) struct heap *owner;
    uint64_t not_full;  /* bit w set: live[w] has a clear bit (a free
                         * block); 64 words cover SLAB_MAX_BLOCKS */
    uintptr_t blocks;   /* first block's address, read by slab_blocks() */
    uint32_t in_use;     /* blocks handed out, remote frees not collected */
    uint32_t capacity;
    uint32_t block_size;
    uint32_t reciprocal; /* ceil(2^32 / block_size): exact division */
    /* A local free that leaves in_use at or below this goes to the slow
     * path: 0 for a listed slab (it may fall idle); for an untracked one,
     * in_use once an eighth of it is free again (slab_set_state), so
     * that a slab hovering at full is listed again once per batch of
     * frees, not after each. */
    uint32_t free_slow_at;
    uint8_t cls;
    /* Bit i set: block i is handed out (or, past the capacity in the last
     * word, does not exist).  Relaxed atomics, because a remote free reads
     * it to catch a double free early. */
    _Atomic uint64_t live[];
};
_Static_assert(SLAB_MAX_BLOCKS <= 64 * 64, "not_full has a bit per live word");
_Static_assert((1 << SLAB_MAX_ORDER) <= 16, "purged_pages has a bit per page");
_Static_assert(offsetof(struct slab, owner) == 64 && offsetof(struct slab, live) == 112,
               "the fast paths' fields and two bitmap words share the slab's second line");

/* ------------------------------------------------------------- heaps -- */
enum heap_state {
    HEAP_OWNED,     /* a live thread uses it */
    HEAP_ABANDONED, /* its thread exited; heaps_lock holders manage it */
    HEAP_DEAD,      /* owned by a thread that vanished in fork(): untouched */
};

/* Counters are written only by whoever owns the heap (relaxed load and
 * store, no read-modify-write) and read by my_stats_get(). */
typedef _Atomic uint64_t counter_t;

/* The fast paths count only class_allocs/class_frees (and the bytes
 * requested); the malloc and free calls they serve are derived: all small
 * allocations and frees, less those counted as not made there
 * (small_allocs_slow, small_frees_slow), plus calls_malloc/calls_free,
 * which the slow paths count. */
struct heap_counters {
    counter_t calls_malloc, calls_calloc, calls_realloc, calls_aligned;
    counter_t calls_free, calls_trim;
    counter_t small_allocs_slow; /* small blocks not from fastpath_malloc */
    counter_t small_frees_slow;  /* small frees not by fastpath_free */
    counter_t bytes_requested;   /* all kinds */
    counter_t bytes_rounded_big; /* usable bytes of buddy and huge blocks */
    counter_t class_allocs[SIZE_CLASSES];
    counter_t class_frees[SIZE_CLASSES];
    counter_t class_slabs[SIZE_CLASSES];
    counter_t class_capacity[SIZE_CLASSES]; /* blocks in those slabs */
};

struct heap {
    struct slab *avail[SIZE_CLASSES];  /* slabs with free blocks */
    _Atomic(struct slab *) returned;   /* pushed by remote frees */
    _Atomic int state;                 /* enum heap_state */
    struct arena *arena;
    struct heap *all_next;             /* every heap ever made */
    struct heap *abandoned_next;
    /* Slabs its exited thread stopped tracking with free blocks left
     * (SLAB_FULL, linked through next/prev), for the thread that adopts
     * the heap to take up again; empty while a thread owns the heap.
     * Written by the exiting thread, then under heaps_lock. */
    struct slab *parked;
    struct heap_counters counters;
};

/* ------------------------------------------------------------- huge -- */
struct huge {
    struct chunk_header hdr;
    struct huge *next, *prev; /* every live huge block, under huge_lock */
    size_t map_size;    /* bytes mapped from hdr onwards */
    size_t user_offset; /* block start - header address */
    size_t usable;
    size_t alignment;   /* as requested, >= MIN_ALIGN */
    /* Set by myalloc__huge_alloc for calloc: bytes from the header on
     * that may have been written; the rest of the mapping is fresh from
     * the OS and reads as zero.  Meaningless once the block is in use. */
    size_t dirty;
    bool thp;           /* the mapping is advised MADV_HUGEPAGE */
};

/* The header has the block's first page to itself. */
_Static_assert(sizeof(struct huge) <= PAGE_SIZE, "huge header");

#endif /* MYALLOC_TYPES_H */
