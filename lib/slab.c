/* slab.c - slabs: buddy blocks cut into blocks of one size class.
 *
 * Layout: the struct slab header, the live bitmap, padding up to the class
 * alignment, then capacity blocks.  The free blocks are the live bitmap's
 * clear bits (types.h): the owner hands out the lowest, so a fresh slab is
 * touched page by page as it fills, and nothing is ever written into a
 * free block.  Remote frees wait on xfree (see types.h), linked through
 * their first word, encoded (internal.h), until the owner collects them. */
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
    uint32_t words = (capacity + 63) / 64;

    /* The header; the blocks stay closed (free memory) until handed out. */
    annotate_writable(s, first);
    memset(s, 0, sizeof *s + words * sizeof(uint64_t));
    atomic_init(&s->xfree, 0);
    s->owner = owner;
    s->blocks = ((uintptr_t)mem + first) ^ SLAB_BLOCKS_HIDE;
    s->block_size = myalloc__class_sizes[cls];
    s->capacity = capacity;
    /* Bits past the last block read as handed out: never taken. */
    if (capacity % 64 != 0)
        atomic_store_explicit(&s->live[words - 1], ~(uint64_t)0 << (capacity % 64),
                              memory_order_relaxed);
    s->not_full = words == 64 ? ~(uint64_t)0 : ((uint64_t)1 << words) - 1;
    /* ceil(2^32 / size): exact division for offsets below 2^16 and sizes
     * below 2^16, which slabs guarantee. */
    s->reciprocal = (uint32_t)((((uint64_t)1 << 32) + s->block_size - 1) / s->block_size);
    s->cls = (uint8_t)cls;
    s->order = (uint8_t)order;
    s->link_mask = slab_link_mask(order);
    slab_set_state(s, SLAB_LISTED);
    return s;
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
        uint32_t idx = slab_index_of_any(s, b);
        void *next;

        /* A block freed twice by other threads shows up here a second
         * time with its live bit already clear; a list cycle does too. */
        if (idx == UINT32_MAX || !slab_block_live(s, idx))
            myalloc__report_block("my_free", b, PROBLEM_DOUBLE_FREE);
        next = slab_link_next(s, b);
        (void)slab_give(s, idx);
        n++;
        b = next;
    }
    return n;
}

/* Whether blocks lo .. hi (inclusive) are all free. */
static bool blocks_free(const struct slab *s, size_t lo, size_t hi)
{
    for (size_t w = lo / 64; w <= hi / 64; w++) {
        uint64_t mask = ~(uint64_t)0;
        if (w == lo / 64)
            mask &= ~(uint64_t)0 << (lo % 64);
        if (w == hi / 64 && hi % 64 != 63)
            mask &= ((uint64_t)1 << (hi % 64 + 1)) - 1;
        if (atomic_load_explicit(&s->live[w], memory_order_relaxed) & mask)
            return false;
    }
    return true;
}

static int purge_run(struct slab *s, uintptr_t from, uintptr_t to)
{
    unsigned first = (unsigned)((from - (uintptr_t)s) >> PAGE_SHIFT);
    unsigned n = (unsigned)((to - from) >> PAGE_SHIFT);
    uint16_t bits = (uint16_t)(((1u << n) - 1) << first);
    int err = myalloc__os_purge((void *)from, to - from);

    if (err != 0)
        return err; /* kept: nothing lost */
    /* A page purged twice without being counted again counts once. */
    myalloc__stats_mapped(0, (size_t)__builtin_popcount(bits & ~s->purged_pages) << PAGE_SHIFT);
    s->purged_pages |= bits;
    return 0;
}

/* Pages before the first block hold the header; a page past the last
 * block's end holds nothing; any other page is purged when every block
 * with a byte in it is free.  Runs of such pages go in one call. */
int myalloc__slab_purge(struct slab *s)
{
    uintptr_t first = (uintptr_t)slab_blocks(s);
    uintptr_t end = (uintptr_t)s + (PAGE_SIZE << s->order), run = 0;
    size_t size = s->block_size;
    int err = 0, e;

    for (uintptr_t page = align_up(first, PAGE_SIZE); page < end; page += PAGE_SIZE) {
        size_t lo = (page - first) / size, hi = (page + PAGE_SIZE - 1 - first) / size;
        bool empty = lo >= s->capacity ||
                     blocks_free(s, lo, hi < s->capacity ? hi : s->capacity - 1);
        if (empty && run == 0)
            run = page;
        else if (!empty && run != 0) {
            if ((e = purge_run(s, run, page)) != 0)
                err = e;
            run = 0;
        }
    }
    if (run != 0 && (e = purge_run(s, run, end)) != 0)
        err = e;
    myalloc__slab_purge_skip(s);
    return err;
}

void myalloc__slab_purge_skip(struct slab *s)
{
    s->purge_at /= 2;
    s->free_slow_at = slab_free_slow_at(s);
}

void myalloc__slab_unpurge_count(struct slab *s)
{
    /* Mostly 0: no call to libgcc's popcount, no atomic add. */
    if (s->purged_pages != 0) {
        myalloc__stats_mapped((size_t)__builtin_popcount(s->purged_pages) << PAGE_SHIFT, 0);
        s->purged_pages = 0;
    }
}

void myalloc__slab_filled(struct slab *s)
{
    myalloc__slab_unpurge_count(s);
    s->purge_at = (uint16_t)(s->capacity / 4);
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
    if (s->capacity != capacity || slab_blocks(s) != (const char *)s + first)
        return check_fault(where, s, "slab %p: block area disagrees with its class layout");
    if (s->reciprocal != (uint32_t)((((uint64_t)1 << 32) + s->block_size - 1) / s->block_size))
        return check_fault(where, s, "slab %p: reciprocal disagrees with its block size");
    if (s->link_mask != slab_link_mask(s->order))
        return check_fault(where, s, "slab %p: link mask disagrees with its order");
    return NULL;
}

/* Contents, for a slab nobody changes meanwhile but remote freers (who
 * only push onto xfree).  Every block is exactly one of:
 *   - free: live bit clear;
 *   - handed out: live bit set, counted in in_use, and this includes the
 *     blocks freed remotely and waiting on xfree, whose bits stay set until
 *     the owner collects them.
 * Bits past the capacity are set, and not_full has bit w exactly when
 * word w has a clear bit.  Hence popcount(live) - (bits past the
 * capacity) == in_use, and xfree's blocks are live. */
static const char *slab_check_contents(const struct slab *s, const void **where)
{
    uint32_t words = (s->capacity + 63) / 64, live = 0, nremote = 0;
    uint64_t not_full = 0;
    uintptr_t xfree;

    if (s->state > SLAB_PENDING || s->return_pending > 1)
        return check_fault(where, s, "slab %p: unknown state");
    if (s->free_slow_at != slab_free_slow_at(s) || s->purge_at > s->capacity / 4 ||
        (s->purged_pages >> (1u << s->order)) != 0)
        return check_fault(where, s, "slab %p: slow-path threshold disagrees with its state");

    for (uint32_t w = 0; w < words; w++) {
        uint64_t bits = atomic_load_explicit(&s->live[w], memory_order_relaxed);
        uint32_t blocks = s->capacity - w * 64 < 64 ? s->capacity - w * 64 : 64;
        uint64_t beyond = blocks == 64 ? 0 : ~(uint64_t)0 << blocks;
        if ((bits & beyond) != beyond)
            return check_fault(where, s, "slab %p: a bit past the last block is clear");
        live += (uint32_t)__builtin_popcountll(bits & ~beyond);
        if (bits != ~(uint64_t)0)
            not_full |= (uint64_t)1 << w;
    }
    if (live != s->in_use)
        return check_fault(where, s, "slab %p: in_use disagrees with the live bitmap");
    if (not_full != s->not_full)
        return check_fault(where, s, "slab %p: not_full disagrees with the live bitmap");

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
        uint32_t idx = slab_index_of_any(s, b);
        if (idx == UINT32_MAX)
            return check_fault(where, s,
                               "slab %p: remote free list points outside the slab's blocks");
        if (!slab_block_live(s, idx))
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
