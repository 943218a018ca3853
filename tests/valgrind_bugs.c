/* valgrind_bugs.c - programs on libmyalloc for Valgrind's memcheck
 * (tests/test_valgrind.sh, a --with-valgrind build).
 *
 *   valgrind_bugs clean      every kind of block, resized, shared between
 *                            threads and freed: memcheck must find nothing
 *   valgrind_bugs overflow   writes one byte past a 24-byte block (inside
 *                            its 32 usable bytes): "Invalid write"
 *   valgrind_bugs overflow_big  the same past a buddy and a huge block
 *   valgrind_bugs uaf        reads a freed block: "Invalid read"
 *   valgrind_bugs leak       loses a block: "definitely lost"
 *   valgrind_bugs uninit     branches on bytes never written
 *
 * Each exits 0 unless the library misbehaves; memcheck's verdict is in
 * its own exit status and output.  A double free is not here: the
 * library's own check reports it before memcheck could. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myalloc.h>

#define MIB ((size_t)1 << 20)

static int failures;

#define EXPECT(cond)                                                             \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "valgrind_bugs: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

/* Hides a pointer from the compiler, which would otherwise see through
 * the deliberate bugs below. */
static void *launder(void *p)
{
    void *volatile v = p;
    return v;
}

/* ------------------------------------------------------------- clean -- */
enum { SHARED = 600 };
static void *shared[SHARED];

static void *free_shared(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < SHARED; i++)
        my_free(shared[i]);
    return NULL;
}

/* Blocks freed by another thread go back through the remote list; the
 * owner collects them when its own list runs dry. */
static void remote_frees(void)
{
    pthread_t t;

    for (unsigned i = 0; i < SHARED; i++) {
        shared[i] = my_malloc(48);
        EXPECT(shared[i] != NULL);
        memset(shared[i], (int)i, 48);
    }
    EXPECT(pthread_create(&t, NULL, free_shared, NULL) == 0);
    EXPECT(pthread_join(t, NULL) == 0);
    for (unsigned i = 0; i < SHARED; i++) {
        shared[i] = my_malloc(48);
        EXPECT(shared[i] != NULL);
    }
    for (unsigned i = 0; i < SHARED; i++)
        my_free(shared[i]);
}

static void clean(void)
{
    char *s, *b, *h, *t;
    void *page = NULL;
    size_t n;

    /* Small: the usable size, all of it once asked for; resized in place
     * (to 0 bytes too) and moved. */
    s = my_malloc(24);
    EXPECT(s != NULL);
    memset(s, 'a', 24);
    n = my_malloc_usable_size(s);
    EXPECT(n == 32);
    memset(s, 'b', n);
    s = my_realloc(s, 20); /* in place */
    EXPECT(s != NULL && s[19] == 'b');
    s = my_realloc(s, 300); /* moves */
    EXPECT(s != NULL && s[0] == 'b' && s[19] == 'b');
    memset(s + 20, 'c', 280);
    my_free(s);
    s = my_realloc(my_malloc(8), 0); /* a 16-byte block resized to nothing */
    EXPECT(s != NULL);
    s = my_realloc(s, 16);
    EXPECT(s != NULL);
    memset(s, 'd', 16);
    my_free(s);

    /* Buddy: grown and shrunk in place or moved. */
    b = my_malloc(6000);
    EXPECT(b != NULL);
    memset(b, 'e', 6000);
    b = my_realloc(b, 20000);
    EXPECT(b != NULL && b[5999] == 'e');
    memset(b + 6000, 'f', 14000);
    b = my_realloc(b, 5000);
    EXPECT(b != NULL && b[4999] == 'e');
    my_free(b);

    /* Huge: calloc's fresh pages read as zero; grown (mremap may move
     * them) and shrunk. */
    h = my_calloc(1, 3 * MIB);
    EXPECT(h != NULL && h[100] == 0 && h[3 * MIB - 1] == 0);
    h[0] = 'g';
    h = my_realloc(h, 40 * MIB);
    EXPECT(h != NULL && h[0] == 'g' && h[3 * MIB - 1] == 0);
    memset(h + 3 * MIB, 'h', 37 * MIB);
    h = my_realloc(h, 2 * MIB);
    EXPECT(h != NULL && h[2 * MIB - 1] == 0);
    my_free(h);

    /* Aligned blocks of every kind. */
    t = my_aligned_alloc(64, 100);
    EXPECT(t != NULL && (uintptr_t)t % 64 == 0);
    memset(t, 'i', 100);
    my_free(t);
    EXPECT(my_posix_memalign(&page, 4096, 10000) == 0);
    memset(page, 'j', 10000);
    my_free(page);

    remote_frees();
    EXPECT(my_heap_check() == 0);
    EXPECT(my_trim() == 0);
}

/* -------------------------------------------------------------- bugs -- */
static void overflow(void)
{
    char *p = launder(my_malloc(24));

    p[24] = 'x'; /* the 25th byte: usable, but not asked for */
    my_free(p);
}

static void overflow_big(void)
{
    char *b = launder(my_malloc(5000));
    char *h = launder(my_malloc(2 * MIB + 10));

    b[5000] = 'x';
    h[2 * MIB + 10] = 'x';
    my_free(h);
    my_free(b);
}

static void uaf(void)
{
    char *p = my_malloc(40), *after = my_malloc(40);
    char *stale = launder(p);
    volatile char c;

    strcpy(p, "freed");
    my_free(p);
    c = stale[2]; /* read after free */
    (void)c;
    my_free(after);
}

/* Lost: a small block (the first of its slab, which the slab's header
 * must not keep reachable), a buddy block and a huge one. */
static void leak(void)
{
    char *small = launder(my_malloc(100));
    char *buddy = launder(my_malloc(10000));
    char *huge = launder(my_malloc(3 * MIB));

    memset(small, 'l', 100);
    memset(buddy, 'l', 10000);
    huge[0] = 'l';
}

static void uninit(void)
{
    char *p = launder(my_malloc(64));

    if (p[10] == 'x') /* never written */
        puts("x");
    my_free(p);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(void);
    } modes[] = {
        { "clean", clean }, { "overflow", overflow }, { "overflow_big", overflow_big },
        { "uaf", uaf },     { "leak", leak },         { "uninit", uninit },
    };

    for (size_t i = 0; argc == 2 && i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(argv[1], modes[i].name) == 0) {
            modes[i].run();
            return failures == 0 ? 0 : 1;
        }
    }
    fprintf(stderr, "usage: valgrind_bugs clean|overflow|overflow_big|uaf|leak|uninit\n");
    return 2;
}
