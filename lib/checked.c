/* checked.c - checked mode: red zones, quarantine, double and invalid
 * frees with the block's history, and the leak report at exit.
 *
 * Off by default; MYALLOC_OPTIONS=check=1 or my_option_set("check", "1")
 * switches it on for the blocks allocated from then on.  It trades speed
 * for reports: one lock (check_lock) serialises the block table and the
 * quarantine, and every allocation and free captures a stack trace.
 *
 * Invariants, under check_lock:
 * - table holds every checked block, keyed by the caller's pointer: CB_LIVE
 *   until freed, then CB_FREED while in the quarantine ring, then
 *   CB_RELEASED (its memory given back to the core, its history kept) until
 *   RELEASED_SLOTS more blocks have been released or a new checked block
 *   takes the same address;
 * - a CB_LIVE block's red zones hold CHECK_REDZONE_BYTE (and its back link)
 *   unless the program wrote there; a CB_FREED block's bytes hold
 *   CHECK_FREED_BYTE (or its mapping is inaccessible, if guarded) unless
 *   the program wrote there after freeing it;
 * - quarantine_bytes is the sum of the sizes of the blocks in the ring. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"

bool myalloc__check_on;

/* Bytes of red zone verified on each side; a wider gap (alignment, buddy
 * rounding) is left alone, so that a checked allocation costs O(size). */
#define REDZONE_FRONT 64
#define REDZONE_TAIL_MAX PAGE_SIZE
#define REDZONE_TAIL_MIN 16
#define BACK_LINK_SIZE sizeof(uintptr_t)

#define QUARANTINE_SLOTS ((size_t)1 << 18)
/* Released blocks whose history is kept, so that a late second free is
 * still named a double free, with both traces. */
#define RELEASED_SLOTS ((size_t)1 << 18)
#define GUARD_MAX_BLOCKS 16384 /* keeps far below vm.max_map_count */

enum guard_mode { GUARD_NONE, GUARD_HUGE, GUARD_ALL, GUARD_SAMPLE };

struct check_settings {
    bool canary, fill, leaks, abort_on_error;
    size_t quarantine_bytes;
    enum guard_mode guard;
    unsigned guard_every; /* GUARD_SAMPLE: one allocation in this many */
    unsigned trace_depth;
};

static struct check_settings settings = {
    .canary = true,
    .fill = true,
    .leaks = true,
    .abort_on_error = true,
    .quarantine_bytes = (size_t)32 << 20,
    .guard = GUARD_HUGE,
    .guard_every = 1,
    .trace_depth = 12,
};

enum cb_state { CB_LIVE = 1, CB_FREED = 2, CB_RELEASED = 3 };

struct cblock {
    uintptr_t user; /* 0: empty slot; CB_TOMBSTONE: deleted */
    uintptr_t base; /* core block, or guarded mapping */
    size_t size;    /* as requested */
    size_t span;    /* bytes from base: core usable size, or mapping size */
    size_t alignment; /* as asked of an aligned allocation; 0 for others */
    const char *free_fn;
    uint32_t alloc_trace, free_trace;
    uint8_t state;
    uint8_t call; /* enum check_call */
    bool guarded;
    bool filled; /* CB_FREED: its bytes were set to CHECK_FREED_BYTE */
};
#define CB_TOMBSTONE ((uintptr_t)1)

struct ctable {
    size_t capacity; /* a power of two */
    size_t used;     /* live entries and tombstones */
    size_t live;
    struct cblock slots[];
};

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctable *_Atomic table;
static uintptr_t *quarantine; /* ring of user pointers */
static size_t quarantine_head, quarantine_count, quarantine_bytes;
static uintptr_t *released; /* ring of user pointers, oldest overwritten */
static size_t released_head;
static size_t guarded_blocks;
static unsigned long guard_sample_counter;
static uintptr_t back_link_secret;

/* Set while this thread works inside checked mode: what the C library
 * allocates for it (the unwinder, on first use) is served plain. */
static __thread bool in_checked __attribute__((tls_model("initial-exec")));

static const char *const call_names[] = {
    [CALL_MALLOC] = "malloc",
    [CALL_CALLOC] = "calloc",
    [CALL_REALLOC] = "realloc",
    [CALL_ALIGNED] = "an aligned allocation",
};

/* ------------------------------------------------------------- table -- */
static size_t slot_of(uintptr_t user, size_t capacity)
{
    return (size_t)(((user >> 4) * 0x9e3779b97f4a7c15u) >> 20) & (capacity - 1);
}

static size_t table_bytes(size_t capacity)
{
    return align_up(sizeof(struct ctable) + capacity * sizeof(struct cblock), PAGE_SIZE);
}

static struct ctable *table_new(size_t capacity)
{
    void *mem;
    if (myalloc__os_map(table_bytes(capacity), NULL, &mem) != 0)
        return NULL;
    struct ctable *t = mem;
    t->capacity = capacity;
    return t;
}

static struct cblock *table_find(struct ctable *t, uintptr_t user)
{
    for (size_t i = slot_of(user, t->capacity);; i = (i + 1) & (t->capacity - 1)) {
        struct cblock *b = &t->slots[i];
        if (b->user == user)
            return b;
        if (b->user == 0)
            return NULL;
    }
}

static void table_put(struct ctable *t, const struct cblock *nb)
{
    for (size_t i = slot_of(nb->user, t->capacity);; i = (i + 1) & (t->capacity - 1)) {
        struct cblock *b = &t->slots[i];
        if (b->user == 0 || b->user == CB_TOMBSTONE) {
            if (b->user == 0)
                t->used++;
            *b = *nb;
            t->live++;
            return;
        }
    }
}

/* Room for one more entry: rebuilt at twice the size (or the same size,
 * to drop tombstones) when three quarters are used.  ENOMEM if the OS
 * refuses. */
static int table_reserve(void)
{
    struct ctable *t = table, *n;

    if (t != NULL && (t->used + 1) * 4 <= t->capacity * 3)
        return 0;
    n = table_new(t == NULL ? 4096 : (t->live + 1) * 2 > t->capacity ? t->capacity * 2
                                                                      : t->capacity);
    if (n == NULL)
        return ENOMEM;
    if (t != NULL) {
        for (size_t i = 0; i < t->capacity; i++) {
            if (t->slots[i].user > CB_TOMBSTONE)
                table_put(n, &t->slots[i]);
        }
        table = n;
        (void)myalloc__os_unmap(t, table_bytes(t->capacity));
    } else {
        table = n;
    }
    return 0;
}

static void table_delete(struct cblock *b)
{
    b->user = CB_TOMBSTONE;
    table->live--;
}

/* ----------------------------------------------------------- reports -- */
/* Puts "KIND: SIZE-byte block ADDR". */
static void put_block(struct report_line *l, const char *kind, const struct cblock *b)
{
    myalloc__line_put(l, kind);
    myalloc__line_put(l, ": ");
    myalloc__line_put_uint(l, b->size);
    myalloc__line_put(l, "-byte block ");
    myalloc__line_put_pointer(l, (void *)b->user);
}

static void report_begin(struct report_line *l, const char *fn, const void *addr,
                         const char *kind, const struct cblock *b)
{
    myalloc__line_put_call(l, fn, addr);
    put_block(l, kind, b);
}

/* Puts ": byte OFFSET (N past the end)" or "(N before the start)". */
static void report_offset(struct report_line *l, int64_t offset, size_t size)
{
    myalloc__line_put(l, ": byte ");
    myalloc__line_put_int(l, offset);
    if (offset >= (int64_t)size) {
        myalloc__line_put(l, " (");
        myalloc__line_put_uint(l, (uint64_t)(offset - (int64_t)size) + 1);
        myalloc__line_put(l, " past the end)");
    } else if (offset < 0) {
        myalloc__line_put(l, " (");
        myalloc__line_put_uint(l, (uint64_t)-offset);
        myalloc__line_put(l, " before the start)");
    }
}

/* Ends the first line, prints the block's history, and aborts unless
 * check_abort=0. */
static void report_end(struct report_line *l, const struct cblock *b)
{
    myalloc__line_flush(l);
    myalloc__line_put(l, "myalloc:   allocated by ");
    myalloc__line_put(l, call_names[b->call]);
    myalloc__line_put(l, " at:");
    myalloc__line_flush(l);
    myalloc__trace_print(b->alloc_trace);
    if (b->state != CB_LIVE) {
        myalloc__line_put(l, "myalloc:   freed by ");
        myalloc__line_put(l, b->free_fn);
        myalloc__line_put(l, " at:");
        myalloc__line_flush(l);
        myalloc__trace_print(b->free_trace);
    }
    if (settings.abort_on_error)
        abort();
}

/* ------------------------------------------------------ verification -- */
/* Offset from user of the first byte in [from, to) that is not pattern,
 * or INT64_MAX. */
static int64_t first_changed(const struct cblock *b, uintptr_t from, uintptr_t to,
                             unsigned char pattern)
{
    for (uintptr_t a = from; a < to; a++) {
        if (*(const unsigned char *)a != pattern)
            return (int64_t)(a - b->user);
    }
    return INT64_MAX;
}

static uintptr_t front_start(const struct cblock *b)
{
    uintptr_t start = b->base + BACK_LINK_SIZE;
    return b->user - start > REDZONE_FRONT ? b->user - REDZONE_FRONT : start;
}

static uintptr_t tail_end(const struct cblock *b)
{
    uintptr_t end = b->base + b->span, limit = b->user + b->size + REDZONE_TAIL_MAX;
    if (b->guarded)
        end -= PAGE_SIZE; /* the guard page */
    return end < limit ? end : limit;
}

static void redzones_fill(const struct cblock *b)
{
    *(uintptr_t *)b->base = b->user ^ back_link_secret;
    memset((void *)front_start(b), CHECK_REDZONE_BYTE, b->user - front_start(b));
    memset((void *)(b->user + b->size), CHECK_REDZONE_BYTE, tail_end(b) - (b->user + b->size));
}

/* The kind of damage to a live block's red zones and the offset of the
 * first damaged byte; NULL if none. */
static const char *redzones_damage(const struct cblock *b, int64_t *offset)
{
    if (!settings.canary)
        return NULL;
    *offset = first_changed(b, front_start(b), b->user, CHECK_REDZONE_BYTE);
    if (*offset == INT64_MAX && *(const uintptr_t *)b->base != (b->user ^ back_link_secret))
        *offset = -(int64_t)(b->user - b->base);
    if (*offset != INT64_MAX)
        return "buffer underflow";
    *offset = first_changed(b, b->user + b->size, tail_end(b), CHECK_REDZONE_BYTE);
    return *offset != INT64_MAX ? "buffer overflow" : NULL;
}

/* For a freed block: the offset of the first byte written after the free. */
static int64_t freed_damage(const struct cblock *b)
{
    if (!b->filled)
        return INT64_MAX;
    return first_changed(b, b->user, b->user + b->size, CHECK_FREED_BYTE);
}

/* Puts the damage to b (live: its red zones; freed: its bytes), as
 * "KIND: SIZE-byte block ADDR: byte N (...) overwritten"; false, with
 * nothing put, when there is none. */
static bool put_damage(struct report_line *l, const struct cblock *b)
{
    int64_t offset;
    const char *kind;

    if (b->state == CB_LIVE) {
        kind = redzones_damage(b, &offset);
    } else {
        offset = freed_damage(b);
        kind = offset != INT64_MAX ? "use after free" : NULL;
    }
    if (kind == NULL)
        return false;
    put_block(l, kind, b);
    report_offset(l, offset, b->size);
    myalloc__line_put(l, b->state == CB_LIVE ? " overwritten" : " written after free");
    return true;
}

/* Reports damage to b found by fn (during a call on addr); true if any. */
static bool block_check(const char *fn, const void *addr, const struct cblock *b)
{
    struct report_line l = { .len = 0 };

    myalloc__line_put_call(&l, fn, addr);
    if (!put_damage(&l, b))
        return false;
    report_end(&l, b);
    return true;
}

/* ------------------------------------------------- getting the memory -- */
static bool guard_wanted(size_t size, size_t alignment)
{
    if (alignment > PAGE_SIZE || guarded_blocks >= GUARD_MAX_BLOCKS)
        return false;
    switch (settings.guard) {
    case GUARD_NONE:
        return false;
    case GUARD_HUGE:
        return size > BUDDY_MAX_REQUEST;
    case GUARD_ALL:
        return true;
    case GUARD_SAMPLE:
        return ++guard_sample_counter % settings.guard_every == 0;
    }
    return false;
}

/* A mapping whose last page is inaccessible, the block ending as close to
 * it as the alignment allows. */
static int guarded_map(struct cblock *b, size_t alignment)
{
    size_t data;
    void *mem;
    int err;

    if (b->size > REQUEST_MAX - alignment - REDZONE_FRONT - 2 * PAGE_SIZE)
        return ENOMEM;
    data = align_up(b->size + alignment + REDZONE_FRONT, PAGE_SIZE);
    err = myalloc__os_map(data + PAGE_SIZE, NULL, &mem);
    if (err != 0)
        return err;
    err = myalloc__os_protect((char *)mem + data, PAGE_SIZE, false);
    if (err != 0) {
        (void)myalloc__os_unmap(mem, data + PAGE_SIZE);
        return err;
    }
    b->base = (uintptr_t)mem;
    b->span = data + PAGE_SIZE;
    b->user = ((uintptr_t)mem + data - b->size) & ~(uintptr_t)(alignment - 1);
    b->guarded = true;
    myalloc__guard_handler_install();
    return 0;
}

static int core_get(struct cblock *b, size_t alignment)
{
    size_t front = alignment > MIN_ALIGN ? alignment : MIN_ALIGN;
    size_t total;

    if (__builtin_add_overflow(front + REDZONE_TAIL_MIN, b->size, &total))
        return ENOMEM;
    void *p = myalloc__alloc_plain(total, front);
    if (p == NULL)
        return errno;
    b->base = (uintptr_t)p;
    b->span = myalloc__usable_size_plain(p, "checked mode");
    b->user = b->base + front;
    b->guarded = false;
    return 0;
}

/* Gives b's memory back (check_lock held). */
static void release(struct cblock *b)
{
    if (b->guarded) {
        (void)myalloc__os_unmap((void *)b->base, b->span);
        guarded_blocks--;
    } else {
        myalloc__free_plain((void *)b->base, "checked mode");
    }
}

/* ---------------------------------------------------------- released -- */
/* b's memory went back to the core: keep its history, forgetting the
 * oldest such block (unless a new block has taken its address since). */
static void released_remember(struct cblock *b)
{
    uintptr_t oldest = released[released_head];

    if (oldest != 0) {
        struct cblock *o = table_find(table, oldest);
        if (o != NULL && o->state == CB_RELEASED)
            table_delete(o);
    }
    b->state = CB_RELEASED;
    released[released_head] = b->user;
    released_head = (released_head + 1) % RELEASED_SLOTS;
}

/* -------------------------------------------------------- quarantine -- */
/* Takes the oldest block out of the quarantine, checks it, releases it. */
static void quarantine_evict_one(void)
{
    size_t tail = (quarantine_head + QUARANTINE_SLOTS - quarantine_count) % QUARANTINE_SLOTS;
    struct cblock *b = table_find(table, quarantine[tail]);

    quarantine_count--;
    quarantine_bytes -= b->size;
    (void)block_check("quarantine", (void *)b->user, b);
    release(b);
    released_remember(b);
}

static void quarantine_add(struct cblock *b)
{
    quarantine[quarantine_head] = b->user;
    quarantine_head = (quarantine_head + 1) % QUARANTINE_SLOTS;
    quarantine_count++;
    quarantine_bytes += b->size;
    while (quarantine_count > 0 &&
           (quarantine_bytes > settings.quarantine_bytes || quarantine_count == QUARANTINE_SLOTS))
        quarantine_evict_one();
}

/* ----------------------------------------------------------- set-up -- */
static int check_start(void)
{
    void *mem;
    int err = myalloc__trace_init();

    if (err == 0 && quarantine == NULL) {
        err = myalloc__os_map(QUARANTINE_SLOTS * sizeof *quarantine, NULL, &mem);
        if (err == 0)
            quarantine = mem;
    }
    if (err == 0 && released == NULL) {
        err = myalloc__os_map(RELEASED_SLOTS * sizeof *released, NULL, &mem);
        if (err == 0)
            released = mem;
    }
    if (err == 0)
        err = table_reserve();
    if (err != 0)
        return err;
    myalloc__stderr_keep();
    /* Secret, so that a stray pointer value is not taken for a back link;
     * odd, so that it is never 0 (unset). */
    if (back_link_secret == 0 &&
        myalloc__os_random(&back_link_secret, sizeof back_link_secret) != 0)
        back_link_secret = (uintptr_t)myalloc__os_weak_entropy();
    back_link_secret |= 1;
    myalloc__check_on = true;
    return 0;
}

/* --------------------------------------------------- the entry points -- */
void *myalloc__checked_alloc(size_t size, size_t alignment, enum check_call call)
{
    struct cblock b = { .size = size, .call = (uint8_t)call, .state = CB_LIVE };
    int err;

    if (in_checked)
        return myalloc__alloc_plain(size, alignment);
    if (size > REQUEST_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    b.alignment = call == CALL_ALIGNED ? alignment : 0;
    if (alignment < MIN_ALIGN)
        alignment = MIN_ALIGN;
    in_checked = true;
    b.alloc_trace = myalloc__trace_capture(settings.trace_depth);
    pthread_mutex_lock(&check_lock);
    err = table_reserve();
    if (err == 0 && guard_wanted(size, alignment)) {
        err = guarded_map(&b, alignment);
        if (err == 0)
            guarded_blocks++;
    } else if (err == 0) {
        err = core_get(&b, alignment);
    }
    if (err == 0) {
        redzones_fill(&b);
        if (call == CALL_CALLOC)
            memset((void *)b.user, 0, size);
        else if (settings.fill)
            memset((void *)b.user, CHECK_FRESH_BYTE, size);
        struct cblock *old = table_find(table, b.user);
        if (old != NULL)
            *old = b; /* a released block's address, taken again */
        else
            table_put(table, &b);
    }
    pthread_mutex_unlock(&check_lock);
    in_checked = false;
    if (err != 0) {
        errno = err;
        return NULL;
    }
    return (void *)b.user;
}

/* The checked block whose memory holds addr, for a report on a pointer
 * that is not a block start: found through the core block around addr and
 * its back link.  NULL if there is none. */
static struct cblock *containing_block(uintptr_t addr)
{
    uintptr_t base = myalloc__core_block_start(addr);
    struct cblock *b;

    if (base == 0)
        return NULL;
    b = table_find(table, *(const uintptr_t *)base ^ back_link_secret);
    return b != NULL && b->state != CB_RELEASED && b->base == base ? b : NULL;
}

bool myalloc__checked_free(void *ptr, const char *fn)
{
    struct report_line l = { .len = 0 };
    struct cblock *b;
    uint32_t trace;

    if (in_checked || table == NULL)
        return false;
    in_checked = true;
    trace = myalloc__trace_capture(settings.trace_depth);
    pthread_mutex_lock(&check_lock);
    b = table_find(table, (uintptr_t)ptr);
    if (b == NULL) {
        b = containing_block((uintptr_t)ptr);
        if (b != NULL) {
            report_begin(&l, fn, ptr, PROBLEM_INTERIOR, b);
            report_offset(&l, (int64_t)((uintptr_t)ptr - b->user), b->size);
            report_end(&l, b);
        }
    } else if (b->state != CB_LIVE) {
        report_begin(&l, fn, ptr, strstr(fn, "free") != NULL ? PROBLEM_DOUBLE_FREE : PROBLEM_FREED,
                     b);
        report_end(&l, b);
    } else if (block_check(fn, ptr, b)) {
        /* Reported and going on: the damaged block is kept out of use. */
        table_delete(b);
    } else {
        b->state = CB_FREED;
        b->free_fn = fn;
        b->free_trace = trace;
        if (b->guarded)
            (void)myalloc__os_protect((void *)b->base, b->span, false);
        else if (settings.fill)
            memset(ptr, CHECK_FREED_BYTE, b->size);
        b->filled = !b->guarded && settings.fill;
        quarantine_add(b);
    }
    pthread_mutex_unlock(&check_lock);
    in_checked = false;
    return b != NULL;
}

/* "alignment N", or "no alignment" for a call that takes none. */
static void put_alignment(struct report_line *l, size_t alignment)
{
    if (alignment == 0) {
        myalloc__line_put(l, "no alignment");
    } else {
        myalloc__line_put(l, "alignment ");
        myalloc__line_put_uint(l, alignment);
    }
}

bool myalloc__checked_free_sized(void *ptr, size_t alignment, size_t size, const char *fn)
{
    struct report_line l = { .len = 0 };
    struct cblock *b;

    if (in_checked || table == NULL)
        return false;
    pthread_mutex_lock(&check_lock);
    b = table_find(table, (uintptr_t)ptr);
    if (b != NULL && b->state == CB_LIVE && b->alignment != alignment) {
        report_begin(&l, fn, ptr, PROBLEM_ALIGN_MISMATCH, b);
        myalloc__line_put(&l, ": allocated with ");
        put_alignment(&l, b->alignment);
        myalloc__line_put(&l, ", freed with ");
        put_alignment(&l, alignment);
        report_end(&l, b);
    } else if (b != NULL && b->state == CB_LIVE && b->size != size) {
        report_begin(&l, fn, ptr, PROBLEM_SIZE_MISMATCH, b);
        myalloc__line_put(&l, ": freed with size ");
        myalloc__line_put_uint(&l, size);
        report_end(&l, b);
    }
    pthread_mutex_unlock(&check_lock);
    return myalloc__checked_free(ptr, fn);
}

void *myalloc__checked_realloc(void *ptr, size_t size, const char *fn)
{
    size_t old_size;
    void *q;

    if (ptr == NULL)
        return myalloc__checked_alloc(size, MIN_ALIGN, CALL_REALLOC);
    if (!myalloc__checked_usable_size(ptr, fn, &old_size))
        old_size = myalloc__usable_size_plain(ptr, fn);
    q = myalloc__checked_alloc(size, MIN_ALIGN, CALL_REALLOC);
    if (q == NULL)
        return NULL;
    memcpy(q, ptr, old_size < size ? old_size : size);
    if (!myalloc__checked_free(ptr, fn))
        myalloc__free_plain(ptr, fn);
    return q;
}

bool myalloc__checked_usable_size(const void *ptr, const char *fn, size_t *size)
{
    struct report_line l = { .len = 0 };
    struct cblock *b;
    bool found;

    if (table == NULL)
        return false;
    pthread_mutex_lock(&check_lock);
    b = table_find(table, (uintptr_t)ptr);
    found = b != NULL;
    if (found && b->state != CB_LIVE) {
        report_begin(&l, fn, ptr, PROBLEM_FREED, b);
        report_end(&l, b);
    }
    if (found)
        *size = b->size;
    pthread_mutex_unlock(&check_lock);
    return found;
}

const char *myalloc__checked_verify_all(void)
{
    static char description[256];
    const char *problem = NULL;
    struct ctable *t;

    pthread_mutex_lock(&check_lock);
    t = table;
    for (size_t i = 0; t != NULL && i < t->capacity && problem == NULL; i++) {
        const struct cblock *b = &t->slots[i];
        struct report_line l = { .len = 0 };

        if (b->user <= CB_TOMBSTONE || b->state == CB_RELEASED)
            continue; /* its memory is the core's again */
        if (put_damage(&l, b)) {
            if (l.len >= sizeof description)
                l.len = sizeof description - 1;
            memcpy(description, l.buf, l.len);
            description[l.len] = '\0';
            problem = description;
        }
    }
    pthread_mutex_unlock(&check_lock);
    return problem;
}

/* ------------------------------------------------------ guard faults -- */
bool myalloc__checked_fault(const void *addr)
{
    struct ctable *t = table;
    uintptr_t a = (uintptr_t)addr;

    /* A signal handler: no lock (the faulting thread may hold none of ours,
     * another may), only reads of the table, which is never unmapped while
     * a guarded block is in it... except on growth, a race taken on this
     * path to a crash report. */
    for (size_t i = 0; t != NULL && i < t->capacity; i++) {
        const struct cblock *b = &t->slots[i];
        struct report_line l = { .len = 0 };
        uintptr_t guard;

        if (b->user <= CB_TOMBSTONE || !b->guarded || b->state == CB_RELEASED ||
            a < b->base || a >= b->base + b->span)
            continue;
        guard = b->base + b->span - PAGE_SIZE;
        report_begin(&l, "SIGSEGV", addr,
                     b->state == CB_FREED ? "use after free" : a >= guard ? "buffer overflow"
                                                                          : "buffer underflow",
                     b);
        report_offset(&l, (int64_t)(a - b->user), b->size);
        myalloc__line_put(&l, b->state == CB_FREED ? " accessed after free" : " accessed");
        report_end(&l, b);
        /* check_abort=0: let the access through. */
        (void)myalloc__os_protect((void *)(b->state == CB_FREED ? b->base : guard),
                                  b->state == CB_FREED ? b->span : PAGE_SIZE, true);
        return true;
    }
    return false;
}

/* --------------------------------------------------------- leaks -- */
struct leak_site {
    uint64_t bytes, blocks;
};

/* Sites whose first frame has this prefix are the C library's stdio
 * buffers: it frees them after our report (in exit's last step), so they
 * are left out (myalloc(7) says so). */
#define STDIO_BUFFER_PREFIX "_IO_"
#define LEAK_SITES_SHOWN 20

/* "WHAT BYTES bytes in BLOCKS block(s)", then " from SITES site(s)" when
 * sites is not 0, else " allocated at:"; a line of its own. */
static void leak_line(const char *what, uint64_t bytes, uint64_t blocks, uint64_t sites)
{
    struct report_line l = { .len = 0 };

    myalloc__line_put(&l, what);
    myalloc__line_put_uint(&l, bytes);
    myalloc__line_put(&l, " bytes in ");
    myalloc__line_put_uint(&l, blocks);
    myalloc__line_put(&l, blocks == 1 ? " block" : " blocks");
    if (sites != 0) {
        myalloc__line_put(&l, " from ");
        myalloc__line_put_uint(&l, sites);
        myalloc__line_put(&l, sites == 1 ? " site" : " sites");
    } else {
        myalloc__line_put(&l, " allocated at:");
    }
    myalloc__line_flush(&l);
}

void myalloc__checked_report_leaks(void)
{
    struct leak_site *sites;
    size_t nsites = (size_t)1 << 16, map_bytes = nsites * sizeof *sites;
    uint64_t total_bytes = 0, total_blocks = 0, total_sites = 0;
    void *mem;

    if (table == NULL || !settings.leaks)
        return;
    if (myalloc__os_map(map_bytes, NULL, &mem) != 0)
        return;
    sites = mem;
    pthread_mutex_lock(&check_lock);
    for (size_t i = 0; i < table->capacity; i++) {
        const struct cblock *b = &table->slots[i];
        if (b->user <= CB_TOMBSTONE || b->state != CB_LIVE)
            continue;
        struct leak_site *s = &sites[b->alloc_trace & (nsites - 1)];
        s->bytes += b->size;
        s->blocks++;
    }
    pthread_mutex_unlock(&check_lock);
    for (size_t i = 0; i < nsites; i++) {
        if (sites[i].blocks == 0)
            continue;
        if (myalloc__trace_starts_in((uint32_t)i, STDIO_BUFFER_PREFIX)) {
            sites[i].blocks = 0;
            continue;
        }
        total_sites++;
        total_bytes += sites[i].bytes;
        total_blocks += sites[i].blocks;
    }
    /* Largest first: pick the biggest remaining site each time (nothing
     * here may allocate, so no qsort); the long tail only in the totals. */
    for (uint64_t printed = 0; printed < total_sites && printed < LEAK_SITES_SHOWN; printed++) {
        size_t best = 0;
        for (size_t i = 1; i < nsites; i++) {
            if (sites[i].blocks != 0 &&
                (sites[best].blocks == 0 || sites[i].bytes > sites[best].bytes))
                best = i;
        }
        leak_line("myalloc: leak: ", sites[best].bytes, sites[best].blocks, 0);
        myalloc__trace_print((uint32_t)best);
        sites[best].blocks = 0;
    }
    if (total_blocks != 0)
        leak_line("myalloc: leaks: ", total_bytes, total_blocks, total_sites);
    (void)myalloc__os_unmap(mem, map_bytes);
}

/* At exit: blocks damaged and not freed, then what is still allocated. */
__attribute__((destructor)) static void checked_at_exit(void)
{
    const char *problem;

    if (table == NULL)
        return;
    myalloc__report_to(myalloc__stderr_at_exit());
    problem = myalloc__checked_verify_all();
    if (problem != NULL) {
        const char *parts[] = { "at exit: ", problem };
        myalloc__report_warning(parts, 2);
        if (settings.abort_on_error)
            abort();
    }
    myalloc__checked_report_leaks();
}

/* ----------------------------------------------------------- options -- */
static bool parse_size(const char *value, size_t len, size_t *out)
{
    size_t v = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9' ||
            __builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (size_t)(value[i] - '0'), &v))
            return false;
    }
    *out = v;
    return true;
}

int myalloc__checked_option(const char *name, size_t name_len, const char *value, size_t len)
{
    struct check_settings s;
    size_t n;
    bool on;
    int err = 0;

    pthread_mutex_lock(&check_lock);
    s = settings;
    if (myalloc__option_text_is(name, name_len, "check")) {
        if (!myalloc__option_flag(value, len, &on))
            err = EINVAL;
        else if (!on && myalloc__check_on)
            err = EBUSY; /* checked blocks exist: the core cannot take them */
        else if (on && !myalloc__check_on)
            err = check_start();
    } else if (myalloc__option_text_is(name, name_len, "check_canary")) {
        err = myalloc__option_flag(value, len, &s.canary) ? 0 : EINVAL;
    } else if (myalloc__option_text_is(name, name_len, "check_fill")) {
        err = myalloc__option_flag(value, len, &s.fill) ? 0 : EINVAL;
    } else if (myalloc__option_text_is(name, name_len, "check_leaks")) {
        err = myalloc__option_flag(value, len, &s.leaks) ? 0 : EINVAL;
    } else if (myalloc__option_text_is(name, name_len, "check_abort")) {
        err = myalloc__option_flag(value, len, &s.abort_on_error) ? 0 : EINVAL;
    } else if (myalloc__option_text_is(name, name_len, "check_quarantine")) {
        err = parse_size(value, len, &s.quarantine_bytes) ? 0 : EINVAL;
    } else if (myalloc__option_text_is(name, name_len, "check_trace")) {
        err = parse_size(value, len, &n) && n <= TRACE_MAX_DEPTH ? 0 : EINVAL;
        if (err == 0)
            s.trace_depth = (unsigned)n;
    } else if (myalloc__option_text_is(name, name_len, "check_guard")) {
        if (myalloc__option_text_is(value, len, "none"))
            s.guard = GUARD_NONE;
        else if (myalloc__option_text_is(value, len, "huge"))
            s.guard = GUARD_HUGE;
        else if (myalloc__option_text_is(value, len, "all"))
            s.guard = GUARD_ALL;
        else if (parse_size(value, len, &n) && n >= 1 && n <= UINT32_MAX) {
            s.guard = n == 1 ? GUARD_ALL : GUARD_SAMPLE;
            s.guard_every = (unsigned)n;
        } else
            err = EINVAL;
    } else {
        err = ENOENT;
    }
    /* check_canary=0 keeps the layout and skips the verification;
     * check_fill=0 leaves freed blocks unfilled, so writes after free go
     * unseen (each block records whether it was filled). */
    if (err == 0)
        settings = s;
    pthread_mutex_unlock(&check_lock);
    return err;
}

/* -------------------------------------------------------------- fork -- */
void myalloc__checked_fork_prepare(void)
{
    pthread_mutex_lock(&check_lock);
    myalloc__trace_fork_prepare();
}

void myalloc__checked_fork_parent(void)
{
    myalloc__trace_fork_parent();
    pthread_mutex_unlock(&check_lock);
}

void myalloc__checked_fork_child(void)
{
    myalloc__trace_fork_child();
    pthread_mutex_init(&check_lock, NULL);
}
