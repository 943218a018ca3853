/* cache_scratch - passive false sharing, in the manner of Hoard's
 * cache-scratch test.  The main thread allocates small blocks (16 bytes) in
 * a row, picks one per worker among those that share a cache line, and hands
 * each to a worker.  Each worker writes its block many times, checks it,
 * frees it, allocates a new one of the same size, and goes on with that
 * one: 40000 times.  An allocator that gives a worker back the block it just
 * freed (which was the main thread's, next to the other worker's) keeps the
 * two threads writing one cache line for the whole run; one that gives each
 * thread blocks of its own does not.
 *
 * The writes are volatile byte increments (a load and a store each, which
 * is what makes a shared line bounce between the cores), so the compiler
 * keeps every one of them.  After its writes a worker checks that its block
 * holds exactly what it should: a block handed to two threads at once fails
 * here. */
#include "common.h"

#include <pthread.h>

#define NTHREADS 2
#define OBJ_SIZE 16
#define ROUNDS 40000L   /* blocks per worker at scale 1 */
#define WRITES 500      /* passes over the block per round */

struct worker {
    pthread_t thread;
    int id;
    long rounds;
    unsigned char *first; /* allocated by the main thread */
    uint64_t sum;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned char *p = w->first;

    for (long round = 0; round < w->rounds; round++) {
        volatile unsigned char *v = p;
        unsigned char base = (unsigned char)(w->id * 64 + round);

        for (int b = 0; b < OBJ_SIZE; b++)
            v[b] = (unsigned char)(base + b);
        for (int j = 0; j < WRITES; j++)
            for (int b = 0; b < OBJ_SIZE; b++)
                v[b]++;
        for (int b = 0; b < OBJ_SIZE; b++) {
            unsigned char want = (unsigned char)(base + b + WRITES);
            if (p[b] != want)
                bench_fail("worker %d, round %ld: block %p byte %d is %02x, expected %02x",
                           w->id, round, (void *)p, b, p[b], want);
        }
        w->sum += mix64((uint64_t)w->id << 32 ^ (uint64_t)round);
        free(p);
        p = xmalloc(OBJ_SIZE);
    }
    free(p);
    return NULL;
}

/* The main thread's blocks for the workers: NTHREADS consecutive blocks out
 * of POOL allocated in a row, the first run of them that lies in one cache
 * line (or simply the first ones, if the allocator spaces its blocks a line
 * apart or more).  Which run that is does not change what is printed. */
#define POOL 64
#define LINE 64

static void pick_first_blocks(struct worker *workers)
{
    unsigned char *pool[POOL];
    int start = 0;

    for (int i = 0; i < POOL; i++)
        pool[i] = xmalloc(OBJ_SIZE);
    for (int i = 0; i + NTHREADS <= POOL; i++) {
        uintptr_t line = (uintptr_t)pool[i] / LINE;
        int same = 1;
        for (int k = 1; k < NTHREADS; k++)
            if ((uintptr_t)(pool[i + k] + OBJ_SIZE - 1) / LINE != line)
                same = 0;
        if (same) {
            start = i;
            break;
        }
    }
    for (int i = 0; i < POOL; i++) {
        if (i >= start && i < start + NTHREADS)
            workers[i - start].first = pool[i];
        else
            free(pool[i]);
    }
}

int main(int argc, char **argv)
{
    struct worker workers[NTHREADS];
    long rounds;
    uint64_t sum = 0;

    bench_name = "cache_scratch";
    rounds = scaled(ROUNDS, bench_scale(argc, argv));
    pick_first_blocks(workers);
    for (int i = 0; i < NTHREADS; i++) {
        workers[i].id = i;
        workers[i].rounds = rounds;
        workers[i].sum = 0;
    }
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0)
            bench_fail("pthread_create failed");
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(workers[i].thread, NULL);
        sum += workers[i].sum;
    }
    printf("cache_scratch: threads=%d rounds=%ld writes=%d checksum=%016llx\n", NTHREADS,
           rounds, WRITES, (unsigned long long)sum);
    return 0;
}
