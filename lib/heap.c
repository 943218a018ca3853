/* heap.c - per-thread heaps, frees from other threads, and thread exit.
 *
 * A thread allocates small blocks only from its own heap, so the common
 * path takes no lock and no atomic operation.  A block freed by another
 * thread is pushed onto its slab's xfree list with one compare-and-swap;
 * the owner collects those when it runs out of free blocks.  A slab with no
 * free block left is not tracked by its owner (state FULL, flag in xfree);
 * the first remote free to it clears the flag and pushes the slab onto the
 * owner's returned stack, so the owner finds it again without scanning.
 *
 * When a thread exits its heap is abandoned, never freed: its slabs are
 * parked (collected, released when empty, else marked FULL), and the heap
 * is kept for the next new thread to adopt whole.  A remote free that
 * returns a slab to an abandoned heap processes it at once under
 * heaps_lock, so memory freed after its allocator exited goes back to the
 * buddy system promptly.
 *
 * heaps_lock guards the heap lists and every abandoned heap's slabs. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

__thread struct heap *myalloc__tls_heap __attribute__((tls_model("initial-exec")));

struct heap_counters myalloc__orphan_counters;

static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct heap *heaps_all;
static struct heap *heaps_abandoned;
static unsigned heaps_made;
static pthread_key_t heap_key;
static bool heap_key_ready;

/* Heap structs come from pages that are never returned (heaps are
 * recycled, not freed). */
static char *heap_pool;
static size_t heap_pool_left;
#define HEAP_POOL_BYTES ((size_t)64 << 10)

static struct heap *heap_new(void)
{
    size_t need = align_up(sizeof(struct heap), 64);
    struct heap *h;

    if (heap_pool_left < need) {
        void *mem;
        if (myalloc__os_map(HEAP_POOL_BYTES, NULL, &mem) != 0)
            return NULL;
        myalloc__stats_mapped(HEAP_POOL_BYTES, 0);
        heap_pool = mem;
        heap_pool_left = HEAP_POOL_BYTES;
    }
    h = (struct heap *)heap_pool;
    heap_pool += need;
    heap_pool_left -= need;
    return h; /* fresh mapping: all zero */
}

/* ------------------------------------------------------- slab lists -- */
static void slab_list_push(struct heap *h, struct slab *s)
{
    struct slab **head = &h->avail[s->cls];

    s->state = SLAB_LISTED;
    s->prev = NULL;
    s->next = *head;
    if (*head != NULL)
        (*head)->prev = s;
    *head = s;
}

static void slab_list_remove(struct heap *h, struct slab *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        h->avail[s->cls] = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static struct slab *slab_new(struct heap *h, unsigned cls)
{
    unsigned order = myalloc__slab_order(cls);
    void *mem = myalloc__arena_alloc(h->arena, order, PAGE_SLAB);
    struct slab *s;

    if (mem == NULL)
        return NULL;
    s = myalloc__slab_init(mem, cls, h);
    counter_add(&h->counters.class_slabs[cls], 1);
    counter_add(&h->counters.class_capacity[cls], s->capacity);
    return s;
}

static void slab_release(struct heap *h, struct slab *s)
{
    struct region *r = (struct region *)((uintptr_t)s & ~(uintptr_t)REGION_MASK);

    counter_add(&h->counters.class_slabs[s->cls], (uint64_t)-1);
    counter_add(&h->counters.class_capacity[s->cls], (uint64_t)-(int64_t)s->capacity);
    myalloc__arena_free_slab(r, s);
}

static void slab_collect(struct heap *h, struct slab *s)
{
    uint32_t n = myalloc__slab_collect(s);
    if (n != 0) {
        counter_add(&h->counters.class_frees[s->cls], n);
        counter_add(&h->counters.small_frees_slow, n);
    }
}

/* A listed slab with nothing handed out goes back to the buddy system,
 * unless it is its class's only listed slab (which absorbs alloc/free
 * cycles) or it is still bound for the returned stack. */
static void slab_release_if_idle(struct heap *h, struct slab *s, bool keep_last)
{
    if (s->in_use != 0 || s->return_pending)
        return;
    if (keep_last && h->avail[s->cls] == s && s->next == NULL)
        return;
    slab_list_remove(h, s);
    slab_release(h, s);
}

/* Stops tracking a listed slab: released when idle, else marked FULL so
 * that the next remote free returns it. */
static void slab_park(struct heap *h, struct slab *s)
{
    slab_list_remove(h, s);
    if (s->return_pending) {
        s->state = SLAB_PENDING;
        return;
    }
    for (;;) {
        slab_collect(h, s);
        if (s->in_use == 0) {
            slab_release(h, s);
            return;
        }
        if (myalloc__slab_try_mark_full(s)) {
            s->state = SLAB_FULL;
            return;
        }
    }
}

/* Takes every slab off the returned stack; true if one now has free
 * blocks on a list. */
static bool heap_drain_returned(struct heap *h)
{
    struct slab *s = atomic_exchange(&h->returned, NULL);
    bool listed = false;

    while (s != NULL) {
        struct slab *next = s->returned_next;
        s->return_pending = 0;
        slab_collect(h, s);
        if (s->state != SLAB_LISTED) {
            if (s->in_use == 0) {
                slab_release(h, s);
            } else {
                slab_list_push(h, s);
                listed = true;
            }
        } else {
            slab_release_if_idle(h, s, true);
        }
        s = next;
    }
    return listed;
}

static void heap_park_all(struct heap *h)
{
    for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
        while (h->avail[cls] != NULL)
            slab_park(h, h->avail[cls]);
    }
}

/* heaps_lock held, h abandoned. */
static void heap_reclaim(struct heap *h)
{
    heap_drain_returned(h);
    heap_park_all(h);
}

/* ------------------------------------------------------------ acquire -- */
struct heap *myalloc__heap_acquire(void)
{
    struct heap *h = myalloc__tls_heap;
    int err;

    if (h != NULL)
        return h;
    err = myalloc__init();
    if (err != 0) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&heaps_lock);
    h = heaps_abandoned;
    if (h != NULL) {
        heaps_abandoned = h->abandoned_next;
        h->abandoned_next = NULL;
        atomic_store(&h->state, HEAP_OWNED);
    } else if ((h = heap_new()) != NULL) {
        h->arena = &myalloc__arenas[heaps_made++ % myalloc__narenas];
        atomic_store(&h->state, HEAP_OWNED);
        h->all_next = heaps_all;
        heaps_all = h;
    }
    pthread_mutex_unlock(&heaps_lock);
    if (h == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    myalloc__tls_heap = h;
    if (heap_key_ready)
        pthread_setspecific(heap_key, h);
    return h;
}

int myalloc__heaps_init(void)
{
    int err = pthread_key_create(&heap_key, myalloc__heap_thread_exit);
    if (err == 0) {
        heap_key_ready = true;
        /* A heap this thread took while the set-up was running. */
        if (myalloc__tls_heap != NULL)
            pthread_setspecific(heap_key, myalloc__tls_heap);
    }
    return err;
}

void myalloc__heap_thread_exit(void *arg)
{
    struct heap *h = arg;

    if (myalloc__tls_heap == h)
        myalloc__tls_heap = NULL;
    heap_park_all(h);
    pthread_mutex_lock(&heaps_lock);
    /* Set ABANDONED before the last drain: a remote free that pushes a
     * slab after this drain then sees ABANDONED and reclaims it itself. */
    atomic_store(&h->state, HEAP_ABANDONED);
    heap_reclaim(h);
    h->abandoned_next = heaps_abandoned;
    heaps_abandoned = h;
    pthread_mutex_unlock(&heaps_lock);
}

/* --------------------------------------------------------- small path -- */
void *myalloc__heap_alloc_small_slow(struct heap *h, unsigned cls)
{
    for (;;) {
        struct slab *s = h->avail[cls];

        if (s == NULL) {
            if (heap_drain_returned(h) && h->avail[cls] != NULL)
                continue;
            if ((s = slab_new(h, cls)) == NULL)
                return NULL;
            slab_list_push(h, s);
        }
        if (s->free == NULL && s->bump < s->end)
            myalloc__slab_refill(s);
        if (s->free == NULL)
            slab_collect(h, s);
        if (s->free != NULL)
            return slab_pop(s);
        /* Exhausted: stop tracking it until a free brings it back. */
        slab_list_remove(h, s);
        if (s->return_pending)
            s->state = SLAB_PENDING;
        else if (myalloc__slab_try_mark_full(s))
            s->state = SLAB_FULL;
        else
            slab_list_push(h, s); /* remote frees just arrived */
    }
}

/* After a local free that emptied the slab or hit an untracked one. */
void myalloc__heap_free_small_slow(struct heap *h, struct slab *s)
{
    if (s->state == SLAB_FULL) {
        uintptr_t old = atomic_fetch_and(&s->xfree, ~SLAB_XFREE_FULL);
        /* Flag already gone: a remote freer is returning the slab. */
        if ((old & SLAB_XFREE_FULL) == 0)
            s->return_pending = 1;
        slab_list_push(h, s);
    } else if (s->state == SLAB_PENDING) {
        slab_list_push(h, s);
    }
    slab_release_if_idle(h, s, true);
}

static void heap_return_slab(struct heap *h, struct slab *s)
{
    struct slab *head = atomic_load(&h->returned);

    do {
        s->returned_next = head;
    } while (!atomic_compare_exchange_weak(&h->returned, &head, s));
    if (atomic_load(&h->state) == HEAP_ABANDONED) {
        pthread_mutex_lock(&heaps_lock);
        if (atomic_load(&h->state) == HEAP_ABANDONED)
            heap_reclaim(h);
        pthread_mutex_unlock(&heaps_lock);
    }
}

void myalloc__heap_free_remote(struct slab *s, void *p)
{
    uintptr_t old = atomic_load_explicit(&s->xfree, memory_order_relaxed);

    /* acq_rel: the block's link is published to the collector, and a FULL
     * flag read here carries the owner's last writes to the slab (the
     * notifier writes returned_next next). */
    do {
        *(void **)p = (void *)(old & ~SLAB_XFREE_FULL);
    } while (!atomic_compare_exchange_weak_explicit(&s->xfree, &old, (uintptr_t)p,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (old & SLAB_XFREE_FULL)
        heap_return_slab(s->owner, s);
}

/* ---------------------------------------------------------- trim, stats -- */
void myalloc__heaps_trim(struct heap *h)
{
    if (h != NULL) {
        heap_drain_returned(h);
        for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
            struct slab *s = h->avail[cls];
            while (s != NULL) {
                struct slab *next = s->next;
                slab_release_if_idle(h, s, false);
                s = next;
            }
        }
    }
    pthread_mutex_lock(&heaps_lock);
    for (struct heap *a = heaps_abandoned; a != NULL; a = a->abandoned_next)
        heap_reclaim(a);
    pthread_mutex_unlock(&heaps_lock);
}

static void counters_sum(struct heap_counters *sum, struct heap_counters *c)
{
    counter_t *from = (counter_t *)c, *to = (counter_t *)sum;
    for (size_t i = 0; i < sizeof *c / sizeof(counter_t); i++)
        counter_add(&to[i], counter_get(&from[i]));
}

/* Sums every heap's counters (and the orphans') into sum. */
void myalloc__heaps_sum_counters(struct heap_counters *sum)
{
    pthread_mutex_lock(&heaps_lock);
    for (struct heap *h = heaps_all; h != NULL; h = h->all_next)
        counters_sum(sum, &h->counters);
    pthread_mutex_unlock(&heaps_lock);
    counters_sum(sum, &myalloc__orphan_counters);
}

/* ---------------------------------------------------------------- fork -- */
void myalloc__heaps_fork_prepare(void)
{
    pthread_mutex_lock(&heaps_lock);
}

void myalloc__heaps_fork_parent(void)
{
    pthread_mutex_unlock(&heaps_lock);
}

/* Only the forking thread lives on in the child: the heaps other threads
 * owned may have been mid-update, so they are never touched again. */
void myalloc__heaps_fork_child(void)
{
    pthread_mutex_init(&heaps_lock, NULL);
    for (struct heap *h = heaps_all; h != NULL; h = h->all_next) {
        if (h != myalloc__tls_heap && atomic_load(&h->state) == HEAP_OWNED)
            atomic_store(&h->state, HEAP_DEAD);
    }
}
