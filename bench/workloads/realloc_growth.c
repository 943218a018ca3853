/* realloc_growth - strings that grow by realloc, the two ways programs grow
 * buffers: by doubling the capacity when it runs out (targets of 16 B to
 * 2 MiB), and by a small step at every append, reallocating to exactly the
 * new length (targets of 16 B to 64 KiB, steps of 1 to 64 bytes).  Sixteen
 * strings grow at once, appended to in turn, so a block's neighbour is often
 * in use and growing in place is not always possible.  When a string reaches
 * its target its whole content is checked and it is freed; a new string of
 * the other kind takes its place.
 *
 * Byte i of a string with tag t is str_byte(t, i).  After each realloc the
 * first and the last bytes written so far are checked (a realloc that loses
 * the content fails at once); the whole string is checked before its free. */
#include "common.h"

#define LIVE 16
#define STRINGS 24000L   /* strings grown to their target at scale 1 */

struct str {
    unsigned char *buf;
    size_t len, cap, target;
    int doubling;
    uint64_t tag;
};

/* The content: byte i of a string with tag t is pattern[(t + i) % PERIOD].
 * The pattern is random bytes and its period is prime, so that neither a
 * copy from a wrong offset nor a stale block of another string matches, and
 * filling and checking are memcpy and memcmp: the time goes to the
 * allocator, not to generating bytes. */
#define PERIOD 65521
static unsigned char pattern[2 * PERIOD];

static void pattern_init(void)
{
    struct rng r = { 0x5eed };

    for (size_t i = 0; i < PERIOD; i++)
        pattern[i] = pattern[i + PERIOD] = (unsigned char)rng_next(&r);
}

static inline unsigned char str_byte(uint64_t tag, size_t i)
{
    return pattern[(tag + i) % PERIOD];
}

static void check_range(const struct str *s, size_t from, size_t to, const char *what)
{
    size_t i = from;

    while (i < to) {
        size_t pos = (s->tag + i) % PERIOD;
        size_t len = to - i < PERIOD ? to - i : PERIOD;

        if (memcmp(s->buf + i, pattern + pos, len) != 0)
            break;
        i += len;
    }
    for (; i < to; i++)
        if (s->buf[i] != str_byte(s->tag, i))
            bench_fail("%s: string of %zu bytes (capacity %zu) at %p: byte %zu is %02x, "
                       "expected %02x", what, s->len, s->cap, (void *)s->buf, i,
                       s->buf[i], str_byte(s->tag, i));
}

static void fill_range(unsigned char *buf, uint64_t tag, size_t from, size_t to)
{
    while (from < to) {
        size_t pos = (tag + from) % PERIOD;
        size_t len = to - from < PERIOD ? to - from : PERIOD;

        memcpy(buf + from, pattern + pos, len);
        from += len;
    }
}

static void grow_to(struct str *s, size_t cap)
{
    unsigned char *p = realloc(s->buf, cap);

    if (p == NULL)
        bench_fail("realloc(%p, %zu) returned NULL (errno %d)", (void *)s->buf, cap, errno);
    s->buf = p;
    s->cap = cap;
    if (s->len > 0) {
        check_range(s, 0, s->len < 8 ? s->len : 8, "realloc lost the start");
        check_range(s, s->len - 1, s->len, "realloc lost the end");
    }
}

static void start(struct str *s, struct rng *r, uint64_t tag, int doubling)
{
    s->doubling = doubling;
    s->tag = tag;
    s->len = 0;
    if (doubling) {
        s->target = rng_log_size(r, 4, 21); /* 16 B .. 2 MiB */
        s->cap = 16;
    } else {
        s->target = rng_log_size(r, 4, 16); /* 16 B .. 64 KiB */
        s->cap = 1 + (size_t)rng_below(r, 16);
    }
    s->buf = malloc(s->cap);
    if (s->buf == NULL)
        bench_fail("malloc(%zu) returned NULL", s->cap);
}

int main(int argc, char **argv)
{
    struct rng r = { 6 };
    struct str live[LIVE];
    long strings, finished = 0;
    uint64_t serial = 0, sum = 0, reallocs = 0, bytes = 0;

    bench_name = "realloc_growth";
    strings = scaled(STRINGS, bench_scale(argc, argv));
    pattern_init();
    for (int k = 0; k < LIVE; k++)
        start(&live[k], &r, make_tag(0, serial++), k & 1);

    while (finished < strings) {
        for (int k = 0; k < LIVE; k++) {
            struct str *s = &live[k];
            size_t step = 1 + (size_t)rng_below(&r, 64);
            size_t newlen;

            if (s->doubling)
                step *= 1 + s->len / 256; /* appends grow with the string */
            newlen = s->len + step;
            if (newlen > s->target)
                newlen = s->target;
            if (newlen > s->cap) {
                size_t cap = s->cap;
                if (s->doubling)
                    while (cap < newlen)
                        cap *= 2;
                else
                    cap = newlen;
                grow_to(s, cap);
                reallocs++;
            }
            fill_range(s->buf, s->tag, s->len, newlen);
            s->len = newlen;

            if (s->len == s->target) {
                check_range(s, 0, s->len, "finished string");
                sum += mix64(s->tag ^ s->len);
                bytes += s->len;
                free(s->buf);
                finished++;
                start(s, &r, make_tag(0, serial++), !s->doubling);
            }
        }
    }
    for (int k = 0; k < LIVE; k++) {
        check_range(&live[k], 0, live[k].len, "string at exit");
        free(live[k].buf);
    }
    printf("realloc_growth: strings=%ld bytes=%llu reallocs=%llu checksum=%016llx\n",
           finished, (unsigned long long)bytes, (unsigned long long)reallocs,
           (unsigned long long)sum);
    return 0;
}
