/* xmalloc - producer and consumer, in the manner of the xmalloc-test: one
 * thread allocates small blocks (8 .. 511 bytes), fills them and passes them
 * on in batches of 256; the other thread checks and frees every one of them.
 * No block is ever freed by the thread that allocated it, so an allocator
 * that returns remote frees slowly, or only to a global pool, shows it here.
 * At most 16 batches are in flight: the producer waits for the consumer. */
#include "common.h"

#include <pthread.h>

#define TOTAL 3500000L   /* blocks at scale 1 */
#define BATCH 256
#define IN_FLIGHT 16

struct batch {
    struct batch *next;
    int n;
    void *ptr[BATCH];
    size_t size[BATCH];
    uint64_t tag[BATCH];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct batch *head, *tail; /* the queue, oldest first */
static int queued;
static int done;

static void put(struct batch *b)
{
    pthread_mutex_lock(&lock);
    while (queued >= IN_FLIGHT)
        pthread_cond_wait(&changed, &lock);
    b->next = NULL;
    if (tail != NULL)
        tail->next = b;
    else
        head = b;
    tail = b;
    queued++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static struct batch *get(void)
{
    struct batch *b;

    pthread_mutex_lock(&lock);
    while (head == NULL && !done)
        pthread_cond_wait(&changed, &lock);
    b = head;
    if (b != NULL) {
        head = b->next;
        if (head == NULL)
            tail = NULL;
        queued--;
        pthread_cond_broadcast(&changed);
    }
    pthread_mutex_unlock(&lock);
    return b;
}

static long total;
static uint64_t consumed, sum;

static void *producer(void *arg)
{
    struct rng r = { 3 };
    struct batch *b = NULL;

    (void)arg;
    for (long i = 0; i < total; i++) {
        size_t n = rng_small_size(&r);
        void *p = xmalloc(n);
        uint64_t t = make_tag(0, (uint64_t)i);

        pat_fill(p, n, t);
        if (b == NULL) {
            b = xmalloc(sizeof *b);
            b->n = 0;
        }
        b->ptr[b->n] = p;
        b->size[b->n] = n;
        b->tag[b->n] = t;
        if (++b->n == BATCH) {
            put(b);
            b = NULL;
        }
    }
    if (b != NULL)
        put(b);
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *consumer(void *arg)
{
    struct batch *b;

    (void)arg;
    while ((b = get()) != NULL) {
        for (int i = 0; i < b->n; i++) {
            sum += pat_check(b->ptr[i], b->size[i], b->tag[i], "consumer free");
            free(b->ptr[i]);
        }
        consumed += (uint64_t)b->n;
        free(b);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t prod, cons;

    bench_name = "xmalloc";
    total = scaled(TOTAL, bench_scale(argc, argv));
    if (pthread_create(&cons, NULL, consumer, NULL) != 0 ||
        pthread_create(&prod, NULL, producer, NULL) != 0)
        bench_fail("pthread_create failed");
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    if (consumed != (uint64_t)total)
        bench_fail("the consumer freed %llu blocks of %ld", (unsigned long long)consumed, total);
    printf("xmalloc: blocks=%ld checksum=%016llx\n", total, (unsigned long long)sum);
    return 0;
}
