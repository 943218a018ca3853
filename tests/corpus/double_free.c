/* double_free.c - heap-bug corpus: frees a 24-byte block twice.  Prints the
 * block's address first.  Exits 0 if no allocator stopped it. */
#include <stdio.h>
#include <stdlib.h>

void __attribute__((noinline)) free_twice(void)
{
    char *volatile p = malloc(24);

    if (p == NULL)
        exit(1);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    free(p); /* the bug */
}

int main(void)
{
    free_twice();
    return 0;
}
