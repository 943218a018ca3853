/* leak.c - heap-bug corpus: leaks three 40-byte blocks allocated in
 * leak_site_a and two 1000-byte blocks allocated in leak_site_b (2120 bytes
 * in 5 blocks from 2 sites), then exits normally.  It prints nothing and
 * uses no stdio, so that these five are the only blocks the program leaves
 * behind. */
#include <stdlib.h>
#include <string.h>

void __attribute__((noinline)) leak_site_a(void)
{
    for (int i = 0; i < 3; i++) {
        char *volatile p = malloc(40);

        if (p == NULL)
            exit(1);
        memset(p, 'a', 40); /* the pointer is lost here */
    }
}

void __attribute__((noinline)) leak_site_b(void)
{
    for (int i = 0; i < 2; i++) {
        char *volatile p = malloc(1000);

        if (p == NULL)
            exit(1);
        memset(p, 'b', 1000);
    }
}

int main(void)
{
    leak_site_a();
    leak_site_b();
    return 0;
}
