#!/usr/bin/env bash
# compare.sh - run the heap-bug corpus under glibc's checking malloc,
# Valgrind's memcheck and libmyalloc (default and checked mode), and print a
# Markdown table of what each one catches.
#
# How to run it: build libmyalloc first (./configure && make), then, from
# anywhere,
#
#     tests/corpus/compare.sh > table.md
#
# It needs a C compiler (cc, or $CC) and Valgrind (`apt-get install
# valgrind`); it is not part of `make check`.  It finds the preload library
# of the build tree that holds it (lib/.libs/libmyalloc-preload.so); name
# another one with --lib PATH or MYALLOC_PRELOAD_LIB.  Each program of the
# corpus (one bug each, see the comment at the top of each .c file) is built
# with -g -O0 -rdynamic into a temporary directory and run four times:
#  - glibc MALLOC_CHECK_=3: the C library's allocator in its checking mode.
#    Since glibc 2.34 that mode lives in libc_malloc_debug.so.0, which must
#    be preloaded for MALLOC_CHECK_ (or GLIBC_TUNABLES=glibc.malloc.check=3)
#    to have any effect; the script finds it and preloads it;
#  - valgrind --tool=memcheck --leak-check=full;
#  - libmyalloc: LD_PRELOAD of the preload library, no options;
#  - libmyalloc check=1: the same with MYALLOC_OPTIONS=check=1, plus
#    check_guard=all for uaf_read_guard.
# A cell says what the tool reported, from its own output: "caught: " and
# the first complaint, shortened (glibc's abort message, Valgrind's first
# error kind or its definite leaks, libmyalloc's problem), or "crash
# (SIGSEGV)" when the program died of a fault with no report, or "missed"
# when it ran to the end with no complaint.  A table row per program; the
# versions, the date and the command are printed under the table.  Progress
# goes to stderr.  Exit status: 0 when the table was printed, 1 when
# something it needs is missing.

set -u
export LC_ALL=C
unset LD_PRELOAD MYALLOC_OPTIONS MALLOC_CHECK_ GLIBC_TUNABLES

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
lib=${MYALLOC_PRELOAD_LIB:-$top/lib/.libs/libmyalloc-preload.so}
cc=${CC:-cc}

usage() {
    echo "usage: $0 [--lib PATH/libmyalloc-preload.so]" >&2
    exit 1
}
while (($# > 0)); do
    case $1 in
    --lib) (($# >= 2)) || usage; lib=$2; shift 2 ;;
    --lib=*) lib=${1#--lib=}; shift ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) usage ;;
    esac
done

die() {
    echo "compare.sh: $1" >&2
    exit 1
}
note() {
    echo "compare.sh: $1" >&2
}

[[ -f $lib ]] || die "no preload library at $lib: build libmyalloc first (make), or give --lib PATH"
command -v valgrind > /dev/null ||
    die "valgrind is needed: apt-get install valgrind"
command -v "${cc%% *}" > /dev/null || die "no C compiler '$cc' (set CC)"

# glibc's checking malloc: in libc_malloc_debug.so.0 since glibc 2.34,
# built into libc before.
debuglib=
for d in $(ldconfig -p 2> /dev/null | sed -n 's/.*libc_malloc_debug\.so\.0 .*=> //p') \
    /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 /usr/lib64/libc_malloc_debug.so.0 \
    /lib/x86_64-linux-gnu/libc_malloc_debug.so.0 /usr/lib/libc_malloc_debug.so.0; do
    if [[ -f $d ]]; then
        debuglib=$d
        break
    fi
done
glibc_version=$(getconf GNU_LIBC_VERSION 2> /dev/null || echo 'glibc ?')
if [[ -z $debuglib ]]; then
    note "no libc_malloc_debug.so.0: MALLOC_CHECK_=3 alone (enough before glibc 2.34)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/myalloc-compare.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 2> /dev/null || true
tmo=()
command -v timeout > /dev/null && tmo=(timeout 300)

programs=(overflow_1 overflow_100 underflow double_free interior_free
    stack_free uaf_write uaf_read_guard leak realloc_freed)
declare -A what=(
    [overflow_1]='write 1 byte past a 10-byte block'
    [overflow_100]='write 100 bytes past a 100-byte block'
    [underflow]='write 1 byte before a 32-byte block'
    [double_free]='free a 24-byte block twice'
    [interior_free]='free a pointer 16 bytes into a 64-byte block'
    [stack_free]='free an array on the stack'
    [uaf_write]='write into a freed 48-byte block, then churn 64 MiB'
    [uaf_read_guard]='read a freed 4096-byte block'
    [leak]='leak 5 blocks (2120 bytes) from 2 functions'
    [realloc_freed]='realloc a freed 16-byte block'
)

for p in "${programs[@]}"; do
    # shellcheck disable=SC2086 # CC may hold several words
    $cc -g -O0 -rdynamic -o "$tmp/$p" "$here/$p.c" > "$tmp/cc.log" 2>&1 ||
        die "cannot build $p: $(head -c 600 "$tmp/cc.log")"
done

# run LOG COMMAND...: COMMAND's stderr in LOG, its exit status in $st.  The
# subshell keeps bash's "Aborted" message out of the output.
run() {
    local log=$1
    shift
    ("${tmo[@]}" "$@" > /dev/null 2> "$log"; exit $?) 2> /dev/null
    st=$?
}

# fate: the cell for a run with no complaint, by its exit status $st.
fate() {
    case $st in
    0) echo missed ;;
    139) echo 'crash (SIGSEGV)' ;;
    134) echo 'abort (no message)' ;;
    124) echo 'hung (killed after 300 s)' ;;
    *) if ((st > 128)); then echo "killed by signal $((st - 128))"; else echo "missed (status $st)"; fi ;;
    esac
}

# glibc: its message is the program's only stderr output (glibc writes it
# without a final newline in places).
cell_glibc() {
    local log=$tmp/glibc.log msg
    if [[ -n $debuglib ]]; then
        run "$log" env LD_PRELOAD="$debuglib" MALLOC_CHECK_=3 "$tmp/$1"
    else
        run "$log" env MALLOC_CHECK_=3 "$tmp/$1"
    fi
    msg=$(head -n 1 "$log")
    if [[ -n $msg ]] && ((st == 134 || st == 139)); then
        echo "caught: \`$msg\`"
    else
        fate
    fi
}

# Valgrind: its first error's kind ("Invalid write of size 1" -> "Invalid
# write"), else definite leaks from its leak summary.
cell_valgrind() {
    local log=$tmp/valgrind.log kind lost
    run "$tmp/valgrind.err" valgrind --tool=memcheck --leak-check=full \
        --log-file="$log" "$tmp/$1"
    kind=$(sed -n 's/^==[0-9]*== \(Invalid free()\|Invalid [a-z]*\( of size [0-9]*\)\{0,1\}\|Mismatched free()\|Conditional jump\|Use of uninitialised value\|Source and destination overlap\).*/\1/p' "$log" |
        head -n 1 | sed 's/ of size [0-9]*//')
    lost=$(sed -n 's/^==[0-9]*==  *definitely lost: \([1-9][0-9,]* bytes in [0-9,]* blocks\).*/\1/p' "$log" | head -n 1)
    if [[ -n $kind ]]; then
        echo "caught: \`$kind\`"
    elif [[ -n $lost ]]; then
        echo "caught: \`definitely lost: $lost\`"
    elif grep -q 'Process terminating with default action of signal 11' "$log"; then
        echo 'crash (SIGSEGV)'
    else
        fate
    fi
}

# libmyalloc: the problem of its first report line, "myalloc: FN(ADDR):
# PROBLEM[: DETAIL]", or its leak totals.
cell_myalloc() {
    local log=$tmp/myalloc.log first kind
    run "$log" env LD_PRELOAD="$lib" MYALLOC_OPTIONS="$2" "$tmp/$1"
    if grep -q "option 'check' is not available" "$log"; then
        echo 'n/a (no checked mode)'
        return
    fi
    first=$(grep -m 1 -e '^myalloc: [A-Za-z_]*(0x[0-9a-f]*): ' -e '^myalloc: leaks: ' "$log")
    case $first in
    'myalloc: leaks: '*)
        kind=${first#myalloc: }
        kind=${kind% from *}
        ;;
    'myalloc: '*)
        kind=${first#*): }
        kind=${kind%%: *}
        case $first in
        'myalloc: SIGSEGV('*) kind="$kind (SIGSEGV)" ;;
        esac
        ;;
    *)
        fate
        return
        ;;
    esac
    echo "caught: \`$kind\`"
}

# shellcheck disable=SC2016 # Markdown code, not an expansion
col_glibc='glibc `MALLOC_CHECK_=3`'
echo "| bug | $col_glibc | Valgrind memcheck | libmyalloc default | libmyalloc \`check=1\` |"
echo '| --- | --- | --- | --- | --- |'
for p in "${programs[@]}"; do
    note "$p"
    g=$(cell_glibc "$p")
    v=$(cell_valgrind "$p")
    m=$(cell_myalloc "$p" '')
    opts=check=1
    [[ $p == uaf_read_guard ]] && opts=check=1,check_guard=all
    c=$(cell_myalloc "$p" "$opts")
    [[ $p == uaf_read_guard && $c == caught* ]] && c="$c, with \`check_guard=all\`"
    echo "| \`$p\`: ${what[$p]} | $g | $v | $m | $c |"
done

vg=$(valgrind --version 2> /dev/null)
my=$(LD_PRELOAD=$lib MYALLOC_OPTIONS=verbose=1 /bin/sh -c 'exec true' 2>&1 |
    sed -n 's/^myalloc: \(libmyalloc [^ ]*\) started.*/\1/p' | head -n 1)
[[ -n $my ]] || my=$(MYALLOC_OPTIONS=verbose=1 LD_PRELOAD=$lib "$tmp/overflow_1" 2>&1 > /dev/null |
    sed -n 's/^myalloc: \(libmyalloc [^ ]*\) started.*/\1/p')
# The source tree's commit ("-dirty": it has changes not committed).
rev=$(git -C "$top" describe --always --dirty 2> /dev/null) && my="$my at commit $rev"
echo
echo "\`tests/corpus/compare.sh\` on $(date -u +%Y-%m-%d): $glibc_version$([[ -n $debuglib ]] && echo ' (libc_malloc_debug.so.0 preloaded)'), ${vg/-/ }, ${my:-libmyalloc}, $("${cc%% *}" --version 2> /dev/null | head -n 1)."
