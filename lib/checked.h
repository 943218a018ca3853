/* checked.h - checked mode (checked.c), its stack traces (trace.c) and
 * guarded blocks (guard.c): the interface the entry points and the
 * options use.
 *
 * A checked block is a core block (or a guarded mapping) with the caller's
 * bytes inside red zones:
 *
 *   base                          user                 user+size
 *   | back link | red zone ...... | the caller's bytes | red zone ... |
 *
 * so that a checked pointer is never the start of a core block: the fast
 * free path (fastpath.h) cannot take one and sends it to the slow path,
 * which asks checked mode first.  Everything else about a checked block
 * (size, state, traces) is kept out of band, in a table keyed by the
 * caller's pointer.  Blocks made before checked mode was switched on, or
 * by calls nested in checked mode's own work, are plain core blocks and
 * stay valid. */
#ifndef MYALLOC_CHECKED_H
#define MYALLOC_CHECKED_H

#include "internal.h"

#define TRACE_MAX_DEPTH 16

/* Named byte patterns, easy to spot in a debugger. */
#define CHECK_REDZONE_BYTE 0xfd /* around every block */
#define CHECK_FRESH_BYTE 0xcd   /* new bytes of malloc and realloc */
#define CHECK_FREED_BYTE 0xdf   /* freed blocks in quarantine */

/* Set once, never cleared: the fast malloc path reads it. */
MYALLOC_HIDDEN extern bool myalloc__check_on;

enum check_call { CALL_MALLOC, CALL_CALLOC, CALL_REALLOC, CALL_ALIGNED };

/* ---- checked.c --------------------------------------------------------- */
/* A checked block, or NULL with errno. */
MYALLOC_HIDDEN void *myalloc__checked_alloc(size_t size, size_t alignment, enum check_call call);
/* true when ptr was a checked block (freed, or reported); false leaves a
 * pointer checked mode does not know to the core. */
MYALLOC_HIDDEN bool myalloc__checked_free(void *ptr, const char *fn);
/* free_sized / free_aligned_sized (alignment 0 for the former): the size
 * and alignment must be those of the allocation; then as checked_free. */
MYALLOC_HIDDEN bool myalloc__checked_free_sized(void *ptr, size_t alignment, size_t size,
                                               const char *fn);
/* Always moves: a stale pointer to the old block is caught. */
MYALLOC_HIDDEN void *myalloc__checked_realloc(void *ptr, size_t size, const char *fn);
/* true and *size for a checked block. */
MYALLOC_HIDDEN bool myalloc__checked_usable_size(const void *ptr, const char *fn, size_t *size);
/* Every live block's red zones and every quarantined block's pattern:
 * NULL, or a description of the first damage (kept until the next call). */
MYALLOC_HIDDEN const char *myalloc__checked_verify_all(void);
/* MYALLOC_OPTIONS / my_option_set: 0, ENOENT (not a check option), EINVAL
 * or EBUSY (check=0 once on). */
MYALLOC_HIDDEN int myalloc__checked_option(const char *name, size_t name_len, const char *value,
                                           size_t len);
/* A fault at addr: true after reporting it if it hit a guarded block
 * (aborts unless check_abort=0); false if it is none of ours. */
MYALLOC_HIDDEN bool myalloc__checked_fault(const void *addr);
/* Writes the leak report (at exit). */
MYALLOC_HIDDEN void myalloc__checked_report_leaks(void);
MYALLOC_HIDDEN void myalloc__checked_fork_prepare(void);
MYALLOC_HIDDEN void myalloc__checked_fork_parent(void);
MYALLOC_HIDDEN void myalloc__checked_fork_child(void);

/* ---- guard.c ----------------------------------------------------------- */
MYALLOC_HIDDEN void myalloc__guard_handler_install(void);

/* ---- api.c: the core, for checked mode --------------------------------- */
MYALLOC_HIDDEN void *myalloc__alloc_plain(size_t size, size_t alignment);
MYALLOC_HIDDEN void myalloc__free_plain(void *ptr, const char *fn);
MYALLOC_HIDDEN size_t myalloc__usable_size_plain(const void *ptr, const char *fn);

/* ---- unwind.c ---------------------------------------------------------- */
/* Return addresses of the caller's stack, innermost first (at most
 * TRACE_MAX_DEPTH + 16): pcs[0] is the caller's own. */
MYALLOC_HIDDEN size_t myalloc__unwind(uintptr_t *pcs, size_t max);
/* The bounds of the loaded executable segment holding pc; false if there
 * is none or it is the program's own (a static link). */
MYALLOC_HIDDEN bool myalloc__code_range_of(uintptr_t pc, uintptr_t *start, uintptr_t *end);

/* ---- trace.c ----------------------------------------------------------- */
MYALLOC_HIDDEN int myalloc__trace_init(void);
/* The caller's stack, library frames left out: an id, 0 if none kept. */
MYALLOC_HIDDEN uint32_t myalloc__trace_capture(unsigned max_depth);
/* One "myalloc:     #i ADDR NAME+OFF (OBJECT)" line per frame. */
MYALLOC_HIDDEN void myalloc__trace_print(uint32_t id);
/* Whether the innermost frame is in a function whose name has prefix. */
MYALLOC_HIDDEN bool myalloc__trace_starts_in(uint32_t id, const char *prefix);
MYALLOC_HIDDEN void myalloc__trace_fork_prepare(void);
MYALLOC_HIDDEN void myalloc__trace_fork_parent(void);
MYALLOC_HIDDEN void myalloc__trace_fork_child(void);

#endif /* MYALLOC_CHECKED_H */
