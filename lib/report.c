/* report.c - fatal reports.  They format into a stack buffer and write(2)
 * to stderr: a report must work when the heap is corrupt, so it never
 * allocates and never takes a lock. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct line {
    char buf[512];
    size_t len;
};

static void line_put(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof l->buf - l->len)
        n = sizeof l->buf - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* As printf's "%p" does on glibc: "0x" and lowercase hex, "(nil)" for 0. */
static void line_put_pointer(struct line *l, const void *p)
{
    uintptr_t v = (uintptr_t)p;
    char digits[2 + sizeof v * 2 + 1];
    char *d = digits + sizeof digits - 1;

    if (v == 0) {
        line_put(l, "(nil)");
        return;
    }
    *d = '\0';
    while (v != 0) {
        *--d = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
    *--d = 'x';
    *--d = '0';
    line_put(l, d);
}

static void line_write(const struct line *l)
{
    size_t done = 0;
    while (done < l->len) {
        ssize_t n = write(STDERR_FILENO, l->buf + done, l->len - done);
        if (n <= 0)
            return;
        done += (size_t)n;
    }
}

void myalloc__report_block(const char *fn, const void *ptr, const char *problem)
{
    struct line l = { .len = 0 };
    line_put(&l, "myalloc: ");
    line_put(&l, fn);
    line_put(&l, "(");
    line_put_pointer(&l, ptr);
    line_put(&l, "): ");
    line_put(&l, problem);
    line_put(&l, "\n");
    line_write(&l);
    abort();
}

void myalloc__report_freed(const char *fn, const void *ptr)
{
    /* free, my_free, cfree, __libc_free: the block was freed twice. */
    myalloc__report_block(fn, ptr, strstr(fn, "free") != NULL ? PROBLEM_DOUBLE_FREE
                                                              : PROBLEM_FREED);
}

void myalloc__report_warning(const char *const parts[], size_t nparts)
{
    struct line l = { .len = 0 };
    line_put(&l, "myalloc: ");
    for (size_t i = 0; i < nparts; i++)
        line_put(&l, parts[i]);
    if (l.len == sizeof l.buf)
        l.len--;
    line_put(&l, "\n");
    line_write(&l);
}

void myalloc__report_internal(const char *what)
{
    struct line l = { .len = 0 };
    line_put(&l, "myalloc: internal error: ");
    line_put(&l, what);
    line_put(&l, "\n");
    line_write(&l);
    abort();
}
