/* slab.c - slabs: buddy blocks cut into blocks of one size class.
 *
 * Layout: the struct slab header, the live bitmap, padding up to the class
 * alignment, then capacity blocks.  Blocks never handed out yet lie in
 * [bump, end) and are not touched until needed, so a fresh slab costs no
 * memory beyond what is used.  The local free list links freed blocks
 * through their first word, encoded (internal.h); remote frees wait on
 * xfree (see types.h), linked the same way, until the owner collects them. */
#include "config.h"

#include <string.h>

#include "internal.h"

/* A fixed odd key until start-up draws the process's own: a slab made
 * before that (none is, in the library) would then fail loudly, never
 * decode wrongly in silence. */
#define LINK_KEY_DEFAULT_MUL UINT64_C(0x9e3779b97f4a7c15)
#define LINK_KEY_DEFAULT_INV UINT64_C(0xf1de83e19937733d)
_Static_assert(LINK_KEY_DEFAULT_MUL * LINK_KEY_DEFAULT_INV == 1, "inverse of the default key");
struct link_key myalloc__link_key = { LINK_KEY_DEFAULT_MUL, LINK_KEY_DEFAULT_INV };

/* splitmix64's finaliser: spreads the weak fallback's bits over the word. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void myalloc__link_key_init(void)
{
    uint64_t mul = 0, inv;

    if (myalloc__os_random(&mul, sizeof mul) != 0)
        mul = mix64(myalloc__os_weak_entropy() ^ mul);
    /* Odd, so invertible; the top bit set, so that no small key leaves
     * the high bits of a link to chance. */
    mul |= UINT64_C(1) | (UINT64_C(1) << 63);
    /* Newton's iteration for the inverse mod 2^64: mul is its own inverse
     * mod 8 (3 bits), and each step doubles the bits: 6, 12, 24, 48, 96. */
    inv = mul;
    for (int i = 0; i < 5; i++)
        inv *= 2 - mul * inv;
    if (mul * inv != 1)
        myalloc__report_internal("free-list key has no inverse");
    myalloc__link_key.mul = mul;
    myalloc__link_key.inv = inv;
}

/* A sound link's next ^ block stays inside the slab's buddy block (aligned
 * to its size) and keeps the MIN_ALIGN alignment. */
static uintptr_t slab_link_mask(unsigned order)
{
    return ~(uintptr_t)((PAGE_SIZE << order) - 1) | (MIN_ALIGN - 1);
}

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
    /* The header; the blocks stay closed (free memory) until handed out. */
    annotate_writable(s, first);
    memset(s, 0, sizeof *s + ((capacity + 63) / 64) * sizeof(uint64_t));
    atomic_init(&s->xfree, 0);
    s->owner = owner;
    s->blocks = ((uintptr_t)mem + first) ^ SLAB_BLOCKS_HIDE;
    s->bump = slab_blocks(s);
    s->block_size = myalloc__class_sizes[cls];
    s->end = slab_blocks(s) + (size_t)capacity * s->block_size;
    s->capacity = capacity;
    /* ceil(2^32 / size): exact division for offsets below 2^16 and sizes
     * below 2^16, which slabs guarantee. */
    s->reciprocal = (uint32_t)((((uint64_t)1 << 32) + s->block_size - 1) / s->block_size);
    s->cls = (uint8_t)cls;
    s->order = (uint8_t)order;
    s->link_mask = slab_link_mask(order);
    slab_set_state(s, SLAB_LISTED);
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
        slab_link_set(b + i * size, b + (i + 1) * size);
    slab_link_set(b + (n - 1) * size, s->free);
    s->free = b;
    s->bump = b + n * size;
}

uint32_t myalloc__slab_collect(struct slab *s)
{
    uintptr_t list;
    void *b;
    uint32_t n = 0;

    /* Mostly empty: a plain load is cheaper than the exchange. */
    if (atomic_load_explicit(&s->xfree, memory_order_relaxed) == 0)
        return 0;
    list = atomic_exchange_explicit(&s->xfree, 0, memory_order_acquire);
    b = (void *)(list & ~SLAB_XFREE_FULL);

    while (b != NULL) {
        uint32_t idx = slab_index_of(s, b);
        void *next;

        /* A block freed twice by other threads shows up here a second
         * time with its live bit already clear; a list cycle does too. */
        if (idx == UINT32_MAX || !slab_block_live(s, idx))
            myalloc__report_block("my_free", b, PROBLEM_DOUBLE_FREE);
        next = slab_link_next(s, b);
        slab_block_set_live(s, idx, false);
        slab_push(s, b);
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

/* ------------------------------------------------------------- check -- */
static const char *check_fault(const void **where, const void *at, const char *problem)
{
    if (where != NULL)
        *where = at;
    return problem;
}

static bool block_live(const struct slab *s, uint32_t idx)
{
    return (atomic_load_explicit(&s->live[idx >> 6], memory_order_relaxed) >> (idx & 63)) & 1;
}

/* Geometry: written by myalloc__slab_init under the arena lock, constant
 * until the slab is freed, so readable by any holder of that lock. */
static const char *slab_check_geometry(const struct slab *s, const void **where)
{
    size_t first;
    uint32_t capacity;

    if (s->cls >= SIZE_CLASSES)
        return check_fault(where, s, "slab %p: size class out of range");
    if (s->block_size != myalloc__class_sizes[s->cls])
        return check_fault(where, s, "slab %p: block size disagrees with its size class");
    if (s->order != myalloc__slab_order(s->cls))
        return check_fault(where, s, "slab %p: order disagrees with its size class");
    myalloc__slab_layout(s->cls, s->order, &first, &capacity);
    if (s->capacity != capacity || slab_blocks(s) != (const char *)s + first ||
        s->end != slab_blocks(s) + (size_t)capacity * s->block_size)
        return check_fault(where, s, "slab %p: block area disagrees with its class layout");
    if (s->reciprocal != (uint32_t)((((uint64_t)1 << 32) + s->block_size - 1) / s->block_size))
        return check_fault(where, s, "slab %p: reciprocal disagrees with its block size");
    if (s->link_mask != slab_link_mask(s->order))
        return check_fault(where, s, "slab %p: link mask disagrees with its order");
    return NULL;
}

/* Contents, for a slab nobody changes meanwhile but remote freers (who
 * only push onto xfree).  Every block in [blocks, bump) is exactly one of:
 *   - on the local free list: live bit clear;
 *   - handed out: live bit set, counted in in_use, and this includes the
 *     blocks freed remotely and waiting on xfree, whose bits stay set until
 *     the owner collects them.
 * Blocks in [bump, end) were never handed out: live bit clear.  Hence
 *   popcount(live) == in_use, xfree's blocks are live, and
 *   free-list length + (end - bump) / block_size + in_use == capacity. */
static const char *slab_check_contents(const struct slab *s, const void **where)
{
    uint32_t carved, live = 0, nfree = 0, nremote = 0;
    uintptr_t xfree;

    if (s->state > SLAB_PENDING || s->return_pending > 1)
        return check_fault(where, s, "slab %p: unknown state");
    if (s->free_slow_at != (s->state == SLAB_LISTED ? 0 : s->capacity - s->capacity / 8))
        return check_fault(where, s, "slab %p: slow-path threshold disagrees with its state");
    if (s->bump < slab_blocks(s) || s->bump > s->end ||
        (size_t)(s->bump - slab_blocks(s)) % s->block_size != 0)
        return check_fault(where, s, "slab %p: bump pointer is not a block boundary in the slab");
    carved = (uint32_t)((size_t)(s->bump - slab_blocks(s)) / s->block_size);

    for (uint32_t w = 0; w < (s->capacity + 63) / 64; w++) {
        uint64_t bits = atomic_load_explicit(&s->live[w], memory_order_relaxed);
        uint32_t from = w * 64;
        /* Bits of blocks at or past bump must be clear. */
        if (carved <= from) {
            if (bits != 0)
                return check_fault(where, s, "slab %p: a block never handed out is marked live");
        } else if (carved - from < 64 && (bits >> (carved - from)) != 0) {
            return check_fault(where, s, "slab %p: a block never handed out is marked live");
        }
        live += (uint32_t)__builtin_popcountll(bits);
    }
    if (live != s->in_use)
        return check_fault(where, s, "slab %p: in_use disagrees with the live bitmap");

    /* Each entry is checked before it is followed; a list longer than the
     * slab has a cycle. */
    for (const void *b = s->free; b != NULL;) {
        uint32_t idx = slab_index_of(s, b);
        if (idx == UINT32_MAX || idx >= carved)
            return check_fault(where, s,
                               "slab %p: local free list points outside the slab's blocks");
        if (block_live(s, idx))
            return check_fault(where, s, "slab %p: local free list holds a live block");
        if (++nfree > carved)
            return check_fault(where, s, "slab %p: local free list has a cycle");
        uintptr_t x = slab_link_xor(b);
        if (!slab_link_sound(s, b, x))
            return check_fault(where, s,
                               "slab %p: local free list holds a link that does not decode");
        b = (const void *)(x ^ (uintptr_t)b);
    }
    if (nfree + (s->capacity - carved) + s->in_use != s->capacity)
        return check_fault(where, s,
                           "slab %p: free, never used and in-use blocks do not add up "
                           "to the capacity");

    /* Remote freers only push in front: the entries already there stay. */
    xfree = atomic_load_explicit(&s->xfree, memory_order_acquire);
    if (xfree & SLAB_XFREE_FULL) {
        /* Set by the owner, on an empty list, when it stops tracking the
         * slab (exhausted, or parked at thread exit with free blocks
         * left), never while the slab is bound for the returned stack;
         * the next remote free replaces it. */
        if (xfree != SLAB_XFREE_FULL || s->state != SLAB_FULL || s->return_pending)
            return check_fault(where, s, "slab %p: FULL flag on a slab that is tracked");
        return NULL;
    }
    for (const void *b = (const void *)xfree; b != NULL;) {
        uint32_t idx = slab_index_of(s, b);
        if (idx == UINT32_MAX || idx >= carved)
            return check_fault(where, s,
                               "slab %p: remote free list points outside the slab's blocks");
        if (!block_live(s, idx))
            return check_fault(where, s, "slab %p: remote free list holds a block not handed out");
        if (++nremote > s->in_use)
            return check_fault(where, s, "slab %p: remote free list has a cycle");
        uintptr_t x = slab_link_xor(b);
        if (!slab_link_sound(s, b, x))
            return check_fault(where, s,
                               "slab %p: remote free list holds a link that does not decode");
        b = (const void *)(x ^ (uintptr_t)b);
    }
    return NULL;
}

const char *myalloc__slab_check(const struct slab *s, bool contents, const void **where)
{
    const char *problem = slab_check_geometry(s, where);

    if (problem == NULL && contents)
        problem = slab_check_contents(s, where);
    return problem;
}
