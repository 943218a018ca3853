#!/bin/sh
# test_corpus.sh - the heap-bug corpus (tests/corpus/*.c) under the preload
# library: the checked mode reports each bug as documented, and the
# always-on checks of the default mode catch the four bugs they cover.
#
# Run by `make check` with top_srcdir, top_builddir, CC, CFLAGS, LDFLAGS and
# LT_OBJDIR in the environment.  Each program of the corpus holds one bug in
# a function of its own, prints the address of the block it damages on its
# first line (interior_free and uaf_read_guard also print, on the second,
# the address given to free or read), and exits 0 if nothing stopped it.
# They are built here with $CC -g -O0 -rdynamic, so that backtraces can
# name their functions.
#  (a) MYALLOC_OPTIONS=check=1 (with check_guard=all for uaf_read_guard):
#      the process is killed by SIGABRT (leak: exits 0); the first report
#      line is "myalloc: FN(ADDR): KIND: DETAIL" with the expected entry
#      point, address and kind, and DETAIL names the block as "SIZE-byte
#      block ADDRESS"; the "allocated by" frames (and "freed by" for use
#      after free and double free) name the corpus function.  leak: one
#      report per allocation site, with its bytes and blocks, both sites
#      named, and the totals line;
#  (b) the default mode: double free, interior free, stack free and
#      realloc of a freed block abort with their one-line report; what
#      becomes of the other six is logged, not checked (the always-on
#      checks do not look for them).
# Exit status: 0 pass, 1 fail, 77 skip (no preload library, or a sanitizer
# build: an instrumented library cannot be preloaded into programs that are
# not).

me=test_corpus
# shellcheck source=tests/preload_common.sh
. "${top_srcdir:?top_srcdir is not set (run through make check)}/tests/preload_common.sh"
: "${CC:=cc}"
corpus=$top_srcdir/tests/corpus
test -d "$corpus" || die "no corpus at $corpus"
say "preload library $lib"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/myalloc-corpus.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
LC_ALL=C
export LC_ALL
unset LD_PRELOAD MYALLOC_OPTIONS
# shellcheck disable=SC3045 # dash and bash have ulimit -c
ulimit -c 0 2> /dev/null || : # ten aborts: no core files
# A hung program (a report that deadlocks) fails instead of stopping make.
tmo=
if command -v timeout > /dev/null 2>&1; then
    tmo='timeout 60'
fi

programs='overflow_1 overflow_100 underflow double_free interior_free
stack_free uaf_write uaf_read_guard leak realloc_freed'

# ------------------------------------------------------------- build --
# CFLAGS first, so that -O0 wins over an -O2 there.
for p in $programs; do
    # shellcheck disable=SC2086 # CC and the flags may hold several words
    if ! $CC ${CFLAGS-} -g -O0 -rdynamic -o "$tmp/$p" "$corpus/$p.c" \
        ${LDFLAGS-} > "$tmp/cc.log" 2>&1; then
        fail "cannot build $p: $(head -c 600 "$tmp/cc.log")"
    fi
done
test "$failures" -eq 0 || exit 1
say "built the corpus: $(oneline "$programs")"

# run NAME TAG OPTIONS: run the program NAME under the preload library with
# MYALLOC_OPTIONS=OPTIONS; its stdout in $out, stderr in $err, exit status
# in $st (128 + N when killed by signal N).  The subshell keeps the shell's
# own "Aborted" message out of the test log; timeout itself runs on the C
# library's malloc.
run() {
    out=$tmp/$1.$2.out err=$tmp/$1.$2.err
    # shellcheck disable=SC2086 # tmo is empty or two words
    (
        $tmo env MYALLOC_OPTIONS="$3" LD_PRELOAD="$lib" "$tmp/$1" > "$out" 2> "$err"
        exit $?
    ) 2> /dev/null
    st=$?
}

# line N FILE: line N of FILE.
line() {
    sed -n "$1p" "$2"
}

# status_is LABEL WANT: the run ended with status WANT.
status_is() {
    test "$st" -eq "$2" && return 0
    case $st in
    134) how='killed by SIGABRT (status 134)' ;;
    139) how='killed by SIGSEGV (status 139)' ;;
    124) how='still running after 60 s (killed by timeout)' ;;
    *) how="status $st" ;;
    esac
    fail "$1: want status $2, got $how; stderr: $(head -c 800 "$err" | tr '\n' '|')"
    return 1
}

# names_function FILE HEADER FUNC: the frame lines right after the first
# line of FILE equal to HEADER hold one that names FUNC ("NAME+0xOFF").
names_function() {
    awk -v h="$2" -v f=" $3+0x" '
        found && /^myalloc:     #[0-9]+ / { if (index($0, f)) named = 1; next }
        found { exit }
        $0 == h { found = 1 }
        END { exit !(found && named) }' "$1"
}

# ------------------------------------------------ (a) the checked mode --
say "(a) MYALLOC_OPTIONS=check=1: the report of each bug"

# expect_report NAME OPTIONS FN AT KIND SIZE FUNC FREED: run NAME with
# MYALLOC_OPTIONS=OPTIONS.  It must be killed by SIGABRT, and its first
# "myalloc: " line must be "myalloc: FN(ADDR): KIND: DETAIL", where FN is
# an extended regular expression, ADDR the address the program printed on
# line AT of its stdout (AT=any: any address), and DETAIL holds "SIZE-byte
# block BLOCK", BLOCK being the address on its first line.  The frames
# under "allocated by malloc at:" must name FUNC, and with FREED=freed
# those under "freed by free at:" too.  SIZE empty: there is no block to
# name (a stack array), and the report may end after KIND.
expect_report() {
    name=$1 fn=$3 at=$4 kind=$5 size=$6 func=$7 freed=$8
    run "$name" check "$2"
    ok=1
    status_is "$name" 134 || ok=0
    block=$(line 1 "$out")
    case $at in
    any) addr='0x[0-9a-f]+' shown=ADDR ;;
    *) addr=$(line "$at" "$out") shown=$addr ;;
    esac
    case $block$addr in
    0x*0x*) ;;
    *)
        fail "$name: the program did not print its addresses (stdout: $(head -c 200 "$out" | tr '\n' '|'))"
        return
        ;;
    esac
    first=$(grep -m 1 '^myalloc: ' "$err")
    if test -z "$first"; then
        fail "$name: no report; stderr: $(head -c 600 "$err" | tr '\n' '|')"
        return
    fi
    if ! printf '%s\n' "$first" | grep -E -q "^myalloc: ($fn)\\($addr\\): $kind(: |\$)"; then
        case $fn in
        *'|'*) fn="{$fn}" ;;
        esac
        fail "$name: first report line is '$first', want 'myalloc: $fn($shown): $kind: ...'"
        ok=0
    elif test -n "$size"; then
        detail=${first#*"): $kind: "}
        case " $detail " in
        *" $size-byte block $block"[!0-9a-fA-Fx]*) ;;
        *)
            fail "$name: the report does not name the $size-byte block $block: '$first'"
            ok=0
            ;;
        esac
    fi
    report=$(grep '^myalloc: ' "$err" | head -n 24 | tr '\n' '|')
    if test -n "$size"; then
        if ! names_function "$err" 'myalloc:   allocated by malloc at:' "$func"; then
            fail "$name: no 'myalloc:   allocated by malloc at:' frames that name $func: $report"
            ok=0
        fi
    fi
    if test "$freed" = freed; then
        if ! names_function "$err" 'myalloc:   freed by free at:' "$func"; then
            fail "$name: no 'myalloc:   freed by free at:' frames that name $func: $report"
            ok=0
        fi
    fi
    test "$ok" -eq 1 && say "  ok: $name: $first"
}

# expect_leaks: leak exits 0 and reports its two sites and the totals.
expect_leaks() {
    run leak check check=1
    ok=1
    status_is leak 0 || ok=0
    report=$(grep '^myalloc: ' "$err" | head -n 24 | tr '\n' '|')
    for site in 'leak_site_a 120 3' 'leak_site_b 2000 2'; do
        # shellcheck disable=SC2086 # three words
        set -- $site
        h="myalloc: leak: $2 bytes in $3 blocks allocated at:"
        if ! names_function "$err" "$h" "$1"; then
            fail "leak: no '$h' followed by frames that name $1: $report"
            ok=0
        fi
    done
    n=$(grep -c '^myalloc: leak: ' "$err")
    if test "$n" -ne 2; then
        fail "leak: $n leak reports, want 2 (one per site): $report"
        ok=0
    fi
    t='myalloc: leaks: 2120 bytes in 5 blocks from 2 sites'
    if ! grep -q -x "$t" "$err"; then
        fail "leak: no '$t' line: $report"
        ok=0
    fi
    test "$ok" -eq 1 && say "  ok: leak: $(grep '^myalloc: leak' "$err" | tr '\n' '|')"
}

# A library that refuses check=1, or hangs in it, fails once, not ten times.
run leak probe check=1
if grep -q "option 'check' is not available" "$err"; then
    fail "check=1 is refused: '$(grep -m 1 '^myalloc: ' "$err")'; the rest of (a) not run"
elif test "$st" -eq 124; then
    fail "leak does not finish under check=1 in 60 s: the rest of (a) not run"
else
    # A write after free is found when the block leaves the quarantine:
    # the report names the quarantine, not the call that pushed it out.
    entry='quarantine'
    expect_report overflow_1 check=1 free 1 'buffer overflow' 10 overflow_by_one no
    expect_report overflow_100 check=1 free 1 'buffer overflow' 100 overflow_by_100 no
    expect_report underflow check=1 free 1 'buffer underflow' 32 underflow_by_one no
    expect_report double_free check=1 free 1 'double free' 24 free_twice freed
    expect_report interior_free check=1 free 2 'not the start of a block' 64 free_interior no
    expect_report stack_free check=1 free 1 'not a block allocated by myalloc' '' free_stack_array no
    # Found when the block leaves the quarantine, in whichever call that is.
    expect_report uaf_write check=1 "$entry" any 'use after free' 48 use_after_free_write freed
    expect_report uaf_read_guard check=1,check_guard=all SIGSEGV 2 'use after free' 4096 use_after_free_read freed
    expect_report realloc_freed check=1 realloc 1 'block already freed' 16 realloc_after_free no
    expect_leaks
fi

# ------------------------------------------- (b) the default mode --
say "(b) the default mode: the always-on checks"

# expect_line NAME FN AT PROBLEM: NAME aborts with the one line
# "myalloc: FN(ADDR): PROBLEM", ADDR from line AT of its stdout.
expect_line() {
    run "$1" default ''
    addr=$(line "$3" "$out")
    want="myalloc: $2($addr): $4"
    ok=1
    status_is "$1" 134 || ok=0
    got=$(grep '^myalloc: ' "$err")
    if test "$got" != "$want"; then
        fail "$1: want the one line '$want', got '$(printf '%s' "$got" | tr '\n' '|')'"
        ok=0
    fi
    test "$ok" -eq 1 && say "  ok: $1: $got"
}
expect_line double_free free 1 'double free'
expect_line interior_free free 2 'not the start of a block'
expect_line stack_free free 1 'not a block allocated by myalloc'
expect_line realloc_freed realloc 1 'block already freed'

for p in overflow_1 overflow_100 underflow uaf_write uaf_read_guard leak; do
    run "$p" default ''
    case $st in
    0) how='unnoticed (status 0)' ;;
    134) how="aborted: $(grep -m 1 '^myalloc: ' "$err")" ;;
    *) how="status $st" ;;
    esac
    say "  note: $p: $how"
done

if test "$failures" -ne 0; then
    echo "$me: $failures check(s) failed" >&2
    exit 1
fi
echo "$me: PASS"
exit 0
