/* thread_churn - many short-lived threads.  The main thread starts threads
 * in waves of four; each allocates 1000 blocks of 8 .. 1023 bytes
 * (log-uniform), frees a random half of them, hands the other half back to
 * the main thread and exits.  Once a wave has been joined the main thread
 * checks and frees the blocks it was handed, whose allocating threads are
 * gone by then.  An allocator that strands a dead thread's memory, or makes
 * thread start-up or exit expensive, shows it here.
 *
 * Thread k's random stream is seeded with k, so the blocks it makes, and the
 * checksum, do not depend on scheduling. */
#include "common.h"

#include <pthread.h>

#define WAVE 4
#define THREADS 4000L   /* threads at scale 1 */
#define BLOCKS 1000

struct job {
    pthread_t thread;
    long index;
    int kept;
    void *ptr[BLOCKS];
    size_t size[BLOCKS];
    uint64_t tag[BLOCKS];
    uint64_t sum;
};

static void *work(void *arg)
{
    struct job *j = arg;
    struct rng r = { 1000 + (uint64_t)j->index };
    void *ptr[BLOCKS];
    size_t size[BLOCKS];
    uint64_t tag[BLOCKS];

    for (int i = 0; i < BLOCKS; i++) {
        size[i] = rng_log_size(&r, 3, 10);
        ptr[i] = xmalloc(size[i]);
        tag[i] = make_tag((uint64_t)j->index, (uint64_t)i);
        pat_fill(ptr[i], size[i], tag[i]);
    }
    j->kept = 0;
    j->sum = 0;
    for (int i = 0; i < BLOCKS; i++) {
        if (rng_below(&r, 2) == 0) {
            j->sum += pat_check(ptr[i], size[i], tag[i], "free by the allocating thread");
            free(ptr[i]);
        } else {
            j->ptr[j->kept] = ptr[i];
            j->size[j->kept] = size[i];
            j->tag[j->kept] = tag[i];
            j->kept++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static struct job jobs[WAVE];
    long threads, started = 0;
    uint64_t sum = 0, handed = 0;

    bench_name = "thread_churn";
    threads = scaled(THREADS, bench_scale(argc, argv));
    while (started < threads) {
        int n = 0;

        for (; n < WAVE && started < threads; n++, started++) {
            jobs[n].index = started;
            if (pthread_create(&jobs[n].thread, NULL, work, &jobs[n]) != 0)
                bench_fail("pthread_create failed for thread %ld", started);
        }
        for (int i = 0; i < n; i++)
            pthread_join(jobs[i].thread, NULL);
        for (int i = 0; i < n; i++) {
            struct job *j = &jobs[i];
            for (int k = 0; k < j->kept; k++) {
                sum += pat_check(j->ptr[k], j->size[k], j->tag[k], "free of a block handed back");
                free(j->ptr[k]);
            }
            sum += j->sum;
            handed += (uint64_t)j->kept;
        }
    }
    printf("thread_churn: threads=%ld handed_back=%llu checksum=%016llx\n", threads,
           (unsigned long long)handed, (unsigned long long)sum);
    return 0;
}
