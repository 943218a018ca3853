/* churn_random - single-thread small-object churn in random order.
 *
 * An array of 20000 slots holds blocks of 8 .. 511 bytes (log-uniform).  Each
 * step picks a random slot, checks and frees the block there, and puts a new
 * block of a new random size in its place, so blocks die in an order that has
 * nothing to do with the order they were born in: free lists get shuffled and
 * slabs end up partly used.  Each block is filled with its pattern when
 * allocated and checked just before it is freed. */
#include "common.h"

#define SLOTS 20000
#define STEPS 4500000L   /* replacements at scale 1 */

static void *ptrs[SLOTS];
static size_t sizes[SLOTS];
static uint64_t tags[SLOTS];

int main(int argc, char **argv)
{
    struct rng r = { 2 };
    long steps, i;
    uint64_t serial = 0, sum = 0;

    bench_name = "churn_random";
    steps = scaled(STEPS, bench_scale(argc, argv));

    for (i = 0; i < steps; i++) {
        size_t k = (size_t)rng_below(&r, SLOTS);
        size_t n = rng_small_size(&r);
        void *p;

        if (ptrs[k] != NULL) {
            sum += pat_check(ptrs[k], sizes[k], tags[k], "random free");
            free(ptrs[k]);
        }
        p = xmalloc(n);
        tags[k] = make_tag(0, serial++);
        pat_fill(p, n, tags[k]);
        ptrs[k] = p;
        sizes[k] = n;
    }
    for (i = 0; i < SLOTS; i++) {
        if (ptrs[i] != NULL) {
            sum += pat_check(ptrs[i], sizes[i], tags[i], "final free");
            free(ptrs[i]);
        }
    }
    printf("churn_random: steps=%ld allocations=%llu checksum=%016llx\n", steps,
           (unsigned long long)serial, (unsigned long long)sum);
    return 0;
}
