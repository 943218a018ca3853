/* check_heapcheck.c - white-box tests of my_heap_check: a heap in use is
 * consistent, and each kind of damage to the metadata (a slab's lists and
 * counts, a page descriptor, a region's and an arena's counts, a heap's
 * list, a huge block's header) is found and named, with the address of the
 * damaged structure, in the one line written to stderr.  Each test repairs
 * what it broke: every test ends with my_heap_check() (testutil.h). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"
#include "whitebox.h"

/* my_heap_check() with stderr in a pipe: its result, and what it wrote in
 * out (NUL-terminated). */
static int heap_check_captured(char *out, size_t size)
{
    int fds[2], saved, rc;
    ssize_t n;

    ck_assert_int_eq(pipe(fds), 0);
    saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fds[1], STDERR_FILENO), 0);
    close(fds[1]);
    rc = my_heap_check();
    ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
    close(saved);
    n = read(fds[0], out, size - 1); /* every write end is closed now */
    close(fds[0]);
    out[n > 0 ? n : 0] = '\0';
    return rc;
}

/* my_heap_check() fails with exactly this line. */
static void expect_report(const char *structure, const void *where, const char *problem)
{
    char want[600], got[600];

    snprintf(want, sizeof want, "myalloc: my_heap_check: %s %p: %s\n", structure, where,
             problem);
    ck_assert_int_eq(heap_check_captured(got, sizeof got), -1);
    ck_assert_str_eq(got, want);
}

static void expect_clean(void)
{
    char got[600];

    ck_assert_int_eq(heap_check_captured(got, sizeof got), 0);
    ck_assert_str_eq(got, "");
}

/* --------------------------------------------------------- consistent -- */
static void *thread_alloc_and_exit(void *arg)
{
    void **blocks = arg;

    for (unsigned i = 0; i < 8; i++)
        blocks[i] = my_malloc(200);
    return NULL;
}

/* A heap with every kind of block, remote frees waiting to be collected,
 * an exited thread's slabs, and huge blocks live and cached, is
 * consistent; errno is left alone. */
START_TEST(test_consistent_heap)
{
    enum { N = 2000 };
    static void *blocks[N];
    void *orphans[8];
    uint64_t seed = 42;
    pthread_t t;

    errno = 0;
    ck_assert_int_eq(my_heap_check(), 0); /* before any allocation */
    for (unsigned i = 0; i < N; i++) {
        blocks[i] = my_malloc(tu_rand_size(&seed, 10, 5, 3 * TU_MIB));
        ck_assert_ptr_nonnull(blocks[i]);
    }
    for (unsigned i = 0; i < N; i += 3) {
        my_free(blocks[i]);
        blocks[i] = NULL;
    }
    blocks[1] = my_realloc(blocks[1], 5000);
    ck_assert_ptr_nonnull(blocks[1]);
    ck_assert_int_eq(my_posix_memalign(&blocks[0], 8 * TU_MIB, 2 * TU_MIB), 0);
    free_remotely(blocks[2]);
    blocks[2] = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, thread_alloc_and_exit, orphans), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    my_free(my_malloc(3 * TU_MIB)); /* into the huge cache */
    errno = 12345;
    expect_clean();
    ck_assert_int_eq(errno, 12345);
    for (unsigned i = 0; i < 8; i++)
        my_free(orphans[i]);
    for (unsigned i = 0; i < N; i++)
        my_free(blocks[i]);
    ck_assert_int_eq(my_trim(), 0);
    expect_clean();
}
END_TEST

/* ------------------------------------------------------------- slabs -- */
/* A remote list whose last link is made to point back to its first. */
START_TEST(test_remote_free_list_cycle)
{
    void *hold = my_malloc(64), *p = my_malloc(64), *q = my_malloc(64);
    struct slab *s = slab_of(p);
    uint64_t saved;

    free_remotely(p);
    free_remotely(q);
    ck_assert_uint_eq(atomic_load(&s->xfree), (uintptr_t)q); /* xfree: q, p */
    saved = word_get(p);
    slab_link_set(p, q);
    expect_report("slab", s, "remote free list has a cycle");
    word_put(p, saved);
    my_free(hold);
}
END_TEST

START_TEST(test_in_use_wrong)
{
    void *p = my_malloc(80);
    struct slab *s = slab_of(p);

    s->in_use++;
    expect_report("slab", s, "in_use disagrees with the live bitmap");
    s->in_use -= 2;
    expect_report("slab", s, "in_use disagrees with the live bitmap");
    s->in_use++;
    my_free(p);
}
END_TEST

/* not_full must say which bitmap words have a free block. */
START_TEST(test_not_full_wrong)
{
    void *p = my_malloc(96);
    struct slab *s = slab_of(p);
    uint32_t word = slab_index_of(s, p) / 64;

    ck_assert(s->not_full & ((uint64_t)1 << word));
    s->not_full ^= (uint64_t)1 << word;
    expect_report("slab", s, "not_full disagrees with the live bitmap");
    s->not_full ^= (uint64_t)1 << word;
    my_free(p);
}
END_TEST

START_TEST(test_geometry_wrong)
{
    void *p = my_malloc(112);
    struct slab *s = slab_of(p);

    s->block_size += 16;
    expect_report("slab", s, "block size disagrees with its size class");
    s->block_size -= 16;
    s->capacity--;
    expect_report("slab", s, "block area disagrees with its class layout");
    s->capacity++;
    s->link_mask ^= (uintptr_t)1 << 20;
    expect_report("slab", s, "link mask disagrees with its order");
    s->link_mask ^= (uintptr_t)1 << 20;
    my_free(p);
}
END_TEST

/* A remote free waits on xfree, counted as in use until collected. */
START_TEST(test_remote_free_list)
{
    void *hold = my_malloc(144), *p = my_malloc(144);
    struct slab *s = slab_of(p);
    uintptr_t saved;

    free_remotely(p);
    saved = atomic_load(&s->xfree);
    ck_assert_uint_eq(saved, (uintptr_t)p);
    expect_clean();
    atomic_store(&s->xfree, (uintptr_t)p + 8);
    expect_report("slab", s, "remote free list points outside the slab's blocks");
    /* Far away, where a 32-bit offset would alias a block. */
    atomic_store(&s->xfree, (uintptr_t)p + ((uintptr_t)1 << 32));
    expect_report("slab", s, "remote free list points outside the slab's blocks");
    atomic_store(&s->xfree, saved);
    word_put(p, word_get(p) ^ 1); /* the last link: NULL, encoded */
    expect_report("slab", s, "remote free list holds a link that does not decode");
    word_put(p, word_get(p) ^ 1);
    my_free(hold);
}
END_TEST

/* The bits past the last block read as handed out, so that no block
 * beyond the slab is ever taken. */
START_TEST(test_bit_past_capacity_clear)
{
    void *p = my_malloc(208);
    struct slab *s = slab_of(p);
    uint32_t last = s->capacity - 1;

    ck_assert_uint_ne(s->capacity % 64, 0);
    ck_assert(slab_block_live(s, last + 1));
    slab_block_set_live(s, last + 1, false);
    expect_report("slab", s, "a bit past the last block is clear");
    slab_block_set_live(s, last + 1, true);
    my_free(p);
}
END_TEST

START_TEST(test_slab_list_back_link)
{
    void *p = my_malloc(160);
    struct slab *s = slab_of(p);

    ck_assert_ptr_eq(myalloc__tls_heap->avail[s->cls], s);
    s->prev = s;
    expect_report("slab", s, "slab list back link broken");
    s->prev = NULL;
    my_free(p);
}
END_TEST

/* ------------------------------------------------ other threads' slabs -- */
struct parked {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void *block;
    bool go;
};

static void *thread_alloc_and_wait(void *arg)
{
    struct parked *w = arg;

    pthread_mutex_lock(&w->lock);
    w->block = my_malloc(176);
    pthread_cond_broadcast(&w->cond);
    while (!w->go)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    my_free(w->block);
    return NULL;
}

/* The geometry of a running thread's slab is checked; its counts are not
 * read (its owner changes them without a lock). */
START_TEST(test_running_thread_slab)
{
    struct parked w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false };
    pthread_t t;
    struct slab *s;

    ck_assert_int_eq(pthread_create(&t, NULL, thread_alloc_and_wait, &w), 0);
    pthread_mutex_lock(&w.lock);
    while (w.block == NULL)
        pthread_cond_wait(&w.cond, &w.lock);
    s = slab_of(w.block);
    s->order++;
    expect_report("slab", s, "order disagrees with its buddy block");
    s->order--;
    s->in_use += 5;
    expect_clean(); /* not read */
    s->in_use -= 5;
    w.go = true;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

/* An exited thread's slabs are parked (FULL, on its heap's parked list
 * when they have free blocks left) and read in full. */
START_TEST(test_exited_thread_slab)
{
    void *orphans[8];
    pthread_t t;
    struct slab *s;

    ck_assert_int_eq(pthread_create(&t, NULL, thread_alloc_and_exit, orphans), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    s = slab_of(orphans[0]);
    ck_assert_uint_eq(s->state, SLAB_FULL);
    ck_assert_ptr_eq(s->owner->parked, s);
    s->prev = s;
    expect_report("slab", s, "parked list back link broken");
    s->prev = NULL;
    s->in_use--;
    expect_report("slab", s, "in_use disagrees with the live bitmap");
    s->in_use++;
    s->free_slow_at = 0;
    expect_report("slab", s, "slow-path threshold disagrees with its state");
    slab_set_state(s, SLAB_LISTED);
    expect_report("slab", s, "FULL flag on a slab that is tracked");
    slab_set_state(s, SLAB_FULL);
    for (unsigned i = 0; i < 8; i++)
        my_free(orphans[i]);
}
END_TEST

/* ------------------------------------------------- buddy and arenas -- */
START_TEST(test_page_kind_wrong)
{
    void *b = my_malloc(64 * TU_KIB); /* a buddy block of order 4 */
    struct region *r = region_of(b);
    struct page_desc *d = &r->pages[page_of(b)];

    ck_assert_uint_eq(d->kind, PAGE_USED);
    d->kind = PAGE_INTERIOR;
    expect_report("page", b, "block does not start with a head page");
    d->kind = PAGE_USED;
    /* Order 3: the block seems to end half way, where no block starts. */
    d->order = 3;
    expect_report("page", (char *)b + 32 * TU_KIB, "block does not start with a head page");
    d->order = 4;
    /* A head inside the block. */
    r->pages[page_of(b) + 5].kind = PAGE_USED;
    expect_report("page", (char *)b + 5 * PAGE_SIZE, "interior page wrongly marked");
    r->pages[page_of(b) + 5].kind = PAGE_INTERIOR;
    my_free(b);
}
END_TEST

START_TEST(test_free_count_off_by_one)
{
    void *b = my_malloc(8 * TU_KIB);
    struct region *r = region_of(b);

    r->free_count[3]++;
    expect_report("region", r, "free_count disagrees with its free list");
    r->free_count[3]--;
    r->free_pages--;
    expect_report("region", r, "free_pages disagrees with the free blocks");
    r->free_pages++;
    my_free(b);
}
END_TEST

START_TEST(test_free_list_links)
{
    void *blocks[16];
    struct region *r;
    unsigned order = 0, page;
    uint16_t saved;

    /* Every other block free: free lists of several blocks. */
    for (unsigned i = 0; i < 16; i++)
        ck_assert_ptr_nonnull(blocks[i] = my_malloc(8 * TU_KIB));
    for (unsigned i = 0; i < 16; i += 2)
        my_free(blocks[i]);
    r = region_of(blocks[1]);
    while (order < BUDDY_ORDERS && r->free_count[order] < 2)
        order++;
    ck_assert_uint_lt(order, BUDDY_ORDERS);
    page = r->free_head[order];
    saved = r->pages[r->pages[page].link.next].prev;
    r->pages[r->pages[page].link.next].prev = PAGE_NONE;
    expect_report("page", page_at(r, r->pages[page].link.next), "free list back link broken");
    r->pages[r->pages[page].link.next].prev = saved;
    saved = r->pages[page].link.next;
    r->pages[page].link.next = 5000;
    expect_report("region", r, "free list link out of the region");
    r->pages[page].link.next = saved;
    for (unsigned i = 1; i < 16; i += 2)
        my_free(blocks[i]);
}
END_TEST

START_TEST(test_arena_counts)
{
    void *b = my_malloc(16 * TU_KIB);
    struct arena *a = region_of(b)->arena;

    a->dirty_pages++;
    expect_report("arena", a, "dirty page count disagrees with its regions");
    a->dirty_pages--;
    a->blocks_used[2]++;
    expect_report("arena", a, "blocks_used disagrees with its blocks in use");
    a->blocks_used[2]--;
    a->regions++;
    expect_report("arena", a, "region count disagrees with its list");
    a->regions--;
    my_free(b);
}
END_TEST

/* -------------------------------------------------------------- huge -- */
START_TEST(test_huge_header)
{
    void *p = my_malloc(2 * TU_MIB);
    struct huge *h = (struct huge *)region_of(p);

    ck_assert_uint_eq(h->hdr.kind, CHUNK_HUGE);
    h->usable += PAGE_SIZE;
    expect_report("huge block header", h, "usable size disagrees with its mapping");
    h->usable -= PAGE_SIZE;
    h->alignment = 48;
    expect_report("huge block header", h, "alignment is not a power of two >= 16");
    h->alignment = MIN_ALIGN;
    h->hdr.magic ^= 1;
    expect_report("huge block header", h, "chunk header is not a huge block's");
    h->hdr.magic ^= 1;
    my_free(p);
}
END_TEST

static Suite *heapcheck_suite(void)
{
    Suite *s = suite_create("heapcheck");
    TCase *ok = tcase_create("consistent");
    TCase *slabs = tcase_create("slabs");
    TCase *buddy = tcase_create("buddy");

    tcase_add_test(ok, test_consistent_heap);
    suite_add_tcase(s, ok);
    tcase_add_test(slabs, test_remote_free_list_cycle);
    tcase_add_test(slabs, test_in_use_wrong);
    tcase_add_test(slabs, test_not_full_wrong);
    tcase_add_test(slabs, test_geometry_wrong);
    tcase_add_test(slabs, test_remote_free_list);
    tcase_add_test(slabs, test_bit_past_capacity_clear);
    tcase_add_test(slabs, test_slab_list_back_link);
    tcase_add_test(slabs, test_running_thread_slab);
    tcase_add_test(slabs, test_exited_thread_slab);
    suite_add_tcase(s, slabs);
    tcase_add_test(buddy, test_page_kind_wrong);
    tcase_add_test(buddy, test_free_count_off_by_one);
    tcase_add_test(buddy, test_free_list_links);
    tcase_add_test(buddy, test_arena_counts);
    tcase_add_test(buddy, test_huge_header);
    suite_add_tcase(s, buddy);
    return s;
}

int main(void)
{
    return tu_run_suite(heapcheck_suite());
}
