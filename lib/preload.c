/* preload.c - the malloc family, for libmyalloc-preload.so only.
 *
 * Preloaded (or linked before the C library), these definitions replace
 * the C library's allocator in the whole process: the program, the C
 * library's own allocations (strdup, getline, stdio buffers), the dynamic
 * loader's after start-up, and C++'s operator new, which calls malloc.
 * Every entry point a glibc program may reach is defined here, so that no
 * block ever travels between two allocators.  Semantics are glibc's where
 * they differ from the my_* calls: realloc(p, 0) frees p and returns NULL,
 * memalign takes any alignment.  This file is not part of libmyalloc.so,
 * which exports only my_*. */
#include "config.h"

#define _GNU_SOURCE 1
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath.h"
#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

/* Names no current header declares. */
void cfree(void *ptr);
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
void *__libc_malloc(size_t size);
void __libc_free(void *ptr);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void *__libc_memalign(size_t alignment, size_t size);

EXPORT void *malloc(size_t size)
{
    return entry_malloc(size);
}

EXPORT void free(void *ptr)
{
    entry_free(ptr, "free");
}

EXPORT void free_sized(void *ptr, size_t size)
{
    myalloc__free_sized(ptr, 0, size, "free_sized");
}

EXPORT void free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
    myalloc__free_sized(ptr, alignment, size, "free_aligned_sized");
}

EXPORT void cfree(void *ptr)
{
    entry_free(ptr, "cfree");
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
    return my_calloc(nmemb, size);
}

EXPORT void *realloc(void *ptr, size_t size)
{
    if (ptr != NULL && size == 0) {
        entry_free(ptr, "realloc");
        return NULL;
    }
    return myalloc__realloc(ptr, size, "realloc");
}

EXPORT void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, total);
}

EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
    return my_posix_memalign(memptr, alignment, size);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    return my_aligned_alloc(alignment, size);
}

/* glibc rounds an alignment that is not a power of two up to one. */
EXPORT void *memalign(size_t alignment, size_t size)
{
    if (alignment <= MIN_ALIGN)
        return my_malloc(size);
    if (!is_pow2(alignment)) {
        if (alignment > REQUEST_MAX) {
            errno = EINVAL;
            return NULL;
        }
        alignment = (size_t)1 << (64 - __builtin_clzll((unsigned long long)alignment));
    }
    return myalloc__alloc_aligned(alignment, size);
}

EXPORT void *valloc(size_t size)
{
    return myalloc__alloc_aligned(PAGE_SIZE, size);
}

EXPORT void *pvalloc(size_t size)
{
    if (size > REQUEST_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    return myalloc__alloc_aligned(PAGE_SIZE, align_up(size == 0 ? 1 : size, PAGE_SIZE));
}

EXPORT size_t malloc_usable_size(void *ptr)
{
    return myalloc__usable_size(ptr, "malloc_usable_size");
}

/* Returns 1 when memory went back to the OS.  pad is ignored: every free
 * page is given back. */
EXPORT int malloc_trim(size_t pad)
{
    struct my_stats before, after;

    (void)pad;
    my_stats_get(&before, sizeof before);
    my_trim();
    my_stats_get(&after, sizeof after);
    return after.bytes_mapped < before.bytes_mapped;
}

/* glibc's figures, answered from ours: arena is what is held from the OS,
 * ordblks the free buddy blocks, hblks/hblkhd the huge blocks. */
EXPORT struct mallinfo2 mallinfo2(void)
{
    struct mallinfo2 mi;
    struct my_stats st;

    memset(&mi, 0, sizeof mi);
    my_stats_get(&st, sizeof st);
    mi.arena = st.bytes_mapped;
    for (unsigned o = 0; o < st.norders; o++)
        mi.ordblks += st.orders[o].blocks_free;
    mi.hblks = st.huge_blocks;
    mi.hblkhd = st.bytes_huge;
    mi.uordblks = st.bytes_allocated;
    mi.fordblks = st.buddy_bytes_free + st.slab_bytes_free;
    return mi;
}

static int clamp_int(size_t v)
{
    return v > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)v;
}

EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi;

    memset(&mi, 0, sizeof mi);
    mi.arena = clamp_int(m2.arena);
    mi.ordblks = clamp_int(m2.ordblks);
    mi.hblks = clamp_int(m2.hblks);
    mi.hblkhd = clamp_int(m2.hblkhd);
    mi.uordblks = clamp_int(m2.uordblks);
    mi.fordblks = clamp_int(m2.fordblks);
    return mi;
}

EXPORT void malloc_stats(void)
{
    my_stats_print(stderr);
}

/* No glibc tuning parameter applies; 0 says so, as glibc does for an
 * unknown one. */
EXPORT int mallopt(int param, int value)
{
    (void)param;
    (void)value;
    return 0;
}

EXPORT int malloc_info(int options, FILE *out)
{
    struct my_stats st;

    if (options != 0 || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    my_stats_get(&st, sizeof st);
    fprintf(out, "<malloc version=\"libmyalloc-%s\">\n", MYALLOC_VERSION_STRING);
    fprintf(out, "<total type=\"allocated\" size=\"%zu\"/>\n", st.bytes_allocated);
    fprintf(out, "<total type=\"mapped\" size=\"%zu\"/>\n", st.bytes_mapped);
    fprintf(out, "<total type=\"peak-mapped\" size=\"%zu\"/>\n", st.peak_bytes_mapped);
    fprintf(out, "<total type=\"huge\" count=\"%zu\" size=\"%zu\"/>\n", st.huge_blocks,
            st.bytes_huge);
    fprintf(out, "<total type=\"buddy-free\" size=\"%zu\"/>\n", st.buddy_bytes_free);
    fprintf(out, "</malloc>\n");
    return ferror(out) ? -1 : 0;
}

/* The names glibc's own code and some programs use to reach "the real"
 * allocator: they must reach this one too. */
EXPORT void *__libc_malloc(size_t size)
{
    return my_malloc(size);
}

EXPORT void __libc_free(void *ptr)
{
    entry_free(ptr, "free");
}

EXPORT void *__libc_calloc(size_t nmemb, size_t size)
{
    return my_calloc(nmemb, size);
}

EXPORT void *__libc_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size);
}

EXPORT void *__libc_memalign(size_t alignment, size_t size)
{
    return memalign(alignment, size);
}
