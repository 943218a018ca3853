/* init.c - start-up, and keeping the allocator whole across fork().
 *
 * Set-up is lazy, on the first allocation: the chunk registry, the
 * arenas (two per CPU the process may run on, at most MAX_ARENAS), the
 * thread-exit key and the fork handlers.  fork() takes every lock first, so
 * that the child inherits consistent buddy systems and heap lists. */
#include "config.h"

#define _GNU_SOURCE 1
#include <pthread.h>
#include <errno.h>
#include <sched.h>

#include "checked.h"
#include "internal.h"

struct arena myalloc__arenas[MAX_ARENAS];
unsigned myalloc__narenas;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool init_done;
/* Set while this thread runs the set-up: the C library calls it makes
 * (pthread_atfork) may allocate, and as a preloaded malloc that comes back
 * here.  By then the core (registry, arenas) is ready, so such a call just
 * goes on. */
static __thread bool init_running __attribute__((tls_model("initial-exec")));

/* Lock order: check_lock (and the trace depot's), heaps_lock, the arenas by index, huge_lock. */
static void fork_prepare(void)
{
    myalloc__checked_fork_prepare();
    myalloc__heaps_fork_prepare();
    for (unsigned i = 0; i < myalloc__narenas; i++)
        pthread_mutex_lock(&myalloc__arenas[i].lock);
    myalloc__huge_fork_prepare();
}

static void fork_parent(void)
{
    myalloc__huge_fork_parent();
    for (unsigned i = myalloc__narenas; i-- > 0;)
        pthread_mutex_unlock(&myalloc__arenas[i].lock);
    myalloc__heaps_fork_parent();
    myalloc__checked_fork_parent();
}

static void fork_child(void)
{
    myalloc__huge_fork_child();
    for (unsigned i = 0; i < myalloc__narenas; i++)
        pthread_mutex_init(&myalloc__arenas[i].lock, NULL);
    myalloc__heaps_fork_child();
    myalloc__checked_fork_child();
    myalloc__idle_fork_child();
}

/* CPUs this process may run on, read without allocating. */
static unsigned cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    return 1;
}

/* Set up at load time too, so that MYALLOC_OPTIONS applies to a program
 * that never allocates. */
__attribute__((constructor)) static void init_at_load(void)
{
    (void)myalloc__init();
}

int myalloc__init(void)
{
    int err = 0;

    if (likely(atomic_load_explicit(&init_done, memory_order_acquire)) || init_running)
        return 0;
    pthread_mutex_lock(&init_lock);
    if (!atomic_load_explicit(&init_done, memory_order_relaxed)) {
        init_running = true;
        /* First: every free-list link is written with it. */
        myalloc__link_key_init();
        unsigned n = 2 * cpu_count();
        if (n > MAX_ARENAS)
            n = MAX_ARENAS;
        if (myalloc__os_page_size() > PAGE_SIZE)
            err = ENOTSUP;
        if (err == 0) {
            for (unsigned i = 0; i < n; i++)
                myalloc__arena_init(&myalloc__arenas[i], i);
            myalloc__narenas = n;
            err = myalloc__heaps_init();
        }
        if (err == 0)
            err = pthread_atfork(fork_prepare, fork_parent, fork_child);
        if (err == 0) {
            myalloc__options_init();
            atomic_store_explicit(&init_done, true, memory_order_release);
        }
        init_running = false;
    }
    pthread_mutex_unlock(&init_lock);
    return err;
}
