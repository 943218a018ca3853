/* trace.c - stack traces for checked mode: capture, a depot that stores
 * each distinct trace once, and printing without allocating.
 *
 * A trace is named by a 32-bit id (0: none).  The depot lives in memory
 * mapped from the OS, so capturing never calls malloc; the unwinder behind
 * unwind.c may allocate on its first use, which the caller must tolerate
 * (checked.c serves such nested calls unchecked). */
#include "config.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "checked.h"

#define DEPOT_TRACES 65536 /* ids 1 .. DEPOT_TRACES - 1 */
#define DEPOT_SLOTS (2 * DEPOT_TRACES)

struct trace {
    uint64_t hash;
    uint32_t depth;
    uintptr_t frames[TRACE_MAX_DEPTH];
};

struct depot {
    struct trace traces[DEPOT_TRACES];
    uint32_t slots[DEPOT_SLOTS]; /* open addressing by hash: trace ids */
    uint32_t used;               /* ids handed out, id 0 excepted */
};

static struct depot *depot;
static pthread_mutex_t depot_lock = PTHREAD_MUTEX_INITIALIZER;

/* The library's own code, skipped at the top of a trace: the address
 * range of the loaded object holding this file, unless that object is the
 * program itself (static linking), where nothing can be told apart. */
static uintptr_t own_code_start, own_code_end;

int myalloc__trace_init(void)
{
    void *mem;
    int err;

    if (depot != NULL)
        return 0;
    err = myalloc__os_map(align_up(sizeof *depot, PAGE_SIZE), NULL, &mem);
    if (err != 0)
        return err;
    depot = mem;
    if (!myalloc__code_range_of((uintptr_t)myalloc__trace_init, &own_code_start, &own_code_end))
        own_code_start = own_code_end = 0;
    return 0;
}

static uint64_t frames_hash(const uintptr_t *frames, unsigned depth)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ depth;
    for (unsigned i = 0; i < depth; i++) {
        h ^= frames[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 29;
    }
    return h;
}

static uint32_t depot_intern(const uintptr_t *frames, unsigned depth)
{
    uint64_t hash = frames_hash(frames, depth);
    uint32_t id = 0;

    pthread_mutex_lock(&depot_lock);
    for (size_t i = hash & (DEPOT_SLOTS - 1);; i = (i + 1) & (DEPOT_SLOTS - 1)) {
        uint32_t slot = depot->slots[i];
        if (slot == 0) {
            if (depot->used + 1 < DEPOT_TRACES) {
                struct trace *t = &depot->traces[++depot->used];
                t->hash = hash;
                t->depth = depth;
                memcpy(t->frames, frames, depth * sizeof frames[0]);
                depot->slots[i] = id = depot->used;
            }
            break; /* full: the trace is not kept */
        }
        const struct trace *t = &depot->traces[slot];
        if (t->hash == hash && t->depth == depth &&
            memcmp(t->frames, frames, depth * sizeof frames[0]) == 0) {
            id = slot;
            break;
        }
    }
    pthread_mutex_unlock(&depot_lock);
    return id;
}

uint32_t myalloc__trace_capture(unsigned max_depth)
{
    uintptr_t raw[TRACE_MAX_DEPTH + 16];
    uintptr_t frames[TRACE_MAX_DEPTH];
    unsigned depth = 0;
    size_t n;

    if (depot == NULL || max_depth == 0)
        return 0;
    if (max_depth > TRACE_MAX_DEPTH)
        max_depth = TRACE_MAX_DEPTH;
    /* Unwinding costs per frame: only as deep as kept, plus room for
     * the library's own frames. */
    n = myalloc__unwind(raw, max_depth + 16);
    /* Frame 0 is this function; then the library's frames, if known. */
    size_t first = 1;
    while (first < n && raw[first] >= own_code_start && raw[first] < own_code_end)
        first++;
    for (size_t i = first; i < n && depth < max_depth; i++)
        frames[depth++] = raw[i];
    if (depth == 0)
        return 0;
    return depot_intern(frames, depth);
}

void myalloc__trace_print(uint32_t id)
{
    struct report_line l = { .len = 0 };

    if (id == 0 || depot == NULL || id > depot->used) {
        myalloc__line_put(&l, "myalloc:     (no stack trace kept)");
        myalloc__line_flush(&l);
        return;
    }
    const struct trace *t = &depot->traces[id];
    for (unsigned i = 0; i < t->depth; i++) {
        Dl_info info;
        /* Return addresses point after the call; look up the call. */
        uintptr_t pc = t->frames[i];

        myalloc__line_put(&l, "myalloc:     #");
        myalloc__line_put_uint(&l, i);
        myalloc__line_put(&l, " ");
        myalloc__line_put_pointer(&l, (void *)pc);
        if (dladdr((void *)(pc - 1), &info) != 0) {
            if (info.dli_sname != NULL) {
                myalloc__line_put(&l, " ");
                myalloc__line_put(&l, info.dli_sname);
                myalloc__line_put(&l, "+");
                myalloc__line_put_hex(&l, pc - (uintptr_t)info.dli_saddr);
            }
            if (info.dli_fname != NULL && info.dli_fname[0] != '\0') {
                myalloc__line_put(&l, " (");
                myalloc__line_put(&l, info.dli_fname);
                myalloc__line_put(&l, ")");
            }
        }
        myalloc__line_flush(&l);
    }
}

bool myalloc__trace_starts_in(uint32_t id, const char *prefix)
{
    Dl_info info;

    if (id == 0 || depot == NULL || id > depot->used)
        return false;
    return dladdr((void *)(depot->traces[id].frames[0] - 1), &info) != 0 &&
           info.dli_sname != NULL && strncmp(info.dli_sname, prefix, strlen(prefix)) == 0;
}

void myalloc__trace_fork_prepare(void)
{
    pthread_mutex_lock(&depot_lock);
}

void myalloc__trace_fork_parent(void)
{
    pthread_mutex_unlock(&depot_lock);
}

void myalloc__trace_fork_child(void)
{
    pthread_mutex_init(&depot_lock, NULL);
}
