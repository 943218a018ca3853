/* underflow.c - heap-bug corpus: writes the byte just before a 32-byte
 * block (p[-1]), then frees it.  Prints the block's address first.  Exits 0
 * if no allocator stopped it. */
#include <stdio.h>
#include <stdlib.h>

void __attribute__((noinline)) underflow_by_one(void)
{
    char *volatile p = malloc(32);

    if (p == NULL)
        exit(1);
    printf("%p\n", (void *)p);
    fflush(stdout);
    p[-1] = 'x'; /* the bug: one byte before the start */
    free(p);
}

int main(void)
{
    underflow_by_one();
    return 0;
}
