/* stack_free.c - heap-bug corpus: frees an array on the stack.  Prints its
 * address first.  Exits 0 if no allocator stopped it.  The pointer goes
 * through a volatile variable so that the compiler does not see (and warn,
 * -Wfree-nonheap-object) what it points to. */
#include <stdio.h>
#include <stdlib.h>

void __attribute__((noinline)) free_stack_array(void)
{
    char buf[32];
    void *volatile p = buf;

    buf[0] = 0;
    printf("%p\n", p);
    fflush(stdout);
    free(p); /* the bug: not a heap block */
}

int main(void)
{
    free_stack_array();
    return 0;
}
