/* heapcheck.c - my_heap_check: every invariant of the allocator's metadata.
 *
 * The walk visits each structure under the lock that protects it, in the
 * library's lock order, and reads nothing that another thread changes
 * without a lock:
 *   1. heaps_lock: the heap lists, the calling thread's heap and the
 *      abandoned heaps (heap.c); still holding it, each arena under its
 *      lock: the buddy system of every region, the arena's lists and
 *      accounts (region.c, buddy.c), and every slab found in the page
 *      descriptors (slab.c): the geometry of all of them, the free lists,
 *      bitmaps and counts of those whose heap is the caller's or abandoned
 *      (see heap.c for why the others cannot be read);
 *   2. huge_lock: the huge blocks and the cache of freed mappings (huge.c);
 *   3. check_lock: in checked mode, every checked block (checked.c).
 * The first problem found is reported in one line, without allocating. */
#include "config.h"

#include <errno.h>

#include "checked.h"
#include "internal.h"

int my_heap_check(void)
{
    int saved_errno = errno;
    const void *where = NULL;
    const char *problem;

    if (myalloc__init() != 0)
        return 0; /* nothing was ever mapped */
    problem = myalloc__heaps_check(&where);
    if (problem == NULL)
        problem = myalloc__huge_check(&where);
    /* Checked mode: red zones of live blocks, patterns of freed ones. */
    if (problem == NULL)
        problem = myalloc__checked_verify_all();
    if (problem != NULL)
        myalloc__report_check("my_heap_check", problem, where);
    errno = saved_errno;
    return problem == NULL ? 0 : -1;
}
