/* slab.c - slabs: buddy blocks cut into blocks of one size class.
 *
 * Layout: the struct slab header, the live bitmap, padding up to the class
 * alignment, then capacity blocks.  Blocks never handed out yet lie in
 * [bump, end) and are not touched until needed, so a fresh slab costs no
 * memory beyond what is used.  The local free list links freed blocks
 * through their first word; remote frees wait on xfree (see types.h) until
 * the owner collects them. */
#include "config.h"

#include <string.h>

#include "internal.h"

void myalloc__slab_layout(unsigned cls, unsigned order, size_t *first, uint32_t *capacity)
{
    size_t bytes = PAGE_SIZE << order;
    size_t size = myalloc__class_sizes[cls];
    size_t header = sizeof(struct slab) + ((bytes / size + 63) / 64) * sizeof(uint64_t);

    *first = align_up(header, myalloc__class_align(cls));
    *capacity = (uint32_t)((bytes - *first) / size);
}

/* The smallest order (16, 32 or 64 KiB) that holds at least 8 blocks and
 * loses at most 1/16 of the slab to the header, padding and tail. */
unsigned myalloc__slab_order(unsigned cls)
{
    for (unsigned order = SLAB_MIN_ORDER; order < SLAB_MAX_ORDER; order++) {
        size_t bytes = PAGE_SIZE << order, first;
        uint32_t capacity;

        myalloc__slab_layout(cls, order, &first, &capacity);
        if (capacity >= 8 && (bytes - (size_t)capacity * myalloc__class_sizes[cls]) * 16 <= bytes)
            return order;
    }
    return SLAB_MAX_ORDER;
}

struct slab *myalloc__slab_init(void *mem, unsigned cls, struct heap *owner)
{
    struct slab *s = mem;
    unsigned order = myalloc__slab_order(cls);
    size_t first;
    uint32_t capacity;

    myalloc__slab_layout(cls, order, &first, &capacity);
    memset(s, 0, sizeof *s + ((capacity + 63) / 64) * sizeof(uint64_t));
    atomic_init(&s->xfree, 0);
    s->owner = owner;
    s->blocks = (char *)mem + first;
    s->bump = s->blocks;
    s->block_size = myalloc__class_sizes[cls];
    s->end = s->blocks + (size_t)capacity * s->block_size;
    s->capacity = capacity;
    /* ceil(2^32 / size): exact division for offsets below 2^16 and sizes
     * below 2^16, which slabs guarantee. */
    s->reciprocal = (uint32_t)((((uint64_t)1 << 32) + s->block_size - 1) / s->block_size);
    s->cls = (uint8_t)cls;
    s->order = (uint8_t)order;
    s->state = SLAB_LISTED;
    return s;
}

void myalloc__slab_refill(struct slab *s)
{
    size_t size = s->block_size;
    size_t n = PAGE_SIZE / size;
    char *b = s->bump;

    if (n == 0)
        n = 1;
    if (n > (size_t)(s->end - b) / size)
        n = (size_t)(s->end - b) / size;
    for (size_t i = 0; i + 1 < n; i++)
        *(void **)(b + i * size) = b + (i + 1) * size;
    *(void **)(b + (n - 1) * size) = s->free;
    s->free = b;
    s->bump = b + n * size;
}

uint32_t myalloc__slab_collect(struct slab *s)
{
    uintptr_t list = atomic_exchange_explicit(&s->xfree, 0, memory_order_acquire);
    void *b = (void *)(list & ~SLAB_XFREE_FULL);
    uint32_t n = 0;

    while (b != NULL) {
        void *next = *(void **)b;
        uint32_t idx = slab_index_of(s, b);

        /* A block freed twice by other threads shows up here a second
         * time with its live bit already clear; a list cycle does too. */
        if (idx == UINT32_MAX || !slab_block_live(s, idx))
            myalloc__report_block("my_free", b, PROBLEM_DOUBLE_FREE);
        slab_block_set_live(s, idx, false);
        *(void **)b = s->free;
        s->free = b;
        n++;
        b = next;
    }
    s->in_use -= n;
    return n;
}

bool myalloc__slab_try_mark_full(struct slab *s)
{
    uintptr_t empty = 0;
    return atomic_compare_exchange_strong(&s->xfree, &empty, SLAB_XFREE_FULL);
}
