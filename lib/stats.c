/* stats.c - statistics: what is held from the OS, what is handed out,
 * what the calls were, and how fragmented the heap is.
 *
 * Nothing here is on a fast path: the figures are summed from per-heap
 * counters (written by their owners without atomics) and per-arena
 * counters (under the arena locks) when someone asks. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "internal.h"

static _Atomic size_t bytes_mapped;
static _Atomic size_t peak_bytes_mapped;

void myalloc__stats_mapped(size_t add, size_t sub)
{
    if (add != 0) {
        size_t now = atomic_fetch_add(&bytes_mapped, add) + add;
        size_t peak = atomic_load(&peak_bytes_mapped);
        while (now > peak && !atomic_compare_exchange_weak(&peak_bytes_mapped, &peak, now))
            ;
    }
    if (sub != 0)
        atomic_fetch_sub(&bytes_mapped, sub);
}

static void stats_collect(struct my_stats *st)
{
    static struct heap_counters zero;
    struct heap_counters c = zero;
    uint64_t rounded_small = 0;

    memset(st, 0, sizeof *st);
    st->nclasses = SIZE_CLASSES;
    st->norders = BUDDY_ORDERS;
    for (unsigned o = 0; o < BUDDY_ORDERS; o++)
        st->orders[o].block_size = PAGE_SIZE << o;

    if (myalloc__init() == 0) {
        myalloc__heaps_sum_counters(&c);
        for (unsigned i = 0; i < myalloc__narenas; i++)
            myalloc__arena_add_stats(&myalloc__arenas[i], st);
        myalloc__huge_add_stats(st);
    }

    for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
        struct my_stats_class *k = &st->classes[cls];
        uint64_t allocs = counter_get(&c.class_allocs[cls]);
        uint64_t frees = counter_get(&c.class_frees[cls]);
        uint64_t capacity = counter_get(&c.class_capacity[cls]);

        k->block_size = myalloc__class_sizes[cls];
        k->allocs = allocs;
        /* Counters of different heaps are read at different moments. */
        k->blocks_live = allocs > frees ? (size_t)(allocs - frees) : 0;
        k->slabs = (size_t)counter_get(&c.class_slabs[cls]);
        k->slab_bytes = k->slabs * (PAGE_SIZE << myalloc__slab_order(cls));
        st->bytes_small += k->blocks_live * k->block_size;
        if (capacity > k->blocks_live)
            st->slab_bytes_free += (size_t)(capacity - k->blocks_live) * k->block_size;
        rounded_small += allocs * k->block_size;
    }

    st->bytes_allocated = st->bytes_small + st->bytes_buddy + st->bytes_huge;
    st->bytes_mapped = atomic_load(&bytes_mapped);
    st->peak_bytes_mapped = atomic_load(&peak_bytes_mapped);
    if (st->peak_bytes_mapped < st->bytes_mapped)
        st->peak_bytes_mapped = st->bytes_mapped;

    /* The fast paths' calls, derived (see struct heap_counters). */
    uint64_t small_allocs = 0, small_frees = 0;
    for (unsigned cls = 0; cls < SIZE_CLASSES; cls++) {
        small_allocs += counter_get(&c.class_allocs[cls]);
        small_frees += counter_get(&c.class_frees[cls]);
    }
    uint64_t allocs_slow = counter_get(&c.small_allocs_slow);
    uint64_t frees_slow = counter_get(&c.small_frees_slow);
    /* Another thread's counters may move between two reads. */
    st->calls_malloc = counter_get(&c.calls_malloc) +
                       (small_allocs > allocs_slow ? small_allocs - allocs_slow : 0);
    st->calls_calloc = counter_get(&c.calls_calloc);
    st->calls_realloc = counter_get(&c.calls_realloc);
    st->calls_aligned = counter_get(&c.calls_aligned);
    st->calls_free = counter_get(&c.calls_free) +
                     (small_frees > frees_slow ? small_frees - frees_slow : 0);
    st->calls_trim = counter_get(&c.calls_trim);

    st->bytes_requested_total = counter_get(&c.bytes_requested);
    st->bytes_rounded_total = rounded_small + counter_get(&c.bytes_rounded_big);
    if (st->bytes_requested_total > st->bytes_rounded_total)
        st->bytes_requested_total = st->bytes_rounded_total; /* torn read */
    st->frag_internal = st->bytes_rounded_total == 0
        ? 0.0 : 1.0 - (double)st->bytes_requested_total / (double)st->bytes_rounded_total;
    st->frag_external = st->buddy_bytes_free == 0
        ? 0.0 : 1.0 - (double)st->buddy_largest_free / (double)st->buddy_bytes_free;
}

int my_stats_get(struct my_stats *st, size_t st_size)
{
    struct my_stats all;

    if (st == NULL) {
        errno = EINVAL;
        return -1;
    }
    stats_collect(&all);
    memcpy(st, &all, st_size < sizeof all ? st_size : sizeof all);
    return 0;
}

static double percent(double fraction)
{
    return 100.0 * fraction;
}

int my_stats_print(FILE *out)
{
    struct my_stats st;

    if (out == NULL) {
        errno = EINVAL;
        return -1;
    }
    stats_collect(&st);
    fprintf(out, "libmyalloc %s statistics\n", MYALLOC_VERSION_STRING);
    fprintf(out, "memory:\n");
    fprintf(out, "  allocated      %12zu bytes (small %zu, buddy %zu, huge %zu)\n",
            st.bytes_allocated, st.bytes_small, st.bytes_buddy, st.bytes_huge);
    fprintf(out, "  mapped         %12zu bytes held from the OS\n", st.bytes_mapped);
    fprintf(out, "  peak mapped    %12zu bytes\n", st.peak_bytes_mapped);
    fprintf(out, "  regions        %12zu (%zu bytes each), huge blocks %zu\n",
            st.regions, (size_t)REGION_SIZE, st.huge_blocks);
    fprintf(out, "calls:\n");
    fprintf(out, "  malloc %" PRIu64 ", calloc %" PRIu64 ", realloc %" PRIu64
                 ", aligned %" PRIu64 ", free %" PRIu64 ", trim %" PRIu64 "\n",
            st.calls_malloc, st.calls_calloc, st.calls_realloc, st.calls_aligned,
            st.calls_free, st.calls_trim);
    fprintf(out, "fragmentation:\n");
    fprintf(out, "  internal       %11.2f%% (%" PRIu64 " bytes requested, %" PRIu64
                 " handed out, since start)\n",
            percent(st.frag_internal), st.bytes_requested_total, st.bytes_rounded_total);
    fprintf(out, "  external       %11.2f%% (largest free buddy block %zu of %zu free bytes)\n",
            percent(st.frag_external), st.buddy_largest_free, st.buddy_bytes_free);
    fprintf(out, "  slab free      %12zu bytes of unused blocks in slabs\n", st.slab_bytes_free);
    fprintf(out, "size classes (used ones):\n");
    fprintf(out, "  %5s %6s %12s %14s %8s %12s\n", "class", "size", "live", "allocs", "slabs",
            "slab bytes");
    for (unsigned i = 0; i < st.nclasses; i++) {
        const struct my_stats_class *k = &st.classes[i];
        if (k->allocs == 0 && k->slabs == 0)
            continue;
        fprintf(out, "  %5u %6zu %12zu %14" PRIu64 " %8zu %12zu\n", i, k->block_size,
                k->blocks_live, k->allocs, k->slabs, k->slab_bytes);
    }
    fprintf(out, "buddy orders:\n");
    fprintf(out, "  %5s %9s %10s %10s %10s\n", "order", "size", "free", "used", "slabs");
    for (unsigned o = 0; o < st.norders; o++) {
        const struct my_stats_order *k = &st.orders[o];
        fprintf(out, "  %5u %9zu %10zu %10zu %10zu\n", o, k->block_size, k->blocks_free,
                k->blocks_used, k->blocks_slab);
    }
    if (fflush(out) != 0 || ferror(out))
        return -1;
    return 0;
}

/* A fraction in [0, 1] with six decimals, whatever LC_NUMERIC says. */
static void json_fraction(FILE *out, const char *name, double v)
{
    unsigned long micro = (unsigned long)(v * 1e6 + 0.5);
    fprintf(out, ", \"%s\": %lu.%06lu", name, micro / 1000000, micro % 1000000);
}

/* One JSON object; every number is an integer but the two fractions. */
int my_stats_print_json(FILE *out)
{
    struct my_stats st;

    if (out == NULL) {
        errno = EINVAL;
        return -1;
    }
    stats_collect(&st);
    fprintf(out, "{\"version\": \"%s\"", MYALLOC_VERSION_STRING);
#define JSON_SIZE(field) fprintf(out, ", \"" #field "\": %zu", st.field)
#define JSON_U64(field) fprintf(out, ", \"" #field "\": %" PRIu64, st.field)
#define JSON_FRACTION(field) json_fraction(out, #field, st.field)
    JSON_SIZE(bytes_allocated);
    JSON_SIZE(bytes_small);
    JSON_SIZE(bytes_buddy);
    JSON_SIZE(bytes_huge);
    JSON_SIZE(bytes_mapped);
    JSON_SIZE(peak_bytes_mapped);
    JSON_SIZE(regions);
    JSON_SIZE(huge_blocks);
    JSON_U64(calls_malloc);
    JSON_U64(calls_calloc);
    JSON_U64(calls_realloc);
    JSON_U64(calls_aligned);
    JSON_U64(calls_free);
    JSON_U64(calls_trim);
    JSON_U64(bytes_requested_total);
    JSON_U64(bytes_rounded_total);
    JSON_FRACTION(frag_internal);
    JSON_SIZE(buddy_bytes_free);
    JSON_SIZE(buddy_largest_free);
    JSON_FRACTION(frag_external);
    JSON_SIZE(slab_bytes_free);
#undef JSON_SIZE
#undef JSON_U64
#undef JSON_FRACTION
    fprintf(out, ", \"nclasses\": %u, \"norders\": %u, \"classes\": [", st.nclasses, st.norders);
    for (unsigned i = 0; i < st.nclasses; i++) {
        const struct my_stats_class *k = &st.classes[i];
        fprintf(out,
                "%s{\"class\": %u, \"block_size\": %zu, \"blocks_live\": %zu, \"slabs\": %zu, "
                "\"slab_bytes\": %zu, \"allocs\": %" PRIu64 "}",
                i == 0 ? "" : ", ", i, k->block_size, k->blocks_live, k->slabs, k->slab_bytes,
                k->allocs);
    }
    fprintf(out, "], \"orders\": [");
    for (unsigned o = 0; o < st.norders; o++) {
        const struct my_stats_order *k = &st.orders[o];
        fprintf(out,
                "%s{\"order\": %u, \"block_size\": %zu, \"blocks_free\": %zu, "
                "\"blocks_used\": %zu, \"blocks_slab\": %zu}",
                o == 0 ? "" : ", ", o, k->block_size, k->blocks_free, k->blocks_used,
                k->blocks_slab);
    }
    fprintf(out, "]}\n");
    if (fflush(out) != 0 || ferror(out))
        return -1;
    return 0;
}
