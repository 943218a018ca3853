/* idle.c - giving memory back while the program is idle (the option
 * idle_purge=MS).
 *
 * The allocator purges on its own only as it works: large freed blocks
 * past an arena's dirty limit, slab pages at their thresholds, my_trim.  A
 * program that frees a lot and then sleeps keeps its dirty pages.  With
 * idle_purge set, a background thread wakes every MS milliseconds and, in
 * each arena that has not changed since its previous wake-up, purges every
 * free buddy page; when no arena changed it also unmaps the huge mappings
 * kept for reuse.  An arena in use is left alone, so a busy program pays
 * nothing but the wake-ups.
 *
 * Off by default: a thread of the library's own in every process would
 * break programs that must stay single-threaded (unshare(CLONE_NEWUSER),
 * some sandboxes, a fork that expects to copy one thread).  The thread
 * blocks every signal, allocates nothing itself, and does not exist in a
 * child of fork() until the child sets the option again. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "internal.h"

#define IDLE_PURGE_MAX_MS 3600000u /* an hour */

static _Atomic unsigned idle_ms;     /* 0: off; the thread ends */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static bool idle_running;            /* under idle_lock */

static void idle_sleep(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *idle_main(void *arg)
{
    uint64_t seen[MAX_ARENAS] = { 0 };

    (void)arg;
    for (;;) {
        unsigned ms = atomic_load(&idle_ms);
        bool all_idle = true;

        if (ms == 0) {
            pthread_mutex_lock(&idle_lock);
            /* Set again meanwhile: go on. */
            if (atomic_load(&idle_ms) == 0) {
                idle_running = false;
                pthread_mutex_unlock(&idle_lock);
                return NULL;
            }
            pthread_mutex_unlock(&idle_lock);
            continue;
        }
        idle_sleep(ms);
        /* Switched off or changed while asleep: not one purge more. */
        if (atomic_load(&idle_ms) != ms)
            continue;
        for (unsigned i = 0; i < myalloc__narenas; i++)
            all_idle &= myalloc__arena_idle_purge(&myalloc__arenas[i], &seen[i]);
        if (all_idle)
            (void)myalloc__huge_trim();
    }
}

/* Starts the thread unless it runs; 0 or an errno. */
static int idle_start(void)
{
    sigset_t all, old;
    pthread_attr_t attr;
    pthread_t t;
    int err = 0;

    pthread_mutex_lock(&idle_lock);
    if (!idle_running) {
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        err = pthread_attr_init(&attr);
        if (err == 0) {
            (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            err = pthread_create(&t, &attr, idle_main, NULL);
            pthread_attr_destroy(&attr);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        idle_running = err == 0;
    }
    pthread_mutex_unlock(&idle_lock);
    return err;
}

int myalloc__idle_option(const char *name, size_t len, const char *value, size_t value_len)
{
    unsigned long ms = 0;

    if (!myalloc__option_text_is(name, len, "idle_purge"))
        return ENOENT;
    if (value_len == 0 || value_len > 7)
        return EINVAL;
    for (size_t i = 0; i < value_len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return EINVAL;
        ms = ms * 10 + (unsigned long)(value[i] - '0');
    }
    if (ms > IDLE_PURGE_MAX_MS)
        return EINVAL;
    atomic_store(&idle_ms, (unsigned)ms);
    return ms == 0 ? 0 : idle_start();
}

void myalloc__idle_fork_child(void)
{
    /* The thread stayed in the parent; the lock was free at the fork (no
     * fork handler takes it, and the thread holds it only briefly). */
    pthread_mutex_init(&idle_lock, NULL);
    idle_running = false;
    atomic_store(&idle_ms, 0);
}
