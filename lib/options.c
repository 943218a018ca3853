/* options.c - runtime options (MYALLOC_OPTIONS and my_option_set) and
 * what they ask for at exit: the report, the JSON statistics, the heat map.
 *
 * MYALLOC_OPTIONS is read once, at start-up, without allocating: a
 * comma-separated list of name=value, a bare name meaning name=1.  What
 * cannot be used is named in one warning line and otherwise ignored; a
 * program is never stopped for a bad option.  The outputs are written from
 * a destructor, so at a normal exit (exit() or a return from main). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "internal.h"

#define OPTION_PATH_MAX 4096

struct options {
    bool stats;
    bool verbose;
    char stats_file[OPTION_PATH_MAX]; /* "" or "-": stderr */
    char stats_json[OPTION_PATH_MAX]; /* "": none */
    char heatmap[OPTION_PATH_MAX];    /* "": none */
};

/* Written under options_lock; read at exit (after the program's own
 * threads are done with it, or racing it, as my_option_set says). */
static struct options options;
static pthread_mutex_t options_lock = PTHREAD_MUTEX_INITIALIZER;

/* A copy of stderr taken when an output is first aimed at it: many
 * programs (GNU coreutils among them) close stderr in an atexit handler,
 * which runs before our destructor. */
static int stderr_copy = -1;

void myalloc__stderr_keep(void)
{
    if (stderr_copy < 0)
        stderr_copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
}

static bool path_is_stderr(const char *path)
{
    return path[0] == '\0' || strcmp(path, "-") == 0;
}

enum option_kind { OPTION_FLAG, OPTION_PATH };

static const struct option_desc {
    const char *name;
    enum option_kind kind;
    size_t offset;
} option_table[] = {
    { "stats", OPTION_FLAG, offsetof(struct options, stats) },
    { "stats_file", OPTION_PATH, offsetof(struct options, stats_file) },
    { "stats_json", OPTION_PATH, offsetof(struct options, stats_json) },
    { "heatmap", OPTION_PATH, offsetof(struct options, heatmap) },
    { "verbose", OPTION_FLAG, offsetof(struct options, verbose) },
};

bool myalloc__option_text_is(const char *text, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(text, word, len) == 0;
}

bool myalloc__option_flag(const char *value, size_t len, bool *out)
{
    if (len != 1 || (value[0] != '0' && value[0] != '1'))
        return false;
    *out = value[0] == '1';
    return true;
}

static const struct option_desc *option_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++) {
        if (myalloc__option_text_is(name, len, option_table[i].name))
            return &option_table[i];
    }
    return NULL;
}

/* Sets one option from a value of len bytes: 0, EINVAL or ENAMETOOLONG. */
static int option_apply(const struct option_desc *o, const char *value, size_t len)
{
    char *field = (char *)&options + o->offset;

    if (o->kind == OPTION_FLAG) {
        bool on;
        if (!myalloc__option_flag(value, len, &on))
            return EINVAL;
        pthread_mutex_lock(&options_lock);
        *(bool *)field = on;
    } else {
        if (len >= OPTION_PATH_MAX)
            return ENAMETOOLONG;
        pthread_mutex_lock(&options_lock);
        memcpy(field, value, len);
        field[len] = '\0';
    }
    if ((options.stats && path_is_stderr(options.stats_file)) ||
        strcmp(options.stats_json, "-") == 0 || strcmp(options.heatmap, "-") == 0)
        myalloc__stderr_keep();
    pthread_mutex_unlock(&options_lock);
    return 0;
}

/* The options outside option_table, each module's own: 0, ENOENT (no such
 * option) or an errno. */
static int option_apply_elsewhere(const char *name, size_t len, const char *value,
                                  size_t value_len)
{
    int err = myalloc__idle_option(name, len, value, value_len);

    if (err == ENOENT)
        err = myalloc__checked_option(name, len, value, value_len);
    return err;
}

int my_option_set(const char *name, const char *value)
{
    const struct option_desc *o;
    int err;

    /* Set up first, so that MYALLOC_OPTIONS, read then, cannot override
     * what the program sets. */
    (void)myalloc__init();
    if (name == NULL || value == NULL) {
        errno = EINVAL;
        return -1;
    }
    o = option_find(name, strlen(name));
    if (o != NULL)
        err = option_apply(o, value, strlen(value));
    else
        err = option_apply_elsewhere(name, strlen(name), value, strlen(value));
    if (err == ENOENT)
        err = EINVAL;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

/* Copies len bytes of s into a terminated buffer for a warning line. */
static const char *option_text(char *buf, size_t size, const char *s, size_t len)
{
    if (len >= size)
        len = size - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

static void option_parse_item(const char *item, size_t len)
{
    const char *eq = memchr(item, '=', len);
    size_t name_len = eq != NULL ? (size_t)(eq - item) : len;
    const char *value = eq != NULL ? eq + 1 : "1";
    size_t value_len = eq != NULL ? len - name_len - 1 : 1;
    bool bare = eq == NULL;
    const struct option_desc *o = option_find(item, name_len);
    char name[64], shown[256];

    int err;

    option_text(name, sizeof name, item, name_len);
    if (o == NULL)
        err = option_apply_elsewhere(item, name_len, value, value_len);
    else if (o->kind == OPTION_PATH && (bare || value_len == 0))
        err = EINVAL; /* a mistake in the environment ("" clears a path from code only) */
    else
        err = option_apply(o, value, value_len) != 0 ? EINVAL : 0;
    if (err == ENOENT) {
        const char *parts[] = { "MYALLOC_OPTIONS: unknown option '", name, "' (ignored)" };
        myalloc__report_warning(parts, 3);
    } else if (err != 0) {
        const char *parts[] = { "MYALLOC_OPTIONS: ",
                                err == EINVAL ? "bad value '" : "cannot apply '",
                                option_text(shown, sizeof shown, value, bare ? 0 : value_len),
                                "' for option '", name, "'",
                                err == EINVAL ? "" : ": ", err == EINVAL ? "" : strerror(err),
                                " (ignored)" };
        myalloc__report_warning(parts, 9);
    }
}

void myalloc__options_init(void)
{
    const char *env = getenv("MYALLOC_OPTIONS");

    if (env != NULL) {
        while (*env != '\0') {
            const char *end = strchr(env, ',');
            size_t len = end != NULL ? (size_t)(end - env) : strlen(env);
            if (len != 0)
                option_parse_item(env, len);
            env += len;
            if (*env == ',')
                env++;
        }
    }
    if (options.verbose) {
        char count[16];
        int n = snprintf(count, sizeof count, "%u", myalloc__narenas);
        const char *parts[] = { "libmyalloc ", MYALLOC_VERSION_STRING, " started, ",
                                n > 0 ? count : "?", " arenas" };
        myalloc__report_warning(parts, 5);
    }
}

int myalloc__stderr_at_exit(void)
{
    if (stderr_copy >= 0 && fcntl(STDERR_FILENO, F_GETFD) < 0)
        return stderr_copy;
    return STDERR_FILENO;
}

/* ----------------------------------------------------- outputs at exit -- */
/* path with each "%p" replaced by the process id; false if too long. */
static bool path_expand(const char *path, char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = path; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            int w = snprintf(out + n, size - n, "%ld", (long)getpid());
            if (w < 0 || (size_t)w >= size - n)
                return false;
            n += (size_t)w;
            p++;
        } else {
            if (n + 1 >= size)
                return false;
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return true;
}

/* Writes an output to stderr, or to a file by way of a temporary file
 * renamed into place: processes that exit together and name the same
 * file leave one whole output, never a mix. */
static void output_write(const char *path, const char *what, int (*write_to)(FILE *),
                         bool verbose)
{
    static char final[OPTION_PATH_MAX + 32], temporary[OPTION_PATH_MAX + 64];
    bool to_stderr = path_is_stderr(path);
    FILE *out = NULL;
    int failed;

    if (to_stderr) {
        int fd = stderr_copy >= 0 ? dup(stderr_copy) : dup(STDERR_FILENO);
        out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (out == NULL && fd >= 0)
            close(fd);
    } else if (path_expand(path, final, sizeof final)) {
        snprintf(temporary, sizeof temporary, "%s.tmp.%ld", final, (long)getpid());
        out = fopen(temporary, "w");
    } else {
        errno = ENAMETOOLONG;
    }
    if (out == NULL) {
        const char *parts[] = { "cannot write ", what, " to ", to_stderr ? "stderr" : path,
                                ": ", strerror(errno) };
        myalloc__report_warning(parts, 6);
        return;
    }
    failed = write_to(out) != 0;
    if (fclose(out) != 0)
        failed = 1;
    if (!to_stderr && !failed && rename(temporary, final) != 0)
        failed = 1;
    if (failed) {
        if (!to_stderr)
            (void)unlink(temporary);
        const char *parts[] = { "writing ", what, " to ", to_stderr ? "stderr" : final,
                                " failed" };
        myalloc__report_warning(parts, 5);
    } else if (verbose) {
        const char *parts[] = { "wrote ", what, " to ", to_stderr ? "stderr" : final };
        myalloc__report_warning(parts, 4);
    }
}

__attribute__((destructor)) static void options_at_exit(void)
{
    static struct options at_exit;
    bool wanted;

    /* Copied only when an output is asked for: the copy writes three
     * pages that a process which asks for none never touches. */
    pthread_mutex_lock(&options_lock);
    wanted = options.stats || options.stats_json[0] != '\0' || options.heatmap[0] != '\0';
    if (wanted)
        at_exit = options;
    pthread_mutex_unlock(&options_lock);
    if (!wanted)
        return;
    if (at_exit.stats)
        output_write(at_exit.stats_file, "stats", my_stats_print, at_exit.verbose);
    if (at_exit.stats_json[0] != '\0')
        output_write(at_exit.stats_json, "JSON stats", my_stats_print_json, at_exit.verbose);
    if (at_exit.heatmap[0] != '\0')
        output_write(at_exit.heatmap, "heat map", my_heatmap_write, at_exit.verbose);
}
