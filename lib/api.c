/* api.c - the my_* allocation entry points and their fast paths.
 *
 * Fast path of my_malloc (size <= SMALL_MAX, thread has a heap, its first
 * slab of the class has a free block): a TLS load, the class computation,
 * a pop from the slab's free list, one bitmap store and three counter
 * stores; no lock, no atomic read-modify-write.  Everything else goes to
 * noinline slow paths below. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "checked.h"
#include "fastpath.h"
#include "internal.h"

#define NOINLINE __attribute__((noinline, cold))

/* Counters of the calling thread: its heap's, or the shared orphan set
 * (with atomic adds) for a thread that has none. */
static void count(struct heap *h, size_t field_offset, uint64_t n)
{
    if (likely(h != NULL))
        counter_add((counter_t *)((char *)&h->counters + field_offset), n);
    else
        atomic_fetch_add((counter_t *)((char *)&myalloc__orphan_counters + field_offset), n);
}
#define COUNT(h, field, n) count((h), offsetof(struct heap_counters, field), (n))

/* Order of the smallest buddy block of at least n bytes (n <= 2 MiB). */
static unsigned buddy_order_for(size_t n)
{
    size_t pages = (n + PAGE_SIZE - 1) >> PAGE_SHIFT;
    return pages <= 1 ? 0 : 64u - (unsigned)__builtin_clzll((unsigned long long)(pages - 1));
}

static void *small_pop(struct heap *h, unsigned cls)
{
    struct slab *s = h->avail[cls];

    if (unlikely(s == NULL || s->not_full == 0))
        return myalloc__heap_alloc_small_slow(h, cls);
    return slab_take(s);
}

/* The header of the huge block p. */
static struct huge *huge_of(const void *p)
{
    return (struct huge *)(((uintptr_t)p - 1) & ~(uintptr_t)REGION_MASK);
}

static void *small_alloc(struct heap *h, unsigned cls, size_t size)
{
    void *b = small_pop(h, cls);
    if (likely(b != NULL)) {
        annotate_block_handed_out(b, size, myalloc__class_sizes[cls], false);
        counter_add(&h->counters.class_allocs[cls], 1);
        counter_add(&h->counters.small_allocs_slow, 1);
        counter_add(&h->counters.bytes_requested, size);
    }
    return b;
}

/* Any request, any alignment (a power of two); the heap exists.  filled:
 * the caller writes the whole block at once (calloc). */
static void *alloc_block(struct heap *h, size_t size, size_t alignment, bool filled)
{
    void *b;
    size_t usable;

    if (unlikely(size > REQUEST_MAX)) {
        errno = ENOMEM;
        return NULL;
    }
    if (alignment <= MIN_ALIGN && size <= SMALL_MAX)
        return small_alloc(h, size_class_of(size), size);
    if (alignment > MIN_ALIGN && alignment <= PAGE_SIZE) {
        unsigned cls = myalloc__class_for_aligned(size, alignment);
        if (cls < SIZE_CLASSES)
            return small_alloc(h, cls, size);
    }
    if ((size > alignment ? size : alignment) <= BUDDY_MAX_REQUEST) {
        unsigned order = buddy_order_for(size > alignment ? size : alignment);
        b = myalloc__arena_alloc(h->arena, order, PAGE_USED);
        usable = PAGE_SIZE << order;
    } else {
        b = myalloc__huge_alloc(size, alignment, filled);
        usable = b != NULL ? huge_of(b)->usable : 0;
    }
    if (b != NULL) {
        annotate_block_handed_out(b, size, usable, false);
        counter_add(&h->counters.bytes_requested, size);
        counter_add(&h->counters.bytes_rounded_big, usable);
    }
    return b;
}

static NOINLINE void *alloc_slow(size_t size, size_t alignment, bool filled)
{
    struct heap *h = myalloc__heap_acquire();
    if (h == NULL)
        return NULL;
    return alloc_block(h, size, alignment, filled);
}

static void *alloc_for(struct heap *h, size_t size, size_t alignment, bool filled)
{
    if (likely(h != NULL))
        return alloc_block(h, size, alignment, filled);
    return alloc_slow(size, alignment, filled);
}

static void *alloc(struct heap *h, size_t size, size_t alignment)
{
    return alloc_for(h, size, alignment, false);
}

void *myalloc__alloc_plain(size_t size, size_t alignment)
{
    return alloc(myalloc__tls_heap, size, alignment);
}

void *myalloc__malloc_slow(size_t size)
{
    void *b = unlikely(myalloc__check_on) ? myalloc__checked_alloc(size, MIN_ALIGN, CALL_MALLOC)
                                          : alloc(myalloc__tls_heap, size, MIN_ALIGN);
    COUNT(myalloc__tls_heap, calls_malloc, 1);
    return b;
}

void *my_malloc(size_t size)
{
    return entry_malloc(size);
}

/* --------------------------------------------------------------- free -- */
static size_t usable_of(const struct block_ref *b)
{
    switch (b->kind) {
    case BLOCK_SMALL:
        return b->slab->block_size;
    case BLOCK_BUDDY:
        return PAGE_SIZE << b->order;
    case BLOCK_HUGE:
        return b->huge->usable;
    }
    return 0;
}

static void free_found(struct heap *h, void *ptr, struct block_ref *b, const char *fn)
{
    annotate_block_freed(ptr, usable_of(b));
    switch (b->kind) {
    case BLOCK_SMALL: {
        struct slab *s = b->slab;
        if (s->owner == h) {
            (void)slab_give(s, b->index); /* live: myalloc__block_find checked */
            counter_add(&h->counters.small_frees_slow, 1);
            local_free_done(h, s);
        } else {
            myalloc__heap_free_remote(s, ptr);
        }
        break;
    }
    case BLOCK_BUDDY:
        myalloc__arena_free_used(b->region, ptr, fn);
        break;
    case BLOCK_HUGE:
        myalloc__huge_free(b->huge);
        break;
    }
}

void myalloc__free_remote_small(struct slab *s, void *ptr, uint32_t idx, const char *fn)
{
    /* Checked mode looks at any free the local fast path does not take:
     * a core block start may lie inside a checked block. */
    if (unlikely(myalloc__check_on) || !slab_block_live(s, idx)) {
        myalloc__free_slow(ptr, fn);
        return;
    }
    annotate_block_freed(ptr, s->block_size);
    myalloc__heap_free_remote(s, ptr);
    COUNT(myalloc__tls_heap, calls_free, 1);
}

void myalloc__free_plain(void *ptr, const char *fn)
{
    struct block_ref b;

    myalloc__block_find(ptr, fn, &b);
    free_found(myalloc__tls_heap, ptr, &b, fn);
}

void myalloc__free_slow(void *ptr, const char *fn)
{
    if (!unlikely(myalloc__check_on) || !myalloc__checked_free(ptr, fn))
        myalloc__free_plain(ptr, fn);
    COUNT(myalloc__tls_heap, calls_free, 1);
}

void my_free(void *ptr)
{
    entry_free(ptr, "my_free");
}

/* Outside checked mode only what costs nothing extra is checked: the size
 * against the usable size, the pointer against the alignment. */
void myalloc__free_sized(void *ptr, size_t alignment, size_t size, const char *fn)
{
    struct block_ref b;

    if (ptr == NULL)
        return;
    if (!unlikely(myalloc__check_on) || !myalloc__checked_free_sized(ptr, alignment, size, fn)) {
        myalloc__block_find(ptr, fn, &b);
        if (size > usable_of(&b))
            myalloc__report_block(fn, ptr, PROBLEM_SIZE_MISMATCH);
        if (alignment != 0 && (!is_pow2(alignment) || ((uintptr_t)ptr & (alignment - 1)) != 0))
            myalloc__report_block(fn, ptr, PROBLEM_ALIGN_MISMATCH);
        free_found(myalloc__tls_heap, ptr, &b, fn);
    }
    COUNT(myalloc__tls_heap, calls_free, 1);
}

void my_free_sized(void *ptr, size_t size)
{
    myalloc__free_sized(ptr, 0, size, "my_free_sized");
}

void my_free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
    myalloc__free_sized(ptr, alignment, size, "my_free_aligned_sized");
}

/* ------------------------------------------------------- the others -- */
/* The caller may use every usable byte from now on (memory checkers are
 * told so). */
size_t myalloc__usable_size_plain(const void *ptr, const char *fn)
{
    struct block_ref b;
    size_t usable;

    myalloc__block_find(ptr, fn, &b);
    usable = usable_of(&b);
    annotate_block_whole(ptr, usable);
    return usable;
}

size_t myalloc__usable_size(const void *ptr, const char *fn)
{
    size_t checked_size;

    if (ptr == NULL)
        return 0;
    if (unlikely(myalloc__check_on) && myalloc__checked_usable_size(ptr, fn, &checked_size))
        return checked_size;
    return myalloc__usable_size_plain(ptr, fn);
}

size_t my_malloc_usable_size(const void *ptr)
{
    return myalloc__usable_size(ptr, "my_malloc_usable_size");
}

void *my_calloc(size_t nmemb, size_t size)
{
    struct heap *h = myalloc__tls_heap;
    size_t total;
    void *p;

    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (unlikely(myalloc__check_on)) {
        p = myalloc__checked_alloc(total, MIN_ALIGN, CALL_CALLOC);
        COUNT(myalloc__tls_heap, calls_calloc, 1);
        return p; /* zeroed there */
    }
    p = alloc_for(h, total, MIN_ALIGN, true);
    h = myalloc__tls_heap;
    COUNT(h, calls_calloc, 1);
    if (p == NULL)
        return NULL;
    /* A huge block's pages fresh from the OS (a new mapping, the new tail
     * of a grown one) are zero already; the caller will touch them all:
     * fault them in now, in one call (as huge pages where huge_alloc could
     * ask for them).  Only the rest needs clearing. */
    if (total > BUDDY_MAX_REQUEST) {
        struct huge *hb = huge_of(p);
        size_t dirty = hb->dirty > hb->user_offset ? hb->dirty - hb->user_offset : 0;
        if (dirty < total) {
            myalloc__os_populate((char *)p + dirty, align_up(total - dirty, PAGE_SIZE));
            annotate_block_zeroed((char *)p + dirty, total - dirty);
            total = dirty;
        }
    }
    memset(p, 0, total);
    return p;
}

/* Whether a block of usable bytes may keep serving size bytes: it fits
 * and wastes less than half of itself. */
static bool fits_in_place(size_t usable, size_t size)
{
    return size <= usable && (size >= usable / 2 || usable <= MIN_ALIGN);
}

static void *realloc_move(struct heap *h, void *ptr, struct block_ref *b, size_t size,
                          const char *fn)
{
    /* The bytes the caller may have written: all usable ones, or, for a
     * memory checker, those it was told of. */
    size_t old = annotate_block_size(ptr, usable_of(b));
    void *q = alloc(h, size, MIN_ALIGN);

    if (q == NULL)
        return NULL;
    memcpy(q, ptr, old < size ? old : size);
    free_found(myalloc__tls_heap, ptr, b, fn);
    return q;
}

void *myalloc__realloc(void *ptr, size_t size, const char *fn)
{
    struct heap *h = myalloc__tls_heap;
    struct block_ref b;

    if (unlikely(myalloc__check_on)) {
        COUNT(h, calls_realloc, 1);
        return myalloc__checked_realloc(ptr, size, fn);
    }
    if (ptr == NULL) {
        void *p = alloc(h, size, MIN_ALIGN);
        COUNT(myalloc__tls_heap, calls_malloc, 1);
        return p;
    }
    myalloc__block_find(ptr, fn, &b);
    COUNT(h, calls_realloc, 1);
    if (size > REQUEST_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    switch (b.kind) {
    case BLOCK_SMALL: {
        size_t usable = b.slab->block_size;
        if (fits_in_place(usable, size)) {
            annotate_block_resized(ptr, annotate_block_size(ptr, usable), size, usable, usable);
            return ptr;
        }
        break;
    }
    case BLOCK_BUDDY:
        if (size > SMALL_MAX && size <= BUDDY_MAX_REQUEST) {
            unsigned order = buddy_order_for(size);
            size_t usable = PAGE_SIZE << b.order, new_usable = PAGE_SIZE << order;
            size_t old_size = annotate_block_size(ptr, usable);

            if (order > b.order && !myalloc__arena_resize(b.region, ptr, order, fn))
                break; /* no room to grow in place */
            /* A growing block is annotated once it grew; a shrinking one
             * (which cannot fail) before its pages go back. */
            annotate_block_resized(ptr, old_size, size, usable, new_usable);
            if (order < b.order)
                (void)myalloc__arena_resize(b.region, ptr, order, fn);
            return ptr;
        }
        break;
    case BLOCK_HUGE:
        if (size > BUDDY_MAX_REQUEST)
            return myalloc__huge_resize(b.huge, size);
        break;
    }
    return realloc_move(h, ptr, &b, size, fn);
}

void *my_realloc(void *ptr, size_t size)
{
    return myalloc__realloc(ptr, size, "my_realloc");
}

void *my_reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return my_realloc(ptr, total);
}

void *myalloc__alloc_aligned(size_t alignment, size_t size)
{
    void *p = unlikely(myalloc__check_on) ? myalloc__checked_alloc(size, alignment, CALL_ALIGNED)
                                          : alloc(myalloc__tls_heap, size, alignment);
    COUNT(myalloc__tls_heap, calls_aligned, 1);
    return p;
}

void *my_aligned_alloc(size_t alignment, size_t size)
{
    if (!is_pow2(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return myalloc__alloc_aligned(alignment, size);
}

int my_posix_memalign(void **memptr, size_t alignment, size_t size)
{
    int saved = errno;
    void *p;

    if (!is_pow2(alignment) || alignment < sizeof(void *))
        return EINVAL;
    p = myalloc__alloc_aligned(alignment, size);
    if (p == NULL) {
        errno = saved;
        return ENOMEM;
    }
    *memptr = p;
    return 0;
}

int my_trim(void)
{
    struct heap *h = myalloc__tls_heap;
    int err = 0;

    COUNT(h, calls_trim, 1);
    if (myalloc__init() != 0)
        return 0; /* nothing was ever mapped */
    err = myalloc__heaps_trim(h);
    (void)myalloc__huge_trim();
    for (unsigned i = 0; i < myalloc__narenas; i++) {
        int e = myalloc__arena_trim(&myalloc__arenas[i]);
        if (e != 0)
            err = e;
    }
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}
