/* check_frag.c - fragmentation: interleaved frees leave the heap usable,
 * freed buddies coalesce so that a large block can be served from where
 * small ones were, and freed memory goes back to the OS, also while the
 * program is idle (idle_purge). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

struct blk {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

#define CHUNK TU_MIB /* the block that coalescing has to rebuild */

static uintptr_t chunk_of(const void *p)
{
    return (uintptr_t)p & ~(uintptr_t)(CHUNK - 1);
}

static void blk_alloc(struct blk *b, size_t n, uint64_t seed)
{
    b->p = my_malloc(n);
    tu_check(b->p != NULL, "my_malloc(%zu) failed", n);
    b->size = my_malloc_usable_size(b->p);
    tu_check(b->size >= n, "my_malloc(%zu): usable %zu", n, b->size);
    b->seed = seed;
    tu_fill(b->p, b->size, seed);
}

static void blk_free(struct blk *b)
{
    tu_assert_pattern(b->p, b->size, b->seed);
    my_free(b->p);
    b->p = NULL;
}

/* Assert that the block [p, p + n) overlaps none of the live blocks. */
static void assert_no_overlap(const unsigned char *p, size_t n,
                              const struct blk *v, size_t nv)
{
    size_t i;

    for (i = 0; i < nv; i++)
        if (v[i].p != NULL)
            tu_check(p + n <= v[i].p || v[i].p + v[i].size <= p,
                     "new block %p overlaps live block %p", (const void *)p,
                     (const void *)v[i].p);
}

/* Mixed buddy blocks of 64 KiB .. 1 MiB with small blocks between them;
 * every other one is freed; a 1 MiB request still succeeds and the
 * survivors are intact.  After freeing everything the regions have fallen
 * free (all their pieces coalesced) and gone back to the OS, but for one
 * that may be kept, purged; 1 MiB blocks of the same total are served;
 * my_trim() leaves nothing more than that one region. */
START_TEST(test_interleaved_frees)
{
    enum { NBUDDY = 100, NSMALL_EACH = 20, N = NBUDDY * (NSMALL_EACH + 1) };
    static const size_t bsizes[] = {64 * TU_KIB, 128 * TU_KIB, 256 * TU_KIB,
                                    512 * TU_KIB, TU_MIB, 96 * TU_KIB};
    static struct blk v[N];
    static struct blk big[64];
    struct my_stats st0, st1, st2, st3;
    struct blk one;
    uint64_t rng = 3;
    size_t i, nv = 0, buddy_bytes = 0, nbig = 0;

    tu_stats(&st0);
    for (i = 0; i < NBUDDY; i++) {
        size_t k;

        blk_alloc(&v[nv], bsizes[i % 6], nv);
        buddy_bytes += v[nv].size;
        nv++;
        for (k = 0; k < NSMALL_EACH; k++, nv++)
            blk_alloc(&v[nv], tu_rand_range(&rng, 1, TU_SMALL_MAX), nv);
    }
    tu_stats(&st1);
    ck_assert_uint_ge(st1.regions, st0.regions + buddy_bytes / (4 * TU_MIB));
    for (i = 0; i < nv; i += 2)
        blk_free(&v[i]);

    /* The holes are no use to a 1 MiB request; it is served anyway. */
    one.p = NULL;
    blk_alloc(&one, TU_MIB, 999999);
    ck_assert_uint_eq(one.size, TU_MIB);
    assert_no_overlap(one.p, one.size, v, nv);
    for (i = 1; i < nv; i += 2)
        tu_assert_pattern(v[i].p, v[i].size, v[i].seed);
    blk_free(&one);

    for (i = 1; i < nv; i += 2)
        blk_free(&v[i]);
    /* The figures after freeing everything are asserted on last, so that
     * a failure there still lets the rest of the test run. */
    tu_stats(&st2);
    ck_assert_uint_eq(st2.bytes_allocated, st0.bytes_allocated);

    /* The same buddy total again, as 1 MiB blocks. */
    while (nbig * TU_MIB < buddy_bytes) {
        blk_alloc(&big[nbig], TU_MIB, nbig);
        ck_assert_uint_eq(big[nbig].size, TU_MIB);
        assert_no_overlap(big[nbig].p, TU_MIB, big, nbig);
        nbig++;
    }
    for (i = 0; i < nbig; i++)
        blk_free(&big[i]);

    /* my_trim() leaves at most the one kept region, purged. */
    ck_assert_int_eq(my_trim(), 0);
    tu_stats(&st3);
    ck_assert_msg(st3.regions <= st0.regions + 1 &&
                      st3.bytes_mapped <= st0.bytes_mapped + 4 * TU_MIB,
                  "after my_trim: %zu regions, %zu bytes mapped (before: "
                  "%zu, %zu)",
                  st3.regions, st3.bytes_mapped, st0.regions,
                  st0.bytes_mapped);

    /* Without my_trim, everything freed went back to the buddy systems at
     * once: no buddy block is live and the free buddy memory covers what
     * the workload had used.  (A heap keeps its last empty slab of each
     * class, so regions holding those wait for my_trim above; a pure
     * buddy workload is unmapped promptly, see test_mapped_falls.) */
    ck_assert_uint_eq(st2.bytes_buddy, st0.bytes_buddy);
    ck_assert_msg(st2.buddy_bytes_free >= st0.buddy_bytes_free + buddy_bytes / 2 ||
                      st2.regions < st1.regions,
                  "after freeing everything: %zu free buddy bytes, %zu regions "
                  "(before: %zu, %zu; at the peak: %zu regions)",
                  st2.buddy_bytes_free, st2.regions, st0.buddy_bytes_free,
                  st0.regions, st1.regions);
}
END_TEST

/* Blocks of the sizes in pattern[] (one period tiles 1 MiB), allocated
 * until at least one 1 MiB-aligned chunk holds nothing but ours.  Those
 * are freed in interleaved order while everything else stays live, so the
 * regions are not released; 1 MiB requests must then be served from such
 * a chunk, which only coalescing can rebuild. */
static void coalesce_case(const size_t *pattern, size_t plen, size_t total)
{
    enum { MAXB = 2048 };
    static struct blk v[MAXB];
    static struct blk big[256];
    static uintptr_t cand[64];
    size_t nv = 0, ncand = 0, nbig = 0, i, j, limit, hits = 0;
    struct my_stats st;

    while (total > 0) {
        size_t n = pattern[nv % plen];

        ck_assert_uint_lt(nv, MAXB);
        blk_alloc(&v[nv], n, nv);
        ck_assert_uint_eq(v[nv].size, n);
        total = total > n ? total - n : 0;
        nv++;
    }
    /* Chunks whose bytes are all in our blocks. */
    for (i = 0; i < nv && ncand < 64; i++) {
        uintptr_t c = chunk_of(v[i].p);
        size_t covered = 0;
        int dup = 0;

        for (j = 0; j < ncand; j++)
            dup |= cand[j] == c;
        if (dup)
            continue;
        for (j = 0; j < nv; j++)
            if (chunk_of(v[j].p) == c)
                covered += v[j].size;
        if (covered == CHUNK)
            cand[ncand++] = c;
    }
    ck_assert_msg(ncand > 0, "no 1 MiB chunk is tiled by our %zu blocks", nv);

    /* Free the candidates' blocks: first every other one, then the rest
     * (a freed block has p NULL, and chunk 0 is never a candidate). */
    for (j = 0; j < 2; j++) {
        size_t nth = 0;

        for (i = 0; i < nv; i++) {
            size_t k;
            int in = 0;

            for (k = 0; k < ncand; k++)
                in |= chunk_of(v[i].p) == cand[k];
            if (in && (j == 1 || nth++ % 2 == 0))
                blk_free(&v[i]);
        }
    }

    /* All free 1 MiB-capable memory in the regions held is at most
     * 4 MiB per region: past that many requests, every coalesced chunk
     * must have been handed out. */
    tu_stats(&st);
    limit = st.regions * 4 + 4;
    if (limit > 256)
        limit = 256;
    for (nbig = 0; nbig < limit && hits < ncand; nbig++) {
        blk_alloc(&big[nbig], TU_MIB, 100000 + nbig);
        ck_assert_uint_eq(big[nbig].size, TU_MIB);
        for (j = 0; j < ncand; j++)
            hits += (uintptr_t)big[nbig].p == cand[j];
    }
    ck_assert_msg(hits > 0,
                  "none of %zu fully freed 1 MiB chunks came back as a 1 MiB "
                  "block in %zu requests (%zu regions): no coalescing",
                  ncand, nbig, st.regions);
    for (i = 0; i < nv; i++)
        if (v[i].p != NULL)
            blk_free(&v[i]);
    for (i = 0; i < nbig; i++)
        blk_free(&big[i]);
}

START_TEST(test_coalesce_64k)
{
    static const size_t pattern[] = {64 * TU_KIB};

    coalesce_case(pattern, 1, 12 * TU_MIB);
}
END_TEST

START_TEST(test_coalesce_mixed_orders)
{
    /* One period sums to 1 MiB; in buddy order this tiles a chunk with
     * blocks of four different orders, so coalescing has to climb. */
    static const size_t pattern[] = {8 * TU_KIB,   8 * TU_KIB,   16 * TU_KIB,
                                     32 * TU_KIB,  64 * TU_KIB,  128 * TU_KIB,
                                     256 * TU_KIB, 512 * TU_KIB};

    coalesce_case(pattern, sizeof pattern / sizeof pattern[0], 12 * TU_MIB);
}
END_TEST

/* Slabs of small blocks go back to the buddy system when all their blocks
 * are free, and coalesce there: a chunk that held only slabs serves a 1 MiB
 * block afterwards.  64 KiB pins, never freed, keep the regions alive. */
START_TEST(test_coalesce_slabs)
{
    enum { NSMALL = 8000, NPIN = 16 };
    static struct blk s[NSMALL], pin[NPIN], big[256];
    static uintptr_t cand[64];
    static size_t count[64];
    size_t i, j, ncand = 0, npin = 0, nbig, limit, hits = 0;
    struct my_stats st;

    for (i = 0; i < NSMALL; i++) {
        if (i % (NSMALL / NPIN) == 0)
            blk_alloc(&pin[npin++], 64 * TU_KIB, 50000 + i);
        blk_alloc(&s[i], 2048, i);
    }
    /* Chunks that hold small blocks and no pin. */
    for (i = 0; i < NSMALL; i++) {
        uintptr_t c = chunk_of(s[i].p);
        int skip = 0;

        for (j = 0; j < npin; j++)
            skip |= chunk_of(pin[j].p) == c;
        for (j = 0; j < ncand && !skip; j++)
            if (cand[j] == c) {
                count[j]++;
                skip = 1;
            }
        if (!skip && ncand < 64) {
            count[ncand] = 1;
            cand[ncand++] = c;
        }
    }
    ck_assert_msg(ncand >= 2, "small blocks filled only %zu chunks", ncand);
    for (i = 0; i < NSMALL; i += 2)
        blk_free(&s[i]);
    for (i = 1; i < NSMALL; i += 2)
        blk_free(&s[i]);

    tu_stats(&st);
    limit = st.regions * 4 + 4;
    if (limit > 256)
        limit = 256;
    for (nbig = 0; nbig < limit && hits < ncand; nbig++) {
        blk_alloc(&big[nbig], TU_MIB, 70000 + nbig);
        for (j = 0; j < ncand; j++)
            hits += (uintptr_t)big[nbig].p == cand[j];
    }
    ck_assert_msg(hits > 0,
                  "none of %zu chunks that held only slabs came back as a "
                  "1 MiB block in %zu requests (%zu regions)",
                  ncand, nbig, st.regions);
    for (i = 0; i < nbig; i++)
        blk_free(&big[i]);
    for (i = 0; i < npin; i++)
        blk_free(&pin[i]);
}
END_TEST

/* External fragmentation shows holes, and stays within [0, 1]. */
START_TEST(test_frag_external)
{
    enum { N = 160 };
    static struct blk v[N];
    struct my_stats st;
    size_t i, freed = 0;

    for (i = 0; i < N; i++)
        blk_alloc(&v[i], 64 * TU_KIB, i);
    for (i = 0; i < N; i += 2) {
        freed += v[i].size;
        blk_free(&v[i]);
    }
    tu_stats(&st);
    ck_assert_msg(st.frag_external > 0.0 && st.frag_external <= 1.0,
                  "frag_external %g with %zu bytes in 64 KiB holes",
                  st.frag_external, freed);
    ck_assert_msg(st.buddy_bytes_free >= freed,
                  "buddy_bytes_free %zu < %zu freed", st.buddy_bytes_free,
                  freed);
    ck_assert_uint_le(st.buddy_largest_free, st.buddy_bytes_free);
    ck_assert(st.frag_internal >= 0.0 && st.frag_internal <= 1.0);
    for (i = 1; i < N; i += 2)
        blk_free(&v[i]);
    tu_stats(&st);
    ck_assert(st.frag_external >= 0.0 && st.frag_external <= 1.0);
    ck_assert_uint_le(st.buddy_largest_free, st.buddy_bytes_free);
}
END_TEST

/* bytes_mapped rises with use and falls when everything is freed, and
 * falls to about where it started after my_trim(). */
START_TEST(test_mapped_falls)
{
    enum { N = 256 };
    static struct blk v[N];
    struct my_stats st0, st1, st2, st3, st4;
    unsigned char *huge;
    size_t i;

    tu_stats(&st0);
    for (i = 0; i < N; i++)
        blk_alloc(&v[i], 256 * TU_KIB, i); /* 64 MiB, touched by the fill */
    tu_stats(&st1);
    ck_assert_msg(st1.bytes_mapped >= st0.bytes_mapped + 64 * TU_MIB,
                  "bytes_mapped %zu -> %zu with 64 MiB more live",
                  st0.bytes_mapped, st1.bytes_mapped);
    ck_assert_uint_ge(st1.peak_bytes_mapped, st1.bytes_mapped);
    for (i = 0; i < N; i += 2)
        blk_free(&v[i]);
    for (i = 1; i < N; i += 2)
        blk_free(&v[i]);
    tu_stats(&st2);
    ck_assert_msg(st2.bytes_mapped <= st1.bytes_mapped - 48 * TU_MIB,
                  "bytes_mapped %zu at the peak, %zu after freeing it all",
                  st1.bytes_mapped, st2.bytes_mapped);
    ck_assert_uint_ge(st2.peak_bytes_mapped, st1.bytes_mapped);
    ck_assert_int_eq(my_trim(), 0);
    tu_stats(&st3);
    ck_assert_uint_le(st3.bytes_mapped, st2.bytes_mapped);
    ck_assert_msg(st3.bytes_mapped <= st0.bytes_mapped + 8 * TU_MIB,
                  "bytes_mapped %zu after my_trim, %zu at the start",
                  st3.bytes_mapped, st0.bytes_mapped);
    ck_assert_uint_eq(st3.calls_trim, st2.calls_trim + 1);

    /* A huge block is unmapped as soon as it is freed. */
    huge = my_malloc(32 * TU_MIB);
    ck_assert_ptr_nonnull(huge);
    memset(huge, 1, 32 * TU_MIB);
    tu_stats(&st4);
    ck_assert_uint_ge(st4.bytes_mapped, st3.bytes_mapped + 32 * TU_MIB);
    my_free(huge);
    tu_stats(&st2);
    ck_assert_uint_le(st2.bytes_mapped, st4.bytes_mapped - 32 * TU_MIB);
}
END_TEST

/* The resident set falls after tens of MiB of touched buddy memory are
 * freed and trimmed. */
START_TEST(test_rss_falls)
{
    enum { N = 96 };
    static struct blk v[N];
    long rss0, rss1, rss2;
    size_t i;

    rss0 = tu_vmrss_kib();
    ck_assert_int_gt(rss0, 0);
    for (i = 0; i < N; i++)
        blk_alloc(&v[i], 512 * TU_KIB, i); /* 48 MiB, every page written */
    rss1 = tu_vmrss_kib();
    ck_assert_msg(rss1 >= rss0 + 40 * 1024,
                  "VmRSS %ld kB -> %ld kB after touching 48 MiB", rss0, rss1);
    for (i = 0; i < N; i++)
        blk_free(&v[i]);
    ck_assert_int_eq(my_trim(), 0);
    rss2 = tu_vmrss_kib();
    ck_assert_msg(rss2 <= rss1 - 32 * 1024,
                  "VmRSS %ld kB with 48 MiB live, %ld kB after freeing and "
                  "my_trim", rss1, rss2);
}
END_TEST

static bool page_resident(const void *p)
{
    unsigned char vec;

    tu_check(mincore((void *)((uintptr_t)p & ~(uintptr_t)(TU_PAGE - 1)), TU_PAGE, &vec) == 0,
             "mincore(%p) failed", p);
    return vec & 1;
}

/* With idle_purge set, free buddy blocks too small to be purged at once
 * (64 KiB, their buddies live) leave the resident set once the program
 * stops allocating, and bytes_mapped says so; without it they stay. */
START_TEST(test_idle_purge)
{
    enum { N = 16 };
    static struct blk v[N];
    struct my_stats st1, st2;
    int waited = 0;
    bool resident = true;

    for (size_t i = 0; i < N; i++)
        blk_alloc(&v[i], 64 * TU_KIB, i);
    for (size_t i = 0; i < N; i += 2) {
        unsigned char *p = v[i].p;
        blk_free(&v[i]);
        v[i].p = p; /* kept for mincore only */
    }
    tu_stats(&st1);
    usleep(100 * 1000);
    ck_assert_msg(page_resident(v[0].p) && page_resident(v[N - 2].p),
                  "freed 64 KiB blocks were purged without idle_purge");

    ck_assert_int_eq(my_option_set("idle_purge", "20"), 0);
    while (resident && waited < 3000) {
        usleep(20 * 1000);
        waited += 20;
        resident = false;
        for (size_t i = 0; i < N; i += 2)
            resident |= page_resident(v[i].p);
    }
    ck_assert_msg(!resident, "freed blocks still resident %d ms after idle_purge=20", waited);
    tu_stats(&st2);
    ck_assert_uint_le(st2.bytes_mapped, st1.bytes_mapped - (N / 2) * 64 * TU_KIB);
    ck_assert_int_eq(my_option_set("idle_purge", "0"), 0);
    for (size_t i = 1; i < N; i += 2)
        blk_free(&v[i]);
}
END_TEST

START_TEST(test_idle_purge_bad_values)
{
    static const char *const bad[] = { "", "x", "-1", "1.5", "3600001", "99999999" };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_int_eq(my_option_set("idle_purge", bad[i]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(my_option_set("idle_purge", "0"), 0);
}
END_TEST

static Suite *frag_suite(void)
{
    Suite *s = suite_create("frag");
    TCase *tc = tcase_create("frag");

    tcase_add_test(tc, test_interleaved_frees);
    tcase_add_test(tc, test_coalesce_64k);
    tcase_add_test(tc, test_coalesce_mixed_orders);
    tcase_add_test(tc, test_coalesce_slabs);
    tcase_add_test(tc, test_frag_external);
    tcase_add_test(tc, test_mapped_falls);
    tcase_add_test(tc, test_rss_falls);
    tcase_add_test(tc, test_idle_purge);
    tcase_add_test(tc, test_idle_purge_bad_values);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(frag_suite());
}
