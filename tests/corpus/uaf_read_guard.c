/* uaf_read_guard.c - heap-bug corpus: reads byte 100 of a 4096-byte block
 * after freeing it.  Prints the block's address, then the address read.
 * Exits 0 if no allocator stopped it.  An allocator that makes freed blocks
 * inaccessible (libmyalloc's check_guard=all) turns the read into a fault. */
#include <stdio.h>
#include <stdlib.h>

volatile char uaf_read_value;

void __attribute__((noinline)) use_after_free_read(void)
{
    char *volatile p = malloc(4096);
    volatile char *q;

    if (p == NULL)
        exit(1);
    p[100] = 'r';
    printf("%p\n%p\n", (void *)p, (void *)(p + 100));
    fflush(stdout);
    free(p);
    q = p;
    uaf_read_value = q[100]; /* the bug: the block is free */
}

int main(void)
{
    use_after_free_read();
    return 0;
}
