/* heap.c - per-thread heaps, frees from other threads, and thread exit.
 *
 * A thread allocates small blocks only from its own heap, so the common
 * path takes no lock and no atomic operation.  A block freed by another
 * thread is pushed onto its slab's xfree list with one compare-and-swap;
 * the owner collects those when it runs out of free blocks.  A slab with no
 * free block left is not tracked by its owner (state FULL, flag in xfree);
 * the first remote free to it clears the flag and pushes the slab onto the
 * owner's returned stack, so the owner finds it again without scanning;
 * local frees list it again once an eighth of it is free (free_slow_at).
 *
 * When a thread exits its heap is abandoned, never freed: its slabs are
 * parked (collected, released when empty, else marked FULL, and those with
 * free blocks left put on the heap's parked list), and the heap is kept
 * for the next new thread to adopt whole: that thread takes the parked
 * slabs up again before it carves a fresh one.  A remote free that returns
 * a slab to an abandoned heap processes it at once under heaps_lock, so
 * memory freed after its allocator exited goes back to the buddy system
 * promptly.
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
/* The doubly linked lists through a slab's next/prev: a heap's avail[cls],
 * or its parked list. */
static void list_push(struct slab **head, struct slab *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head != NULL)
        (*head)->prev = s;
    *head = s;
}

static void list_remove(struct slab **head, struct slab *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void slab_list_push(struct heap *h, struct slab *s)
{
    slab_set_state(s, SLAB_LISTED);
    list_push(&h->avail[s->cls], s);
}

static void slab_list_remove(struct heap *h, struct slab *s)
{
    list_remove(&h->avail[s->cls], s);
}

/* The parked list of an exiting or abandoned heap (see struct heap): a
 * slab is on it when it is FULL and linked, or the list's head. */
static bool slab_parked(const struct heap *h, const struct slab *s)
{
    return s->state == SLAB_FULL && (s->prev != NULL || h->parked == s);
}

/* Lists a FULL slab again.  If the flag was already gone, a remote freer
 * is pushing the slab onto the returned stack: it stays bound for it. */
static void slab_track(struct heap *h, struct slab *s)
{
    uintptr_t old = atomic_fetch_and(&s->xfree, ~SLAB_XFREE_FULL);

    if ((old & SLAB_XFREE_FULL) == 0)
        s->return_pending = 1;
    slab_list_push(h, s);
}

static struct slab *slab_new(struct heap *h, unsigned cls)
{
    struct slab *s = myalloc__arena_alloc_slab(h->arena, cls, h);

    if (s == NULL)
        return NULL;
    counter_add(&h->counters.class_slabs[cls], 1);
    counter_add(&h->counters.class_capacity[cls], s->capacity);
    return s;
}

static void slab_release(struct heap *h, struct slab *s)
{
    struct region *r = (struct region *)((uintptr_t)s & ~(uintptr_t)REGION_MASK);

    myalloc__slab_unpurge_count(s);
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

/* Stops tracking a listed slab of an exiting or abandoned heap: released
 * when idle, else marked FULL so that the next remote free returns it, and
 * parked if it has free blocks left for the heap's next thread. */
static void slab_park(struct heap *h, struct slab *s)
{
    slab_list_remove(h, s);
    if (s->return_pending) {
        slab_set_state(s, SLAB_PENDING);
        return;
    }
    for (;;) {
        slab_collect(h, s);
        if (s->in_use == 0) {
            slab_release(h, s);
            return;
        }
        if (myalloc__slab_try_mark_full(s)) {
            slab_set_state(s, SLAB_FULL);
            if (s->not_full != 0)
                list_push(&h->parked, s);
            return;
        }
    }
}

/* Takes every slab off the returned stack; returns the classes in which
 * one now has free blocks on a list (bit cls; 0: none). */
static uint64_t heap_drain_returned(struct heap *h)
{
    struct slab *s = atomic_exchange(&h->returned, NULL);
    uint64_t listed = 0;

    while (s != NULL) {
        struct slab *next = s->returned_next;
        s->return_pending = 0;
        slab_collect(h, s);
        if (slab_parked(h, s))
            list_remove(&h->parked, s);
        if (s->state != SLAB_LISTED) {
            if (s->in_use == 0) {
                slab_release(h, s);
            } else {
                slab_list_push(h, s);
                listed |= (uint64_t)1 << s->cls;
            }
        } else {
            slab_release_if_idle(h, s, true);
        }
        s = next;
    }
    return listed;
}

/* Parks every listed slab of the classes in mask (bit cls). */
static void heap_park(struct heap *h, uint64_t classes)
{
    for (; classes != 0; classes &= classes - 1) {
        unsigned cls = (unsigned)__builtin_ctzll(classes);
        while (h->avail[cls] != NULL)
            slab_park(h, h->avail[cls]);
    }
}

#define ALL_CLASSES ((SIZE_CLASSES == 64 ? 0 : (uint64_t)1 << SIZE_CLASSES) - 1)
_Static_assert(SIZE_CLASSES <= 64, "a class mask is one word");

static void heap_park_all(struct heap *h)
{
    heap_park(h, ALL_CLASSES);
}

/* heaps_lock held, h abandoned: its slabs are all parked, FULL or bound
 * for the returned stack, so only the classes the drain lists again need
 * parking (a free returning a slab to an exited thread's heap comes here:
 * bench/'s thread_churn spent 15 % of its time walking every class). */
static void heap_reclaim(struct heap *h)
{
    heap_park(h, heap_drain_returned(h));
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
        /* The dead thread's partly used slabs serve before fresh ones. */
        while (h->parked != NULL) {
            struct slab *s = h->parked;
            list_remove(&h->parked, s);
            slab_track(h, s);
        }
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
        if (s->not_full == 0)
            slab_collect(h, s);
        if (s->not_full != 0)
            return slab_take(s);
        /* Exhausted: stop tracking it until a free brings it back. */
        myalloc__slab_filled(s);
        slab_list_remove(h, s);
        if (s->return_pending)
            slab_set_state(s, SLAB_PENDING);
        else if (myalloc__slab_try_mark_full(s))
            slab_set_state(s, SLAB_FULL);
        else
            slab_list_push(h, s); /* remote frees just arrived */
    }
}

/* Free bytes in the heap's slabs below which their pages are not purged
 * as they fall free: a program whose small blocks come and go in a few MiB
 * (a stack of them growing and shrinking) would fault them in again at
 * once (bench/'s churn_lifo: 357 -> 60k page faults, 0.52 -> 0.85 s
 * without it).  The same floor as an arena's dirty limit. */
#define SLAB_PURGE_FLOOR ((size_t)16 << 20)

/* From the heap's counters: blocks in its slabs less those handed out
 * (blocks freed by other threads and not collected count as handed out). */
static size_t heap_slab_free_bytes(struct heap *h)
{
    size_t bytes = 0;

    for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
        uint64_t live = counter_get(&h->counters.class_allocs[cls]) -
                        counter_get(&h->counters.class_frees[cls]);
        uint64_t capacity = counter_get(&h->counters.class_capacity[cls]);
        if (capacity > live)
            bytes += (size_t)(capacity - live) * myalloc__class_sizes[cls];
    }
    return bytes;
}

/* After a local free that emptied the slab or hit an untracked one. */
void myalloc__heap_free_small_slow(struct heap *h, struct slab *s)
{
    /* Down to purge_at in use since it last filled up: its wholly free
     * pages go back to the OS (slab.c), if the heap's slabs hold enough
     * free memory for it to matter; else the next threshold is taken. */
    if (s->state == SLAB_LISTED && s->in_use != 0 && s->in_use <= s->purge_at) {
        if (heap_slab_free_bytes(h) > SLAB_PURGE_FLOOR)
            (void)myalloc__slab_purge(s);
        else
            myalloc__slab_purge_skip(s);
    }
    if (s->state == SLAB_FULL) {
        slab_track(h, s);
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
        slab_link_set(p, (void *)(old & ~SLAB_XFREE_FULL));
    } while (!atomic_compare_exchange_weak_explicit(&s->xfree, &old, (uintptr_t)p,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (old & SLAB_XFREE_FULL)
        heap_return_slab(s->owner, s);
}

/* ---------------------------------------------------------- trim, stats -- */
int myalloc__heaps_trim(struct heap *h)
{
    int err = 0, e;

    if (h != NULL) {
        heap_drain_returned(h);
        for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
            struct slab *s = h->avail[cls];
            while (s != NULL) {
                struct slab *next = s->next;
                slab_collect(h, s); /* blocks other threads freed count too */
                if ((s->in_use != 0 || s->return_pending) && (e = myalloc__slab_purge(s)) != 0)
                    err = e;
                slab_release_if_idle(h, s, false);
                s = next;
            }
        }
    }
    pthread_mutex_lock(&heaps_lock);
    for (struct heap *a = heaps_abandoned; a != NULL; a = a->abandoned_next)
        heap_reclaim(a);
    pthread_mutex_unlock(&heaps_lock);
    return err;
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

/* --------------------------------------------------------------- check -- */
/* What my_heap_check can read, and when:
 *  - the heap lists and every heap's state and arena: heaps_lock;
 *  - the slabs of the calling thread's heap: always (it is their owner),
 *    but remote freers push onto their xfree and the heap's returned stack
 *    meanwhile, only ever in front;
 *  - the slabs of abandoned heaps: heaps_lock (a remote free that returns
 *    one of them waits for it before reclaiming the slab);
 *  - the slabs of other running threads: only their geometry and owner,
 *    written before their arena lock was released and constant until the
 *    slab is freed under it again.  Their lists and counts change without
 *    a lock, so they are not read; nor are those of heaps marked DEAD
 *    after fork(), which may have been left mid-update.
 * All slabs, in lists or not (FULL, PENDING), are found through the page
 * descriptors of the arenas' regions, under each arena lock. */
struct heap_walk {
    struct heap *self;   /* the calling thread's heap, or NULL */
    struct arena *arena; /* the arena being walked */
    struct heap *known;  /* the last heap found in heaps_all */
    uint64_t self_slabs[SIZE_CLASSES];
    size_t self_listed;
};

static const char *check_fault(const void **where, const void *at, const char *problem)
{
    if (where != NULL)
        *where = at;
    return problem;
}

/* Whether h is a heap (heaps_lock held): one of heaps_all.  Slabs of the
 * same heap come in runs, so the last answer is kept. */
static bool heap_known(struct heap_walk *w, const struct heap *h)
{
    if (h == w->known)
        return h != NULL;
    for (struct heap *k = heaps_all; k != NULL; k = k->all_next) {
        if (k == h) {
            w->known = k;
            return true;
        }
    }
    return false;
}

static uint64_t heap_slab_count(struct heap *h)
{
    uint64_t n = 0;
    for (unsigned cls = 0; cls < SIZE_CLASSES; cls++)
        n += counter_get(&h->counters.class_slabs[cls]);
    return n;
}

/* The returned stack of a heap whose slabs we may read.  Only its owner
 * pops, so the entries met from a loaded head stay while we walk. */
static const char *heap_check_returned(struct heap *h, const void **where)
{
    uint64_t n = 0, limit = heap_slab_count(h);

    for (struct slab *s = atomic_load(&h->returned); s != NULL; s = s->returned_next) {
        if (!myalloc__slab_at(s))
            return check_fault(where, h, "heap %p: returned stack holds something not a slab");
        if (s->owner != h)
            return check_fault(where, s, "slab %p: on the returned stack of a heap not its owner");
        if (++n > limit)
            return check_fault(where, h, "heap %p: returned stack longer than its slabs");
    }
    return NULL;
}

/* The parked list of an abandoned heap: well linked, each slab its own;
 * it cannot hold more slabs than the heap has.  (That a parked slab is
 * FULL is the slab check's: its FULL flag must match its state.) */
static const char *heap_check_parked(struct heap *h, const void **where)
{
    const struct slab *prev = NULL;
    uint64_t n = 0, limit = heap_slab_count(h);

    for (const struct slab *s = h->parked; s != NULL; prev = s, s = s->next) {
        if (!myalloc__slab_at(s))
            return check_fault(where, h, "heap %p: parked list holds something not a slab");
        if (s->prev != prev)
            return check_fault(where, s, "slab %p: parked list back link broken");
        if (s->owner != h)
            return check_fault(where, s, "slab %p: parked by a heap not its owner");
        if (++n > limit)
            return check_fault(where, h, "heap %p: parked list longer than its slabs");
    }
    return NULL;
}

/* The calling thread's slab lists: well linked, each slab its own, of the
 * list's class and LISTED. */
static const char *heap_check_avail(struct heap_walk *w, const void **where)
{
    struct heap *h = w->self;

    for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
        const struct slab *prev = NULL;
        for (const struct slab *s = h->avail[cls]; s != NULL; prev = s, s = s->next) {
            if (!myalloc__slab_at(s))
                return check_fault(where, h, "heap %p: a slab list holds something not a slab");
            if (s->prev != prev)
                return check_fault(where, s, "slab %p: slab list back link broken");
            if (s->owner != h || s->cls != cls || s->state != SLAB_LISTED)
                return check_fault(where, s,
                                   "slab %p: on a slab list of another heap, class or state");
            w->self_listed++;
        }
    }
    return NULL;
}

/* Called by myalloc__arena_check on each slab, heaps_lock and the arena
 * lock held. */
static const char *heap_slab_visit(struct slab *s, void *arg, const void **where)
{
    struct heap_walk *w = arg;
    struct heap *h = s->owner;
    bool mine, readable;
    const char *problem;

    if (!heap_known(w, h))
        return check_fault(where, s, "slab %p: owner is not a heap");
    if (h->arena != w->arena)
        return check_fault(where, s, "slab %p: in another arena than its heap's");
    mine = h == w->self;
    readable = mine || atomic_load(&h->state) == HEAP_ABANDONED;
    if ((problem = myalloc__slab_check(s, readable, where)) != NULL)
        return problem;
    if (mine) {
        w->self_slabs[s->cls]++;
        w->self_listed -= s->state == SLAB_LISTED;
    } else if (readable && s->state == SLAB_LISTED) {
        return check_fault(where, s, "slab %p: listed by a heap whose thread has exited");
    }
    return NULL;
}

static const char *heaps_check_locked(struct heap_walk *w, const void **where)
{
    unsigned n = 0, abandoned = 0;
    const char *problem;

    for (struct heap *h = heaps_all; h != NULL; h = h->all_next) {
        int state = atomic_load(&h->state);
        if (++n > heaps_made)
            return check_fault(where, h, "heap %p: the list of heaps is longer than heaps made");
        if (state != HEAP_OWNED && state != HEAP_ABANDONED && state != HEAP_DEAD)
            return check_fault(where, h, "heap %p: unknown state");
        if (h->arena < myalloc__arenas || h->arena >= myalloc__arenas + myalloc__narenas)
            return check_fault(where, h, "heap %p: arena is not one of the arenas");
        abandoned += state == HEAP_ABANDONED;
    }
    if (n != heaps_made)
        return check_fault(where, heaps_all, "heap %p: the list of heaps misses heaps made");

    /* Abandoned heaps have parked every slab: none is listed. */
    n = 0;
    for (struct heap *h = heaps_abandoned; h != NULL; h = h->abandoned_next) {
        if (!heap_known(w, h) || atomic_load(&h->state) != HEAP_ABANDONED)
            return check_fault(where, h, "heap %p: on the abandoned list but not abandoned");
        if (++n > abandoned)
            return check_fault(where, h, "heap %p: the abandoned list has a cycle");
        for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
            if (h->avail[cls] != NULL)
                return check_fault(where, h, "heap %p: abandoned but still lists slabs");
        }
        if ((problem = heap_check_returned(h, where)) != NULL ||
            (problem = heap_check_parked(h, where)) != NULL)
            return problem;
    }
    if (n != abandoned)
        return check_fault(where, heaps_abandoned,
                           "heap %p: an abandoned heap is missing from the abandoned list");

    if (w->self != NULL) {
        if (!heap_known(w, w->self) || atomic_load(&w->self->state) != HEAP_OWNED)
            return check_fault(where, w->self, "heap %p: the thread's heap is not an owned heap");
        if (w->self->parked != NULL)
            return check_fault(where, w->self, "heap %p: owned by a thread but parks slabs");
        if ((problem = heap_check_avail(w, where)) != NULL ||
            (problem = heap_check_returned(w->self, where)) != NULL)
            return problem;
    }

    /* The slabs, from the page descriptors: each LISTED slab of ours
     * takes one off self_listed, which must end at 0. */
    for (unsigned i = 0; i < myalloc__narenas; i++) {
        w->arena = &myalloc__arenas[i];
        if ((problem = myalloc__arena_check(w->arena, heap_slab_visit, w, where)) != NULL)
            return problem;
    }
    if (w->self != NULL) {
        if (w->self_listed != 0)
            return check_fault(where, w->self,
                               "heap %p: slab lists disagree with its LISTED slabs");
        for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
            if (w->self_slabs[cls] != counter_get(&w->self->counters.class_slabs[cls]))
                return check_fault(where, w->self, "heap %p: slab count disagrees with its slabs");
        }
    }
    return NULL;
}

const char *myalloc__heaps_check(const void **where)
{
    struct heap_walk w = { .self = myalloc__tls_heap };
    const char *problem;

    pthread_mutex_lock(&heaps_lock);
    problem = heaps_check_locked(&w, where);
    pthread_mutex_unlock(&heaps_lock);
    return problem;
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
