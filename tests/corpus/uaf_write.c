/* uaf_write.c - heap-bug corpus: writes into a 48-byte block after freeing
 * it, then allocates and frees 64 MiB in 4 KiB blocks, twice a 32 MiB
 * quarantine, so that an allocator that holds freed blocks back finds the
 * damage when this one leaves.  Prints the block's address first.  Exits 0
 * if no allocator stopped it. */
#include <stdio.h>
#include <stdlib.h>

void __attribute__((noinline)) use_after_free_write(void)
{
    char *volatile p = malloc(48);

    if (p == NULL)
        exit(1);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    p[5] = 'x'; /* the bug: the block is free */
}

void __attribute__((noinline)) churn(void)
{
    for (int i = 0; i < 64 * 256; i++) {
        char *volatile q = malloc(4096);

        if (q == NULL)
            exit(1);
        q[0] = (char)i;
        free(q);
    }
}

int main(void)
{
    use_after_free_write();
    churn();
    return 0;
}
