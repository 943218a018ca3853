/* annotate.h - telling memory checkers which bytes are a caller's.
 *
 * Valgrind's memcheck (a build configured --with-valgrind) and
 * AddressSanitizer (a build with -fsanitize=address) only know the blocks
 * of an allocator they replace; these hooks describe ours, at the few
 * points where a block is handed out or taken back (fastpath.h, api.c,
 * huge.c) and where slab and region memory changes hands (region.c), for
 * the my_* calls and the preloaded malloc family alike.  In any other
 * build every hook is an empty inline function: the fast paths compile to
 * the same code.
 *
 * The states, for memcheck:
 *   - a block handed out is a "malloc-like" block of the size asked for;
 *     the rest of its usable size is inaccessible, so an overrun of one
 *     byte is reported, until my_malloc_usable_size (which allows the
 *     caller all of it) extends the block to its usable size;
 *   - free blocks, the never-used part of slabs and every free page of a
 *     region are inaccessible; the allocator opens a free block's first
 *     word only while it reads or writes the free-list link there;
 *   - metadata (region headers and page descriptors, slab headers, huge
 *     block headers) stays accessible.
 * For AddressSanitizer the same, except that a block is unpoisoned to its
 * whole usable size (callers may use it all), and metadata stays
 * unpoisoned.  Memory goes back to the OS unpoisoned (os_posix.c), so that
 * whoever maps those addresses next starts clean. */
#ifndef MYALLOC_ANNOTATE_H
#define MYALLOC_ANNOTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef HAVE_VALGRIND
#include <valgrind/memcheck.h>
#define ANNOTATE_VALGRIND 1
#else
#define ANNOTATE_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define ANNOTATE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANNOTATE_ASAN 1
#endif
#endif
#ifndef ANNOTATE_ASAN
#define ANNOTATE_ASAN 0
#endif
#if ANNOTATE_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* Whether any checker is described to: code that exists only to feed the
 * hooks (finding a block's current size) is compiled out without one. */
#define ANNOTATE_ANY (ANNOTATE_VALGRIND || ANNOTATE_ASAN)

#if ANNOTATE_VALGRIND
/* Memcheck's record of block p goes from old_size to new_size bytes.  It
 * refuses to resize to 0 bytes: such a block is made anew. */
static inline void valgrind_resize(const void *p, size_t old_size, size_t new_size)
{
    if (old_size == new_size)
        return;
    if (new_size == 0) {
        VALGRIND_FREELIKE_BLOCK(p, 0);
        VALGRIND_MALLOCLIKE_BLOCK(p, 0, 0, 0);
    } else {
        VALGRIND_RESIZEINPLACE_BLOCK(p, old_size, new_size, 0);
    }
}
#endif

/* Inaccessible: free memory the caller must not touch. */
static inline void annotate_noaccess(const void *p, size_t size)
{
#if ANNOTATE_VALGRIND
    VALGRIND_MAKE_MEM_NOACCESS(p, size);
#endif
#if ANNOTATE_ASAN
    ASAN_POISON_MEMORY_REGION(p, size);
#endif
    (void)p;
    (void)size;
}

/* Accessible, contents undefined: metadata about to be written. */
static inline void annotate_writable(const void *p, size_t size)
{
#if ANNOTATE_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(p, size);
#endif
#if ANNOTATE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, size);
#endif
    (void)p;
    (void)size;
}

/* p is handed to a caller who asked for size bytes of its usable ones;
 * zeroed when its bytes are known to be zero. */
static inline void annotate_block_handed_out(const void *p, size_t size, size_t usable,
                                             bool zeroed)
{
#if ANNOTATE_VALGRIND
    VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, zeroed);
    /* Free memory already is, except a huge block's fresh pages. */
    VALGRIND_MAKE_MEM_NOACCESS((const char *)p + size, usable - size);
#endif
#if ANNOTATE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, usable);
#endif
    (void)p;
    (void)size;
    (void)usable;
    (void)zeroed;
}

/* The caller's block p, of usable bytes, is free again. */
static inline void annotate_block_freed(const void *p, size_t usable)
{
#if ANNOTATE_VALGRIND
    VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
#if ANNOTATE_ASAN
    ASAN_POISON_MEMORY_REGION(p, usable);
#endif
    (void)p;
    (void)usable;
}

/* The size the checker gives block p now, usable at most: what the
 * caller asked for, or usable once my_malloc_usable_size allowed it all.
 * Memcheck keeps that size and this library does not: it is the length of
 * the block's accessible prefix, found by bisection with GET_VBITS, which
 * answers 3 for an inaccessible byte without reporting an error. */
static inline size_t annotate_block_size(const void *p, size_t usable)
{
#if ANNOTATE_VALGRIND
    if (RUNNING_ON_VALGRIND) {
        size_t accessible = 0, end = usable; /* the answer is in [accessible, end] */
        while (accessible < end) {
            size_t mid = accessible + (end - accessible) / 2;
            unsigned char vbits;
            if (VALGRIND_GET_VBITS((const char *)p + mid, &vbits, 1) == 3)
                end = mid;
            else
                accessible = mid + 1;
        }
        return accessible;
    }
#endif
    (void)p;
    return usable;
}

/* Block p, of old_size bytes for the checker and old_usable in all, now
 * holds new_size bytes of new_usable, in place.  A block that shrinks is
 * annotated before its tail goes back to the buddy system or the OS (so
 * that no other thread's annotation of those pages can come first); one
 * that grows, after it grew. */
static inline void annotate_block_resized(const void *p, size_t old_size, size_t new_size,
                                          size_t old_usable, size_t new_usable)
{
#if ANNOTATE_VALGRIND
    valgrind_resize(p, old_size, new_size);
    VALGRIND_MAKE_MEM_NOACCESS((const char *)p + new_size, new_usable - new_size);
#endif
#if ANNOTATE_ASAN
    if (new_usable < old_usable)
        ASAN_POISON_MEMORY_REGION((const char *)p + new_usable, old_usable - new_usable);
    ASAN_UNPOISON_MEMORY_REGION(p, new_usable);
#endif
    (void)p;
    (void)old_size;
    (void)new_size;
    (void)old_usable;
    (void)new_usable;
}

/* my_malloc_usable_size gave the caller all usable bytes of p. */
static inline void annotate_block_whole(const void *p, size_t usable)
{
#if ANNOTATE_VALGRIND
    valgrind_resize(p, annotate_block_size(p, usable), usable);
#endif
    (void)p;
    (void)usable;
}

/* A huge block moved by mremap from old to p, its first kept bytes
 * carried along (the checker's shadow moves with the pages).  Memcheck's
 * record of it is re-made at p; the bytes kept count as defined (their
 * exact state is not kept across the move). */
static inline void annotate_block_moved(const void *old, const void *p, size_t old_size,
                                        size_t new_size, size_t usable)
{
#if ANNOTATE_VALGRIND
    size_t kept = old_size < new_size ? old_size : new_size;
    VALGRIND_FREELIKE_BLOCK(old, 0);
    VALGRIND_MALLOCLIKE_BLOCK(p, kept, 0, 1);
    valgrind_resize(p, kept, new_size);
    VALGRIND_MAKE_MEM_NOACCESS((const char *)p + new_size, usable - new_size);
#endif
#if ANNOTATE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, usable);
#endif
    (void)old;
    (void)p;
    (void)old_size;
    (void)new_size;
    (void)usable;
}

/* calloc's block p is zero without having been written (fresh pages). */
static inline void annotate_block_zeroed(const void *p, size_t size)
{
#if ANNOTATE_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(p, size);
#endif
    (void)p;
    (void)size;
}

/* Pages given back to the OS: whoever maps them next finds them clean
 * (memcheck follows munmap itself; AddressSanitizer's shadow would keep
 * our poison). */
static inline void annotate_returned_to_os(const void *p, size_t size)
{
#if ANNOTATE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, size);
#endif
    (void)p;
    (void)size;
}

/* The allocator reads or writes the link word of free block b: open it,
 * then close it again. */
static inline void annotate_link_open(const void *b)
{
#if ANNOTATE_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(b, sizeof(uint64_t));
#endif
#if ANNOTATE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(b, sizeof(uint64_t));
#endif
    (void)b;
}

static inline void annotate_link_close(const void *b)
{
    annotate_noaccess(b, sizeof(uint64_t));
}

#endif /* MYALLOC_ANNOTATE_H */
