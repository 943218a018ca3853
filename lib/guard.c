/* guard.c - the SIGSEGV handler behind guarded blocks: a fault on a guard
 * page or on a freed guarded block becomes a report naming the block.
 *
 * Installed the first time checked mode maps a guarded block, keeping the
 * program's own handler: a fault that is not on one of our blocks goes
 * back to it (or to the default action). */
#include "config.h"

#define _GNU_SOURCE 1
#include <signal.h>
#include <string.h>

#include "checked.h"

static struct sigaction previous;
static _Atomic bool installed;

static void guard_on_fault(int sig, siginfo_t *info, void *context)
{
    if (myalloc__checked_fault(info->si_addr))
        return; /* reported and going on (check_abort=0): the page was
                 * made accessible, the access is retried and succeeds */
    /* Not ours: the program's handler, or the default action (which
     * ends the process) on the retried access. */
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != NULL)
        previous.sa_sigaction(sig, info, context);
    else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN)
        previous.sa_handler(sig);
    else
        sigaction(SIGSEGV, &previous, NULL);
}

void myalloc__guard_handler_install(void)
{
    struct sigaction action;

    if (atomic_exchange(&installed, true))
        return;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = guard_on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous);
}
