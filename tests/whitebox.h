/* whitebox.h - what the white-box suites (those linking the core) need to
 * reach the allocator's metadata from a block, as the library does:
 * chunk by masking, page descriptor, slab header, a free block's link. */
#ifndef MYALLOC_WHITEBOX_H
#define MYALLOC_WHITEBOX_H

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* The region holding block p (which never starts a region). */
static inline struct region *region_of(const void *p)
{
    return (struct region *)(((uintptr_t)p - 1) & ~(uintptr_t)REGION_MASK);
}

static inline unsigned page_of(const void *p)
{
    return (unsigned)(((uintptr_t)p - (uintptr_t)region_of(p)) >> PAGE_SHIFT);
}

static inline void *page_at(struct region *r, unsigned page)
{
    return (char *)r + ((size_t)page << PAGE_SHIFT);
}

/* The slab of small block p. */
static inline struct slab *slab_of(const void *p)
{
    struct region *r = region_of(p);
    const struct page_desc *d = &r->pages[page_of(p)];

    ck_assert_uint_eq(d->kind, PAGE_SLAB);
    return page_at(r, d->link.head);
}

/* The first word of free block b, read and written as the allocator does:
 * memory checkers (annotate.h) keep it closed otherwise. */
static inline uint64_t word_get(const void *b)
{
    uint64_t w;

    annotate_link_open(b);
    memcpy(&w, b, sizeof w);
    annotate_link_close(b);
    return w;
}

static inline void word_put(void *b, uint64_t w)
{
    annotate_link_open(b);
    memcpy(b, &w, sizeof w);
    annotate_link_close(b);
}

static void *whitebox_free(void *p)
{
    my_free(p);
    return NULL;
}

/* Frees p from a thread of its own, which takes the remote path: p goes
 * onto its slab's remote list (xfree), linked, until the owner collects. */
static inline void free_remotely(void *p)
{
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, whitebox_free, p), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

#endif /* MYALLOC_WHITEBOX_H */
