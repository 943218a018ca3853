/* check_threads.c - many threads at once: concurrent allocation with
 * content checks, blocks freed and reallocated by threads other than the
 * one that allocated them, threads that exit holding blocks, the next
 * thread taking up a dead one's partly used slabs, and many short-lived
 * threads without growth.
 *
 * Check's assertions are not for use off the main thread, so workers write
 * their first failure into their own record and the main thread asserts on
 * it after joining. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

struct worker {
    pthread_t tid;
    unsigned id;
    uint64_t rng;
    size_t ops;
    char err[256];
};

__attribute__((format(printf, 2, 3))) static void
worker_fail(struct worker *w, const char *fmt, ...)
{
    va_list ap;

    if (w->err[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

/* In a worker: record the failure and leave the thread. */
#define W_CHECK(w, cond, ...)                                                 \
    do {                                                                      \
        if (!(cond)) {                                                        \
            worker_fail((w), __VA_ARGS__);                                    \
            return NULL;                                                      \
        }                                                                     \
    } while (0)

static void join_all(struct worker *w, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(w[i].tid, NULL), 0);
    for (i = 0; i < n; i++)
        ck_assert_msg(w[i].err[0] == '\0', "thread %u: %s", w[i].id,
                      w[i].err);
}

static void start(struct worker *w, unsigned id, void *(*fn)(void *))
{
    w->id = id;
    w->rng = 1000 + id;
    w->err[0] = '\0';
    ck_assert_int_eq(pthread_create(&w->tid, NULL, fn, w), 0);
}

struct blk {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

/* ------------------------------------------------------ concurrent mix -- */

#define MIX_SLOTS 256
#define MIX_OPS 20000

/* A private random workload, every block checked before it goes. */
static void *mix_worker(void *arg)
{
    struct worker *w = arg;
    struct blk slot[MIX_SLOTS];
    size_t i;

    memset(slot, 0, sizeof slot);
    for (i = 0; i < w->ops; i++) {
        struct blk *b = &slot[tu_rand(&w->rng) % MIX_SLOTS];

        if (b->p == NULL) {
            size_t n = tu_rand_size(&w->rng, 5, 2, 3 * TU_MIB);

            b->p = tu_rand(&w->rng) % 4 ? my_malloc(n) : my_calloc(n, 1);
            W_CHECK(w, b->p != NULL, "allocating %zu failed", n);
            W_CHECK(w, tu_is_aligned(b->p, TU_ALIGN), "%p not aligned",
                    (void *)b->p);
            b->size = my_malloc_usable_size(b->p);
            W_CHECK(w, b->size >= n, "%zu asked, %zu usable", n, b->size);
            b->seed = tu_rand(&w->rng);
            tu_fill(b->p, b->size, b->seed);
        } else if (tu_rand(&w->rng) % 4 == 0) {
            size_t n = tu_rand_size(&w->rng, 5, 2, 3 * TU_MIB);
            size_t keep = n < b->size ? n : b->size;
            unsigned char *q;

            W_CHECK(w, tu_verify(b->p, b->size, b->seed) == SIZE_MAX,
                    "block %p changed before realloc", (void *)b->p);
            q = my_realloc(b->p, n);
            W_CHECK(w, q != NULL, "my_realloc to %zu failed", n);
            b->p = q;
            W_CHECK(w, tu_verify(q, keep, b->seed) == SIZE_MAX,
                    "realloc to %zu lost content", n);
            b->size = my_malloc_usable_size(q);
            tu_fill_from(q, keep, b->size, b->seed);
        } else {
            W_CHECK(w, tu_verify(b->p, b->size, b->seed) == SIZE_MAX,
                    "block %p of %zu changed", (void *)b->p, b->size);
            my_free(b->p);
            b->p = NULL;
        }
    }
    for (i = 0; i < MIX_SLOTS; i++)
        if (slot[i].p != NULL) {
            W_CHECK(w, tu_verify(slot[i].p, slot[i].size, slot[i].seed) ==
                           SIZE_MAX,
                    "block %p changed at the end", (void *)slot[i].p);
            my_free(slot[i].p);
        }
    return NULL;
}

/* Six threads at once; meanwhile the main thread reads the statistics and
 * prints reports, which must stay sane. */
START_TEST(test_concurrent_mix)
{
    enum { NT = 6 };
    struct worker w[NT];
    FILE *sink = fopen("/dev/null", "w");
    unsigned i, reads = 0;

    ck_assert_ptr_nonnull(sink);
    for (i = 0; i < NT; i++) {
        w[i].ops = MIX_OPS;
        start(&w[i], i, mix_worker);
    }
    for (reads = 0; reads < 200; reads++) {
        struct my_stats st;

        ck_assert_int_eq(my_stats_get(&st, sizeof st), 0);
        tu_check(st.frag_internal >= 0.0 && st.frag_internal <= 1.0,
                 "frag_internal %g", st.frag_internal);
        tu_check(st.frag_external >= 0.0 && st.frag_external <= 1.0,
                 "frag_external %g", st.frag_external);
        tu_check(st.nclasses == TU_NCLASSES, "nclasses %u", st.nclasses);
        if (reads % 20 == 0)
            tu_check(my_stats_print(sink) == 0, "my_stats_print failed");
    }
    join_all(w, NT);
    fclose(sink);
}
END_TEST

/* ------------------------------------------------- cross-thread frees -- */

#define QCAP 128

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    struct blk item[QCAP];
    size_t head, count;
};

static void q_init(struct queue *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    pthread_cond_init(&q->nonfull, NULL);
}

static void q_destroy(struct queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->nonempty);
    pthread_cond_destroy(&q->nonfull);
}

static void q_push(struct queue *q, struct blk b)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == QCAP)
        pthread_cond_wait(&q->nonfull, &q->mu);
    q->item[(q->head + q->count++) % QCAP] = b;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->mu);
}

static struct blk q_pop(struct queue *q)
{
    struct blk b;

    pthread_mutex_lock(&q->mu);
    while (q->count == 0)
        pthread_cond_wait(&q->nonempty, &q->mu);
    b = q->item[q->head];
    q->head = (q->head + 1) % QCAP;
    q->count--;
    pthread_cond_signal(&q->nonfull);
    pthread_mutex_unlock(&q->mu);
    return b;
}

#define XFER_PER_PRODUCER 15000

struct xfer {
    struct worker w;
    struct queue *q;
    size_t done;  /* consumer: blocks checked and freed */
    int realloc;  /* consumer: resize some blocks before freeing */
};

static void *producer(void *arg)
{
    struct xfer *x = arg;
    struct worker *w = &x->w;
    size_t i;

    for (i = 0; i < w->ops; i++) {
        size_t n = tu_rand_size(&w->rng, 5, 2, 2 * TU_MIB);
        struct blk b;

        b.p = my_malloc(n);
        W_CHECK(w, b.p != NULL, "my_malloc(%zu) failed", n);
        b.size = n;
        b.seed = tu_seed_of(b.p, w->id);
        tu_fill(b.p, n, b.seed);
        q_push(x->q, b);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct xfer *x = arg;
    struct worker *w = &x->w;

    for (;;) {
        struct blk b = q_pop(x->q);

        if (b.p == NULL) /* the end */
            break;
        W_CHECK(w, my_malloc_usable_size(b.p) >= b.size,
                "usable %zu < %zu seen from another thread",
                my_malloc_usable_size(b.p), b.size);
        W_CHECK(w, tu_verify(b.p, b.size, b.seed) == SIZE_MAX,
                "block %p of %zu arrived changed", (void *)b.p, b.size);
        if (x->realloc && tu_rand(&w->rng) % 3 == 0) {
            size_t n = tu_rand_size(&w->rng, 5, 2, 2 * TU_MIB);
            size_t keep = n < b.size ? n : b.size;
            unsigned char *q = my_realloc(b.p, n);

            W_CHECK(w, q != NULL, "my_realloc to %zu failed", n);
            W_CHECK(w, tu_verify(q, keep, b.seed) == SIZE_MAX,
                    "realloc of a foreign block lost content");
            b.p = q;
        }
        my_free(b.p);
        x->done++;
    }
    return NULL;
}

/* Producers allocate and fill; consumers, other threads, check and free
 * (one of them resizes some first). */
static void cross_thread_case(unsigned np, unsigned nc)
{
    struct xfer x[8];
    struct queue q;
    struct blk end = {NULL, 0, 0};
    size_t total = 0;
    unsigned i;

    q_init(&q);
    for (i = 0; i < np + nc; i++) {
        memset(&x[i], 0, sizeof x[i]);
        x[i].q = &q;
        x[i].w.ops = XFER_PER_PRODUCER;
        x[i].realloc = i == np; /* the first consumer */
        start(&x[i].w, i, i < np ? producer : consumer);
    }
    for (i = 0; i < np; i++) {
        ck_assert_int_eq(pthread_join(x[i].w.tid, NULL), 0);
        ck_assert_msg(x[i].w.err[0] == '\0', "producer %u: %s", i,
                      x[i].w.err);
    }
    for (i = 0; i < nc; i++)
        q_push(&q, end);
    for (i = np; i < np + nc; i++) {
        ck_assert_int_eq(pthread_join(x[i].w.tid, NULL), 0);
        ck_assert_msg(x[i].w.err[0] == '\0', "consumer %u: %s", i,
                      x[i].w.err);
        total += x[i].done;
    }
    ck_assert_uint_eq(total, (size_t)np * XFER_PER_PRODUCER);
    q_destroy(&q);
}

START_TEST(test_cross_thread_free)
{
    cross_thread_case(3, 3);
}
END_TEST

START_TEST(test_one_producer_many_consumers)
{
    cross_thread_case(1, 4);
}
END_TEST

/* ------------------------------------------ threads that exit holding -- */

#define HOLD 300

struct holder {
    struct worker w;
    struct blk b[HOLD];
};

static void *hold_worker(void *arg)
{
    struct holder *h = arg;
    struct worker *w = &h->w;
    unsigned i;

    for (i = 0; i < HOLD; i++) {
        size_t n = tu_rand_size(&w->rng, 5, 3, 2 * TU_MIB);

        h->b[i].p = my_malloc(n);
        W_CHECK(w, h->b[i].p != NULL, "my_malloc(%zu) failed", n);
        h->b[i].size = n;
        h->b[i].seed = tu_rand(&w->rng);
        tu_fill(h->b[i].p, n, h->b[i].seed);
        /* Free a few, so that the heap has both kinds of blocks. */
        if (i % 5 == 4) {
            my_free(h->b[i - 2].p);
            h->b[i - 2].p = NULL;
        }
    }
    return NULL; /* exits holding the rest */
}

/* Rounds of threads that exit with blocks live; the main thread checks and
 * frees them.  The memory held stays bounded: what dead threads leave is
 * taken up again. */
START_TEST(test_exit_holding_blocks)
{
    enum { NT = 6, ROUNDS = 20 };
    static struct holder h[NT];
    struct my_stats st;
    size_t mapped_early = 0;
    unsigned r, i, k;

    for (r = 0; r < ROUNDS; r++) {
        for (i = 0; i < NT; i++) {
            h[i].w.ops = 0;
            start(&h[i].w, r * NT + i, hold_worker);
        }
        for (i = 0; i < NT; i++) {
            ck_assert_int_eq(pthread_join(h[i].w.tid, NULL), 0);
            ck_assert_msg(h[i].w.err[0] == '\0', "thread %u: %s", h[i].w.id,
                          h[i].w.err);
        }
        for (i = 0; i < NT; i++)
            for (k = 0; k < HOLD; k++)
                if (h[i].b[k].p != NULL) {
                    tu_assert_pattern(h[i].b[k].p, h[i].b[k].size,
                                      h[i].b[k].seed);
                    my_free(h[i].b[k].p);
                    h[i].b[k].p = NULL;
                }
        if (r == 2) {
            tu_stats(&st);
            mapped_early = st.bytes_mapped;
        }
    }
    tu_stats(&st);
    ck_assert_msg(st.bytes_mapped <= mapped_early + 64 * TU_MIB,
                  "bytes_mapped %zu after %u rounds of exiting threads, %zu "
                  "after 3",
                  st.bytes_mapped, ROUNDS, mapped_early);
}
END_TEST

/* ----------------------------------------------- short-lived threads -- */

#define SHORT_ALLOCS 60

static void *short_worker(void *arg)
{
    struct worker *w = arg;
    struct blk b[SHORT_ALLOCS];
    unsigned i;

    for (i = 0; i < SHORT_ALLOCS; i++) {
        size_t n = i % 10 == 9 ? 20000 + i * 1000 : 16 + i * 37;

        b[i].p = my_malloc(n);
        W_CHECK(w, b[i].p != NULL, "my_malloc(%zu) failed", n);
        b[i].size = n;
        b[i].seed = w->id * 100 + i;
        tu_fill(b[i].p, n, b[i].seed);
    }
    for (i = 0; i < SHORT_ALLOCS; i++) {
        W_CHECK(w, tu_verify(b[i].p, b[i].size, b[i].seed) == SIZE_MAX,
                "block %u changed", i);
        my_free(b[i].p);
    }
    return NULL;
}

/* 200 threads one after another, each allocating and freeing its own
 * blocks: no growth, and none of their calls or bytes is lost. */
START_TEST(test_short_lived_threads)
{
    enum { NT = 200, WARM = 20 };
    struct my_stats st0, st_warm, st1;
    struct worker w;
    unsigned i;

    tu_stats(&st0);
    memset(&st_warm, 0, sizeof st_warm);
    for (i = 0; i < NT; i++) {
        start(&w, i, short_worker);
        ck_assert_int_eq(pthread_join(w.tid, NULL), 0);
        ck_assert_msg(w.err[0] == '\0', "thread %u: %s", i, w.err);
        if (i + 1 == WARM)
            tu_stats(&st_warm);
    }
    tu_stats(&st1);
    ck_assert_msg(st1.bytes_mapped <= st_warm.bytes_mapped + 16 * TU_MIB,
                  "bytes_mapped %zu after %u threads, %zu after %u",
                  st1.bytes_mapped, NT, st_warm.bytes_mapped, WARM);
    ck_assert_uint_eq(st1.calls_malloc - st0.calls_malloc,
                      (uint64_t)NT * SHORT_ALLOCS);
    ck_assert_uint_eq(st1.calls_free - st0.calls_free,
                      (uint64_t)NT * SHORT_ALLOCS);
    ck_assert_msg(st1.bytes_allocated == st0.bytes_allocated,
                  "bytes_allocated %zu before, %zu after threads that freed "
                  "all they allocated",
                  st0.bytes_allocated, st1.bytes_allocated);
}
END_TEST

/* ----------------------------------------- a dead thread's slabs -- */

#define REUSE_BLOCKS 400
#define REUSE_SIZE 200

struct reuser {
    struct worker w;
    void *held[REUSE_BLOCKS];
    unsigned n;
};

/* Allocates REUSE_BLOCKS blocks of one class, frees every other one and
 * exits holding the rest: its slabs are left half used. */
static void *reuse_first(void *arg)
{
    struct reuser *r = arg;
    void *b[REUSE_BLOCKS];
    unsigned i;

    for (i = 0; i < REUSE_BLOCKS; i++) {
        b[i] = my_malloc(REUSE_SIZE);
        W_CHECK(&r->w, b[i] != NULL, "my_malloc(%d) failed", REUSE_SIZE);
        memset(b[i], (int)i, REUSE_SIZE);
    }
    r->n = 0;
    for (i = 0; i < REUSE_BLOCKS; i++) {
        if (i % 2 == 0)
            my_free(b[i]);
        else
            r->held[r->n++] = b[i];
    }
    return NULL;
}

/* Allocates as many blocks of the class as the first thread freed and
 * exits holding them. */
static void *reuse_second(void *arg)
{
    struct reuser *r = arg;

    for (r->n = 0; r->n < REUSE_BLOCKS / 2; r->n++) {
        r->held[r->n] = my_malloc(REUSE_SIZE);
        W_CHECK(&r->w, r->held[r->n] != NULL, "my_malloc(%d) failed", REUSE_SIZE);
        memset(r->held[r->n], 0xa5, REUSE_SIZE);
    }
    return NULL;
}

/* The next thread adopts the dead one's heap and fills the free blocks of
 * its partly used slabs before it carves a fresh slab; once the main thread
 * has freed everything, those slabs go back to the buddy system. */
START_TEST(test_dead_thread_slabs_reused)
{
    static struct reuser first, second;
    unsigned c = tu_class_index(REUSE_SIZE), i;
    struct my_stats st0, st1, st2, st3;

    tu_stats(&st0);
    start(&first.w, 0, reuse_first);
    join_all(&first.w, 1);
    tu_stats(&st1);
    ck_assert_uint_gt(st1.classes[c].slabs, st0.classes[c].slabs);
    ck_assert_uint_eq(st1.classes[c].blocks_live,
                      st0.classes[c].blocks_live + REUSE_BLOCKS / 2);
    ck_assert_int_eq(my_heap_check(), 0);

    start(&second.w, 1, reuse_second);
    join_all(&second.w, 1);
    tu_stats(&st2);
    ck_assert_msg(st2.classes[c].slabs == st1.classes[c].slabs,
                  "class of %d bytes: %zu slabs after the first thread, %zu after the "
                  "second: the dead thread's free blocks were not reused",
                  REUSE_SIZE, st1.classes[c].slabs, st2.classes[c].slabs);
    ck_assert_uint_eq(st2.classes[c].blocks_live,
                      st0.classes[c].blocks_live + REUSE_BLOCKS);
    ck_assert_int_eq(my_heap_check(), 0);

    for (i = 0; i < first.n; i++)
        my_free(first.held[i]);
    for (i = 0; i < second.n; i++)
        my_free(second.held[i]);
    tu_stats(&st3);
    ck_assert_uint_eq(st3.classes[c].slabs, st0.classes[c].slabs);
    ck_assert_uint_eq(st3.classes[c].blocks_live, st0.classes[c].blocks_live);
    ck_assert_int_eq(my_heap_check(), 0);
}
END_TEST

/* ------------------------------------------------ foreign reallocs -- */

#define RSET 200

struct rset {
    struct worker w;
    pthread_barrier_t *bar;
    int *failed;
    struct rset *all;
    unsigned n;
    struct blk b[RSET];
};

static size_t rset_size(uint64_t *rng)
{
    return tu_rand_size(rng, 15, 10, 3 * TU_MIB);
}

static void *rset_alloc_only(void *arg)
{
    struct rset *s = arg;
    struct worker *w = &s->w;
    unsigned i;

    for (i = 0; i < RSET; i++) {
        size_t n = rset_size(&w->rng);

        s->b[i].p = my_malloc(n);
        W_CHECK(w, s->b[i].p != NULL, "my_malloc(%zu) failed", n);
        s->b[i].size = n;
        s->b[i].seed = tu_rand(&w->rng);
        tu_fill(s->b[i].p, n, s->b[i].seed);
    }
    return NULL;
}

/* Resize every block of set s (allocated elsewhere) and check it. */
static const char *rset_resize(struct rset *s, uint64_t *rng)
{
    unsigned i;

    for (i = 0; i < RSET; i++) {
        struct blk *b = &s->b[i];
        size_t n = rng != NULL ? rset_size(rng) : b->size * 2 + 1;
        size_t keep = n < b->size ? n : b->size;
        unsigned char *q;

        if (tu_verify(b->p, b->size, b->seed) != SIZE_MAX)
            return "block changed before realloc";
        q = my_realloc(b->p, n);
        if (q == NULL)
            return "my_realloc failed";
        if (tu_verify(q, keep, b->seed) != SIZE_MAX)
            return "realloc lost content";
        if (my_malloc_usable_size(q) < n)
            return "realloc gave too small a block";
        b->p = q;
        b->size = n;
        tu_fill_from(q, keep, n, b->seed);
    }
    return NULL;
}

/* Allocate a set, resize the next thread's set while it is alive, free
 * the set of the thread after that.  Every thread passes both barriers
 * even after a failure (skipping its work then), so that none waits for
 * ever; a failed allocation leaves the whole ring to skip its work. */
static void *rset_ring(void *arg)
{
    struct rset *s = arg;
    struct worker *w = &s->w;
    struct rset *next = &s->all[(w->id + 1) % s->n];
    struct rset *after = &s->all[(w->id + 2) % s->n];
    const char *why = NULL;
    unsigned i;

    rset_alloc_only(s);
    if (w->err[0] != '\0')
        __atomic_store_n(s->failed, 1, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(s->bar);
    if (!__atomic_load_n(s->failed, __ATOMIC_SEQ_CST)) {
        why = rset_resize(next, &w->rng); /* the neighbour's, still alive */
        if (why != NULL) {
            worker_fail(w, "resizing thread %u's blocks: %s", next->w.id,
                        why);
            __atomic_store_n(s->failed, 1, __ATOMIC_SEQ_CST);
        }
    }
    pthread_barrier_wait(s->bar);
    if (__atomic_load_n(s->failed, __ATOMIC_SEQ_CST))
        return NULL;
    for (i = 0; i < RSET; i++) {
        W_CHECK(w, tu_verify(after->b[i].p, after->b[i].size,
                             after->b[i].seed) == SIZE_MAX,
                "block of thread %u changed", after->w.id);
        my_free(after->b[i].p);
    }
    return NULL;
}

static void *free_all_of(void *arg)
{
    void **blocks = arg;

    for (int i = 0; i < 100; i++)
        my_free(blocks[i]);
    return NULL;
}

/* my_trim gives back a listed slab whose blocks were all freed by another
 * thread: it collects those frees first. */
START_TEST(test_trim_collects_remote_frees)
{
    static void *blocks[100];
    struct my_stats before, after;
    pthread_t t;

    ck_assert_int_eq(my_trim(), 0);
    tu_stats(&before);
    for (int i = 0; i < 100; i++)
        blocks[i] = my_malloc(64);
    ck_assert_int_eq(pthread_create(&t, NULL, free_all_of, blocks), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(my_trim(), 0);
    tu_stats(&after);
    ck_assert_uint_eq(after.bytes_small, before.bytes_small);
    ck_assert_uint_eq(after.classes[3].slabs, before.classes[3].slabs);
}
END_TEST

START_TEST(test_realloc_foreign)
{
    enum { NT = 4 };
    static struct rset s[NT];
    pthread_barrier_t bar;
    const char *why;
    int failed = 0;
    unsigned i;

    /* A thread allocates and exits; the main thread resizes its blocks. */
    memset(&s[0], 0, sizeof s[0]);
    start(&s[0].w, 0, rset_alloc_only);
    join_all(&s[0].w, 1);
    why = rset_resize(&s[0], NULL);
    ck_assert_msg(why == NULL, "main resizing a dead thread's blocks: %s",
                  why);
    for (i = 0; i < RSET; i++) {
        tu_assert_pattern(s[0].b[i].p, s[0].b[i].size, s[0].b[i].seed);
        my_free(s[0].b[i].p);
    }

    /* Live threads resize each other's blocks, then a third frees them. */
    ck_assert_int_eq(pthread_barrier_init(&bar, NULL, NT), 0);
    for (i = 0; i < NT; i++) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].bar = &bar;
        s[i].failed = &failed;
        s[i].all = s;
        s[i].n = NT;
    }
    for (i = 0; i < NT; i++)
        start(&s[i].w, i, rset_ring);
    for (i = 0; i < NT; i++)
        ck_assert_int_eq(pthread_join(s[i].w.tid, NULL), 0);
    for (i = 0; i < NT; i++)
        ck_assert_msg(s[i].w.err[0] == '\0', "thread %u: %s", i, s[i].w.err);
    pthread_barrier_destroy(&bar);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");

    tcase_add_test(tc, test_concurrent_mix);
    tcase_add_test(tc, test_cross_thread_free);
    tcase_add_test(tc, test_one_producer_many_consumers);
    tcase_add_test(tc, test_exit_holding_blocks);
    tcase_add_test(tc, test_short_lived_threads);
    tcase_add_test(tc, test_dead_thread_slabs_reused);
    tcase_add_test(tc, test_realloc_foreign);
    tcase_add_test(tc, test_trim_collects_remote_frees);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(threads_suite());
}
