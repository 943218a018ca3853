/* churn_lifo - single-thread small-object churn in last-in first-out order.
 *
 * A stack of blocks of 8 .. 511 bytes (log-uniform) grows to a random depth
 * of up to 4096 blocks, then shrinks to a random lower depth, again and
 * again: every free is of the most recently allocated live block, the order
 * of a program's nested scopes.  Blocks near the bottom live long, those near
 * the top are recycled at once.  Each block is filled with its pattern when
 * allocated and checked just before it is freed. */
#include "common.h"

#define STACK_MAX 4096
#define STEPS 5500   /* grow-and-shrink cycles at scale 1 */

static void *ptrs[STACK_MAX];
static size_t sizes[STACK_MAX];
static uint64_t tags[STACK_MAX];

int main(int argc, char **argv)
{
    struct rng r = { 1 };
    long steps, i;
    size_t depth = 0;
    uint64_t serial = 0, sum = 0;

    bench_name = "churn_lifo";
    steps = scaled(STEPS, bench_scale(argc, argv));

    for (i = 0; i < steps; i++) {
        size_t high = 1 + (size_t)rng_below(&r, STACK_MAX);
        size_t low;

        while (depth < high) {
            size_t n = rng_small_size(&r);
            void *p = xmalloc(n);
            uint64_t t = make_tag(0, serial++);

            pat_fill(p, n, t);
            ptrs[depth] = p;
            sizes[depth] = n;
            tags[depth] = t;
            depth++;
        }
        low = (size_t)rng_below(&r, depth);
        while (depth > low) {
            depth--;
            sum += pat_check(ptrs[depth], sizes[depth], tags[depth], "lifo free");
            free(ptrs[depth]);
        }
    }
    while (depth > 0) {
        depth--;
        sum += pat_check(ptrs[depth], sizes[depth], tags[depth], "final free");
        free(ptrs[depth]);
    }
    printf("churn_lifo: steps=%ld allocations=%llu checksum=%016llx\n", steps,
           (unsigned long long)serial, (unsigned long long)sum);
    return 0;
}
