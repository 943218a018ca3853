/* calloc_aligned - zeroed and aligned allocation.
 *
 * Two arrays of 64 slots; each step replaces a random block of the first
 * and sixteen random blocks of the second:
 *
 *   - calloc slots: calloc(count, elsize) with elsize 1, 8 or 24 and a total
 *     of 1 KiB .. 4 MiB (log-uniform).  Every byte of the block is checked to
 *     be zero, then the pattern is written over it (a word on every page at
 *     least), so that memory reused without being cleared fails the zero
 *     check of a later calloc.
 *   - aligned slots: posix_memalign or aligned_alloc (at random) with an
 *     alignment of 8 B .. 64 KiB (one in 16 of 256 KiB .. 2 MiB) and a size of
 *     8 B .. 64 KiB; the pointer is checked to be aligned and the pattern is
 *     written and checked before the free.  aligned_alloc gets a size rounded
 *     up to a multiple of the alignment, as C11 asked. */
#include "common.h"

#define SLOTS 64
#define STEPS 3200L   /* steps at scale 1 */
#define ALIGNED_PER_STEP 16

struct slot {
    void *p;
    size_t n;
    uint64_t tag;
};

static struct slot zeroed[SLOTS], aligned[SLOTS];

static void check_zero(const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n;
    uint64_t acc = 0;
    size_t words = n / 8;

    /* Word by word with one test at the end (vectorises), then find the culprit. */
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        acc |= w;
    }
    for (const unsigned char *q = p + 8 * words; q < end; q++)
        acc |= *q;
    if (acc == 0)
        return;
    for (const unsigned char *q = p; q < end; q++)
        if (*q != 0)
            bench_fail("calloc: block %p of %zu bytes: byte at offset %zu is %02x, not zero",
                       (const void *)p, n, (size_t)(q - p), *q);
}

int main(int argc, char **argv)
{
    struct rng r = { 8 };
    long steps;
    uint64_t serial = 0, sum = 0, zero_bytes = 0;

    bench_name = "calloc_aligned";
    steps = scaled(STEPS, bench_scale(argc, argv));

    for (long s = 0; s < steps; s++) {
        struct slot *z = &zeroed[rng_below(&r, SLOTS)];
        static const size_t elsizes[3] = { 1, 8, 24 };
        size_t elsize = elsizes[rng_below(&r, 3)];
        size_t count = rng_log_size(&r, 10, 22) / elsize;
        size_t n = count * elsize;

        if (z->p != NULL) {
            sum += pat_check(z->p, z->n, z->tag, "free of a calloc block");
            free(z->p);
        }
        z->p = calloc(count, elsize);
        if (z->p == NULL)
            bench_fail("calloc(%zu, %zu) returned NULL (errno %d)", count, elsize, errno);
        check_zero(z->p, n);
        z->n = n;
        z->tag = make_tag(1, serial++);
        pat_fill(z->p, n, z->tag);
        zero_bytes += n;

        for (int i = 0; i < ALIGNED_PER_STEP; i++) {
            struct slot *a = &aligned[rng_below(&r, SLOTS)];
            unsigned shift = rng_below(&r, 16) == 0 ? 18 + (unsigned)rng_below(&r, 4)
                                                    : 3 + (unsigned)rng_below(&r, 14);
            size_t align = (size_t)1 << shift;
            const char *fn;
            void *p;

            n = rng_log_size(&r, 3, 16);
            if (a->p != NULL) {
                sum += pat_check(a->p, a->n, a->tag, "free of an aligned block");
                free(a->p);
            }
            if (rng_below(&r, 2) == 0) {
                int err = posix_memalign(&p, align, n);
                fn = "posix_memalign";
                if (err != 0)
                    bench_fail("posix_memalign(%zu, %zu) failed with %d", align, n, err);
            } else {
                n = (n + align - 1) / align * align;
                p = aligned_alloc(align, n);
                fn = "aligned_alloc";
                if (p == NULL)
                    bench_fail("aligned_alloc(%zu, %zu) returned NULL (errno %d)", align, n, errno);
            }
            if ((uintptr_t)p % align != 0)
                bench_fail("%s(%zu, %zu) returned %p, not aligned to %zu", fn, align, n, p, align);
            a->p = p;
            a->n = n;
            a->tag = make_tag(2, serial++);
            pat_fill(p, n, a->tag);
        }
    }
    for (int k = 0; k < SLOTS; k++) {
        if (zeroed[k].p != NULL) {
            sum += pat_check(zeroed[k].p, zeroed[k].n, zeroed[k].tag, "final free");
            free(zeroed[k].p);
        }
        if (aligned[k].p != NULL) {
            sum += pat_check(aligned[k].p, aligned[k].n, aligned[k].tag, "final free");
            free(aligned[k].p);
        }
    }
    printf("calloc_aligned: steps=%ld zeroed_bytes=%llu checksum=%016llx\n", steps,
           (unsigned long long)zero_bytes, (unsigned long long)sum);
    return 0;
}
