/* larson - a server-like workload in the manner of Larson and Krishnan's
 * benchmark: two threads each keep an array of 5000 slots of small blocks
 * (8 .. 511 bytes) and replace a random one at each step.  One replaced block
 * in four is not freed by its thread but handed to the other thread, in
 * batches of 64, and freed there: blocks routinely die on a thread other than
 * the one that allocated them.
 *
 * Every block is filled with its pattern when allocated and checked by
 * whichever thread frees it.  Each block is checked exactly once and its tag
 * depends only on the allocating thread's own random stream, so the checksum
 * is the same whatever the interleaving of the threads. */
#include "common.h"

#include <pthread.h>

#define NTHREADS 2
#define SLOTS 5000
#define STEPS 4000000L   /* replacements per thread at scale 1 */
#define BATCH 64
#define DRAIN_EVERY 128  /* steps between looks at the inbox */

struct batch {
    struct batch *next;
    int n;
    void *ptr[BATCH];
    size_t size[BATCH];
    uint64_t tag[BATCH];
};

struct worker {
    pthread_t thread;
    int id;
    long steps;
    pthread_mutex_t lock; /* guards inbox */
    struct batch *inbox;  /* batches handed to this thread */
    uint64_t sum, allocated, received;
};

static struct worker workers[NTHREADS];
static pthread_barrier_t barrier;

static void hand_over(struct worker *to, struct batch *b)
{
    pthread_mutex_lock(&to->lock);
    b->next = to->inbox;
    to->inbox = b;
    pthread_mutex_unlock(&to->lock);
}

static void drain(struct worker *w)
{
    struct batch *b, *next;

    pthread_mutex_lock(&w->lock);
    b = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->lock);
    for (; b != NULL; b = next) {
        next = b->next;
        for (int i = 0; i < b->n; i++) {
            w->sum += pat_check(b->ptr[i], b->size[i], b->tag[i], "free of a block handed over");
            free(b->ptr[i]);
        }
        w->received += (uint64_t)b->n;
        free(b);
    }
}

static struct batch *new_batch(void)
{
    struct batch *b = xmalloc(sizeof *b);

    b->next = NULL;
    b->n = 0;
    return b;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct worker *peer = &workers[(w->id + 1) % NTHREADS];
    struct rng r = { 100 + (uint64_t)w->id };
    void **ptr = calloc(SLOTS, sizeof *ptr);
    size_t *size = calloc(SLOTS, sizeof *size);
    uint64_t *tag = calloc(SLOTS, sizeof *tag);
    struct batch *out = new_batch();
    uint64_t serial = 0;

    if (ptr == NULL || size == NULL || tag == NULL)
        bench_fail("calloc of the slot arrays failed");
    for (long s = 0; s < w->steps; s++) {
        size_t k = (size_t)rng_below(&r, SLOTS);
        size_t n = rng_small_size(&r);
        uint64_t coin = rng_below(&r, 4);

        if (ptr[k] != NULL) {
            if (coin == 0) {
                out->ptr[out->n] = ptr[k];
                out->size[out->n] = size[k];
                out->tag[out->n] = tag[k];
                if (++out->n == BATCH) {
                    hand_over(peer, out);
                    out = new_batch();
                }
            } else {
                w->sum += pat_check(ptr[k], size[k], tag[k], "free by the owner");
                free(ptr[k]);
            }
        }
        ptr[k] = xmalloc(n);
        size[k] = n;
        tag[k] = make_tag((uint64_t)w->id, serial++);
        pat_fill(ptr[k], n, tag[k]);
        if (s % DRAIN_EVERY == 0)
            drain(w);
    }

    /* Both threads stop handing over before either drains for the last time. */
    pthread_barrier_wait(&barrier);
    if (out->n > 0)
        hand_over(peer, out);
    else
        free(out);
    pthread_barrier_wait(&barrier);
    drain(w);
    for (size_t k = 0; k < SLOTS; k++) {
        if (ptr[k] != NULL) {
            w->sum += pat_check(ptr[k], size[k], tag[k], "final free");
            free(ptr[k]);
        }
    }
    free(ptr);
    free(size);
    free(tag);
    w->allocated = serial;
    return NULL;
}

int main(int argc, char **argv)
{
    long steps;
    uint64_t sum = 0, allocated = 0, received = 0;

    bench_name = "larson";
    steps = scaled(STEPS, bench_scale(argc, argv));
    if (pthread_barrier_init(&barrier, NULL, NTHREADS) != 0)
        bench_fail("pthread_barrier_init failed");
    for (int i = 0; i < NTHREADS; i++) {
        workers[i].id = i;
        workers[i].steps = steps;
        pthread_mutex_init(&workers[i].lock, NULL);
    }
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0)
            bench_fail("pthread_create failed");
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(workers[i].thread, NULL);
        sum += workers[i].sum;
        allocated += workers[i].allocated;
        received += workers[i].received;
    }
    /* How many blocks crossed threads depends only on the random streams. */
    printf("larson: threads=%d steps=%ld allocations=%llu handed_over=%llu checksum=%016llx\n",
           NTHREADS, steps, (unsigned long long)allocated, (unsigned long long)received,
           (unsigned long long)sum);
    return 0;
}
