/* interior_free.c - heap-bug corpus: frees a pointer 16 bytes into a
 * 64-byte block.  Prints the block's address, then the pointer given to
 * free.  Exits 0 if no allocator stopped it. */
#include <stdio.h>
#include <stdlib.h>

void __attribute__((noinline)) free_interior(void)
{
    char *volatile p = malloc(64);
    void *volatile inside; /* volatile: no -Wfree-nonheap-object */

    if (p == NULL)
        exit(1);
    inside = p + 16;
    printf("%p\n%p\n", (void *)p, inside);
    fflush(stdout);
    free(inside); /* the bug: not the start of the block */
}

int main(void)
{
    free_interior();
    return 0;
}
