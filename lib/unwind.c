/* unwind.c - a stack walker for checked mode's traces that learns from the
 * C library's unwinder and then walks without it.
 *
 * The DWARF unwinder (libgcc, behind backtrace()) interprets each frame's
 * call-frame program on every call: most of checked mode's time.  Yet at a
 * given return address almost every function has a fixed frame: the
 * canonical frame address (CFA) is the stack pointer plus a constant, and
 * the return address into the caller lies just below the CFA (x86-64).
 * So each walk by the unwinder records, per return address, that constant
 * (CFA minus the CFA of the frame below, which is this frame's stack
 * pointer); later walks follow the recorded constants and fall back to the
 * unwinder at the first address with none.
 *
 * Safety: a recorded constant is trusted only while it keeps agreeing.  An
 * address seen with two constants (a frame that varies in size: alloca, a
 * variable-length array) is marked unstable and always unwound the slow
 * way; a walk that yields a return address outside the loaded code goes
 * back to the unwinder too and marks the address unstable.  Reads stay
 * within 64 KiB above a valid stack pointer, inside the stack.  Only
 * x86-64 is walked fast; elsewhere every walk is the unwinder's. */
#include "config.h"

#define _GNU_SOURCE 1
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unwind.h>

#include "checked.h"

#define RULE_SLOTS 16384 /* a power of two */
#define RULE_PROBES 8
#define RULE_UNSTABLE 0xffffu
#define RULE_OUTERMOST 0xfffeu
#define RULE_MAX_OFFSET 0xfff0u

/* pc << 16 | rule; 0 is an empty slot.  Written with compare-and-swap by
 * any thread; a lost race only costs a slow walk. */
static _Atomic uint64_t rules[RULE_SLOTS];

#define CODE_RANGES 512
static struct code_range {
    uintptr_t start, end;
    bool program; /* the main program's own (its dlpi_name is empty) */
} code[CODE_RANGES];
static _Atomic unsigned ncode;
static pthread_mutex_t code_lock = PTHREAD_MUTEX_INITIALIZER;

static int add_object_code(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned *n = arg;
    (void)size;

    for (int i = 0; i < info->dlpi_phnum && *n < CODE_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            code[*n].start = info->dlpi_addr + ph->p_vaddr;
            code[*n].end = code[*n].start + ph->p_memsz;
            code[*n].program = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
            (*n)++;
        }
    }
    return 0;
}

/* Re-reads the loaded objects' code ranges (after a dlopen). */
static void code_ranges_refresh(void)
{
    unsigned n = 0;

    pthread_mutex_lock(&code_lock);
    atomic_store(&ncode, 0);
    dl_iterate_phdr(add_object_code, &n);
    atomic_store(&ncode, n);
    pthread_mutex_unlock(&code_lock);
}

static const struct code_range *code_range_find(uintptr_t pc)
{
    unsigned n = atomic_load(&ncode);
    for (unsigned i = 0; i < n; i++) {
        if (pc >= code[i].start && pc < code[i].end)
            return &code[i];
    }
    return NULL;
}

static bool is_code(uintptr_t pc)
{
    return code_range_find(pc) != NULL;
}

bool myalloc__code_range_of(uintptr_t pc, uintptr_t *start, uintptr_t *end)
{
    const struct code_range *c;

    code_ranges_refresh();
    c = code_range_find(pc);
    if (c == NULL || c->program)
        return false;
    *start = c->start;
    *end = c->end;
    return true;
}

static size_t rule_slot(uintptr_t pc)
{
    return (size_t)((pc * 0x9e3779b97f4a7c15u) >> 40) & (RULE_SLOTS - 1);
}

static unsigned rule_get(uintptr_t pc)
{
    for (size_t i = rule_slot(pc), k = 0; k < RULE_PROBES; k++, i = (i + 1) & (RULE_SLOTS - 1)) {
        uint64_t v = atomic_load_explicit(&rules[i], memory_order_relaxed);
        if (v == 0)
            return 0;
        if ((v >> 16) == pc)
            return (unsigned)(v & 0xffff);
    }
    return 0;
}

/* Records rule for pc; a different rule already there makes it unstable. */
static void rule_learn(uintptr_t pc, unsigned rule)
{
    if (pc == 0 || pc >= ((uintptr_t)1 << 48))
        return;
    for (size_t i = rule_slot(pc), k = 0; k < RULE_PROBES; k++, i = (i + 1) & (RULE_SLOTS - 1)) {
        uint64_t v = atomic_load_explicit(&rules[i], memory_order_relaxed);
        uint64_t want = (uint64_t)pc << 16 | rule;
        if (v == 0 && atomic_compare_exchange_strong(&rules[i], &v, want))
            return;
        if ((v >> 16) == pc) {
            if ((v & 0xffff) != rule)
                atomic_store_explicit(&rules[i], (uint64_t)pc << 16 | RULE_UNSTABLE,
                                      memory_order_relaxed);
            return;
        }
    }
}

/* ------------------------------------------------------ the slow walk -- */
struct slow_walk {
    uintptr_t pc[TRACE_MAX_DEPTH + 18];
    uintptr_t cfa[TRACE_MAX_DEPTH + 18];
    unsigned n, max;
};

static _Unwind_Reason_Code slow_step(struct _Unwind_Context *ctx, void *arg)
{
    struct slow_walk *w = arg;

    uintptr_t pc = (uintptr_t)_Unwind_GetIP(ctx);

    /* The outermost frame's caller comes as address 0: the end. */
    if (w->n == w->max || pc == 0)
        return _URC_END_OF_STACK;
    w->pc[w->n] = pc;
    w->cfa[w->n] = (uintptr_t)_Unwind_GetCFA(ctx);
    w->n++;
    return _URC_NO_REASON;
}

/* The unwinder's walk, recording what it learns.  Frames 0 and 1 are this
 * function and myalloc__unwind; pcs gets the frames above, as the fast
 * walk does. */
static __attribute__((noinline)) size_t unwind_slow(uintptr_t *pcs, size_t max)
{
    struct slow_walk w = { .n = 0, .max = (unsigned)max + 2 };
    bool complete, refreshed = false;

    if (w.max > sizeof w.pc / sizeof w.pc[0])
        w.max = sizeof w.pc / sizeof w.pc[0];
    _Unwind_Backtrace(slow_step, &w);
    complete = w.n < w.max;
    /* The unwinder's CFA for a frame is its callee's: the frame's stack
     * pointer.  So frame i's own CFA is cfa[i + 1]. */
    for (unsigned i = 1; i < w.n; i++) {
        if (!refreshed && !is_code(w.pc[i])) {
            code_ranges_refresh();
            refreshed = true;
        }
        if (i + 1 == w.n) {
            if (complete)
                rule_learn(w.pc[i], RULE_OUTERMOST);
        } else {
            uintptr_t offset = w.cfa[i + 1] - w.cfa[i];
            if (w.cfa[i + 1] > w.cfa[i] && offset <= RULE_MAX_OFFSET && offset % 8 == 0)
                rule_learn(w.pc[i], (unsigned)offset);
            else
                rule_learn(w.pc[i], RULE_UNSTABLE);
        }
        if (i >= 2)
            pcs[i - 2] = w.pc[i];
    }
    return w.n > 2 ? w.n - 2 : 0;
}

/* ------------------------------------------------------ the fast walk -- */
__attribute__((noinline)) size_t myalloc__unwind(uintptr_t *pcs, size_t max)
{
#if defined(__x86_64__)
    /* This function keeps a frame pointer (the builtin forces one): its
     * CFA is 16 bytes above it, and that is its caller's stack pointer. */
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0) + 16;
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    size_t n = 0;

    if (atomic_load_explicit(&ncode, memory_order_relaxed) == 0)
        code_ranges_refresh();
    while (n < max) {
        unsigned rule = rule_get(pc);
        uintptr_t cfa, ra;

        if (rule == RULE_OUTERMOST) {
            pcs[n++] = pc;
            return n;
        }
        if (rule == 0 || rule == RULE_UNSTABLE)
            break;
        cfa = sp + rule;
        ra = *(const uintptr_t *)(cfa - sizeof(uintptr_t));
        if (!is_code(ra)) {
            rule_learn(pc, RULE_UNSTABLE);
            break;
        }
        pcs[n++] = pc;
        sp = cfa;
        pc = ra;
    }
    if (n == max)
        return n;
#endif
    return unwind_slow(pcs, max);
}
