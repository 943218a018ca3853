/* report.c - fatal reports, warnings and heap check findings.  They format
 * into a stack buffer and write(2) to stderr: a report must work when the
 * heap is corrupt, so it never allocates and never takes a lock. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void myalloc__line_put(struct report_line *l, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof l->buf - l->len)
        n = sizeof l->buf - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void line_put_digits(struct report_line *l, uint64_t v, unsigned base, const char *prefix)
{
    char digits[2 + 20 + 1];
    char *d = digits + sizeof digits - 1;

    *d = '\0';
    do {
        *--d = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    for (size_t i = strlen(prefix); i-- > 0;)
        *--d = prefix[i];
    myalloc__line_put(l, d);
}

void myalloc__line_put_pointer(struct report_line *l, const void *p)
{
    if (p == NULL)
        myalloc__line_put(l, "(nil)");
    else
        line_put_digits(l, (uintptr_t)p, 16, "0x");
}

void myalloc__line_put_hex(struct report_line *l, uint64_t v)
{
    line_put_digits(l, v, 16, "0x");
}

void myalloc__line_put_uint(struct report_line *l, uint64_t v)
{
    line_put_digits(l, v, 10, "");
}

void myalloc__line_put_int(struct report_line *l, int64_t v)
{
    if (v < 0) {
        myalloc__line_put(l, "-");
        line_put_digits(l, (uint64_t)0 - (uint64_t)v, 10, "");
    } else {
        line_put_digits(l, (uint64_t)v, 10, "");
    }
}

static int report_fd = STDERR_FILENO;

void myalloc__report_to(int fd)
{
    report_fd = fd;
}

static void line_write(const struct report_line *l)
{
    size_t done = 0;
    while (done < l->len) {
        ssize_t n = write(report_fd, l->buf + done, l->len - done);
        if (n <= 0)
            return;
        done += (size_t)n;
    }
}

void myalloc__line_flush(struct report_line *l)
{
    if (l->len == sizeof l->buf)
        l->len--;
    myalloc__line_put(l, "\n");
    line_write(l);
    l->len = 0;
}

void myalloc__line_put_call(struct report_line *l, const char *fn, const void *ptr)
{
    myalloc__line_put(l, "myalloc: ");
    myalloc__line_put(l, fn);
    myalloc__line_put(l, "(");
    myalloc__line_put_pointer(l, ptr);
    myalloc__line_put(l, "): ");
}

void myalloc__report_block(const char *fn, const void *ptr, const char *problem)
{
    struct report_line l = { .len = 0 };
    myalloc__line_put_call(&l, fn, ptr);
    myalloc__line_put(&l, problem);
    myalloc__line_flush(&l);
    abort();
}

void myalloc__report_free_list(const struct slab *slab, const void *block)
{
    struct report_line l = { .len = 0 };
    myalloc__line_put(&l, "myalloc: malloc: free list of slab ");
    myalloc__line_put_pointer(&l, slab);
    myalloc__line_put(&l, " corrupted (block ");
    myalloc__line_put_pointer(&l, block);
    myalloc__line_put(&l, " holds a link that does not decode)");
    myalloc__line_flush(&l);
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
    struct report_line l = { .len = 0 };
    myalloc__line_put(&l, "myalloc: ");
    for (size_t i = 0; i < nparts; i++)
        myalloc__line_put(&l, parts[i]);
    myalloc__line_flush(&l);
}

void myalloc__report_internal(const char *what)
{
    struct report_line l = { .len = 0 };
    myalloc__line_put(&l, "myalloc: internal error: ");
    myalloc__line_put(&l, what);
    myalloc__line_flush(&l);
    abort();
}

void myalloc__report_check(const char *fn, const char *problem, const void *where)
{
    struct report_line l = { .len = 0 };
    const char *at = strstr(problem, "%p");
    size_t n = at != NULL ? (size_t)(at - problem) : strlen(problem);

    myalloc__line_put(&l, "myalloc: ");
    myalloc__line_put(&l, fn);
    myalloc__line_put(&l, ": ");
    if (n > sizeof l.buf - l.len)
        n = sizeof l.buf - l.len;
    memcpy(l.buf + l.len, problem, n);
    l.len += n;
    if (at != NULL) {
        myalloc__line_put_pointer(&l, where);
        myalloc__line_put(&l, at + 2);
    }
    myalloc__line_flush(&l);
}
