/* basic.c - first figures for libmyalloc against the C library's malloc,
 * in one process: allocation rate on a few simple workloads and memory held
 * for a known live size.  Run with `make bench-basic`.  This is not the
 * comparison harness (issue 4); it gives the foundation's own figures.
 * Times are medians of 5 runs. */
#include <myalloc.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct allocator {
    const char *name;
    void *(*alloc)(size_t);
    void (*release)(void *);
};

static const struct allocator allocators[] = {
    { "libmyalloc", my_malloc, my_free },
    { "glibc", malloc, free },
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Keeps the compiler from removing allocations whose memory is unused. */
static volatile uintptr_t sink;

#define PAIRS 5000000

static double pairs_64(const struct allocator *a)
{
    double t = now();
    for (int i = 0; i < PAIRS; i++) {
        void *p = a->alloc(64);
        sink += (uintptr_t)p;
        a->release(p);
    }
    return (now() - t) * 1e9 / PAIRS;
}

#define BATCH 1000000
static void *batch[BATCH];

static double batch_random_small(const struct allocator *a)
{
    uint64_t s = 88172645463325252u;
    double t = now();
    for (int i = 0; i < BATCH; i++) {
        batch[i] = a->alloc(16 + next(&s) % 497);
        sink += (uintptr_t)batch[i];
    }
    for (int i = 0; i < BATCH; i++)
        a->release(batch[i]);
    return (now() - t) * 1e9 / (2.0 * BATCH);
}

struct thread_arg {
    const struct allocator *a;
    void **ring;
};

static void *thread_churn(void *arg)
{
    struct thread_arg *ta = arg;
    uint64_t s = (uintptr_t)ta ^ 0x9e3779b97f4a7c15u;
    for (int i = 0; i < PAIRS / 2; i++) {
        unsigned k = (unsigned)(i & 1023);
        ta->a->release(ta->ring[k]);
        ta->ring[k] = ta->a->alloc(16 + next(&s) % 1024);
    }
    for (int k = 0; k < 1024; k++)
        ta->a->release(ta->ring[k]);
    return NULL;
}

static double two_threads(const struct allocator *a)
{
    static void *rings[2][1024];
    struct thread_arg args[2] = { { a, rings[0] }, { a, rings[1] } };
    pthread_t t[2];
    double start = now();

    memset(rings, 0, sizeof rings);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, thread_churn, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return (now() - start) * 1e9 / PAIRS;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median5(double (*run)(const struct allocator *), const struct allocator *a)
{
    double v[5];
    for (int i = 0; i < 5; i++)
        v[i] = run(a);
    qsort(v, 5, sizeof v[0], cmp_double);
    return v[2];
}

/* Memory held from the OS for 256 MiB live in mixed sizes (80% of the
 * blocks small, the rest 4 KiB .. 1 MiB), after half is freed at random,
 * and after my_trim(). */
static void memory_figures(void)
{
    enum { MAXN = 400000 };
    static void *blocks[MAXN];
    static size_t sizes[MAXN];
    size_t live = 0, n = 0, target = (size_t)256 << 20;
    uint64_t s = 12345;
    struct my_stats st;

    while (live < target && n < MAXN) {
        size_t size = next(&s) % 10 < 8 ? 16 + next(&s) % 4081 : 4097 + next(&s) % ((1 << 20) - 4096);
        blocks[n] = my_malloc(size);
        memset(blocks[n], 1, size);
        sizes[n++] = size;
        live += size;
    }
    my_stats_get(&st, sizeof st);
    printf("memory: %zu MiB requested live in %zu blocks: %zu MiB allocated (usable), "
           "%zu MiB mapped, held/requested %.3f\n",
           live >> 20, n, st.bytes_allocated >> 20, st.bytes_mapped >> 20,
           (double)st.bytes_mapped / (double)live);
    for (size_t i = 0; i < n; i++) {
        if (next(&s) & 1) {
            my_free(blocks[i]);
            live -= sizes[i];
            blocks[i] = NULL;
        }
    }
    my_stats_get(&st, sizeof st);
    printf("memory: after freeing half at random: %zu MiB live, %zu MiB mapped, "
           "external fragmentation %.1f%%\n",
           live >> 20, st.bytes_mapped >> 20, 100 * st.frag_external);
    my_trim();
    my_stats_get(&st, sizeof st);
    printf("memory: after my_trim: %zu MiB mapped (peak %zu MiB), internal fragmentation %.1f%%\n",
           st.bytes_mapped >> 20, st.peak_bytes_mapped >> 20, 100 * st.frag_internal);
    for (size_t i = 0; i < n; i++)
        my_free(blocks[i]);
}

int main(void)
{
    static const struct {
        const char *name;
        double (*run)(const struct allocator *);
    } workloads[] = {
        { "malloc+free pair, 64 B, 1 thread", pairs_64 },
        { "1M random 16-512 B, then free all", batch_random_small },
        { "2 threads, ring of 1024, 16-1040 B", two_threads },
    };

    printf("%-38s %12s %12s %8s\n", "workload (ns per operation, median of 5)", "libmyalloc",
           "glibc", "ratio");
    for (size_t w = 0; w < sizeof workloads / sizeof workloads[0]; w++) {
        double mine = median5(workloads[w].run, &allocators[0]);
        double libc = median5(workloads[w].run, &allocators[1]);
        printf("%-38s %12.1f %12.1f %8.2f\n", workloads[w].name, mine, libc, mine / libc);
    }
    memory_figures();
    return 0;
}
