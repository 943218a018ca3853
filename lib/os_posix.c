/* os_posix.c - the only file that talks to the OS: memory, and the
 * randomness the free-list encoding needs.
 *
 * Contract: every primitive returns 0 or an errno value and never sets
 * errno for its caller; sizes and addresses are multiples of PAGE_SIZE.
 * Policy code never calls mmap, munmap, madvise or mremap itself, so that
 * tests can inject failures here and another OS is one new file. */
#include "config.h"

#define _GNU_SOURCE 1
#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SYS_RANDOM_H
#include <sys/random.h>
#endif

#include "internal.h"

/* Failure injection for tests: when positive, a countdown drops on every
 * mapping (or purge) and the call that brings it to zero fails. */
static _Atomic int inject_map_countdown;
static _Atomic int inject_purge_countdown;

void myalloc__os_inject_enomem(int after)
{
    atomic_store(&inject_map_countdown, after);
}

void myalloc__os_inject_purge_failure(int after)
{
    atomic_store(&inject_purge_countdown, after);
}

static bool injected_failure(_Atomic int *countdown)
{
    int n = atomic_load_explicit(countdown, memory_order_relaxed);
    while (n > 0) {
        if (atomic_compare_exchange_weak(countdown, &n, n - 1))
            return n == 1;
    }
    return false;
}

/* Anonymous read-write mapping of size bytes, placed anywhere; hint is a
 * preferred address or NULL.  Fresh pages read as zero. */
int myalloc__os_map(size_t size, void *hint, void **out)
{
    int saved = errno;
    void *p;

    if (injected_failure(&inject_map_countdown))
        return ENOMEM;
    p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        errno = saved;
        return err;
    }
    *out = p;
    return 0;
}

int myalloc__os_unmap(void *p, size_t size)
{
    int saved = errno;

    annotate_returned_to_os(p, size);
    if (munmap(p, size) != 0) {
        int err = errno;
        errno = saved;
        return err;
    }
    return 0;
}

/* Mapping of size bytes whose address p satisfies (p + skew) % alignment
 * == 0; alignment is a power of two >= PAGE_SIZE, skew < alignment.  Maps
 * more than needed and unmaps the excess on both sides, unless the first
 * try at the hint already fits. */
int myalloc__os_map_aligned(size_t size, size_t alignment, size_t skew,
                            void *hint, void **out)
{
    void *p;
    uintptr_t start, aligned;
    size_t span;
    int err;

    if (hint != NULL && myalloc__os_map(size, hint, &p) == 0) {
        if ((((uintptr_t)p + skew) & (alignment - 1)) == 0) {
            *out = p;
            return 0;
        }
        (void)myalloc__os_unmap(p, size);
    }
    if (size > SIZE_MAX - alignment)
        return ENOMEM;
    span = size + alignment;
    err = myalloc__os_map(span, NULL, &p);
    if (err != 0)
        return err;
    start = (uintptr_t)p;
    aligned = ((start + skew + alignment - 1) & ~(uintptr_t)(alignment - 1)) - skew;
    if (aligned < start)
        aligned += alignment;
    if (aligned > start)
        (void)myalloc__os_unmap(p, aligned - start);
    if (start + span > aligned + size)
        (void)myalloc__os_unmap((void *)(aligned + size), start + span - (aligned + size));
    *out = (void *)aligned;
    return 0;
}

/* Give the pages back; the range stays mapped and reads as zero later. */
int myalloc__os_purge(void *p, size_t size)
{
    int saved = errno;
    if (injected_failure(&inject_purge_countdown))
        return EAGAIN;
    if (madvise(p, size, MADV_DONTNEED) != 0) {
        int err = errno;
        errno = saved;
        return err;
    }
    return 0;
}

/* Pre-faults fresh pages as writable, in one call instead of a fault per
 * page (two when a page is read before it is written: the zero page, then
 * a copy).  Best effort: kernels before 5.14 refuse, and nothing is lost. */
void myalloc__os_populate(void *p, size_t size)
{
#ifdef MADV_POPULATE_WRITE
    int saved = errno;
    (void)madvise(p, size, MADV_POPULATE_WRITE);
    errno = saved;
#else
    (void)p;
    (void)size;
#endif
}

/* Asks for transparent huge pages on the range where the kernel's policy
 * leaves it to madvise, or withdraws the request (fewer faults and TLB
 * misses, but a fault fills a whole 2 MiB page).  Best effort: without THP
 * support nothing is lost. */
void myalloc__os_hugepage(void *p, size_t size, bool on)
{
#if defined MADV_HUGEPAGE && defined MADV_NOHUGEPAGE
    int saved = errno;
    (void)madvise(p, size, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    errno = saved;
#else
    (void)p;
    (void)size;
    (void)on;
#endif
}

/* Makes pages inaccessible (guard pages, freed guarded blocks) or
 * read-write again. */
int myalloc__os_protect(void *p, size_t size, bool accessible)
{
    int saved = errno;
    if (mprotect(p, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE) != 0) {
        int err = errno;
        errno = saved;
        return err;
    }
    return 0;
}

/* Resize a mapping.  With target NULL only in place; otherwise the pages
 * move to target (a mapping of new_size bytes that this call replaces). */
int myalloc__os_remap(void *old, size_t old_size, size_t new_size,
                      void *target, void **out)
{
    int saved = errno;
    void *p;

    /* What leaves the old place is unmapped there, and may be mapped at
     * once by another thread: its shadow is cleared first (losing, if the
     * call fails, only poison of memory the callers then drop). */
    if (target != NULL)
        annotate_returned_to_os(old, old_size);
    else if (new_size < old_size)
        annotate_returned_to_os((char *)old + new_size, old_size - new_size);
    if (target == NULL)
        p = mremap(old, old_size, new_size, 0);
    else
        p = mremap(old, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED,
                   target);
    if (p == MAP_FAILED) {
        int err = errno;
        errno = saved;
        return err;
    }
    *out = p;
    return 0;
}

size_t myalloc__os_page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : PAGE_SIZE;
}

/* size bytes from the kernel's random source, without blocking: 0, or an
 * errno (ENOSYS where there is no getrandom, EAGAIN before the kernel's
 * pool is ready at early boot) with buf left partly written. */
int myalloc__os_random(void *buf, size_t size)
{
#ifdef HAVE_GETRANDOM
    int saved = errno;
    size_t done = 0;

    while (done < size) {
        ssize_t n = getrandom((char *)buf + done, size - done, GRND_NONBLOCK);
        if (n < 0) {
            int err = errno;
            errno = saved;
            if (err == EINTR)
                continue;
            return err;
        }
        done += (size_t)n;
    }
    return 0;
#else
    (void)buf;
    (void)size;
    return ENOSYS;
#endif
}

/* When myalloc__os_random fails: what differs between processes and runs
 * without a random source (clocks, process id, where ASLR put the stack
 * and this library).  Weak, but never the same twice in practice. */
uint64_t myalloc__os_weak_entropy(void)
{
    struct timespec real = { 0, 0 }, mono = { 0, 0 };
    uint64_t stack_marker = 0;

    (void)clock_gettime(CLOCK_REALTIME, &real);
    (void)clock_gettime(CLOCK_MONOTONIC, &mono);
    return ((uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec) ^
           ((uint64_t)mono.tv_nsec << 20) ^ ((uint64_t)getpid() << 40) ^
           (uint64_t)(uintptr_t)&stack_marker ^
           ((uint64_t)(uintptr_t)&myalloc__os_weak_entropy << 17);
}
