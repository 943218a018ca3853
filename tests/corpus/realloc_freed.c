/* realloc_freed.c - heap-bug corpus: frees a 16-byte block, then gives it to
 * realloc.  Prints the block's address first.  Exits 0 if no allocator
 * stopped it. */
#include <stdio.h>
#include <stdlib.h>

void __attribute__((noinline)) realloc_after_free(void)
{
    char *volatile p = malloc(16);
    char *q;

    if (p == NULL)
        exit(1);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    q = realloc(p, 32); /* the bug: p is free */
    if (q != NULL)
        q[0] = 0;
}

int main(void)
{
    realloc_after_free();
    return 0;
}
