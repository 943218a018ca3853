/* common.h - what the benchmark workloads share: a seeded random generator,
 * size distributions, the pattern each workload writes into its blocks and
 * checks before freeing them, and the failure report.
 *
 * Header-only, so that each workload stays one file built with
 * `cc -O2 -pthread workload.c` and linked to nothing but the C library.
 * The workloads call only malloc, free, calloc, realloc, posix_memalign and
 * aligned_alloc: the allocator under test comes in through LD_PRELOAD.
 *
 * The pattern.  A block of n bytes with tag t holds the 64-bit word
 * pat_word(t, off) at off = 0, s, 2s, ... (while a whole word fits), where
 * the stride s = n / 16 clamped to [64, 4096]; the bytes after the last word,
 * up to n (at most 8 of them), hold the low byte of pat_word(t, i).  So a
 * small block is checked every 64 bytes, a large one on each of its pages,
 * and every byte up to the end is covered, which catches blocks that overlap
 * or are too short.  The tag is derived from a serial number, never from an
 * address, so the checksums a workload prints are the same under every
 * allocator. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The workload's name, for its messages; each main() sets it first. */
static const char *bench_name = "workload";

/* Reports a failure on stderr and exits with status 1.  A broken allocator
 * may have corrupted the heap that stdio uses: a crash here still ends the
 * run with a non-zero status, which is all the runner needs. */
static void bench_fail(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void bench_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: FAILED: ", bench_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---------------------------------------------------------- randomness -- */

/* splitmix64: a tiny generator with a full period whose every output is
 * well mixed; one per thread, seeded with a fixed constant. */
struct rng {
    uint64_t s;
};

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rng_next(struct rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix64(r->s);
}

/* Uniform in [0, n), without a division. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Roughly log-uniform in [2^lo_bits, 2^hi_bits): a power of two chosen
 * uniformly, then a uniform offset below it.  No libm needed. */
static inline size_t rng_log_size(struct rng *r, unsigned lo_bits, unsigned hi_bits)
{
    unsigned k = lo_bits + (unsigned)rng_below(r, hi_bits - lo_bits);
    size_t base = (size_t)1 << k;
    return base + (size_t)rng_below(r, base);
}

/* The small-object sizes of the churn workloads: 8 .. 511 bytes. */
static inline size_t rng_small_size(struct rng *r)
{
    return rng_log_size(r, 3, 9);
}

/* A tag for object number `serial` of stream `stream` (a thread, say). */
static inline uint64_t make_tag(uint64_t stream, uint64_t serial)
{
    return mix64((stream << 48) ^ serial ^ 0x5bd1e9955bd1e995ULL);
}

/* ------------------------------------------------------------- pattern -- */

static inline uint64_t pat_word(uint64_t tag, size_t off)
{
    uint64_t x = tag ^ ((uint64_t)off * 0x9e3779b97f4a7c15ULL);

    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 32);
}

static inline size_t pat_stride(size_t n)
{
    size_t s = n / 16;

    if (s < 64)
        s = 64;
    if (s > 4096)
        s = 4096;
    return s & ~(size_t)7;
}

/* Writes the pattern of `tag` into the n bytes at p. */
static inline void pat_fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    size_t stride = pat_stride(n), off, end = 0;

    for (off = 0; n >= 8 && off <= n - 8; off += stride) {
        uint64_t w = pat_word(tag, off);
        memcpy(b + off, &w, 8);
        end = off + 8;
    }
    if (n >= 8 && end < n - 8)
        end = n - 8;
    for (off = end; off < n; off++)
        b[off] = (unsigned char)pat_word(tag, off);
}

/* Checks the pattern of `tag` in the n bytes at p; on a mismatch, reports
 * what was found where and exits.  Returns a value derived from the tag
 * for the caller's checksum. */
static inline uint64_t pat_check(const void *p, size_t n, uint64_t tag, const char *what)
{
    const unsigned char *b = p;
    size_t stride = pat_stride(n), off, end = 0;

    for (off = 0; n >= 8 && off <= n - 8; off += stride) {
        uint64_t w, want = pat_word(tag, off);
        memcpy(&w, b + off, 8);
        if (w != want)
            bench_fail("%s: block %p of %zu bytes: word at offset %zu is %016llx, "
                       "expected %016llx", what, p, n, off,
                       (unsigned long long)w, (unsigned long long)want);
        end = off + 8;
    }
    if (n >= 8 && end < n - 8)
        end = n - 8;
    for (off = end; off < n; off++) {
        unsigned char want = (unsigned char)pat_word(tag, off);
        if (b[off] != want)
            bench_fail("%s: block %p of %zu bytes: byte at offset %zu is %02x, "
                       "expected %02x", what, p, n, off, b[off], want);
    }
    return pat_word(tag, n);
}

/* ------------------------------------------------------------ wrappers -- */

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL)
        bench_fail("malloc(%zu) returned NULL (errno %d)", n, errno);
    return p;
}

/* ---------------------------------------------------------- the runner -- */

/* The optional first argument scales the amount of work (default 1.0);
 * the runner's --quick passes a small one. */
static inline double bench_scale(int argc, char **argv)
{
    double s = 1.0;

    if (argc > 1) {
        char *end;
        s = strtod(argv[1], &end);
        if (*end != '\0' || !(s > 0.0) || s > 1000.0) {
            fprintf(stderr, "usage: %s [SCALE]   (SCALE > 0, default 1)\n", argv[0]);
            exit(2);
        }
    }
    return s;
}

static inline long scaled(long n, double scale)
{
    double v = (double)n * scale;

    return v < 1.0 ? 1 : (long)v;
}

/* A field of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1. */
static inline long proc_status_kb(const char *field)
{
    char line[256];
    size_t len = strlen(field);
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kb = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

#endif /* BENCH_COMMON_H */
