/* overflow_100.c - heap-bug corpus: writes the 100 bytes past the end of a
 * 100-byte block (p[100] .. p[199]), then frees it.  Prints the block's
 * address first.  Exits 0 if no allocator stopped it.
 *
 * The two 100-byte neighbours allocated right after it make the bytes
 * overwritten land in heap memory that is mapped and in use under every
 * allocator (glibc and libmyalloc place same-sized blocks side by side), not
 * in free-list links or past the end of a mapping.  They stay allocated,
 * reachable from a global, and are never freed: their headers may be
 * overwritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile overflow_100_neighbours[2];

void __attribute__((noinline)) overflow_by_100(void)
{
    char *volatile p = malloc(100);

    overflow_100_neighbours[0] = malloc(100);
    overflow_100_neighbours[1] = malloc(100);
    if (p == NULL || overflow_100_neighbours[0] == NULL ||
        overflow_100_neighbours[1] == NULL)
        exit(1);
    printf("%p\n", (void *)p);
    fflush(stdout);
    memset(p + 100, 'A', 100); /* the bug: 100 bytes past the end */
    free(p);
}

int main(void)
{
    overflow_by_100();
    return 0;
}
