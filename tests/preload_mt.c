/* preload_mt.c - a multithreaded program on the C library's malloc, for
 * test_preload.sh to run with and without libmyalloc-preload.so in
 * LD_PRELOAD.
 *
 * It links nothing of libmyalloc: it calls malloc, calloc, realloc, free,
 * posix_memalign, aligned_alloc, strdup and friends as any program does,
 * and whatever answers them answers.  What it does:
 *
 *   handoff   threads allocate blocks of every regime (small, buddy, now
 *             and then huge; from malloc, calloc, strdup, posix_memalign,
 *             aligned_alloc, realloc), fill them with a pattern and pass
 *             them to one another through a mutex-protected queue; the
 *             taker checks the pattern, grows or shrinks some of them with
 *             realloc (blocks from posix_memalign included) and frees them;
 *   orphans   threads allocate blocks and exit while still holding them;
 *             other threads, started later, check and free them;
 *   fork      while busy threads keep allocating and freeing, the main
 *             thread forks several times; each child allocates, checks and
 *             frees memory of every regime, starts a thread of its own,
 *             and reports through its exit status;
 *   edges     zero-size and impossible requests, realloc to and from
 *             zero, calloc overflow, malloc_usable_size, library calls
 *             that allocate (getline, qsort, asprintf, fopen).
 *
 * With EXPECT_MYALLOC=1 in the environment it also proves that it ran on
 * libmyalloc: my_stats_get must be found in the process (dlsym) and its
 * calls_malloc must have grown; with EXPECT_MYALLOC=0, my_stats_get must
 * not be there.  The summary line on stdout depends only on the work done,
 * never on the allocator, so the two runs print the same.  Exit status 0
 * on success, 1 on a failure (each described on stderr).
 */
#define _GNU_SOURCE 1

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Only for struct my_stats: nothing of the library is linked. */
#include <myalloc.h>

#define HANDOFF_THREADS 4
#define HANDOFF_BLOCKS 6000 /* per thread */
#define ORPHAN_THREADS 6
#define ORPHAN_BLOCKS 400 /* per thread */
#define BUSY_THREADS 3
#define FORKS 8
#define CHILD_TIMEOUT 30 /* seconds before a stuck child is killed */

static volatile int failures;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

/* Report a failure; the program goes on, to show every problem. */
__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&report_lock);
    fputs("preload_mt: FAIL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failures++;
    pthread_mutex_unlock(&report_lock);
}

/* ---------------------------------------------------------- content -- */

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The pattern word j (bytes 8j .. 8j + 7) for seed: it depends on the
 * position, not the address, so it survives a realloc that moves the
 * block. */
static uint64_t pattern_word(uint64_t seed, size_t j)
{
    uint64_t w = seed + (uint64_t)j * UINT64_C(0x9E3779B97F4A7C15);

    w ^= w >> 31;
    w *= UINT64_C(0xBF58476D1CE4E5B9);
    return w ^ (w >> 29);
}

static unsigned char pattern_byte(uint64_t seed, size_t i)
{
    return (unsigned char)(pattern_word(seed, i / 8) >> (i % 8 * 8));
}

/* Write the pattern of seed over bytes [from, n) of p. */
static void fill(void *p, size_t from, size_t n, uint64_t seed)
{
    unsigned char *b = p;
    size_t i = from;

    for (; i < n && i % 8 != 0; i++)
        b[i] = pattern_byte(seed, i);
    for (; i + 8 <= n; i += 8) {
        uint64_t w = pattern_word(seed, i / 8);
        memcpy(b + i, &w, 8);
    }
    for (; i < n; i++)
        b[i] = pattern_byte(seed, i);
}

/* 1 when [p, p + n) holds the pattern of seed. */
static int holds(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w = pattern_word(seed, i / 8);
        if (memcmp(b + i, &w, 8) != 0)
            return 0;
    }
    for (; i < n; i++)
        if (b[i] != pattern_byte(seed, i))
            return 0;
    return 1;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

/* A request size: mostly small, some buddy-sized, one in a thousand huge
 * (over 1 MiB). */
static size_t random_size(uint64_t *state)
{
    uint64_t r = next_random(state) % 1000;

    if (r == 0)
        return (size_t)(1 << 20) + (size_t)(next_random(state) % (3u << 20));
    if (r < 60)
        return 4097 + (size_t)(next_random(state) % (256u << 10));
    if (r < 200)
        return (size_t)(next_random(state) % 4097);
    return (size_t)(next_random(state) % 513);
}

/* ---------------------------------------------------------- blocks -- */

enum origin {
    FROM_MALLOC,
    FROM_CALLOC,
    FROM_STRDUP,
    FROM_MEMALIGN, /* posix_memalign */
    FROM_ALIGNED,  /* aligned_alloc */
    FROM_REALLOC,  /* realloc(NULL, n) then realloc again */
    ORIGINS
};

struct block {
    unsigned char *p;
    size_t size;
    uint64_t seed;
    size_t align; /* the alignment asked for, or 0 */
    struct block *next;
};

/* Allocate a block of about size bytes, of an origin that follows from
 * the random state, and fill it with its pattern.  Returns 0, or -1 when
 * the allocation failed (reported). */
static int block_make(struct block *b, size_t size, uint64_t *state)
{
    enum origin how = (enum origin)(next_random(state) % ORIGINS);
    void *p = NULL;

    b->seed = next_random(state);
    b->align = 0;
    b->size = size;
    switch (how) {
    case FROM_MALLOC:
        p = malloc(size);
        break;
    case FROM_CALLOC:
        p = calloc(size / 8 + 1, 8);
        if (p != NULL && !all_zero(p, size / 8 * 8 + 8))
            fail("calloc(%zu, 8) returned memory that is not zero",
                 size / 8 + 1);
        break;
    case FROM_STRDUP: {
        /* strdup of a string of size bytes (pattern bytes made non-zero). */
        char *s = malloc(size + 1);
        if (s == NULL)
            break;
        for (size_t i = 0; i < size; i++)
            s[i] = (char)(pattern_byte(b->seed, i) | 1);
        s[size] = '\0';
        p = strdup(s);
        if (p != NULL && memcmp(p, s, size + 1) != 0)
            fail("strdup of %zu bytes copied the wrong bytes", size);
        free(s);
        break;
    }
    case FROM_MEMALIGN: {
        size_t align = (size_t)8 << (next_random(state) % 10); /* 8..4096 */
        int rc = posix_memalign(&p, align, size);
        if (rc != 0) {
            p = NULL;
            errno = rc;
        }
        b->align = align;
        break;
    }
    case FROM_ALIGNED: {
        size_t align = (size_t)16 << (next_random(state) % 13); /* ..64 KiB */
        /* C11 asked for a size that is a multiple of the alignment. */
        p = aligned_alloc(align, (size + align - 1) & ~(align - 1));
        b->align = align;
        break;
    }
    case FROM_REALLOC:
        /* (realloc(p, 0) would free p: keep the first block then.) */
        p = realloc(NULL, size / 2 + 1);
        if (p != NULL && size != 0) {
            void *q = realloc(p, size);
            if (q == NULL)
                free(p);
            p = q;
        }
        break;
    case ORIGINS:
        break;
    }
    if (p == NULL) {
        fail("an allocation of %zu bytes (origin %d) failed", size, (int)how);
        return -1;
    }
    if (b->align != 0 && ((uintptr_t)p & (b->align - 1)) != 0)
        fail("block %p of %zu bytes is not aligned to %zu", p, size,
             b->align);
    if (((uintptr_t)p & 15) != 0)
        fail("block %p of %zu bytes is not aligned to 16", p, size);
    if (malloc_usable_size(p) < size)
        fail("malloc_usable_size(%p) is %zu, below the %zu bytes asked for", p,
             malloc_usable_size(p), size);
    b->p = p;
    fill(b->p, 0, size, b->seed);
    return 0;
}

/* Check a block's pattern; now and then resize it with realloc and check
 * again; then free it. */
static void block_finish(struct block *b, uint64_t *state)
{
    if (!holds(b->p, b->size, b->seed))
        fail("block %p of %zu bytes lost its contents in transit",
             (void *)b->p, b->size);
    if (next_random(state) % 4 == 0 || b->align != 0) {
        /* Blocks from posix_memalign and aligned_alloc are always resized:
         * realloc must take them like any other. */
        size_t to = next_random(state) % 2 ? b->size * 2 + 100 : b->size / 3;
        size_t keep = to < b->size ? to : b->size;
        unsigned char *q = realloc(b->p, to);

        if (q == NULL && to != 0) {
            fail("realloc(%p, %zu) failed", (void *)b->p, to);
        } else if (q != NULL) {
            if (!holds(q, keep, b->seed))
                fail("realloc of %zu bytes to %zu did not keep the contents",
                     b->size, to);
            fill(q, keep, to, b->seed);
            b->p = q;
            b->size = to;
        } else {
            b->p = NULL; /* realloc(p, 0) freed it */
        }
    }
    free(b->p);
    free(b);
}

/* ---------------------------------------------------------- handoff -- */

/* Blocks in transit between threads. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t more;
    struct block *head, *tail;
    size_t queued;   /* blocks in the queue now */
    size_t producing; /* threads still producing */
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
           0, HANDOFF_THREADS};

static void queue_put(struct block *b)
{
    pthread_mutex_lock(&queue.lock);
    b->next = NULL;
    if (queue.tail != NULL)
        queue.tail->next = b;
    else
        queue.head = b;
    queue.tail = b;
    queue.queued++;
    pthread_cond_signal(&queue.more);
    pthread_mutex_unlock(&queue.lock);
}

/* The oldest block in the queue, waiting for one if wait is set and some
 * thread still produces; NULL when there is none. */
static struct block *queue_take(int wait)
{
    struct block *b;

    pthread_mutex_lock(&queue.lock);
    while (wait && queue.head == NULL && queue.producing > 0)
        pthread_cond_wait(&queue.more, &queue.lock);
    b = queue.head;
    if (b != NULL) {
        queue.head = b->next;
        if (queue.head == NULL)
            queue.tail = NULL;
        queue.queued--;
    }
    pthread_mutex_unlock(&queue.lock);
    return b;
}

static void *handoff_thread(void *arg)
{
    uint64_t state = (uint64_t)(uintptr_t)arg * 7919 + 1;
    size_t taken = 0;

    for (int i = 0; i < HANDOFF_BLOCKS; i++) {
        struct block *b = malloc(sizeof *b);

        if (b == NULL) {
            fail("malloc of a queue entry failed");
            break;
        }
        if (block_make(b, random_size(&state), &state) != 0) {
            free(b);
            continue;
        }
        queue_put(b);
        /* Take one back about as often as we put one in: usually a block
         * of another thread, which this thread then frees. */
        if (next_random(&state) % 8 != 0) {
            struct block *t = queue_take(0);
            if (t != NULL) {
                block_finish(t, &state);
                taken++;
            }
        }
    }
    pthread_mutex_lock(&queue.lock);
    queue.producing--;
    pthread_cond_broadcast(&queue.more);
    pthread_mutex_unlock(&queue.lock);
    /* Help drain the queue. */
    for (struct block *t; (t = queue_take(1)) != NULL; taken++)
        block_finish(t, &state);
    return (void *)taken;
}

static void run_handoff(void)
{
    pthread_t t[HANDOFF_THREADS];
    size_t total = 0;

    for (uintptr_t i = 0; i < HANDOFF_THREADS; i++)
        if (pthread_create(&t[i], NULL, handoff_thread, (void *)i) != 0) {
            fail("pthread_create failed");
            exit(1);
        }
    for (int i = 0; i < HANDOFF_THREADS; i++) {
        void *taken;
        pthread_join(t[i], &taken);
        total += (size_t)taken;
    }
    if (queue.queued != 0 || queue.head != NULL)
        fail("%zu blocks left in the queue", queue.queued);
    if (total != (size_t)HANDOFF_THREADS * HANDOFF_BLOCKS && failures == 0)
        fail("%zu blocks taken from the queue, want %d", total,
             HANDOFF_THREADS * HANDOFF_BLOCKS);
}

/* ---------------------------------------------------------- orphans -- */

/* Blocks whose allocating thread has exited. */
static struct block *orphans[ORPHAN_THREADS][ORPHAN_BLOCKS];

static void *orphan_maker(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    uint64_t state = k * 104729 + 3;

    for (int i = 0; i < ORPHAN_BLOCKS; i++) {
        struct block *b = malloc(sizeof *b);

        if (b != NULL && block_make(b, random_size(&state), &state) != 0) {
            free(b);
            b = NULL;
        }
        orphans[k][i] = b;
    }
    /* Some of its own blocks it frees before leaving. */
    for (int i = 0; i < ORPHAN_BLOCKS; i += 5)
        if (orphans[k][i] != NULL) {
            block_finish(orphans[k][i], &state);
            orphans[k][i] = NULL;
        }
    return NULL;
}

/* Frees the blocks of maker k (made by a thread that has exited). */
static void *orphan_taker(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    uint64_t state = k * 15485863 + 5;

    for (int i = 0; i < ORPHAN_BLOCKS; i++)
        if (orphans[k][i] != NULL) {
            block_finish(orphans[k][i], &state);
            orphans[k][i] = NULL;
        }
    /* And allocate on, in memory the exited threads gave back. */
    for (int i = 0; i < ORPHAN_BLOCKS; i++) {
        struct block *b = malloc(sizeof *b);
        if (b != NULL && block_make(b, random_size(&state), &state) == 0)
            block_finish(b, &state);
        else
            free(b);
    }
    return NULL;
}

static void run_orphans(void)
{
    pthread_t t[ORPHAN_THREADS];

    for (uintptr_t i = 0; i < ORPHAN_THREADS; i++)
        if (pthread_create(&t[i], NULL, orphan_maker, (void *)i) != 0) {
            fail("pthread_create failed");
            exit(1);
        }
    for (int i = 0; i < ORPHAN_THREADS; i++)
        pthread_join(t[i], NULL);
    /* Maker i is gone; taker i frees maker (i + 1)'s blocks. */
    for (uintptr_t i = 0; i < ORPHAN_THREADS; i++)
        if (pthread_create(&t[i], NULL, orphan_taker,
                           (void *)((i + 1) % ORPHAN_THREADS)) != 0) {
            fail("pthread_create failed");
            exit(1);
        }
    for (int i = 0; i < ORPHAN_THREADS; i++)
        pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------- fork -- */

static volatile int busy_stop;

/* Allocate and free without pause until told to stop, so that forks
 * happen while allocator locks are taken. */
static void *busy_thread(void *arg)
{
    uint64_t state = (uint64_t)(uintptr_t)arg * 31337 + 7;
    struct block *keep[64] = {NULL};

    while (!__atomic_load_n(&busy_stop, __ATOMIC_ACQUIRE)) {
        unsigned slot = (unsigned)(next_random(&state) % 64);
        if (keep[slot] != NULL)
            block_finish(keep[slot], &state);
        keep[slot] = malloc(sizeof *keep[slot]);
        if (keep[slot] != NULL &&
            block_make(keep[slot], random_size(&state), &state) != 0) {
            free(keep[slot]);
            keep[slot] = NULL;
        }
    }
    for (unsigned i = 0; i < 64; i++)
        if (keep[i] != NULL)
            block_finish(keep[i], &state);
    return NULL;
}

/* Exit codes of a child, one per kind of failure. */
enum {
    CHILD_OK = 0,
    CHILD_ALLOC = 10,   /* an allocation failed */
    CHILD_CONTENT = 11, /* a block lost its contents */
    CHILD_THREAD = 12,  /* the child's thread failed */
    CHILD_STRING = 13,  /* a string function went wrong */
};

static void *child_thread(void *arg)
{
    uint64_t state = (uint64_t)(uintptr_t)arg;

    for (int i = 0; i < 2000; i++) {
        size_t n = random_size(&state);
        unsigned char *p = malloc(n);
        if (p == NULL)
            return (void *)1;
        fill(p, 0, n, state);
        if (!holds(p, n, state)) {
            free(p);
            return (void *)1;
        }
        free(p);
    }
    return NULL;
}

/* The child's work: every regime, a realloc, strings, a thread.  POSIX
 * allows only async-signal-safe calls in the child of a multithreaded
 * program; glibc makes malloc safe there too, and a drop-in replacement
 * must do the same: that is what this checks. */
static int child_main(int k)
{
    static const size_t sizes[] = {0, 1, 24, 100, 4096, 4097, 65536,
                                   1 << 20, (1 << 20) + 1, 3 << 20};
    enum { N = sizeof sizes / sizeof sizes[0] };
    unsigned char *p[N];
    uint64_t seed = (uint64_t)k * 1000003 + 11;
    pthread_t t;
    void *tres;
    char *s;

    alarm(CHILD_TIMEOUT);
    for (int i = 0; i < N; i++) {
        p[i] = malloc(sizes[i]);
        if (p[i] == NULL)
            return CHILD_ALLOC;
        fill(p[i], 0, sizes[i], seed + (uint64_t)i);
    }
    for (int i = 0; i < N; i++)
        if (!holds(p[i], sizes[i], seed + (uint64_t)i))
            return CHILD_CONTENT;
    p[3] = realloc(p[3], 200000);
    if (p[3] == NULL)
        return CHILD_ALLOC;
    if (!holds(p[3], sizes[3], seed + 3))
        return CHILD_CONTENT;
    for (int i = 0; i < N; i++)
        free(p[i]);
    if (asprintf(&s, "child %d of preload_mt", k) < 0)
        return CHILD_ALLOC;
    if (strncmp(s, "child ", 6) != 0)
        return CHILD_STRING;
    free(s);
    if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)seed) != 0)
        return CHILD_THREAD;
    if (pthread_join(t, &tres) != 0 || tres != NULL)
        return CHILD_THREAD;
    return CHILD_OK;
}

static void run_forks(void)
{
    pthread_t t[BUSY_THREADS];

    for (uintptr_t i = 0; i < BUSY_THREADS; i++)
        if (pthread_create(&t[i], NULL, busy_thread, (void *)i) != 0) {
            fail("pthread_create failed");
            exit(1);
        }
    for (int k = 0; k < FORKS; k++) {
        pid_t pid;
        int status = 0;

        /* Let the busy threads get going between forks. */
        usleep(2000);
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            fail("fork failed");
            continue;
        }
        if (pid == 0)
            _exit(child_main(k));
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) {
                fail("waitpid failed");
                break;
            }
        if (WIFSIGNALED(status))
            fail("child %d killed by signal %d%s", k, WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM
                     ? " (stuck: a lock held across fork?)"
                     : "");
        else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            fail("child %d exited with status %d (see the CHILD_ codes)", k,
                 WEXITSTATUS(status));
    }
    __atomic_store_n(&busy_stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < BUSY_THREADS; i++)
        pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------ edges -- */

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* A size the compiler cannot see through, for impossible requests. */
static size_t hidden(size_t n)
{
    volatile size_t v = n;

    return v;
}

static void run_edges(void)
{
    void *p, *q;
    int *v;
    char *line = NULL, *s = NULL;
    size_t cap = 0;
    FILE *f;

    p = malloc(0);
    if (p == NULL)
        fail("malloc(0) returned NULL");
    free(p);

    errno = 0;
    p = malloc(hidden(SIZE_MAX));
    if (p != NULL || errno != ENOMEM)
        fail("malloc(SIZE_MAX) gave %p, errno %d; want NULL, ENOMEM", p, errno);
    free(p);
    errno = 0;
    p = calloc(hidden(SIZE_MAX / 2), 3);
    if (p != NULL || errno != ENOMEM)
        fail("calloc(SIZE_MAX / 2, 3) gave %p, errno %d; want NULL, ENOMEM",
             p, errno);
    free(p);

    /* realloc to zero: glibc frees and returns NULL; anything else
     * returned is a block to free. */
    p = malloc(100);
    p = realloc(p, 0);
    free(p);
    p = realloc(NULL, 0);
    free(p);

    /* A failed realloc leaves the block alone. */
    p = malloc(64);
    if (p != NULL) {
        fill(p, 0, 64, 42);
        errno = 0;
        q = realloc(p, hidden(SIZE_MAX - 4096));
        if (q != NULL) {
            fail("realloc(p, SIZE_MAX - 4096) succeeded");
            free(q);
        } else {
            if (errno != ENOMEM)
                fail("realloc(p, SIZE_MAX - 4096) set errno %d, want ENOMEM",
                     errno);
            if (!holds(p, 64, 42))
                fail("a failed realloc changed the block");
            free(p);
        }
    }

    /* Huge blocks: grow, shrink, usable size. */
    p = malloc(5u << 20);
    if (p != NULL) {
        fill(p, 0, 5u << 20, 7);
        q = realloc(p, 9u << 20);
        if (q == NULL) {
            fail("realloc of a huge block to 9 MiB failed");
            free(p);
        } else {
            void *r;

            if (!holds(q, 5u << 20, 7))
                fail("growing a huge block lost its contents");
            r = realloc(q, 100);
            if (r != NULL) {
                if (!holds(r, 100, 7))
                    fail("shrinking a huge block lost its contents");
                free(r);
            } else {
                fail("shrinking a huge block to 100 bytes failed");
                free(q);
            }
        }
    } else {
        fail("malloc of 5 MiB failed");
    }

    /* memalign, valloc, pvalloc (obsolete but reached by real programs). */
    p = memalign(4096, 10000);
    if (p == NULL || ((uintptr_t)p & 4095) != 0)
        fail("memalign(4096, 10000) gave %p", p);
    free(p);
    p = valloc(100);
    if (p == NULL || ((uintptr_t)p & 4095) != 0)
        fail("valloc(100) gave %p", p);
    free(p);
    p = pvalloc(100);
    if (p == NULL || ((uintptr_t)p & 4095) != 0 || malloc_usable_size(p) < 4096)
        fail("pvalloc(100) gave %p (usable %zu)", p,
             p != NULL ? malloc_usable_size(p) : 0);
    free(p);
    errno = 0;
    if (posix_memalign(&p, 24, 100) != EINVAL)
        fail("posix_memalign with alignment 24 did not fail with EINVAL");

    /* Library calls that allocate behind the program's back. */
    v = malloc(10000 * sizeof *v);
    if (v != NULL) {
        uint64_t state = 99;
        for (int i = 0; i < 10000; i++)
            v[i] = (int)(next_random(&state) % 100000);
        qsort(v, 10000, sizeof *v, compare_ints);
        for (int i = 1; i < 10000; i++)
            if (v[i - 1] > v[i]) {
                fail("qsort did not sort");
                break;
            }
        free(v);
    }
    f = tmpfile();
    if (f == NULL) {
        fail("tmpfile failed");
    } else {
        for (int i = 0; i < 3000; i++)
            fprintf(f, "line %d %0*d\n", i, i % 200, i);
        rewind(f);
        for (int i = 0; getline(&line, &cap, f) > 0; i++) {
            free(s);
            if (asprintf(&s, "line %d %0*d\n", i, i % 200, i) < 0) {
                s = NULL;
                fail("asprintf failed");
                break;
            }
            if (strcmp(line, s) != 0) {
                fail("getline read back '%.40s', want '%.40s'", line, s);
                break;
            }
        }
        fclose(f);
    }
    free(s);
    free(line);
}

/* ------------------------------------------------------------- main -- */

typedef int stats_get_fn(struct my_stats *, size_t);

/* calls_malloc of the libmyalloc in this process, read through get (from
 * dlsym), or 0 when there is none. */
static uint64_t myalloc_calls(stats_get_fn *get)
{
    struct my_stats st;

    memset(&st, 0, sizeof st);
    if (get == NULL || get(&st, sizeof st) != 0)
        return 0;
    return st.calls_malloc;
}

int main(void)
{
    const char *expect = getenv("EXPECT_MYALLOC");
    stats_get_fn *get;
    uint64_t calls_before, calls_after;
    void *sym;

    /* dlsym returns a data pointer; copy it into the function pointer. */
    sym = dlsym(RTLD_DEFAULT, "my_stats_get");
    memcpy(&get, &sym, sizeof get);
    calls_before = myalloc_calls(get);

    alarm(4 * CHILD_TIMEOUT); /* a hang fails the test rather than blocks it */
    run_handoff();
    run_orphans();
    run_forks();
    run_edges();

    calls_after = myalloc_calls(get);
    if (expect != NULL && strcmp(expect, "1") == 0) {
        if (get == NULL)
            fail("EXPECT_MYALLOC=1, but my_stats_get is not in the process "
                 "(not running on libmyalloc)");
        else if (calls_after <= calls_before)
            fail("EXPECT_MYALLOC=1, but calls_malloc did not grow "
                 "(malloc does not reach libmyalloc)");
    } else if (expect != NULL && strcmp(expect, "0") == 0 && get != NULL) {
        fail("EXPECT_MYALLOC=0, but my_stats_get is in the process");
    }

    if (failures != 0) {
        fprintf(stderr, "preload_mt: %d failure(s)\n", failures);
        return 1;
    }
    printf("preload_mt: OK: handoff %d threads x %d blocks, orphans %d "
           "threads x %d blocks, %d forks beside %d busy threads\n",
           HANDOFF_THREADS, HANDOFF_BLOCKS, ORPHAN_THREADS, ORPHAN_BLOCKS,
           FORKS, BUSY_THREADS);
    return 0;
}
