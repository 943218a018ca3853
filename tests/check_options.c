/* check_options.c - runtime options from code and the outputs they ask
 * for: my_option_set (names, values, errors), my_stats_print_json (valid
 * JSON that says what my_stats_get says), my_heatmap_write (well-formed
 * SVG with the documented groups and cells), and the report, JSON and
 * heat map written at a normal exit, not after _exit().
 *
 * The files are read back with two small readers of our own: a strict
 * JSON parser and a well-formedness checker for XML that also counts the
 * SVG elements the header documents.  They use the C library's malloc:
 * the test program links libmyalloc, it does not replace malloc. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

#define PATH_LIMIT 4095 /* longest path my_option_set takes */

/* ------------------------------------------------------------- files -- */

/* A scratch directory per test and the paths of the files in it. */
struct scratch {
    char dir[256];
    char path[8][320];
    unsigned npaths;
};

static void scratch_open(struct scratch *s)
{
    const char *tmp = getenv("TMPDIR");

    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/check_options.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(s->dir) != NULL, "mkdtemp %s: %s", s->dir,
                  strerror(errno));
}

/* The path of a file named name in the scratch directory. */
static const char *scratch_file(struct scratch *s, const char *name)
{
    size_t n = strlen(s->dir);
    char *p;

    ck_assert_uint_lt(s->npaths, 8);
    ck_assert_uint_lt(n + 2 + strlen(name), sizeof s->path[0]);
    p = s->path[s->npaths++];
    memcpy(p, s->dir, n);
    p[n] = '/';
    strcpy(p + n + 1, name);
    return p;
}

static void scratch_close(struct scratch *s)
{
    for (unsigned i = 0; i < s->npaths; i++)
        unlink(s->path[i]);
    rmdir(s->dir);
}

/* The whole of a file, NUL-terminated, in memory from malloc; NULL when it
 * cannot be read.  *len gets its length. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    if (buf == NULL)
        return NULL;
    for (;;) {
        size_t got;

        if (n + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *read_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *text;

    if (f == NULL)
        return NULL;
    text = read_all(f, len);
    fclose(f);
    return text;
}

/* Run write_to on a temporary file and return what it wrote. */
static char *capture_output(int (*write_to)(FILE *), size_t *len)
{
    FILE *f = tmpfile();
    char *text;
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = write_to(f);
    ck_assert_msg(rc == 0, "the write returned %d (errno %d)", rc, errno);
    ck_assert_int_eq(fflush(f), 0);
    rewind(f);
    text = read_all(f, len);
    fclose(f);
    ck_assert_ptr_nonnull(text);
    return text;
}

static int file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* -------------------------------------------------------------- JSON -- */

/* A parsed JSON value.  Numbers keep their text, so that 64-bit counters
 * are compared exactly. */
enum jtype { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jvalue {
    enum jtype type;
    char *text;            /* J_NUMBER as written, J_STRING decoded */
    int truth;             /* J_BOOL */
    size_t n;              /* entries of J_ARRAY and J_OBJECT */
    char **keys;           /* J_OBJECT */
    struct jvalue *items;  /* J_ARRAY and J_OBJECT */
};

struct jparser {
    const char *s;
    size_t pos;
    int depth;
    char error[200];
};

/* Records the first error of a parse (later ones are consequences) with
 * its position; returns -1 for the caller to pass up.  Shared by the JSON
 * and the XML checker. */
__attribute__((format(printf, 4, 0))) static int
parse_error(char *error, size_t size, size_t pos, const char *fmt, va_list ap)
{
    int n;

    if (error[0] != '\0')
        return -1;
    n = snprintf(error, size, "at byte %zu: ", pos);
    vsnprintf(error + n, size - (size_t)n, fmt, ap);
    return -1;
}

__attribute__((format(printf, 2, 3))) static int
jerror(struct jparser *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    parse_error(p->error, sizeof p->error, p->pos, fmt, ap);
    va_end(ap);
    return -1;
}

static void jskip(struct jparser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
           p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
        p->pos++;
}

static void jfree(struct jvalue *v)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->keys != NULL)
            free(v->keys[i]);
        jfree(&v->items[i]);
    }
    free(v->keys);
    free(v->items);
    free(v->text);
    memset(v, 0, sizeof *v);
}

static int jvalue(struct jparser *p, struct jvalue *v);

/* A string at p->pos (which is at the opening quote), decoded into *out.
 * \u escapes are checked and stored as '?'. */
static int jstring(struct jparser *p, char **out)
{
    size_t start = ++p->pos, n = 0;
    char *d;

    /* First pass: find the end and check the escapes. */
    for (;;) {
        unsigned char c = (unsigned char)p->s[p->pos];

        if (c == '"')
            break;
        if (c == '\0')
            return jerror(p, "unterminated string");
        if (c < 0x20)
            return jerror(p, "control character 0x%02x in a string", c);
        if (c == '\\') {
            c = (unsigned char)p->s[++p->pos];
            if (c == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (!strchr("0123456789abcdefABCDEF", p->s[p->pos + k]) ||
                        p->s[p->pos + k] == '\0')
                        return jerror(p, "bad \\u escape");
                p->pos += 4;
            } else if (c == '\0' || !strchr("\"\\/bfnrt", c)) {
                return jerror(p, "bad escape \\%c", c);
            }
        }
        p->pos++;
        n++;
    }
    d = *out = malloc(n + 1);
    ck_assert_ptr_nonnull(d);
    for (size_t i = start; i < p->pos; i++) {
        char c = p->s[i];

        if (c == '\\') {
            c = p->s[++i];
            switch (c) {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': c = '?'; i += 4; break;
            default: break;
            }
        }
        *d++ = c;
    }
    *d = '\0';
    p->pos++; /* the closing quote */
    return 0;
}

/* A number by the JSON grammar:
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int jnumber(struct jparser *p, struct jvalue *v)
{
    const char *s = p->s;
    size_t start = p->pos, i = p->pos;

    if (s[i] == '-')
        i++;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return jerror(p, "bad number");
    if (s[i] == '.') {
        if (!(s[++i] >= '0' && s[i] <= '9'))
            return jerror(p, "bad fraction");
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-')
            i++;
        if (!(s[i] >= '0' && s[i] <= '9'))
            return jerror(p, "bad exponent");
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    }
    v->type = J_NUMBER;
    v->text = strndup(s + start, i - start);
    ck_assert_ptr_nonnull(v->text);
    p->pos = i;
    return 0;
}

/* Append an empty item (and key) to an array or object. */
static struct jvalue *jappend(struct jvalue *v, char *key)
{
    struct jvalue *items = realloc(v->items, (v->n + 1) * sizeof *items);

    ck_assert_ptr_nonnull(items);
    v->items = items;
    if (v->type == J_OBJECT) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
        ck_assert_ptr_nonnull(keys);
        v->keys = keys;
        keys[v->n] = key;
    }
    memset(&items[v->n], 0, sizeof items[0]);
    return &items[v->n++];
}

static int jcontainer(struct jparser *p, struct jvalue *v, char close)
{
    v->type = close == '}' ? J_OBJECT : J_ARRAY;
    if (++p->depth > 64)
        return jerror(p, "nested too deeply");
    p->pos++;
    jskip(p);
    if (p->s[p->pos] == close) {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        char *key = NULL;

        if (v->type == J_OBJECT) {
            if (p->s[p->pos] != '"')
                return jerror(p, "a key must be a string");
            if (jstring(p, &key) != 0)
                return -1;
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->keys[i], key) == 0) {
                    jerror(p, "duplicate key \"%s\"", key);
                    free(key);
                    return -1;
                }
            jskip(p);
            if (p->s[p->pos] != ':') {
                free(key);
                return jerror(p, "':' expected after a key");
            }
            p->pos++;
        }
        if (jvalue(p, jappend(v, key)) != 0)
            return -1;
        jskip(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
            jskip(p);
            continue;
        }
        if (p->s[p->pos] == close) {
            p->pos++;
            p->depth--;
            return 0;
        }
        return jerror(p, "',' or '%c' expected", close);
    }
}

static int jvalue(struct jparser *p, struct jvalue *v)
{
    jskip(p);
    switch (p->s[p->pos]) {
    case '{':
        return jcontainer(p, v, '}');
    case '[':
        return jcontainer(p, v, ']');
    case '"':
        v->type = J_STRING;
        return jstring(p, &v->text);
    case 't':
    case 'f':
    case 'n':
        if (strncmp(p->s + p->pos, "true", 4) == 0) {
            v->type = J_BOOL;
            v->truth = 1;
            p->pos += 4;
        } else if (strncmp(p->s + p->pos, "false", 5) == 0) {
            v->type = J_BOOL;
            p->pos += 5;
        } else if (strncmp(p->s + p->pos, "null", 4) == 0) {
            v->type = J_NULL;
            p->pos += 4;
        } else {
            return jerror(p, "unknown word");
        }
        return 0;
    default:
        return jnumber(p, v);
    }
}

/* Parse a whole document: one value, then only white space.  Returns 0
 * (free root with jfree), or -1 with the reason in error. */
static int json_parse(const char *text, struct jvalue *root, char *error,
                      size_t error_size)
{
    struct jparser p = {text, 0, 0, ""};

    memset(root, 0, sizeof *root);
    if (jvalue(&p, root) == 0) {
        jskip(&p);
        if (p.s[p.pos] != '\0')
            jerror(&p, "text after the value");
    }
    snprintf(error, error_size, "%s", p.error);
    if (p.error[0] == '\0')
        return 0;
    jfree(root);
    return -1;
}

/* The member key of an object, or NULL. */
static const struct jvalue *jget(const struct jvalue *obj, const char *key)
{
    if (obj->type != J_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

/* The member key of obj as an unsigned integer; fails the test when it is
 * missing or not a non-negative integer. */
static uint64_t jget_u64(const struct jvalue *obj, const char *key)
{
    const struct jvalue *v = jget(obj, key);
    char *end;
    unsigned long long n;

    ck_assert_msg(v != NULL, "JSON: no member \"%s\"", key);
    ck_assert_msg(v->type == J_NUMBER, "JSON: \"%s\" is not a number", key);
    ck_assert_msg(strspn(v->text, "0123456789") == strlen(v->text),
                  "JSON: \"%s\" is %s, not an unsigned integer", key,
                  v->text);
    errno = 0;
    n = strtoull(v->text, &end, 10);
    ck_assert_msg(errno == 0 && *end == '\0', "JSON: \"%s\": %s overflows",
                  key, v->text);
    return (uint64_t)n;
}

static double jget_double(const struct jvalue *obj, const char *key)
{
    const struct jvalue *v = jget(obj, key);

    ck_assert_msg(v != NULL, "JSON: no member \"%s\"", key);
    ck_assert_msg(v->type == J_NUMBER, "JSON: \"%s\" is not a number", key);
    return strtod(v->text, NULL);
}

/* Fractions in the JSON have at least six decimals. */
static int close_to(double a, double b)
{
    return a - b < 2e-6 && b - a < 2e-6;
}

/* The scalar fields of struct my_stats, as the JSON must name them. */
#define STATS_SCALARS(X)                                                      \
    X(bytes_allocated) X(bytes_small) X(bytes_buddy) X(bytes_huge)            \
    X(bytes_mapped) X(peak_bytes_mapped) X(regions) X(huge_blocks)            \
    X(calls_malloc) X(calls_calloc) X(calls_realloc) X(calls_aligned)         \
    X(calls_free) X(calls_trim) X(bytes_requested_total)                      \
    X(bytes_rounded_total) X(buddy_bytes_free) X(buddy_largest_free)          \
    X(slab_bytes_free) X(nclasses) X(norders)

/* Check a JSON document as my_stats_print_json writes it: the framing the
 * header promises, every member, 48 classes and 10 orders with their block
 * sizes.  When want is not NULL, every figure must equal it. */
static void check_stats_json(const char *text, size_t len,
                             const struct my_stats *want)
{
    struct jvalue root;
    const struct jvalue *v, *classes, *orders;
    size_t table[TU_NCLASSES];
    char error[200];
    double frag;

    ck_assert_msg(len >= 3 && text[0] == '{',
                  "the JSON does not start with '{': %.40s", text);
    ck_assert_msg(strlen(text) == len, "the JSON holds a NUL byte");
    ck_assert_msg(text[len - 2] == '}' && text[len - 1] == '\n',
                  "the JSON does not end with \"}\\n\"");
    ck_assert_msg(strchr(text, '\n') == text + len - 1,
                  "the JSON is not one line and a newline");
    ck_assert_msg(json_parse(text, &root, error, sizeof error) == 0,
                  "the JSON does not parse: %s", error);
    ck_assert_int_eq(root.type, J_OBJECT);

    v = jget(&root, "version");
    ck_assert_msg(v != NULL && v->type == J_STRING, "no \"version\" string");
    ck_assert_str_eq(v->text, MYALLOC_VERSION_STRING);

#define CHECK_SCALAR(field)                                                   \
    {                                                                         \
        uint64_t got_ = jget_u64(&root, #field);                              \
        if (want != NULL)                                                     \
            ck_assert_msg(got_ == (uint64_t)want->field,                      \
                          "JSON \"" #field "\" is %llu, my_stats_get %llu",   \
                          (unsigned long long)got_,                           \
                          (unsigned long long)want->field);                   \
    }
    STATS_SCALARS(CHECK_SCALAR)
#undef CHECK_SCALAR

    frag = jget_double(&root, "frag_internal");
    ck_assert_msg(frag >= 0.0 && frag <= 1.0, "frag_internal %g", frag);
    if (want != NULL)
        ck_assert_msg(close_to(frag, want->frag_internal),
                      "JSON frag_internal %.9f, my_stats_get %.9f", frag,
                      want->frag_internal);
    frag = jget_double(&root, "frag_external");
    ck_assert_msg(frag >= 0.0 && frag <= 1.0, "frag_external %g", frag);
    if (want != NULL)
        ck_assert_msg(close_to(frag, want->frag_external),
                      "JSON frag_external %.9f, my_stats_get %.9f", frag,
                      want->frag_external);

    classes = jget(&root, "classes");
    ck_assert_msg(classes != NULL && classes->type == J_ARRAY,
                  "no \"classes\" array");
    ck_assert_uint_eq(classes->n, TU_NCLASSES);
    tu_class_table(table);
    for (unsigned i = 0; i < TU_NCLASSES; i++) {
        const struct jvalue *c = &classes->items[i];

        ck_assert_int_eq(c->type, J_OBJECT);
        ck_assert_uint_eq(jget_u64(c, "class"), i);
        ck_assert_uint_eq(jget_u64(c, "block_size"), table[i]);
        jget_u64(c, "blocks_live");
        jget_u64(c, "slabs");
        jget_u64(c, "slab_bytes");
        jget_u64(c, "allocs");
        if (want != NULL) {
            const struct my_stats_class *k = &want->classes[i];
            ck_assert_msg(jget_u64(c, "blocks_live") == k->blocks_live &&
                              jget_u64(c, "slabs") == k->slabs &&
                              jget_u64(c, "slab_bytes") == k->slab_bytes &&
                              jget_u64(c, "allocs") == k->allocs,
                          "JSON class %u differs from my_stats_get", i);
        }
    }

    orders = jget(&root, "orders");
    ck_assert_msg(orders != NULL && orders->type == J_ARRAY,
                  "no \"orders\" array");
    ck_assert_uint_eq(orders->n, TU_NORDERS);
    for (unsigned k = 0; k < TU_NORDERS; k++) {
        const struct jvalue *o = &orders->items[k];

        ck_assert_int_eq(o->type, J_OBJECT);
        ck_assert_uint_eq(jget_u64(o, "order"), k);
        ck_assert_uint_eq(jget_u64(o, "block_size"), TU_PAGE << k);
        jget_u64(o, "blocks_free");
        jget_u64(o, "blocks_used");
        jget_u64(o, "blocks_slab");
        if (want != NULL) {
            const struct my_stats_order *w = &want->orders[k];
            ck_assert_msg(jget_u64(o, "blocks_free") == w->blocks_free &&
                              jget_u64(o, "blocks_used") == w->blocks_used &&
                              jget_u64(o, "blocks_slab") == w->blocks_slab,
                          "JSON order %u differs from my_stats_get", k);
        }
    }
    jfree(&root);
}

/* --------------------------------------------------------------- XML -- */

/* What the well-formedness check found in an SVG document. */
struct svg_summary {
    char root[32];       /* name of the root element */
    char xmlns[64];      /* its xmlns attribute */
    size_t elements;
    size_t titles;       /* <title> elements */
    size_t region_groups; /* <g id="region-N"> */
    size_t region_texts; /* <text> elements inside a region group */
    size_t rects;
    size_t rect_class[7]; /* by class, in the order of svg_classes */
};

static const char *const svg_classes[7] = {
    "used", "slab", "free-large", "free-small", "purged", "meta", "huge"};

struct xparser {
    const char *s;
    size_t pos;
    char error[200];
};

__attribute__((format(printf, 2, 3))) static int
xerror(struct xparser *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    parse_error(p->error, sizeof p->error, p->pos, fmt, ap);
    va_end(ap);
    return -1;
}

static int xname_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':' || (!first && ((c >= '0' && c <= '9') || c == '-' ||
                                   c == '.'));
}

static void xskip(struct xparser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
           p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
        p->pos++;
}

/* A name at p->pos into buf. */
static int xname(struct xparser *p, char *buf, size_t size)
{
    size_t n = 0;

    if (!xname_char(p->s[p->pos], 1))
        return xerror(p, "a name expected");
    while (xname_char(p->s[p->pos], 0)) {
        if (n + 1 < size)
            buf[n++] = p->s[p->pos];
        p->pos++;
    }
    buf[n] = '\0';
    return 0;
}

/* Character data or an attribute value from p->pos up to stop: every '&'
 * must start an entity reference. */
static int xtext(struct xparser *p, char stop)
{
    while (p->s[p->pos] != stop) {
        char c = p->s[p->pos];

        if (c == '\0')
            return stop == '<' ? 0 : xerror(p, "unterminated value");
        if (c == '<')
            return xerror(p, "'<' inside an attribute value");
        if (c == '&') {
            size_t k = p->pos + 1;
            if (p->s[k] == '#') {
                k++;
                if (p->s[k] == 'x')
                    k++;
                if (!strchr("0123456789abcdefABCDEF", p->s[k]) ||
                    p->s[k] == '\0')
                    return xerror(p, "bad character reference");
                while (p->s[k] != '\0' &&
                       strchr("0123456789abcdefABCDEF", p->s[k]))
                    k++;
            } else {
                if (!xname_char(p->s[k], 1))
                    return xerror(p, "bare '&'");
                while (xname_char(p->s[k], 0))
                    k++;
            }
            if (p->s[k] != ';')
                return xerror(p, "entity reference without ';'");
            p->pos = k;
        }
        p->pos++;
    }
    return 0;
}

/* Skip a comment, processing instruction or declaration at p->pos. */
static int xmarkup(struct xparser *p)
{
    const char *end, *s = p->s + p->pos;
    size_t skip;

    if (strncmp(s, "<!--", 4) == 0) {
        end = strstr(s + 4, "--");
        if (end == NULL || end[2] != '>')
            return xerror(p, "bad comment");
        skip = (size_t)(end - s) + 3;
    } else if (strncmp(s, "<?", 2) == 0) {
        end = strstr(s + 2, "?>");
        if (end == NULL)
            return xerror(p, "unterminated processing instruction");
        skip = (size_t)(end - s) + 2;
    } else if (strncmp(s, "<![CDATA[", 9) == 0) {
        end = strstr(s + 9, "]]>");
        if (end == NULL)
            return xerror(p, "unterminated CDATA section");
        skip = (size_t)(end - s) + 3;
    } else if (strncmp(s, "<!DOCTYPE", 9) == 0) {
        end = strchr(s, '>');
        if (end == NULL || memchr(s, '[', (size_t)(end - s)) != NULL)
            return xerror(p, "DOCTYPE with an internal subset");
        skip = (size_t)(end - s) + 1;
    } else {
        return xerror(p, "unknown markup");
    }
    p->pos += skip;
    return 0;
}

/* Count the element just opened (name and its class and id attributes). */
static void svg_count(struct svg_summary *sum, const char *name,
                      const char *cls, const char *id, unsigned depth,
                      int in_region)
{
    sum->elements++;
    if (depth == 0) {
        snprintf(sum->root, sizeof sum->root, "%s", name);
    }
    if (strcmp(name, "title") == 0)
        sum->titles++;
    if (strcmp(name, "g") == 0 && strncmp(id, "region-", 7) == 0 &&
        id[7] >= '0' && id[7] <= '9')
        sum->region_groups++;
    if (strcmp(name, "text") == 0 && in_region)
        sum->region_texts++;
    if (strcmp(name, "rect") == 0) {
        char buf[128], *tok, *save;

        sum->rects++;
        snprintf(buf, sizeof buf, "%s", cls);
        for (tok = strtok_r(buf, " \t\n", &save); tok != NULL;
             tok = strtok_r(NULL, " \t\n", &save))
            for (unsigned k = 0; k < 7; k++)
                if (strcmp(tok, svg_classes[k]) == 0)
                    sum->rect_class[k]++;
    }
}

/* Check that text is a well-formed XML document and summarise its SVG
 * content.  Returns 0, or -1 with the reason in error. */
static int svg_parse(const char *text, struct svg_summary *sum, char *error,
                     size_t error_size)
{
    struct xparser p = {text, 0, ""};
    char stack[64][32];
    int region_at[64]; /* stack[i] is a region group */
    unsigned depth = 0;
    int root_done = 0;

    memset(sum, 0, sizeof *sum);
    while (p.error[0] == '\0') {
        if (p.s[p.pos] != '<') {
            size_t start = p.pos;
            xtext(&p, '<');
            if (depth == 0) {
                /* Outside the root only white space. */
                for (size_t i = start; i < p.pos; i++)
                    if (!strchr(" \t\r\n", p.s[i])) {
                        p.pos = i;
                        xerror(&p, "text outside the root element");
                        break;
                    }
            }
            if (p.s[p.pos] == '\0')
                break;
            continue;
        }
        if (p.s[p.pos + 1] == '!' || p.s[p.pos + 1] == '?') {
            if (p.s[p.pos + 1] == '?' && p.pos != 0 &&
                strncmp(p.s + p.pos, "<?xml ", 6) == 0)
                xerror(&p, "XML declaration not at the start");
            else
                xmarkup(&p);
            continue;
        }
        if (p.s[p.pos + 1] == '/') {
            char name[32];

            p.pos += 2;
            if (xname(&p, name, sizeof name) != 0)
                break;
            xskip(&p);
            if (p.s[p.pos] != '>') {
                xerror(&p, "'>' expected");
                break;
            }
            p.pos++;
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
                xerror(&p, "</%s> closes <%s>", name,
                       depth > 0 ? stack[depth - 1] : "nothing");
                break;
            }
            if (--depth == 0)
                root_done = 1;
            continue;
        }
        {
            char name[32], attr[32], cls[128] = "", id[64] = "";
            int empty = 0, in_region = 0;

            if (root_done) {
                xerror(&p, "a second root element");
                break;
            }
            p.pos++;
            if (xname(&p, name, sizeof name) != 0)
                break;
            for (;;) {
                size_t before = p.pos, vstart;
                char quote;

                xskip(&p);
                if (p.s[p.pos] == '>') {
                    p.pos++;
                    break;
                }
                if (p.s[p.pos] == '/' && p.s[p.pos + 1] == '>') {
                    p.pos += 2;
                    empty = 1;
                    break;
                }
                if (p.pos == before)
                    xerror(&p, "white space expected before an attribute");
                if (xname(&p, attr, sizeof attr) != 0)
                    break;
                xskip(&p);
                if (p.s[p.pos] != '=') {
                    xerror(&p, "'=' expected after attribute %s", attr);
                    break;
                }
                p.pos++;
                xskip(&p);
                quote = p.s[p.pos];
                if (quote != '"' && quote != '\'') {
                    xerror(&p, "attribute %s: value not quoted", attr);
                    break;
                }
                vstart = ++p.pos;
                if (xtext(&p, quote) != 0)
                    break;
                if (strcmp(attr, "class") == 0)
                    snprintf(cls, sizeof cls, "%.*s", (int)(p.pos - vstart),
                             p.s + vstart);
                if (strcmp(attr, "id") == 0)
                    snprintf(id, sizeof id, "%.*s", (int)(p.pos - vstart),
                             p.s + vstart);
                if (strcmp(attr, "xmlns") == 0 && depth == 0)
                    snprintf(sum->xmlns, sizeof sum->xmlns, "%.*s",
                             (int)(p.pos - vstart), p.s + vstart);
                p.pos++;
            }
            if (p.error[0] != '\0')
                break;
            for (unsigned i = 0; i < depth; i++)
                in_region |= region_at[i];
            svg_count(sum, name, cls, id, depth, in_region);
            if (!empty) {
                if (depth == 64) {
                    xerror(&p, "nested too deeply");
                    break;
                }
                snprintf(stack[depth], sizeof stack[0], "%s", name);
                region_at[depth] = strcmp(name, "g") == 0 &&
                                   strncmp(id, "region-", 7) == 0;
                depth++;
            } else if (depth == 0) {
                root_done = 1;
            }
        }
    }
    if (p.error[0] == '\0' && depth != 0)
        xerror(&p, "end of document inside <%s>", stack[depth - 1]);
    if (p.error[0] == '\0' && !root_done)
        xerror(&p, "no root element");
    snprintf(error, error_size, "%s", p.error);
    return p.error[0] == '\0' ? 0 : -1;
}

/* Check an SVG document as my_heatmap_write writes it.  regions and
 * huge_blocks are what my_stats_get said just before. */
static void check_heatmap(const char *text, size_t len, size_t regions,
                          size_t huge_blocks)
{
    struct svg_summary sum;
    char error[200];

    ck_assert_msg(strncmp(text, "<?xml", 5) == 0 ||
                      strncmp(text, "<svg", 4) == 0,
                  "the SVG starts with %.20s", text);
    ck_assert_msg(strlen(text) == len, "the SVG holds a NUL byte");
    ck_assert_ptr_nonnull(strstr(text, "<svg"));
    ck_assert_ptr_nonnull(strstr(text, "</svg>"));
    ck_assert_msg(svg_parse(text, &sum, error, sizeof error) == 0,
                  "the SVG is not well-formed XML: %s", error);
    ck_assert_str_eq(sum.root, "svg");
    ck_assert_str_eq(sum.xmlns, "http://www.w3.org/2000/svg");
    ck_assert_msg(sum.titles >= 1, "the SVG has no <title>");
    ck_assert_msg(sum.region_groups == regions,
                  "%zu region groups, my_stats_get says %zu regions",
                  sum.region_groups, regions);
    ck_assert_msg(sum.region_texts >= regions,
                  "%zu text labels in %zu region groups", sum.region_texts,
                  regions);
    ck_assert_msg(sum.rect_class[6] == huge_blocks,
                  "%zu rects of class huge, my_stats_get says %zu huge "
                  "blocks", sum.rect_class[6], huge_blocks);
}

/* ---------------------------------------------------- my_option_set -- */

static void reset_options(void)
{
    ck_assert_int_eq(my_option_set("stats", "0"), 0);
    ck_assert_int_eq(my_option_set("verbose", "0"), 0);
    ck_assert_int_eq(my_option_set("stats_file", "-"), 0);
    ck_assert_int_eq(my_option_set("stats_json", ""), 0);
    ck_assert_int_eq(my_option_set("heatmap", ""), 0);
}

static void expect_fail(const char *name, const char *value, int err)
{
    int rc;

    errno = 0;
    rc = my_option_set(name, value);
    ck_assert_msg(rc == -1 && errno == err,
                  "my_option_set(%s%s%s, %s%.20s%s) gave %d errno %d, want "
                  "-1 errno %d",
                  name ? "\"" : "", name ? name : "NULL", name ? "\"" : "",
                  value ? "\"" : "", value ? value : "NULL",
                  value ? "\"" : "", rc, errno, err);
}

static const char *const path_options[] = {"stats_file", "stats_json",
                                           "heatmap"};
static const char *const flag_options[] = {"stats", "verbose"};

/* Every documented name takes its documented values. */
START_TEST(test_set_good)
{
    static const char *const flag_values[] = {"0", "1", "0"};
    struct scratch s;
    const char *file;

    scratch_open(&s);
    file = scratch_file(&s, "out");
    for (unsigned i = 0; i < 2; i++)
        for (unsigned k = 0; k < 3; k++)
            ck_assert_msg(my_option_set(flag_options[i], flag_values[k]) == 0,
                          "my_option_set(\"%s\", \"%s\") failed: %s",
                          flag_options[i], flag_values[k], strerror(errno));
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_int_eq(my_option_set(path_options[i], file), 0);
        ck_assert_int_eq(my_option_set(path_options[i], "relative/name"), 0);
        ck_assert_int_eq(my_option_set(path_options[i], "-"), 0);
        ck_assert_int_eq(my_option_set(path_options[i], "with space,comma"),
                         0);
        ck_assert_int_eq(my_option_set(path_options[i], ""), 0);
    }
    reset_options();
    scratch_close(&s);
}
END_TEST

/* Bad values of every name fail with EINVAL. */
START_TEST(test_set_bad_values)
{
    static const char *const bad_flags[] = {"", "2", "yes", "true", "10",
                                            "1 ", " 1", "-1", "0x1", "on"};

    for (unsigned i = 0; i < 2; i++) {
        for (unsigned k = 0; k < sizeof bad_flags / sizeof bad_flags[0]; k++)
            expect_fail(flag_options[i], bad_flags[k], EINVAL);
        expect_fail(flag_options[i], NULL, EINVAL);
    }
    for (unsigned i = 0; i < 3; i++)
        expect_fail(path_options[i], NULL, EINVAL);
}
END_TEST

/* Names: NULL, unknown and near misses (of "check" too). */
START_TEST(test_set_bad_names)
{
    static const char *const bad_names[] = {
        "", "foo", "STATS", "Stats", "stats ", " stats", "stats=1",
        "stats,verbose", "statsfile", "stats_jsonx", "heat", "checked",
        "check_", "Check", "verbose\n"};

    expect_fail(NULL, "1", EINVAL);
    expect_fail(NULL, NULL, EINVAL);
    for (unsigned k = 0; k < sizeof bad_names / sizeof bad_names[0]; k++)
        expect_fail(bad_names[k], "1", EINVAL);
}
END_TEST

/* Paths of up to 4095 bytes are taken; longer ones fail with
 * ENAMETOOLONG; "" clears. */
START_TEST(test_set_path_length)
{
    char *path = malloc(PATH_LIMIT + 2);

    ck_assert_ptr_nonnull(path);
    memset(path, 'a', PATH_LIMIT + 1);
    path[PATH_LIMIT + 1] = '\0';
    for (unsigned i = 0; i < 3; i++) {
        expect_fail(path_options[i], path, ENAMETOOLONG); /* 4096 bytes */
        path[PATH_LIMIT] = '\0';
        ck_assert_msg(my_option_set(path_options[i], path) == 0,
                      "a path of %d bytes for %s: %s", PATH_LIMIT,
                      path_options[i], strerror(errno));
        path[PATH_LIMIT] = 'a';
        ck_assert_int_eq(my_option_set(path_options[i], ""), 0);
    }
    /* Much longer. */
    free(path);
    path = malloc(100000);
    ck_assert_ptr_nonnull(path);
    memset(path, '/', 99999);
    path[99999] = '\0';
    for (unsigned i = 0; i < 3; i++)
        expect_fail(path_options[i], path, ENAMETOOLONG);
    free(path);
    reset_options();
}
END_TEST

static void bad_calls_child(void *arg)
{
    char path[PATH_LIMIT + 2];

    (void)arg;
    memset(path, 'x', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    my_option_set(NULL, "1");
    my_option_set("foo", "1");
    my_option_set("check", "yes");
    my_option_set("check_guard", "sometimes");
    my_option_set("stats", "maybe");
    my_option_set("verbose", NULL);
    my_option_set("heatmap", path);
    fflush(stderr);
}

/* A failing my_option_set prints nothing: the caller gets errno. */
START_TEST(test_set_quiet)
{
    struct tu_child res;

    ck_assert_int_eq(tu_run_captured(bad_calls_child, NULL, &res), 0);
    ck_assert_msg(res.exited && res.status == 0, "the child failed");
    ck_assert_msg(res.text[0] == '\0', "bad my_option_set calls printed: %s",
                  res.text);
}
END_TEST

/* ------------------------------------------------------------- JSON -- */

/* Allocate blocks of every regime: small, buddy and huge. */
static void **allocate_mix(size_t *count)
{
    static const size_t sizes[] = {1, 24, 100, 333, 4096, 4097, 20000,
                                   300000, TU_MIB, 3 * TU_MIB};
    enum { N = sizeof sizes / sizeof sizes[0] };
    void **p = malloc(N * 4 * sizeof *p);

    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < N * 4; i++) {
        p[i] = my_malloc(sizes[i % N]);
        ck_assert_ptr_nonnull(p[i]);
        memset(tu_launder(p[i]), 0x5a, sizes[i % N]);
    }
    /* Free some, for free blocks and partly used slabs. */
    for (size_t i = 0; i < N * 4; i += 3) {
        my_free(p[i]);
        p[i] = NULL;
    }
    *count = N * 4;
    return p;
}

static void free_mix(void **p, size_t count)
{
    for (size_t i = 0; i < count; i++)
        my_free(p[i]);
    free(p);
}

/* The JSON is one well-formed object with every field, and says exactly
 * what my_stats_get says when nothing changes in between. */
START_TEST(test_json_matches_stats)
{
    struct my_stats before, after;
    size_t n, len;
    void **p = allocate_mix(&n);
    char *text;
    FILE *f = tmpfile();
    int rc;

    ck_assert_ptr_nonnull(f);
    tu_stats(&before);
    rc = my_stats_print_json(f);
    tu_stats(&after);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(memcmp(&before, &after, sizeof before) == 0,
                  "my_stats_print_json changed the statistics");
    ck_assert_int_eq(fflush(f), 0);
    rewind(f);
    text = read_all(f, &len);
    fclose(f);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(before.bytes_allocated > 0 && before.huge_blocks > 0,
                  "the mix allocated nothing?");
    check_stats_json(text, len, &before);
    free(text);
    free_mix(p, n);
}
END_TEST

/* Fresh statistics of a process that allocated little are valid too, and
 * the classes hold the blocks allocated. */
START_TEST(test_json_counts)
{
    struct my_stats st;
    struct jvalue root;
    const struct jvalue *classes;
    void *p[5];
    size_t len;
    char *text, error[200];
    unsigned idx = tu_class_index(200);

    for (int i = 0; i < 5; i++) {
        p[i] = my_malloc(200);
        ck_assert_ptr_nonnull(p[i]);
    }
    text = capture_output(my_stats_print_json, &len);
    tu_stats(&st);
    check_stats_json(text, len, NULL);
    ck_assert_int_eq(json_parse(text, &root, error, sizeof error), 0);
    classes = jget(&root, "classes");
    ck_assert_ptr_nonnull(classes);
    ck_assert_msg(jget_u64(&classes->items[idx], "blocks_live") >= 5,
                  "class %u (208 bytes) has fewer than 5 live blocks", idx);
    ck_assert_msg(jget_u64(&root, "calls_malloc") >= 5,
                  "calls_malloc below 5");
    jfree(&root);
    free(text);
    for (int i = 0; i < 5; i++)
        my_free(p[i]);
}
END_TEST

START_TEST(test_json_errors)
{
    tu_check_writer_errors(my_stats_print_json);
}
END_TEST

/* ---------------------------------------------------------- heat map -- */

/* A heat map after small, buddy and huge allocations: well-formed SVG in
 * the SVG namespace, one group per region, cells of class used and slab,
 * one huge bar per huge block. */
START_TEST(test_heatmap)
{
    struct my_stats st;
    struct svg_summary sum;
    size_t n, len;
    void **p = allocate_mix(&n);
    void *big = my_malloc(64 * TU_KIB); /* one used buddy block for sure */
    char *text, error[200];

    ck_assert_ptr_nonnull(big);
    tu_stats(&st);
    text = capture_output(my_heatmap_write, &len);
    ck_assert_msg(st.regions >= 1 && st.huge_blocks >= 1,
                  "%zu regions and %zu huge blocks", st.regions,
                  st.huge_blocks);
    check_heatmap(text, len, st.regions, st.huge_blocks);
    ck_assert_int_eq(svg_parse(text, &sum, error, sizeof error), 0);
    ck_assert_msg(sum.rect_class[0] > 0, "no rect of class used");
    ck_assert_msg(sum.rect_class[1] > 0, "no rect of class slab");
    ck_assert_msg(sum.rect_class[6] > 0, "no rect of class huge");
    free(text);
    my_free(big);
    free_mix(p, n);
}
END_TEST

/* Freed huge blocks leave the picture. */
START_TEST(test_heatmap_huge_gone)
{
    struct my_stats st;
    void *h[3];
    size_t len;
    char *text;

    for (int i = 0; i < 3; i++) {
        h[i] = my_malloc(2 * TU_MIB + (size_t)i * TU_PAGE);
        ck_assert_ptr_nonnull(h[i]);
    }
    tu_stats(&st);
    ck_assert_uint_ge(st.huge_blocks, 3);
    text = capture_output(my_heatmap_write, &len);
    check_heatmap(text, len, st.regions, st.huge_blocks);
    free(text);
    for (int i = 0; i < 3; i++)
        my_free(h[i]);
    tu_stats(&st);
    text = capture_output(my_heatmap_write, &len);
    check_heatmap(text, len, st.regions, st.huge_blocks);
    free(text);
}
END_TEST

START_TEST(test_heatmap_errors)
{
    tu_check_writer_errors(my_heatmap_write);
}
END_TEST

/* ------------------------------------------------------- at exit -- */

/* Set an option in a child; a failure ends the child with status 3. */
static void child_set(const char *name, const char *value)
{
    if (my_option_set(name, value) != 0) {
        fprintf(stderr, "my_option_set(%s, %s): %s\n", name, value,
                strerror(errno));
        _exit(3);
    }
}

/* Allocations for the child to leave behind: every regime. */
static void child_allocate(void)
{
    static void *keep[8];
    static const size_t sizes[] = {10, 200, 3000, 5000, 100000, 700000,
                                   2 * TU_MIB, 100};

    for (int i = 0; i < 8; i++) {
        keep[i] = my_malloc(sizes[i]);
        if (keep[i] == NULL)
            _exit(4);
        memset(tu_launder(keep[i]), 1, sizes[i]);
    }
    my_free(keep[7]);
}

/* Run fn in a forked child and wait: it must exit with status 0. */
static void run_child(void (*fn)(const char *const *), const char *const *arg)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fn(arg);
        _exit(5); /* fn must not return */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child ended with status 0x%x", (unsigned)status);
}

/* Set stats, stats_file, stats_json and heatmap, allocate, then try to
 * spoil each option with a bad value (which must leave it alone), and
 * exit(0). */
static void child_all_outputs(const char *const *paths)
{
    char toolong[PATH_LIMIT + 2];

    child_set("stats", "1");
    child_set("stats_file", paths[0]);
    child_set("stats_json", paths[1]);
    child_set("heatmap", paths[2]);
    /* A path set and cleared again asks for nothing. */
    child_set("stats_json", paths[3]);
    child_set("stats_json", paths[1]);
    child_allocate();
    memset(toolong, 'z', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = '\0';
    if (my_option_set("stats", "2") == 0 ||
        my_option_set("stats_file", toolong) == 0 ||
        my_option_set("stats_json", toolong) == 0 ||
        my_option_set("heatmap", toolong) == 0)
        _exit(6);
    exit(0);
}

/* The three outputs appear at exit, each well-formed; a file that was
 * there before is replaced, not appended to. */
START_TEST(test_at_exit_files)
{
    struct scratch s;
    const char *paths[4];
    char *text;
    size_t len;
    FILE *f;

    scratch_open(&s);
    paths[0] = scratch_file(&s, "report.txt");
    paths[1] = scratch_file(&s, "stats.json");
    paths[2] = scratch_file(&s, "heap.svg");
    paths[3] = scratch_file(&s, "never.json");
    /* Stale content that must not survive. */
    f = fopen(paths[1], "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 20000; i++)
        fputs("stale stale stale\n", f);
    fclose(f);

    run_child(child_all_outputs, paths);

    text = read_path(paths[0], &len);
    ck_assert_msg(text != NULL && len > 0, "no report in %s", paths[0]);
    ck_assert_ptr_nonnull(strstr(text, "allocated"));
    ck_assert_ptr_nonnull(strstr(text, "mapped"));
    ck_assert_ptr_nonnull(strstr(text, "peak"));
    ck_assert_ptr_nonnull(strstr(text, "class"));
    ck_assert_ptr_nonnull(strstr(text, "order"));
    ck_assert_ptr_nonnull(strstr(text, "fragmentation"));
    free(text);

    text = read_path(paths[1], &len);
    ck_assert_msg(text != NULL && len > 0, "no JSON in %s", paths[1]);
    ck_assert_msg(strstr(text, "stale") == NULL,
                  "the old content of %s survived", paths[1]);
    check_stats_json(text, len, NULL);
    free(text);

    text = read_path(paths[2], &len);
    ck_assert_msg(text != NULL && len > 0, "no heat map in %s", paths[2]);
    {
        struct svg_summary sum;
        char error[200];

        ck_assert_msg(svg_parse(text, &sum, error, sizeof error) == 0,
                      "the heat map is not well-formed: %s", error);
        ck_assert_str_eq(sum.root, "svg");
        ck_assert_str_eq(sum.xmlns, "http://www.w3.org/2000/svg");
        ck_assert_msg(sum.region_groups >= 1, "no region group");
        ck_assert_msg(sum.rect_class[0] + sum.rect_class[1] > 0,
                      "no rect of class used or slab");
        ck_assert_msg(sum.rect_class[6] >= 1, "no rect of class huge");
    }
    free(text);

    ck_assert_msg(!file_exists(paths[3]), "%s was written though cleared",
                  paths[3]);
    scratch_close(&s);
}
END_TEST

static void child_exit_quickly(const char *const *paths)
{
    child_set("stats", "1");
    child_set("stats_file", paths[0]);
    child_set("stats_json", paths[1]);
    child_set("heatmap", paths[2]);
    child_allocate();
    _exit(0);
}

/* _exit() skips the outputs. */
START_TEST(test_no_output_after__exit)
{
    struct scratch s;
    const char *paths[3];

    scratch_open(&s);
    paths[0] = scratch_file(&s, "report.txt");
    paths[1] = scratch_file(&s, "stats.json");
    paths[2] = scratch_file(&s, "heap.svg");
    run_child(child_exit_quickly, paths);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(!file_exists(paths[i]), "%s written after _exit",
                      paths[i]);
    scratch_close(&s);
}
END_TEST

static void child_json_per_process(const char *const *paths)
{
    child_set("stats_json", paths[0]);
    child_allocate();
    exit(0);
}

/* "%p" in a path is the process id, and the file arrives whole under its
 * final name: nothing else (no temporary file) is left in the directory. */
START_TEST(test_at_exit_pid_in_path)
{
    struct scratch s;
    const char *paths[1];
    char expected[320];
    pid_t pid;
    int status, entries = 0;
    DIR *dir;
    struct dirent *e;

    scratch_open(&s);
    paths[0] = scratch_file(&s, "stats-%p.json");
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        child_json_per_process(paths);
        _exit(5);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(expected, sizeof expected, "stats-%ld.json", (long)pid);
    dir = opendir(s.dir);
    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        ck_assert_msg(strcmp(e->d_name, expected) == 0, "unexpected file %s (wanted %s)",
                      e->d_name, expected);
    }
    closedir(dir);
    ck_assert_int_eq(entries, 1);
    snprintf(expected, sizeof expected, "%s/stats-%ld.json", s.dir, (long)pid);
    ck_assert_int_eq(unlink(expected), 0);
    scratch_close(&s);
}
END_TEST

static void child_stats_to_stderr(void *arg)
{
    const char *dash = arg;

    if (dash != NULL)
        child_set("stats_file", dash);
    child_set("stats", "1");
    child_allocate();
    exit(0);
}

/* stats=1 alone writes the report to stderr; so does stats_file "-". */
START_TEST(test_at_exit_stderr)
{
    static char dash[] = "-";
    struct tu_child res;

    ck_assert_int_eq(tu_run_captured(child_stats_to_stderr, NULL, &res), 0);
    ck_assert_msg(res.exited && res.status == 0, "the child failed: %s",
                  res.text);
    ck_assert_msg(strstr(res.text, "allocated") != NULL &&
                      strstr(res.text, "fragmentation") != NULL,
                  "no report on stderr: %s", res.text);

    ck_assert_int_eq(tu_run_captured(child_stats_to_stderr, dash, &res), 0);
    ck_assert_msg(res.exited && res.status == 0, "the child failed: %s",
                  res.text);
    ck_assert_msg(strstr(res.text, "allocated") != NULL,
                  "no report on stderr with stats_file=-: %s", res.text);
}
END_TEST

static void child_cleared(void *arg)
{
    const char *const *paths = arg;

    child_set("stats_json", paths[0]);
    child_set("heatmap", paths[1]);
    child_set("stats_file", paths[2]);
    child_set("stats_json", "");
    child_set("heatmap", "");
    child_set("stats_file", "");
    child_set("stats", "1");
    child_allocate();
    exit(0);
}

/* "" clears a path: no JSON, no heat map, and the report goes back to
 * stderr. */
START_TEST(test_at_exit_cleared)
{
    struct scratch s;
    const char *paths[3];
    struct tu_child res;

    scratch_open(&s);
    paths[0] = scratch_file(&s, "stats.json");
    paths[1] = scratch_file(&s, "heap.svg");
    paths[2] = scratch_file(&s, "report.txt");
    ck_assert_int_eq(tu_run_captured(child_cleared, (void *)paths, &res), 0);
    ck_assert_msg(res.exited && res.status == 0, "the child failed: %s",
                  res.text);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(!file_exists(paths[i]), "%s written though cleared",
                      paths[i]);
    ck_assert_msg(strstr(res.text, "fragmentation") != NULL,
                  "no report on stderr after stats_file was cleared: %s",
                  res.text);
    scratch_close(&s);
}
END_TEST

static void child_stats_off(void *arg)
{
    (void)arg;
    child_set("stats", "1");
    child_set("stats", "0");
    child_set("verbose", "1");
    child_set("verbose", "0");
    child_allocate();
    exit(0);
}

/* Options switched on and off again ask for nothing at exit. */
START_TEST(test_at_exit_off)
{
    struct tu_child res;

    ck_assert_int_eq(tu_run_captured(child_stats_off, NULL, &res), 0);
    ck_assert_msg(res.exited && res.status == 0, "the child failed");
    ck_assert_msg(res.text[0] == '\0', "unexpected output at exit: %s",
                  res.text);
}
END_TEST

static void child_verbose(void *arg)
{
    const char *const *paths = arg;

    child_set("verbose", "1");
    child_set("stats", "1");
    child_set("stats_file", paths[0]);
    child_set("stats_json", paths[1]);
    child_set("heatmap", paths[2]);
    exit(0);
}

/* verbose=1 says what was written at exit: one line per file, each
 * naming its path (after the start-up line, when the library starts only
 * after the option was set). */
START_TEST(test_at_exit_verbose)
{
    struct scratch s;
    const char *paths[3];
    static const char started_line[] =
        "myalloc: libmyalloc " MYALLOC_VERSION_STRING " started, ";
    struct tu_child res;
    unsigned lines = 0, seen = 0;
    int started = 0;

    scratch_open(&s);
    paths[0] = scratch_file(&s, "report.txt");
    paths[1] = scratch_file(&s, "stats.json");
    paths[2] = scratch_file(&s, "heap.svg");
    ck_assert_int_eq(tu_run_captured(child_verbose, (void *)paths, &res), 0);
    ck_assert_msg(res.exited && res.status == 0, "the child failed: %s",
                  res.text);
    for (char *line = res.text, *end; *line != '\0'; line = end + 1) {
        int named = -1;

        end = strchr(line, '\n');
        ck_assert_msg(end != NULL, "unterminated line on stderr: %s", line);
        *end = '\0';
        /* The library may start only now, and say so first. */
        if (lines == 0 && seen == 0 && !started &&
            strncmp(line, started_line, strlen(started_line)) == 0) {
            started = 1;
            continue;
        }
        ck_assert_msg(strncmp(line, "myalloc: wrote ", 15) == 0,
                      "unexpected line on stderr: %s", line);
        for (int i = 0; i < 3; i++)
            if (strstr(line, paths[i]) != NULL)
                named = i;
        ck_assert_msg(named >= 0, "the line names none of the files: %s",
                      line);
        ck_assert_msg(!(seen & (1u << named)), "%s named twice",
                      paths[named]);
        seen |= 1u << named;
        lines++;
    }
    ck_assert_uint_eq(lines, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(file_exists(paths[i]), "%s was not written", paths[i]);
    scratch_close(&s);
}
END_TEST

static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *set = tcase_create("my_option_set");
    TCase *out = tcase_create("outputs");
    TCase *exit_tc = tcase_create("at exit");

    tcase_add_test(set, test_set_good);
    tcase_add_test(set, test_set_bad_values);
    tcase_add_test(set, test_set_bad_names);
    tcase_add_test(set, test_set_path_length);
    tcase_add_test(set, test_set_quiet);
    suite_add_tcase(s, set);

    tcase_add_test(out, test_json_matches_stats);
    tcase_add_test(out, test_json_counts);
    tcase_add_test(out, test_json_errors);
    tcase_add_test(out, test_heatmap);
    tcase_add_test(out, test_heatmap_huge_gone);
    tcase_add_test(out, test_heatmap_errors);
    suite_add_tcase(s, out);

    tcase_add_test(exit_tc, test_at_exit_files);
    tcase_add_test(exit_tc, test_no_output_after__exit);
    tcase_add_test(exit_tc, test_at_exit_pid_in_path);
    tcase_add_test(exit_tc, test_at_exit_stderr);
    tcase_add_test(exit_tc, test_at_exit_cleared);
    tcase_add_test(exit_tc, test_at_exit_off);
    tcase_add_test(exit_tc, test_at_exit_verbose);
    suite_add_tcase(s, exit_tc);
    return s;
}

int main(void)
{
    return tu_run_suite(options_suite());
}
