/* fragmentation - how much memory stays held when most of it falls free in
 * small scattered pieces and the program then wants larger blocks.
 *
 *   1. allocate 700000 blocks of 16 .. 1023 bytes (log-uniform), 1 in 64 of
 *      them a medium one of 1 .. 8 KiB instead: about 210 MB;
 *   2. free a random 90 % of them;
 *   3. allocate blocks of 2 .. 32 KiB (log-uniform) until they hold as many
 *      bytes as half of what was freed.
 *
 * An allocator that can reuse the space freed in step 2 for the blocks of
 * step 3, or give it back to the system, ends with a low RSS; one that
 * cannot holds the whole first generation and the new one.  At the end, with
 * the survivors of step 1 and the blocks of step 3 still live, the program
 * reads its peak (VmHWM) and current (VmRSS) resident size from
 * /proc/self/status; then it checks and frees everything and reads VmRSS once
 * more, to see what the allocator keeps when the program holds nothing.  The
 * three figures go to stderr as a "measure:" line for the runner; stdout has
 * only the checksum, the same under every allocator. */
#include "common.h"

#define FIRST 700000L   /* blocks of the first generation at scale 1 */

struct block {
    void *p;
    size_t n;
    uint64_t tag;
};

int main(int argc, char **argv)
{
    struct rng r = { 7 };
    long first, i, freed = 0, survivors, second = 0;
    struct block *gen1, *gen2 = NULL;
    size_t *order;
    uint64_t serial = 0, sum = 0, freed_bytes = 0, live_bytes = 0, want, got = 0;
    size_t gen2_cap = 0;
    long peak_kb, final_kb;

    bench_name = "fragmentation";
    first = scaled(FIRST, bench_scale(argc, argv));
    gen1 = malloc((size_t)first * sizeof *gen1);
    order = malloc((size_t)first * sizeof *order);
    if (gen1 == NULL || order == NULL)
        bench_fail("cannot allocate the bookkeeping arrays");

    /* 1. The first generation. */
    for (i = 0; i < first; i++) {
        size_t n = rng_below(&r, 64) == 0 ? rng_log_size(&r, 10, 13) : rng_log_size(&r, 4, 10);

        gen1[i].p = xmalloc(n);
        gen1[i].n = n;
        gen1[i].tag = make_tag(1, serial++);
        pat_fill(gen1[i].p, n, gen1[i].tag);
        order[i] = (size_t)i;
    }

    /* 2. Free a random 90 %: the first 90 % of a random permutation. */
    for (i = first - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&r, (uint64_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    survivors = first / 10;
    for (i = 0; i < first - survivors; i++) {
        struct block *b = &gen1[order[i]];
        sum += pat_check(b->p, b->n, b->tag, "free of the first generation");
        free(b->p);
        b->p = NULL;
        freed_bytes += b->n;
        freed++;
    }
    free(order);

    /* 3. Larger blocks, half as many bytes as were freed. */
    want = freed_bytes / 2;
    while (got < want) {
        size_t n = rng_log_size(&r, 11, 15);

        if ((size_t)second == gen2_cap) {
            struct block *g;
            gen2_cap = gen2_cap ? 2 * gen2_cap : 4096;
            g = realloc(gen2, gen2_cap * sizeof *gen2);
            if (g == NULL)
                bench_fail("cannot grow the bookkeeping array");
            gen2 = g;
        }
        gen2[second].p = xmalloc(n);
        gen2[second].n = n;
        gen2[second].tag = make_tag(2, serial++);
        pat_fill(gen2[second].p, n, gen2[second].tag);
        got += n;
        second++;
    }

    /* The figures, with everything of steps 1 and 3 still live. */
    for (i = 0; i < first; i++)
        if (gen1[i].p != NULL)
            live_bytes += gen1[i].n;
    live_bytes += got;
    peak_kb = proc_status_kb("VmHWM");
    final_kb = proc_status_kb("VmRSS");

    for (i = 0; i < first; i++)
        if (gen1[i].p != NULL) {
            sum += pat_check(gen1[i].p, gen1[i].n, gen1[i].tag, "free of a survivor");
            free(gen1[i].p);
        }
    for (i = 0; i < second; i++) {
        sum += pat_check(gen2[i].p, gen2[i].n, gen2[i].tag, "free of the second generation");
        free(gen2[i].p);
    }
    free(gen1);
    free(gen2);
    /* And once everything is freed: what the allocator kept. */
    fprintf(stderr, "measure: peak_rss_kb=%ld final_rss_kb=%ld freed_rss_kb=%ld live_kb=%llu\n",
            peak_kb, final_kb, proc_status_kb("VmRSS"), (unsigned long long)(live_bytes / 1024));
    printf("fragmentation: first=%ld freed=%ld second=%ld live_bytes=%llu checksum=%016llx\n",
           first, freed, second, (unsigned long long)live_bytes, (unsigned long long)sum);
    return 0;
}
