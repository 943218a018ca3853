#!/bin/sh
# test_preload.sh - libmyalloc-preload.so replaces the C library's malloc in
# real programs, which then behave exactly as on the system allocator.
#
# Run by `make check` with top_srcdir, top_builddir, CC, CFLAGS, CPPFLAGS,
# LDFLAGS, NM and LT_OBJDIR in the environment.  Each check prints what it
# checks; a failure says what differed.
#  (a) the preload library exports the whole malloc family, unversioned (so
#      that it interposes on glibc's versioned names), and every my_* call;
#      libmyalloc.so exports none of the malloc family;
#  (b) Debian programs print the same and exit with the same status with
#      and without LD_PRELOAD: a shell pipeline (seq, sed, awk, sort, uniq,
#      tail), sort on a generated file (plain, -u, -k2), python3, perl and
#      bash churning strings, lists and hashes, git (init, commits, log,
#      gc, fsck) and gcc (compile, link, run; the objects compared).  Each
#      run under the library proves that it ran there: every process says
#      so at start-up (MYALLOC_OPTIONS verbose=1), and its JSON statistics
#      at exit (stats_json) count malloc calls.  The log shows the time of
#      each run on both allocators;
#  (c) tests/preload_mt, threads and fork, passes on both allocators and
#      prints the same summary;
#  (d) allocation in constructors (also in a library whose constructor runs
#      before libmyalloc's), in atexit handlers, dlopen/dlclose in a loop
#      beside a thread that allocates, and a C++ program (when g++ is
#      there).
# Exit status: 0 pass, 1 fail, 77 skip (no preload library, or a sanitizer
# build: an instrumented library cannot be preloaded into programs that are
# not).

# shellcheck disable=SC2016 # programs for other interpreters are quoted
me=test_preload
# shellcheck source=tests/preload_common.sh
. "${top_srcdir:?top_srcdir is not set (run through make check)}/tests/preload_common.sh"
: "${NM:=nm}"
: "${CC:=cc}"
say "preload library $lib"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/myalloc-preload.XXXXXX") || die "mktemp failed"
case $tmp in
*[:\ \	]*) rm -rf "$tmp"; skip "the temporary directory $tmp holds a space or colon" ;;
esac
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$tmp/json" "$tmp/home" || die "mkdir in $tmp failed"

# The same, reproducible environment for both runs of every program.
LC_ALL=C
TZ=UTC
PYTHONHASHSEED=0
PYTHONDONTWRITEBYTECODE=1
PERL_HASH_SEED=0
export LC_ALL TZ PYTHONHASHSEED PYTHONDONTWRITEBYTECODE PERL_HASH_SEED
unset LD_PRELOAD MYALLOC_OPTIONS
# Scripts below find their files here.
TESTTMP=$tmp
export TESTTMP

# python3 for the churn and to read the JSON files: the system one first
# (a python3 early in PATH may be a wrapper script that starts others).
py=
for p in /usr/bin/python3 "$(command -v python3 2> /dev/null)"; do
    if test -n "$p" && test -x "$p"; then
        py=$p
        break
    fi
done

# json_calls FILE: calls_malloc from a JSON statistics file, read without
# the library; empty when the file is not valid JSON.
json_calls() {
    if test -n "$py"; then
        "$py" -c 'import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
print(int(d["calls_malloc"]))' "$1" 2> /dev/null
    else
        sed -n 's/.*"calls_malloc": *\([0-9][0-9]*\).*/\1/p' "$1"
    fi
}

# check_json LABEL FILE: FILE holds JSON statistics with calls_malloc > 0.
check_json() {
    if test ! -s "$2"; then
        fail "$1: no JSON statistics at exit in $2: the program did not run on libmyalloc (or did not exit normally)"
        return 1
    fi
    n=$(json_calls "$2")
    case $n in
    '' | *[!0-9]*)
        fail "$1: $2 is not valid JSON with calls_malloc: $(head -c 200 "$2")"
        return 1
        ;;
    0)
        fail "$1: calls_malloc is 0 in $2: malloc does not reach libmyalloc"
        return 1
        ;;
    esac
    return 0
}

# now_ms: a clock in milliseconds (GNU date), or seconds * 1000.
case $(date +%N 2> /dev/null) in
'' | *N*) now_ms() { echo $(($(date +%s) * 1000)); } ;;
*) now_ms() { t=$(date +%s%N); echo $((t / 1000000)); } ;;
esac

# compare NAME MINPROCS COMMAND...: run COMMAND on the system allocator and
# under the preload library; stdout and exit status must be the same.  The
# second run has verbose=1 and stats_json in MYALLOC_OPTIONS: at least
# MINPROCS processes must say on stderr that libmyalloc started in them,
# nothing else of libmyalloc's may be there (no warning, no abort report),
# and the JSON written at exit must count malloc calls (the last process
# to exit writes it; with main_json=no the command checks JSON files of
# its own instead).  MYALLOC_TEST_RUN is "sys" or "my" for commands that
# need a directory of their own.  EXTRA_PRELOAD is preloaded in both runs,
# after the library.
compare() {
    name=$1 minprocs=$2
    shift 2
    json=$tmp/json/$name.json
    t0=$(now_ms)
    MYALLOC_TEST_RUN=sys LD_PRELOAD=${EXTRA_PRELOAD-} \
        "$@" > "$tmp/$name.sys.out" 2> "$tmp/$name.sys.err"
    st_sys=$?
    t1=$(now_ms)
    MYALLOC_TEST_RUN=my LD_PRELOAD="$lib${EXTRA_PRELOAD:+ $EXTRA_PRELOAD}" \
        MYALLOC_OPTIONS=verbose=1,stats_json=$json \
        "$@" > "$tmp/$name.my.out" 2> "$tmp/$name.my.err"
    st_my=$?
    t2=$(now_ms)
    ok=1
    if test "$st_sys" -ne "$st_my"; then
        fail "$name: exit status $st_my under libmyalloc, $st_sys without; its stderr: $(head -c 600 "$tmp/$name.my.err")"
        ok=0
    fi
    if ! cmp -s "$tmp/$name.sys.out" "$tmp/$name.my.out"; then
        fail "$name: stdout differs under libmyalloc (< system, > libmyalloc):
$(diff "$tmp/$name.sys.out" "$tmp/$name.my.out" | head -n 20)"
        ok=0
    fi
    if test "$st_sys" -ne 0; then
        fail "$name: the command itself failed (status $st_sys): $(head -c 600 "$tmp/$name.sys.err")"
        ok=0
    fi
    started=$(grep -c '^myalloc: libmyalloc .* started' "$tmp/$name.my.err")
    if test "$started" -lt "$minprocs"; then
        fail "$name: libmyalloc started in $started processes, want at least $minprocs"
        ok=0
    fi
    other=$(grep '^myalloc:' "$tmp/$name.my.err" |
        grep -v -e '^myalloc: libmyalloc .* started' -e '^myalloc: wrote ')
    if test -n "$other"; then
        fail "$name: libmyalloc complained: $(printf '%s\n' "$other" | head -n 5)"
        ok=0
    fi
    if test "${main_json-yes}" = yes; then
        check_json "$name" "$json" || ok=0
    fi
    if test "$ok" -eq 1; then
        say "  ok: $name: same output ($(wc -l < "$tmp/$name.my.out" | tr -d ' ') lines), libmyalloc started in $started process(es); $((t1 - t0)) ms on the system allocator, $((t2 - t1)) ms on libmyalloc"
    fi
}

# ------------------------------------------------------- (a) the symbols --
say "(a) the preload library exports the malloc family; libmyalloc.so does not"
family='malloc free calloc realloc reallocarray posix_memalign aligned_alloc
memalign valloc pvalloc malloc_usable_size cfree malloc_trim mallinfo
free_sized free_aligned_sized mallinfo2 malloc_stats mallopt malloc_info __libc_malloc __libc_free
__libc_calloc __libc_realloc __libc_memalign'

# Defined dynamic symbols as "name version" ("-" when unversioned).
dynsyms() {
    if "$NM" -D --defined-only --with-symbol-versions "$1" > "$tmp/nm.raw" 2> /dev/null; then
        awk 'NF >= 2 {
                 s = $NF
                 if (index(s, "@")) { v = s; sub(/^[^@]*@+/, "", v); sub(/@.*/, "", s) }
                 else v = "-"
                 print s, v
             }' "$tmp/nm.raw"
    else
        "$NM" -D --defined-only "$1" | awk 'NF >= 2 { print $NF, "-" }'
    fi
}
dynsyms "$lib" > "$tmp/preload.syms" || die "'$NM -D' cannot read $lib"
missing='' versioned=''
for n in $family; do
    v=$(awk -v n="$n" '$1 == n { print $2; exit }' "$tmp/preload.syms")
    if test -z "$v"; then
        missing="$missing $n"
    elif test "$v" != "-"; then
        versioned="$versioned $n@$v"
    fi
done
test -z "$missing" || fail "(a) $dlname does not export:$missing"
test -z "$versioned" ||
    fail "(a) $dlname exports versioned names, which do not interpose on glibc's:$versioned"
# Every public call as well, so that a preloaded program can reach them.
map=$top_srcdir/lib/myalloc.map
if test -f "$map"; then
    missing=
    # shellcheck disable=SC2013 # one name a line
    for n in $(sed -n 's/^[[:space:]]*\(my_[a-z_0-9]*\);.*/\1/p' "$map"); do
        grep -q "^$n " "$tmp/preload.syms" || missing="$missing $n"
    done
    test -z "$missing" || fail "(a) $dlname does not export the public calls:$missing"
fi
# Nothing beyond the malloc family and my_*.
# shellcheck disable=SC2086 # one name a line
extra=$(awk '{ print $1 }' "$tmp/preload.syms" | grep -v '^my_' |
    grep -v -x -F "$(printf '%s\n' $family)")
test -z "$extra" || fail "(a) $dlname exports more than the malloc family and my_*: $(oneline "$extra")"

la_main=$top_builddir/lib/libmyalloc.la
# shellcheck source=/dev/null
main_dlname=$(. "$la_main" 2> /dev/null && printf '%s' "$dlname")
if test -n "$main_dlname" && test -f "$top_builddir/lib/$objdir/$main_dlname"; then
    dynsyms "$top_builddir/lib/$objdir/$main_dlname" > "$tmp/main.syms" ||
        die "'$NM -D' cannot read $main_dlname"
    leaked=
    for n in $family; do
        grep -q "^$n " "$tmp/main.syms" && leaked="$leaked $n"
    done
    test -z "$leaked" || fail "(a) $main_dlname exports names of the malloc family:$leaked"
else
    fail "(a) no shared libmyalloc named by $la_main"
fi

# ------------------------------------------------ (b) Debian programs --
say "(b) Debian programs: the same output with and without LD_PRELOAD"

# A shell pipeline.  Each stage gets JSON statistics of its own, so that
# no two processes write one file; `env` sets them (dash exits with
# _exit, so the shell itself writes nothing).
cat > "$tmp/pipeline.sh" << 'EOF'
j=
case ${MYALLOC_OPTIONS-} in
*stats_json=*) j=${MYALLOC_OPTIONS##*stats_json=}; j=${j%.json} ;;
esac
o1= o2= o3= o4= o5= o6=
if test -n "$j"; then
    o1=MYALLOC_OPTIONS=stats_json=$j.seq.json
    o2=MYALLOC_OPTIONS=stats_json=$j.sed.json
    o3=MYALLOC_OPTIONS=stats_json=$j.awk.json
    o4=MYALLOC_OPTIONS=stats_json=$j.sort.json
    o5=MYALLOC_OPTIONS=stats_json=$j.uniq.json
    o6=MYALLOC_OPTIONS=stats_json=$j.tail.json
fi
env $o1 seq 1 200000 |
    env $o2 sed -e 's/^\(.*\)\(.\)$/\2 \1 x\1/' |
    env $o3 awk '{ a[$3] = $2; c[$1]++; s += length($3) }
                 END { for (k in c) print c[k], "digit" k; n = 0
                       for (k in a) n += a[k]; print n, "sum", s }' |
    env $o4 sort -n |
    env $o5 uniq -c |
    env $o6 tail -n 12
EOF
if command -v seq > /dev/null && command -v awk > /dev/null; then
    main_json=no
    compare pipeline 7 sh "$tmp/pipeline.sh"
    main_json=yes
    for stage in seq sed awk sort uniq tail; do
        check_json "pipeline: $stage" "$tmp/json/pipeline.$stage.json"
    done
else
    say "  note: no seq or awk; pipeline skipped"
fi

# sort on a generated file of 200000 lines (made without the library).
awk 'BEGIN { x = 12345
             for (i = 0; i < 200000; i++) {
                 x = (x * 1103515245 + 12345) % 2147483648
                 w = ""
                 for (k = x % 9 + 1; k > 0; k--)
                     w = w sprintf("%c", 97 + int(x / (k * 7 + 3)) % 26)
                 print w, x % 100000, i
             } }' > "$tmp/sort.in" || die "cannot generate the sort input"
compare sort 1 sort "$tmp/sort.in"
compare sort-u 1 sort -u -k1,1 "$tmp/sort.in"
compare sort-k2 1 sort -k2,2n -k3,3n "$tmp/sort.in"

# python3: dicts, lists, strings, a JSON round trip.
if test -n "$py"; then
    cat > "$tmp/churn.py" << 'EOF'
import hashlib, json

def digest(s):
    return hashlib.sha256(s.encode()).hexdigest()[:16]

d = {}
for i in range(60000):
    d["key%d" % i] = [i, str(i) * (i % 7), {"v": i * 3, "w": "x" * (i % 50)}]
lst = [str(x) * 3 for x in range(60000)]
s = ",".join(lst)
parts = s.split(",")
assert parts == lst
for i in range(0, 60000, 2):
    del d["key%d" % i]
text = json.dumps(d, sort_keys=True)
back = json.loads(text)
assert back == d
counts = {}
for k in back:
    counts[k[-1]] = counts.get(k[-1], 0) + 1
chunks = [bytearray(n % 5000) for n in range(10000)]
sets = set(range(0, 200000, 3)) - set(range(0, 200000, 5))
print(len(d), len(back), len(parts), digest(text), digest(s))
print(sorted(counts.items()))
print(sum(len(c) for c in chunks), len(sets), sum(sets) % 1000003)
EOF
    compare python3 1 "$py" "$tmp/churn.py"
else
    say "  note: no python3; python3 run skipped"
fi

# perl: a large hash.
if command -v perl > /dev/null; then
    compare perl 1 perl -e '
        my %h;
        for my $i (1 .. 120000) { $h{"k$i"} = ("v" x ($i % 13)) . $i; }
        delete $h{"k$_"} for grep { $_ % 3 == 0 } 1 .. 120000;
        my $s = join(",", map { "$_=$h{$_}" } sort keys %h);
        my @a = split /,/, $s;
        my %len; $len{length $_}++ for @a;
        printf "%d %d %d %d\n", scalar(keys %h), scalar(@a), length($s),
            unpack("%32C*", $s);
        print join(" ", map { "$_:$len{$_}" } sort { $a <=> $b } keys %len), "\n";'
else
    say "  note: no perl; perl run skipped"
fi

# bash: associative arrays, arrays, string operations (builtins only).
if command -v bash > /dev/null; then
    compare bash 1 bash -c '
        declare -A m; a=()
        for ((i = 0; i < 20000; i++)); do m[k$i]=$((i * 7)); a+=("$i-${i}x"); done
        s="${a[*]}"
        for ((i = 0; i < 20000; i += 2)); do unset "m[k$i]"; done
        unset "a[5]"
        t=${s//x/yy}
        n=0; for k in "${!m[@]}"; do n=$((n + m[$k])); done
        echo "${#m[@]} ${#a[@]} ${#s} ${#t} $n"'
fi

# git: a repository with commits, log, gc and fsck.  Fixed names and dates
# make the hashes the same in both runs.
if command -v git > /dev/null; then
    cat > "$tmp/git.sh" << 'EOF'
set -e
repo=$TESTTMP/git-$MYALLOC_TEST_RUN
rm -rf "$repo"
git init -q "$repo"
cd "$repo"
git config gc.auto 0
i=0
while test $i -lt 12; do
    k=0
    while test $k -lt 40; do
        echo "line $k of file $i, revision $i" >> "file$((k % 7)).txt"
        k=$((k + 1))
    done
    mkdir -p "dir$((i % 3))"
    seq 1 $((i * 50 + 1)) > "dir$((i % 3))/numbers$i"
    git add -A
    git commit -q -m "commit $i" -m "body of commit $i"
    i=$((i + 1))
done
git log --stat --format='%H %an %s'
git gc -q
git fsck --no-progress
# No pipelines: every process writes the same JSON file at exit, so they
# must not run at the same time.
git rev-list --all --objects > "$repo.objects"
sort "$repo.objects"
git count-objects -v > "$repo.count"
grep -e '^count' -e '^in-pack' -e '^packs' "$repo.count"
EOF
    # dash exits with _exit: the JSON comes from the last process, grep.
    (
        HOME=$tmp/home GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat PAGER=cat
        GIT_AUTHOR_NAME='A U Thor' GIT_AUTHOR_EMAIL=author@example.org
        GIT_AUTHOR_DATE='2024-01-01T12:00:00Z'
        GIT_COMMITTER_NAME='C O Mitter' GIT_COMMITTER_EMAIL=committer@example.org
        GIT_COMMITTER_DATE='2024-01-01T12:00:00Z'
        export HOME GIT_CONFIG_NOSYSTEM GIT_PAGER PAGER GIT_AUTHOR_NAME \
            GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_NAME \
            GIT_COMMITTER_EMAIL GIT_COMMITTER_DATE
        compare git 30 sh "$tmp/git.sh"
        exit "$failures"
    ) || failures=$((failures + 1))
else
    say "  note: no git; git run skipped"
fi

# gcc: compile, link and run a program; the objects must be identical.
if command -v gcc > /dev/null; then
    cat > "$tmp/prog.c" << 'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; int value; char name[24]; };

static int compare(const void *a, const void *b)
{
    const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
    return strcmp(x->name, y->name);
}

int main(void)
{
    struct node *head = NULL, **v;
    int i, n = 5000;
    unsigned long sum = 0;

    for (i = 0; i < n; i++) {
        struct node *p = malloc(sizeof *p);
        if (p == NULL)
            return 1;
        p->value = i * 37 % 1001;
        snprintf(p->name, sizeof p->name, "n%08d", p->value * 7919 % 100003);
        p->next = head;
        head = p;
    }
    v = calloc((size_t)n, sizeof *v);
    if (v == NULL)
        return 1;
    for (i = 0; head != NULL; head = head->next)
        v[i++] = head;
    qsort(v, (size_t)n, sizeof *v, compare);
    for (i = 0; i < n; i++) {
        sum = sum * 31 + (unsigned long)v[i]->value;
        free(v[i]);
    }
    free(v);
    printf("%lu\n", sum);
    return 0;
}
EOF
    cat > "$tmp/gcc.sh" << 'EOF'
set -e
d=$TESTTMP/gcc-$MYALLOC_TEST_RUN
rm -rf "$d"
mkdir "$d"
cp "$TESTTMP/prog.c" "$d/prog.c"
cd "$d"
gcc -O2 -Wall -c prog.c -o prog.o
gcc -o prog prog.o
./prog
nm prog.o
EOF
    compare gcc 4 sh "$tmp/gcc.sh"
    if test -f "$tmp/gcc-sys/prog.o" && test -f "$tmp/gcc-my/prog.o" &&
        ! cmp -s "$tmp/gcc-sys/prog.o" "$tmp/gcc-my/prog.o"; then
        fail "gcc: the object compiled under libmyalloc differs from the one compiled without"
    fi
else
    say "  note: no gcc; gcc run skipped"
fi

# ------------------------------------------------ (c) threads and fork --
say "(c) tests/preload_mt: threads handing blocks over, threads exiting, fork"
mt=$top_builddir/tests/preload_mt
if test -x "$mt"; then
    EXPECT_MYALLOC=0 "$mt" > "$tmp/mt.sys" 2> "$tmp/mt.sys.err"
    st_sys=$?
    EXPECT_MYALLOC=1 LD_PRELOAD=$lib "$mt" > "$tmp/mt.my" 2> "$tmp/mt.my.err"
    st_my=$?
    if test "$st_sys" -ne 0; then
        fail "(c) preload_mt fails on the system allocator (status $st_sys): $(head -c 600 "$tmp/mt.sys.err")"
    elif test "$st_my" -ne 0; then
        fail "(c) preload_mt fails under libmyalloc (status $st_my): $(head -c 1000 "$tmp/mt.my.err")"
    elif ! cmp -s "$tmp/mt.sys" "$tmp/mt.my"; then
        fail "(c) preload_mt printed '$(cat "$tmp/mt.my")' under libmyalloc, '$(cat "$tmp/mt.sys")' without"
    elif test ! -s "$tmp/mt.my"; then
        fail "(c) preload_mt printed no summary"
    else
        say "  ok: $(cat "$tmp/mt.my")"
    fi
    # The same in checked mode (one lock, stack traces, quarantine; with
    # check_guard=all every block its own mapping): the same summary and
    # not one report.
    for opts in check=1,check_leaks=0 check=1,check_leaks=0,check_guard=all; do
        EXPECT_MYALLOC=1 LD_PRELOAD=$lib MYALLOC_OPTIONS=$opts "$mt" > "$tmp/mt.ck" 2> "$tmp/mt.ck.err"
        st_ck=$?
        if test "$st_ck" -ne 0; then
            fail "(c) preload_mt fails with MYALLOC_OPTIONS=$opts (status $st_ck): $(head -c 1000 "$tmp/mt.ck.err")"
        elif grep -q '^myalloc: ' "$tmp/mt.ck.err"; then
            fail "(c) preload_mt with MYALLOC_OPTIONS=$opts: $(grep -m 3 '^myalloc: ' "$tmp/mt.ck.err")"
        elif ! cmp -s "$tmp/mt.sys" "$tmp/mt.ck"; then
            fail "(c) preload_mt printed '$(cat "$tmp/mt.ck")' with MYALLOC_OPTIONS=$opts, '$(cat "$tmp/mt.sys")' without libmyalloc"
        else
            say "  ok: the same with MYALLOC_OPTIONS=$opts"
        fi
    done
else
    fail "(c) $mt was not built"
fi

# ------------------------------------- (d) constructors, atexit, dlopen --
say "(d) allocation in constructors and atexit handlers; dlopen/dlclose in a loop"
# shellcheck disable=SC2086
build() {
    out=$1
    shift
    if ! $CC ${CPPFLAGS-} ${CFLAGS-} "$@" ${LDFLAGS-} -o "$out" > "$tmp/cc.log" 2>&1; then
        fail "(d) cannot build $(basename "$out"): $(head -c 600 "$tmp/cc.log")"
        return 1
    fi
}

# A library whose constructor allocates: preloaded after libmyalloc, its
# constructor runs before libmyalloc's.
cat > "$tmp/early.c" << 'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *early_block;
static char *early_copy;

__attribute__((constructor)) static void early_init(void)
{
    char *p = calloc(1000, 1);
    early_block = malloc(300);
    early_copy = strdup("allocated in a library constructor");
    if (p == NULL || early_block == NULL || early_copy == NULL || p[999] != 0)
        abort();
    memset(early_block, 'e', 300);
    p = realloc(p, 100000);
    if (p == NULL)
        abort();
    free(p);
}

__attribute__((destructor)) static void early_fini(void)
{
    for (int i = 0; i < 300; i++)
        if (early_block[i] != 'e')
            abort();
    free(early_block);
    free(early_copy);
}

const char *early_text(void)
{
    return early_copy;
}
EOF
cat > "$tmp/ctor.c" << 'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *before_main;
static size_t before_main_size = 70000;

__attribute__((constructor)) static void program_init(void)
{
    before_main = malloc(before_main_size);
    if (before_main == NULL)
        abort();
    memset(before_main, 'c', before_main_size);
}

static void exit_handler(void)
{
    char *late = malloc(5000), *copy;
    size_t i;

    if (late == NULL)
        abort();
    for (i = 0; i < before_main_size; i++)
        if (before_main[i] != 'c')
            abort();
    copy = realloc(before_main, 3 * before_main_size);
    if (copy == NULL)
        abort();
    for (i = 0; i < before_main_size; i++)
        if (copy[i] != 'c')
            abort();
    free(copy);
    free(late);
    printf("atexit handler: allocated, checked and freed\n");
}

int main(void)
{
    char *s;
    size_t i = 0;

    if (atexit(exit_handler) != 0)
        return 1;
    s = strdup("main");
    while (i < before_main_size && before_main[i] == 'c')
        i++;
    printf("%s: the constructor's block of %zu bytes is intact: %s\n", s,
           before_main_size, i == before_main_size ? "yes" : "no");
    free(s);
    return 0;
}
EOF
if build "$tmp/libearly.so" -shared -fPIC "$tmp/early.c" &&
    build "$tmp/ctor" "$tmp/ctor.c"; then
    EXTRA_PRELOAD=$tmp/libearly.so
    compare ctor-atexit 1 "$tmp/ctor"
    EXTRA_PRELOAD=
fi

cat > "$tmp/dlloop.c" << 'EOF'
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int stop;

static void *churn(void *arg)
{
    unsigned long n = 0;

    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        size_t size = (n * 7919) % 20000 + 1;
        char *p = malloc(size);
        if (p == NULL)
            abort();
        memset(p, (int)n, size);
        free(p);
        n++;
    }
    return NULL;
}

int main(void)
{
    static const char *const libs[] = {"libz.so.1", "libm.so.6"};
    pthread_t t;
    int rounds = 0, opened = 0;

    if (pthread_create(&t, NULL, churn, NULL) != 0)
        return 1;
    for (int i = 0; i < 300; i++) {
        for (int k = 0; k < 2; k++) {
            void *h = dlopen(libs[k], RTLD_NOW | RTLD_LOCAL);
            if (h == NULL)
                continue;
            if (dlsym(h, k == 0 ? "zlibVersion" : "cos") == NULL) {
                printf("dlsym failed: %s\n", dlerror());
                return 1;
            }
            opened++;
            if (dlclose(h) != 0) {
                printf("dlclose failed: %s\n", dlerror());
                return 1;
            }
        }
        rounds++;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    printf("dlopen/dlclose: %d rounds, %s\n", rounds,
           opened > 0 ? "libraries opened" : "nothing opened");
    return 0;
}
EOF
if build "$tmp/dlloop" "$tmp/dlloop.c" -pthread ||
    build "$tmp/dlloop" "$tmp/dlloop.c" -pthread -ldl; then
    compare dlopen-loop 1 "$tmp/dlloop"
fi

# C++: operator new and libstdc++ containers (libstdc++ allocates its
# emergency exception pool in a constructor, before main).
if command -v g++ > /dev/null; then
    cat > "$tmp/cxx.cc" << 'EOF'
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

int main()
{
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 50000; i++)
        m["key" + std::to_string(i % 7000)].push_back(i);
    std::vector<std::unique_ptr<std::string>> v;
    for (int i = 0; i < 20000; i++)
        v.emplace_back(new std::string(static_cast<size_t>(i % 300), 'x'));
    unsigned long sum = 0;
    for (auto &e : m)
        for (int x : e.second)
            sum = sum * 31 + static_cast<unsigned long>(x);
    std::ostringstream out;
    for (auto &s : v)
        out << s->size() % 10;
    try {
        throw std::runtime_error(std::string(1000, 'e'));
    } catch (const std::exception &e) {
        sum += std::string(e.what()).size();
    }
    std::cout << m.size() << " " << v.size() << " " << sum << " "
              << out.str().size() << std::endl;
    return 0;
}
EOF
    if g++ -O1 -o "$tmp/cxx" "$tmp/cxx.cc" > "$tmp/cxx.log" 2>&1; then
        compare cxx 1 "$tmp/cxx"
    else
        fail "(d) cannot build the C++ program: $(head -c 600 "$tmp/cxx.log")"
    fi
else
    say "  note: no g++; C++ run skipped"
fi

if test "$failures" -ne 0; then
    echo "$me: $failures check(s) failed" >&2
    exit 1
fi
echo "$me: PASS"
exit 0
