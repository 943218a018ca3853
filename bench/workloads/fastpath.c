/* fastpath - the single-thread malloc/free fast path, for instruction counts
 * under callgrind: `fastpath SIZE PAIRS [LIVE]` allocates LIVE blocks of SIZE
 * bytes (default 64) and keeps them, does 1000 warm-up pairs of malloc(SIZE)
 * + free, then PAIRS more, and frees the LIVE blocks.  The runner runs it
 * with N and 2N pairs and divides the difference of the two instruction
 * counts by N: what remains is the cost of one pair, start-up, warm-up and
 * clean-up cancelled out.
 *
 * The live blocks keep the slab or page of that size in use, so that the
 * loop measures the steady state.  With LIVE = 0 every free empties the page
 * it frees into, which some allocators handle on a slower path; the runner
 * reports that case too.
 *
 * Each figure includes the calling loop's own instructions, the same under
 * every allocator: nine here (built with gcc -O2 for x86-64) and the two PLT
 * jumps to malloc and free.
 *
 * The empty asm statement tells the compiler the pointer is used, so it
 * cannot fold a malloc and its free away.  Not a timing benchmark. */
#include <stdio.h>
#include <stdlib.h>

#define WARMUP 1000
#define LIVE_MAX 4096

static void pairs(size_t size, long n)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(size);
        if (p == NULL) {
            fprintf(stderr, "fastpath: FAILED: malloc(%zu) returned NULL\n", size);
            exit(1);
        }
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
}

int main(int argc, char **argv)
{
    static void *live[LIVE_MAX];
    size_t size;
    long n, nlive = 64;

    if (argc < 3 || argc > 4 || atol(argv[1]) <= 0 || (n = atol(argv[2])) <= 0 ||
        (argc == 4 && ((nlive = atol(argv[3])) < 0 || nlive > LIVE_MAX))) {
        fprintf(stderr, "usage: %s SIZE PAIRS [LIVE]   (0 <= LIVE <= %d, default 64)\n",
                argv[0], LIVE_MAX);
        return 2;
    }
    size = (size_t)atol(argv[1]);
    for (long i = 0; i < nlive; i++) {
        live[i] = malloc(size);
        if (live[i] == NULL) {
            fprintf(stderr, "fastpath: FAILED: malloc(%zu) returned NULL\n", size);
            return 1;
        }
    }
    pairs(size, WARMUP);
    pairs(size, n);
    for (long i = 0; i < nlive; i++)
        free(live[i]);
    printf("fastpath: size=%zu pairs=%ld live=%ld\n", size, n, nlive);
    return 0;
}
