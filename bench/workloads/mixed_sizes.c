/* mixed_sizes - sizes from 16 bytes to 1 MiB, log-uniform, so that every
 * size range gets the same share of the calls: small classes, the mid-sized
 * (buddy) range and blocks near the threshold of direct mapping.  An array of
 * 1000 slots (about 90 MB live) has a random slot replaced at each step.
 * The pattern touches every page of a block, as a program using its memory
 * would, so an allocator that returns freed pages to the system too eagerly
 * pays for faulting them in again. */
#include "common.h"

#define SLOTS 1000
#define STEPS 300000L   /* replacements at scale 1 */

static void *ptrs[SLOTS];
static size_t sizes[SLOTS];
static uint64_t tags[SLOTS];

int main(int argc, char **argv)
{
    struct rng r = { 4 };
    long steps, i;
    uint64_t serial = 0, sum = 0, bytes = 0;

    bench_name = "mixed_sizes";
    steps = scaled(STEPS, bench_scale(argc, argv));

    for (i = 0; i < steps; i++) {
        size_t k = (size_t)rng_below(&r, SLOTS);
        size_t n = rng_log_size(&r, 4, 20); /* 16 B .. 1 MiB - 1 */
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
        bytes += n;
    }
    for (i = 0; i < SLOTS; i++) {
        if (ptrs[i] != NULL) {
            sum += pat_check(ptrs[i], sizes[i], tags[i], "final free");
            free(ptrs[i]);
        }
    }
    printf("mixed_sizes: steps=%ld bytes=%llu checksum=%016llx\n", steps,
           (unsigned long long)bytes, (unsigned long long)sum);
    return 0;
}
