/* internal.h - the library's internal interface, grouped under the file
 * that owns each function: read it as a map of the library.
 *
 * Naming: public calls are my_*; functions shared between files are
 * myalloc__*; static helpers are named for the object they act on. */
#ifndef MYALLOC_INTERNAL_H
#define MYALLOC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annotate.h"
#include "myalloc.h"
#include "types.h"

#define MYALLOC_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* n + a - 1 must not overflow: callers pass sizes already bounded (by
 * REQUEST_MAX, or their own structures). */
static inline size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }
static inline bool is_pow2(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

/* Owner-only counters: a relaxed load and store, no locked instruction. */
static inline void counter_add(counter_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}
static inline uint64_t counter_get(counter_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- api.c: the entry points; these take the name reports use -------- */
/* Slow paths behind fastpath.h: any request; any non-NULL pointer. */
MYALLOC_HIDDEN __attribute__((noinline, cold)) void *myalloc__malloc_slow(size_t size);
MYALLOC_HIDDEN __attribute__((noinline, cold)) void myalloc__free_slow(void *ptr, const char *fn);
/* fastpath_free's way for block idx (a block start) of another thread's
 * slab s: onto s's remote list, or to myalloc__free_slow if it is not
 * handed out, which reports it for fn. */
MYALLOC_HIDDEN __attribute__((noinline)) void myalloc__free_remote_small(struct slab *s, void *ptr,
                                                                       uint32_t idx, const char *fn);
MYALLOC_HIDDEN void *myalloc__realloc(void *ptr, size_t size, const char *fn);
MYALLOC_HIDDEN size_t myalloc__usable_size(const void *ptr, const char *fn);
/* alignment: a power of two. */
MYALLOC_HIDDEN void *myalloc__alloc_aligned(size_t alignment, size_t size);
/* free_sized (alignment 0) and free_aligned_sized. */
MYALLOC_HIDDEN void myalloc__free_sized(void *ptr, size_t alignment, size_t size, const char *fn);

/* ---- report.c: fatal reports, written without allocating ------------- */
/* "myalloc: FN(PTR): PROBLEM" on stderr, then abort(). */
MYALLOC_HIDDEN _Noreturn void myalloc__report_block(const char *fn, const void *ptr,
                                                   const char *problem);
/* A freed block reached fn: "double free" for my_free, else "block already
 * freed". */
MYALLOC_HIDDEN _Noreturn void myalloc__report_freed(const char *fn, const void *ptr);
MYALLOC_HIDDEN _Noreturn void myalloc__report_internal(const char *what);
/* A free-list link of slab that does not decode, found in block:
 * "myalloc: malloc: free list of slab S corrupted (block B holds a link
 * that does not decode)", then abort(). */
MYALLOC_HIDDEN __attribute__((cold)) _Noreturn void
myalloc__report_free_list(const struct slab *slab, const void *block);
/* Building a report line by line on the stack (checked mode's reports are
 * several lines): each put truncates at the buffer's end. */
struct report_line {
    char buf[512];
    size_t len;
};
MYALLOC_HIDDEN void myalloc__line_put(struct report_line *l, const char *s);
/* As printf's "%p" on glibc. */
MYALLOC_HIDDEN void myalloc__line_put_pointer(struct report_line *l, const void *p);
MYALLOC_HIDDEN void myalloc__line_put_hex(struct report_line *l, uint64_t v);
MYALLOC_HIDDEN void myalloc__line_put_uint(struct report_line *l, uint64_t v);
MYALLOC_HIDDEN void myalloc__line_put_int(struct report_line *l, int64_t v);
/* Sends report lines to fd instead of stderr (for reports at exit). */
MYALLOC_HIDDEN void myalloc__report_to(int fd);
/* "myalloc: FN(PTR): ", the start of every report on a block. */
MYALLOC_HIDDEN void myalloc__line_put_call(struct report_line *l, const char *fn, const void *ptr);
/* Writes the line (newline added) to stderr and empties it. */
MYALLOC_HIDDEN void myalloc__line_flush(struct report_line *l);

/* "myalloc: " and the parts, one line on stderr; the program goes on. */
MYALLOC_HIDDEN void myalloc__report_warning(const char *const parts[], size_t nparts);
/* "myalloc: FN: PROBLEM" on stderr, the first "%p" of problem replaced by
 * where as printf prints it; the program goes on. */
MYALLOC_HIDDEN void myalloc__report_check(const char *fn, const char *problem,
                                          const void *where);

#define PROBLEM_DOUBLE_FREE "double free"
#define PROBLEM_FREED "block already freed"
#define PROBLEM_FOREIGN "not a block allocated by myalloc"
#define PROBLEM_INTERIOR "not the start of a block"
#define PROBLEM_SIZE_MISMATCH "mismatched sized free"
#define PROBLEM_ALIGN_MISMATCH "mismatched aligned free"

/* ---- os_posix.c: the only caller of mmap, munmap, madvise, mremap ----- */
MYALLOC_HIDDEN int myalloc__os_map(size_t size, void *hint, void **out);
MYALLOC_HIDDEN int myalloc__os_map_aligned(size_t size, size_t alignment, size_t skew,
                                           void *hint, void **out);
MYALLOC_HIDDEN int myalloc__os_unmap(void *p, size_t size);
MYALLOC_HIDDEN int myalloc__os_purge(void *p, size_t size);
MYALLOC_HIDDEN int myalloc__os_remap(void *old, size_t old_size, size_t new_size,
                                     void *target, void **out);
MYALLOC_HIDDEN void myalloc__os_populate(void *p, size_t size);
MYALLOC_HIDDEN void myalloc__os_hugepage(void *p, size_t size, bool on);
MYALLOC_HIDDEN int myalloc__os_protect(void *p, size_t size, bool accessible);
MYALLOC_HIDDEN size_t myalloc__os_page_size(void);
/* Random bytes from the kernel, never blocking: 0 or an errno. */
MYALLOC_HIDDEN int myalloc__os_random(void *buf, size_t size);
/* Clocks, process id and addresses mixed: for when there is no
 * myalloc__os_random. */
MYALLOC_HIDDEN uint64_t myalloc__os_weak_entropy(void);
/* Tests only: make the after-th next mapping fail with ENOMEM, or the
 * after-th next purge with EAGAIN. */
MYALLOC_HIDDEN void myalloc__os_inject_enomem(int after);
MYALLOC_HIDDEN void myalloc__os_inject_purge_failure(int after);

/* ---- sizeclass.c: the size-class table -------------------------------- */
MYALLOC_HIDDEN extern const uint16_t myalloc__class_sizes[SIZE_CLASSES];

/* Class of a request of 0 .. SMALL_MAX bytes (0 is served as 1). */
static inline unsigned size_class_of(size_t size)
{
    if (size <= 128)
        return size == 0 ? 0 : (unsigned)((size - 1) >> 4);
    unsigned lg = 63u - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
    unsigned shift = lg - 3;
    return 8u + (lg - 7u) * 8u + (unsigned)(((size - 1) - ((size_t)1 << lg)) >> shift);
}
/* size_class_of(size) as a table lookup: the fast path's way. */
MYALLOC_HIDDEN extern const uint8_t myalloc__class_of_quantum[SMALL_MAX / MIN_ALIGN + 1];
static inline unsigned size_class_lookup(size_t size)
{
    return myalloc__class_of_quantum[(size + MIN_ALIGN - 1) / MIN_ALIGN];
}
MYALLOC_HIDDEN size_t myalloc__class_align(unsigned cls);
/* The smallest class whose blocks hold size bytes at alignment; SIZE_CLASSES
 * if none. */
MYALLOC_HIDDEN unsigned myalloc__class_for_aligned(size_t size, size_t alignment);

/* ---- buddy.c: the buddy system inside one region (arena lock held) ---- */
MYALLOC_HIDDEN void myalloc__buddy_init(struct region *r);
/* First page of a block of this order marked kind, or PAGE_NONE. */
MYALLOC_HIDDEN unsigned myalloc__buddy_alloc(struct region *r, unsigned order, uint8_t kind);
/* Frees the block at page, merging; returns the merged block's head. */
MYALLOC_HIDDEN unsigned myalloc__buddy_free(struct region *r, unsigned page);
MYALLOC_HIDDEN bool myalloc__buddy_grow(struct region *r, unsigned page, unsigned new_order);
MYALLOC_HIDDEN void myalloc__buddy_shrink(struct region *r, unsigned page, unsigned new_order);
MYALLOC_HIDDEN int myalloc__buddy_largest_order(const struct region *r);
MYALLOC_HIDDEN unsigned myalloc__buddy_free_count(const struct region *r, unsigned order);
/* Purges every free block not yet purged; returns the pages purged and
 * stores the errno of a refused purge in *err (left alone otherwise). */
MYALLOC_HIDDEN size_t myalloc__buddy_purge(struct region *r, int *err);
/* Purges the free block at page unless it is already; returns the pages
 * purged (0 when the OS refused). */
MYALLOC_HIDDEN size_t myalloc__buddy_purge_block(struct region *r, unsigned page);
MYALLOC_HIDDEN bool myalloc__buddy_is_empty(const struct region *r);
/* Checks every invariant; returns NULL or a description of the first
 * violation, whose "%p" stands for the page or region stored in *where
 * (when where is not NULL). */
MYALLOC_HIDDEN const char *myalloc__buddy_check(const struct region *r, const void **where);

/* ---- region.c: regions, arenas, and pointer -> metadata --------------- */
MYALLOC_HIDDEN extern _Atomic uint64_t myalloc__registry[REGISTRY_CHUNKS / 64];
/* Whether chunk (a REGION_SIZE-aligned address) is one of ours: two loads,
 * safe for any address. */
static inline bool chunk_registered(uintptr_t chunk)
{
    uint64_t i = chunk >> REGION_SHIFT;

    if (unlikely(i >= REGISTRY_CHUNKS))
        return false;
    return (atomic_load_explicit(&myalloc__registry[i >> 6], memory_order_acquire) >> (i & 63)) & 1;
}
MYALLOC_HIDDEN void myalloc__chunk_register(uintptr_t chunk);
MYALLOC_HIDDEN void myalloc__chunk_unregister(uintptr_t chunk);

MYALLOC_HIDDEN void myalloc__arena_init(struct arena *a, unsigned index);
/* A block of the order, its pages marked kind (PAGE_USED; PAGE_SLAB only
 * outside the arenas my_heap_check walks, which take their slabs from
 * myalloc__arena_alloc_slab); NULL with errno ENOMEM.  Takes the arena
 * lock. */
MYALLOC_HIDDEN void *myalloc__arena_alloc(struct arena *a, unsigned order, uint8_t kind);
/* A new slab of class cls for owner, initialised before the arena lock is
 * released (so that a checker holding the lock may read its geometry);
 * NULL with errno ENOMEM. */
MYALLOC_HIDDEN struct slab *myalloc__arena_alloc_slab(struct arena *a, unsigned cls,
                                                      struct heap *owner);
/* Frees the caller block at ptr after checking, under the lock, that it is
 * live; reports for fn otherwise. */
MYALLOC_HIDDEN void myalloc__arena_free_used(struct region *r, void *ptr, const char *fn);
MYALLOC_HIDDEN void myalloc__arena_free_slab(struct region *r, void *slab_start);
/* Resizes a live caller block in place to new_order; false if it cannot. */
MYALLOC_HIDDEN bool myalloc__arena_resize(struct region *r, void *ptr, unsigned new_order,
                                          const char *fn);
/* Unmaps the spare region, purges every free block: 0 or an errno. */
MYALLOC_HIDDEN int myalloc__arena_trim(struct arena *a);
MYALLOC_HIDDEN void myalloc__arena_add_stats(struct arena *a, struct my_stats *st);
/* Purges every free page of a, if it has not changed since *seen was
 * taken; true if it had not.  Takes the arena lock; updates *seen. */
MYALLOC_HIDDEN bool myalloc__arena_idle_purge(struct arena *a, uint64_t *seen);

/* ---- idle.c: purging while the program is idle ------------------------ */
/* The option idle_purge=MS: 0, ENOENT (another name) or an errno. */
MYALLOC_HIDDEN int myalloc__idle_option(const char *name, size_t len, const char *value,
                                        size_t value_len);
MYALLOC_HIDDEN void myalloc__idle_fork_child(void);
/* Checks, under the arena lock, every region (myalloc__buddy_check, its
 * header, registry bit and lists) and the arena's accounts, and calls
 * visit_slab (when not NULL) on every slab, lock held; returns NULL or the
 * first problem, "%p" standing for *where (as myalloc__buddy_check). */
MYALLOC_HIDDEN const char *myalloc__arena_check(struct arena *a,
                                                const char *(*visit_slab)(struct slab *s, void *arg,
                                                                          const void **where),
                                                void *arg, const void **where);
/* Whether p is the first byte of a slab: a slab head page of a registered
 * region (read under its arena lock). */
MYALLOC_HIDDEN bool myalloc__slab_at(const void *p);

/* What a pointer handed to my_free and friends refers to. */
enum block_kind { BLOCK_SMALL, BLOCK_BUDDY, BLOCK_HUGE };
struct block_ref {
    enum block_kind kind;
    struct region *region; /* SMALL, BUDDY */
    struct slab *slab;     /* SMALL */
    uint32_t index;        /* SMALL: block index in the slab */
    unsigned order;        /* BUDDY */
    struct huge *huge;     /* HUGE */
};
/* Classifies ptr or reports for fn (and aborts) when it is not the start
 * of a block: O(1), reads only metadata known to be ours. */
MYALLOC_HIDDEN void myalloc__block_find(const void *ptr, const char *fn, struct block_ref *b);
/* Start of the live block whose bytes hold address p, or 0: for reports
 * on pointers into a block.  Takes the arena lock for buddy blocks. */
MYALLOC_HIDDEN uintptr_t myalloc__core_block_start(uintptr_t p);

/* ---- slab.c: slabs and their free lists ------------------------------- */
/* Where the first block is stored, slab->blocks.  Memcheck's leak check
 * takes any word equal to a block's address for a pointer to it, so the
 * header would keep the first block of every slab "still reachable": in
 * --with-valgrind builds the word has its top bit flipped.  Elsewhere it
 * is the plain address (the fast paths compile as before). */
#define SLAB_BLOCKS_HIDE (ANNOTATE_VALGRIND ? (uintptr_t)1 << 63 : 0)
static inline char *slab_blocks(const struct slab *s)
{
    return (char *)(s->blocks ^ SLAB_BLOCKS_HIDE);
}
MYALLOC_HIDDEN struct slab *myalloc__slab_init(void *mem, unsigned cls, struct heap *owner);
/* Block index of p, an address in s's buddy block, or UINT32_MAX when p
 * is not the start of a block.  An address before the first block wraps
 * to an offset near 2^32, whose quotient is far above the capacity, so one
 * test rejects both sides. */
static inline uint32_t slab_index_of(const struct slab *s, const void *p)
{
    uint32_t off = (uint32_t)((uintptr_t)p - (uintptr_t)slab_blocks(s));
    uint32_t idx = (uint32_t)(((uint64_t)off * s->reciprocal) >> 32);
    if (idx >= s->capacity || idx * s->block_size != off)
        return UINT32_MAX;
    return idx;
}
/* slab_index_of for an address from anywhere (the head of a remote list):
 * UINT32_MAX unless it lies, 16-aligned, in s's buddy block. */
static inline uint32_t slab_index_of_any(const struct slab *s, const void *p)
{
    if (((uintptr_t)p ^ (uintptr_t)s) & s->link_mask)
        return UINT32_MAX;
    return slab_index_of(s, p);
}
/* Index of a block known to be one of the slab's (from its free list). */
static inline uint32_t slab_index_of_block(const struct slab *s, const void *b)
{
    return (uint32_t)(((uint64_t)((uintptr_t)b - (uintptr_t)slab_blocks(s)) * s->reciprocal) >> 32);
}
static inline bool slab_block_live(const struct slab *s, uint32_t idx)
{
    return (atomic_load_explicit(&s->live[idx >> 6], memory_order_relaxed) >> (idx & 63)) & 1;
}
static inline void slab_block_set_live(struct slab *s, uint32_t idx, bool live)
{
    uint64_t w = atomic_load_explicit(&s->live[idx >> 6], memory_order_relaxed);
    uint64_t bit = (uint64_t)1 << (idx & 63);
    atomic_store_explicit(&s->live[idx >> 6], live ? (w | bit) : (w & ~bit),
                          memory_order_relaxed);
}

/* The in_use at or below which a local free takes the slow path (struct
 * slab's free_slow_at): an untracked slab is listed again once an eighth
 * of its blocks are free; a listed one is purged at purge_at in use (0: an
 * idle slab only). */
static inline uint32_t slab_free_slow_at(const struct slab *s)
{
    if (s->state != SLAB_LISTED)
        return s->capacity - s->capacity / 8;
    return s->purge_at;
}
/* A slab's tracking state, and the threshold that goes with it. */
static inline void slab_set_state(struct slab *s, enum slab_state state)
{
    s->state = (uint8_t)state;
    s->free_slow_at = slab_free_slow_at(s);
}

/* Free-list links.  A free block's first word links it to the next block
 * of its list (the local list, or the remote list xfree), stored encoded:
 *
 *     word = (next ^ block) * key.mul        (mod 2^64; next NULL at the end)
 *     next = (word * key.inv) ^ block
 *
 * key.mul is a random odd number read once per process (kept across
 * fork), key.inv its inverse mod 2^64.  Why this form:
 *  - a plain pointer written over a link, even a real heap address that
 *    leaked, decodes to an unrelated value: without the key no word
 *    decodes to a chosen address;
 *  - a product carries any change of the word into its high bits, so the
 *    usual overrun, which rewrites only the low bytes of the next block's
 *    first word, is caught too (with XOR alone it would decode to a
 *    nearby address in the same slab and go unnoticed);
 *  - mixing in the block's address ties a link to its block: copied to
 *    another block, it decodes to another address;
 *  - reading a freed block shows no heap address (a plain list gives one
 *    to any use-after-free read).
 * Every read checks that next is NULL or a MIN_ALIGN-aligned address in
 * the same slab (its buddy block, aligned to its size): next ^ block, which
 * is word * key.inv before the last XOR, has no bit of slab->link_mask set.
 * A random word passes with a chance of about 2^-52.  An attacker who can
 * both read freed blocks and knows where they are can still recover the
 * key; this is against corruption, not a proof against exploitation.
 *
 * Every read and write of a link goes through these helpers. */
struct link_key {
    uint64_t mul; /* odd: never 0, invertible */
    uint64_t inv; /* mul * inv == 1 mod 2^64 */
};
MYALLOC_HIDDEN extern struct link_key myalloc__link_key;

/* Links block (free, in slab s's lists) to next. */
static inline void slab_link_set(void *block, const void *next)
{
    annotate_link_open(block);
    *(uint64_t *)block = ((uintptr_t)next ^ (uintptr_t)block) * myalloc__link_key.mul;
    annotate_link_close(block);
}

/* next ^ block, decoded from block's link: a sound link has no bit of
 * s->link_mask set, except the end of the list, which decodes to block
 * itself. */
static inline uintptr_t slab_link_xor(const void *block)
{
    uint64_t word;

    annotate_link_open(block);
    word = *(const uint64_t *)block;
    annotate_link_close(block);
    return (uintptr_t)(word * myalloc__link_key.inv);
}

static inline bool slab_link_sound(const struct slab *s, const void *block, uintptr_t x)
{
    return (x & s->link_mask) == 0 || x == (uintptr_t)block;
}

/* The block after block on a list of s, or NULL; a link that does not
 * decode is reported (and aborts). */
static inline void *slab_link_next(const struct slab *s, const void *block)
{
    uintptr_t x = slab_link_xor(block);

    if (unlikely(!slab_link_sound(s, block, x)))
        myalloc__report_free_list(s, block);
    return (void *)(x ^ (uintptr_t)block);
}

/* Takes the lowest free block of s (s->not_full != 0) and marks it handed
 * out.  The block itself is not read: nothing in it is the allocator's. */
static inline void *slab_take(struct slab *s)
{
    uint64_t not_full = s->not_full;
    size_t w = (size_t)__builtin_ctzll(not_full);
    uint64_t bits = atomic_load_explicit(&s->live[w], memory_order_relaxed);
    size_t bit = (size_t)__builtin_ctzll(~bits);

    bits |= bits + 1; /* sets the lowest clear bit */
    atomic_store_explicit(&s->live[w], bits, memory_order_relaxed);
    if (bits == ~(uint64_t)0)
        s->not_full = not_full & (not_full - 1);
    s->in_use++;
    return slab_blocks(s) + (w * 64 + bit) * s->block_size;
}

/* Gives block idx back to s: false, and nothing written, if it was not
 * handed out (a double free).  One load of the word, where a test then a
 * clear would take two. */
static inline bool slab_give(struct slab *s, uint32_t idx)
{
    uint64_t bits = atomic_load_explicit(&s->live[idx >> 6], memory_order_relaxed);
    uint64_t bit = (uint64_t)1 << (idx & 63);

    if (!(bits & bit))
        return false;
    atomic_store_explicit(&s->live[idx >> 6], bits & ~bit, memory_order_relaxed);
    s->not_full |= (uint64_t)1 << (idx >> 6);
    s->in_use--;
    return true;
}
/* Draws the link key: once, at start-up, before any slab exists. */
MYALLOC_HIDDEN void myalloc__link_key_init(void);
/* Gives back to the OS the pages of s (owned by the caller) that hold only
 * free blocks, and halves its purge_at; 0, or the error of a purge the OS
 * refused (its pages kept). */
MYALLOC_HIDDEN int myalloc__slab_purge(struct slab *s);
/* Passes this purge threshold without purging: halves purge_at. */
MYALLOC_HIDDEN void myalloc__slab_purge_skip(struct slab *s);
/* s ran out of free blocks: every page it purged is in use again.  Sets
 * purge_at to a quarter of its capacity. */
MYALLOC_HIDDEN void myalloc__slab_filled(struct slab *s);
/* s goes back to the buddy system: its purged pages count as held again. */
MYALLOC_HIDDEN void myalloc__slab_unpurge_count(struct slab *s);
/* Gives the remote frees back to the slab; returns how many. */
MYALLOC_HIDDEN uint32_t myalloc__slab_collect(struct slab *s);
/* Marks an exhausted slab FULL; false (and nothing marked) when remote
 * frees arrived, which the caller must collect first. */
MYALLOC_HIDDEN bool myalloc__slab_try_mark_full(struct slab *s);
/* Slab geometry of a class: order, offset of the first block, blocks. */
MYALLOC_HIDDEN unsigned myalloc__slab_order(unsigned cls);
MYALLOC_HIDDEN void myalloc__slab_layout(unsigned cls, unsigned order, size_t *first,
                                         uint32_t *capacity);
/* Checks the slab's geometry against the class tables and, when contents
 * is true (the caller owns the slab, or holds heaps_lock and its heap is
 * abandoned), its lists, bitmap and counts; NULL or a problem about the
 * slab at *where (as myalloc__buddy_check). */
MYALLOC_HIDDEN const char *myalloc__slab_check(const struct slab *s, bool contents,
                                               const void **where);

/* ---- heap.c: per-thread heaps, remote frees, thread exit -------------- */
MYALLOC_HIDDEN extern __thread struct heap *myalloc__tls_heap
    __attribute__((tls_model("initial-exec")));
MYALLOC_HIDDEN struct heap *myalloc__heap_acquire(void);
MYALLOC_HIDDEN void *myalloc__heap_alloc_small_slow(struct heap *h, unsigned cls);
MYALLOC_HIDDEN void myalloc__heap_free_small_slow(struct heap *h, struct slab *s);
/* Frees block p of another heap's slab s: one compare-and-swap (checked
 * for a double free when the owner collects it). */
MYALLOC_HIDDEN void myalloc__heap_free_remote(struct slab *s, void *p);
/* Releases the idle slabs of h (may be NULL) and of abandoned heaps. */
/* 0, or the error of a purge of slab pages the OS refused. */
MYALLOC_HIDDEN int myalloc__heaps_trim(struct heap *h);
/* Adds every heap's counters, and the orphans', to sum. */
MYALLOC_HIDDEN void myalloc__heaps_sum_counters(struct heap_counters *sum);
MYALLOC_HIDDEN int myalloc__heaps_init(void);
MYALLOC_HIDDEN void myalloc__heaps_fork_prepare(void);
MYALLOC_HIDDEN void myalloc__heaps_fork_parent(void);
MYALLOC_HIDDEN void myalloc__heaps_fork_child(void);
MYALLOC_HIDDEN void myalloc__heap_thread_exit(void *heap);
/* Checks, under heaps_lock, the heap lists, the calling thread's heap and
 * the abandoned heaps, then every arena (myalloc__arena_check) and the
 * slabs in it: all slabs' geometry, and the contents of those whose heap
 * is the caller's or abandoned.  NULL or a problem (as
 * myalloc__buddy_check). */
MYALLOC_HIDDEN const char *myalloc__heaps_check(const void **where);
/* Counters of calls made by threads without a heap (exited ones). */
MYALLOC_HIDDEN extern struct heap_counters myalloc__orphan_counters;

/* ---- huge.c: blocks mapped on their own -------------------------------- */
MYALLOC_HIDDEN void *myalloc__huge_alloc(size_t size, size_t alignment, bool filled);
MYALLOC_HIDDEN void myalloc__huge_free(struct huge *h);
/* Unmaps the mappings kept for reuse. */
MYALLOC_HIDDEN int myalloc__huge_trim(void);
/* Resized block (maybe moved), or NULL with errno; h is intact on NULL. */
MYALLOC_HIDDEN void *myalloc__huge_resize(struct huge *h, size_t size);
static inline void *huge_block(struct huge *h) { return (char *)h + h->user_offset; }
MYALLOC_HIDDEN void myalloc__huge_add_stats(struct my_stats *st);
/* Calls visit(h, arg) for each live huge block, under the huge lock (visit
 * must not allocate); stops when visit returns false. */
MYALLOC_HIDDEN void myalloc__huge_walk(bool (*visit)(const struct huge *h, void *arg), void *arg);
/* Checks every live huge block's header and the cache of freed mappings,
 * under the huge lock; NULL or a problem (as myalloc__buddy_check). */
MYALLOC_HIDDEN const char *myalloc__huge_check(const void **where);
MYALLOC_HIDDEN void myalloc__huge_fork_prepare(void);
MYALLOC_HIDDEN void myalloc__huge_fork_parent(void);
MYALLOC_HIDDEN void myalloc__huge_fork_child(void);

/* ---- stats.c: counters and reports ------------------------------------ */
/* Bytes held from the OS, mapped and not purged. */
MYALLOC_HIDDEN void myalloc__stats_mapped(size_t add, size_t sub);

/* ---- options.c: MYALLOC_OPTIONS, my_option_set, outputs at exit ------- */
/* Reads MYALLOC_OPTIONS once, warning about what it cannot use. */
MYALLOC_HIDDEN void myalloc__options_init(void);
/* The value syntax all options share (checked.c's too): text of len
 * bytes equal to word; a flag "0" or "1". */
MYALLOC_HIDDEN bool myalloc__option_text_is(const char *text, size_t len, const char *word);
MYALLOC_HIDDEN bool myalloc__option_flag(const char *value, size_t len, bool *out);
/* Keeps a copy of stderr for reports written at exit (programs may close
 * stderr in an atexit handler, which runs before our destructors). */
MYALLOC_HIDDEN void myalloc__stderr_keep(void);
/* Where a report written at exit goes: stderr, or the copy if stderr is
 * closed by then. */
MYALLOC_HIDDEN int myalloc__stderr_at_exit(void);

/* ---- heatmap.c: the SVG picture of the heap ---------------------------- */
/* (my_heatmap_write is its public entry.) */

/* ---- heapcheck.c: the walk of every metadata structure ---------------- */
/* (my_heap_check is its public entry.) */

/* ---- init.c: start-up and fork ---------------------------------------- */
MYALLOC_HIDDEN extern struct arena myalloc__arenas[MAX_ARENAS];
MYALLOC_HIDDEN extern unsigned myalloc__narenas;
/* 0, or an errno when the process cannot be set up (no memory). */
MYALLOC_HIDDEN int myalloc__init(void);

#endif /* MYALLOC_INTERNAL_H */
