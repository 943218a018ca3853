/* overflow_1.c - heap-bug corpus: writes one byte past the end of a
 * 10-byte block, then frees it.  Prints the block's address first.  Exits 0
 * if no allocator stopped it.  Build: cc -g -O0 -rdynamic (see README). */
#include <stdio.h>
#include <stdlib.h>

void __attribute__((noinline)) overflow_by_one(void)
{
    char *volatile p = malloc(10);

    if (p == NULL)
        exit(1);
    printf("%p\n", (void *)p);
    fflush(stdout);
    p[10] = 'x'; /* the bug: one byte past the end */
    free(p);
}

int main(void)
{
    overflow_by_one();
    return 0;
}
