#!/bin/sh
# test_myalloc_run.sh - the myalloc-run command and MYALLOC_OPTIONS.
#
# Run by `make check` with top_builddir, CFLAGS, LDFLAGS, LT_OBJDIR and
# MYALLOC_RUN (the built script) in the environment; MYALLOC_PRELOAD_LIB
# points myalloc-run at the preload library of this build tree.  Checks:
#  (a) the command line: --help and --version (status 0), no program or an
#      unknown option (status 2, a usage message), a missing preload
#      library (status 127, a message), the program's exit status passed
#      on, arguments passed through unchanged (spaces, quotes, globs, empty
#      ones, and options after PROGRAM that belong to it);
#  (b) the outputs: --stats (report on stderr), --stats=FILE, --json=FILE
#      (valid JSON with the documented members, 48 classes and 10 orders),
#      --heatmap=FILE (well-formed SVG, in the SVG namespace, with region
#      groups and used or slab cells), --verbose, --check; the program's
#      stdout is the same as without myalloc-run;
#  (c) what was in LD_PRELOAD and MYALLOC_OPTIONS before is kept;
#  (d) bad MYALLOC_OPTIONS: each gives exactly its one warning line, and
#      the program runs on with the same stdout and status 0; good options
#      beside bad ones still apply.
# python3 reads the JSON and SVG files (without the library); without a
# python3 those checks are skipped.
# Exit status: 0 pass, 1 fail, 77 skip (no preload library, or a sanitizer
# build: an instrumented library cannot be preloaded into programs that are
# not).

# shellcheck disable=SC2016 # '$x' and scripts for sh -c are literal
me=test_myalloc_run
# shellcheck source=tests/preload_common.sh
. "${top_srcdir:?top_srcdir is not set (run through make check)}/tests/preload_common.sh"
: "${MYALLOC_RUN:?MYALLOC_RUN is not set (run through make check)}"
show() {
    head -c 600 "$1" | tr '\n' '|'
}
test -f "$MYALLOC_RUN" || die "$MYALLOC_RUN was not built"
run=$MYALLOC_RUN
MYALLOC_PRELOAD_LIB=$lib
export MYALLOC_PRELOAD_LIB
say "$run with $lib"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/myalloc-run.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

LC_ALL=C
PYTHONHASHSEED=0
PYTHONDONTWRITEBYTECODE=1
export LC_ALL PYTHONHASHSEED PYTHONDONTWRITEBYTECODE
unset LD_PRELOAD MYALLOC_OPTIONS

py=
for p in /usr/bin/python3 "$(command -v python3 2> /dev/null)"; do
    if test -n "$p" && test -x "$p"; then
        py=$p
        break
    fi
done
test -n "$py" || say "note: no python3: the JSON and SVG contents are not checked"

# A program for the runs: python3 if there is one (it exits through exit(),
# so the library's outputs are written, and it keeps stderr open), else
# sort.  Its stdout is the same on both allocators.
printf '%s\n' pear apple fig apple banana > "$tmp/words"
if test -n "$py"; then
    set -- "$py" -c 'import sys
d = {}
for i in range(20000):
    d[str(i)] = [i] * (i % 9)
print(len(d), sum(len(v) for v in d.values()), sorted(open(sys.argv[1]).read().split()))' "$tmp/words"
else
    set -- sort "$tmp/words"
fi
"$@" > "$tmp/expected" 2> "$tmp/expected.err" ||
    die "the test program fails without myalloc-run: $(show "$tmp/expected.err")"

# same_stdout LABEL FILE: FILE holds what the program prints on its own.
same_stdout() {
    cmp -s "$tmp/expected" "$2" ||
        fail "$1: stdout differs: got '$(show "$2")', want '$(show "$tmp/expected")'"
}

# ------------------------------------------------------- (a) command line --
say "(a) the command line"
"$run" --help > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--help exits with $st, want 0"
grep -qi 'usage' "$tmp/out" || fail "--help prints no usage on stdout: $(show "$tmp/out")"
grep -q -e '--stats' "$tmp/out" || fail "--help does not mention --stats"

"$run" --version > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--version exits with $st, want 0"
grep -q '[0-9]\.[0-9]' "$tmp/out" || fail "--version prints no version: $(show "$tmp/out")"

"$run" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 2 || fail "no program: exit status $st, want 2"
grep -qi 'usage' "$tmp/err" || fail "no program: no usage message on stderr: $(show "$tmp/err")"
test -s "$tmp/out" && fail "no program: something on stdout: $(show "$tmp/out")"

"$run" -- > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 2 || fail "'--' and no program: exit status $st, want 2"

"$run" --no-such-option true > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 2 || fail "an unknown option: exit status $st, want 2"
grep -q -e 'no-such-option' "$tmp/err" ||
    fail "an unknown option is not named on stderr: $(show "$tmp/err")"

MYALLOC_PRELOAD_LIB=/nonexistent/libmyalloc-preload.so "$run" true > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 127 || fail "a missing preload library: exit status $st, want 127"
grep -q '/nonexistent/libmyalloc-preload.so' "$tmp/err" ||
    fail "a missing preload library is not named on stderr: $(show "$tmp/err")"

"$run" sh -c 'exit 3' > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 3 || fail "the program's exit status 3 came back as $st"

"$run" -- printf '%s|' 'a b' '*' '$x' "it's" '"q"' '' '-x' 'a\b' > "$tmp/out" 2> "$tmp/err"
printf '%s|' 'a b' '*' '$x' "it's" '"q"' '' '-x' 'a\b' > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want" ||
    fail "arguments changed on the way: got '$(cat "$tmp/out")', want '$(cat "$tmp/want")'"

# Options after PROGRAM are PROGRAM's.
"$run" printf '%s\n' --stats --json=x -- > "$tmp/out" 2> "$tmp/err"
printf '%s\n' --stats --json=x -- > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want" ||
    fail "options after PROGRAM did not reach it: got '$(show "$tmp/out")'"
test -s "$tmp/err" && fail "options after PROGRAM were taken by myalloc-run: $(show "$tmp/err")"

# The program really runs on the library: LD_PRELOAD names it.
"$run" sh -c 'printf "%s\n" "$LD_PRELOAD"' > "$tmp/out" 2> "$tmp/err"
grep -q -F "$lib" "$tmp/out" || fail "LD_PRELOAD in the program does not name $lib: $(show "$tmp/out")"

# ---------------------------------------------------------- (b) outputs --
say "(b) --stats, --stats=FILE, --json, --heatmap, --verbose, --check"

# check_report LABEL FILE: the human-readable report.
check_report() {
    for w in allocated mapped peak class order fragmentation; do
        grep -qi "$w" "$2" || fail "$1: the report does not mention '$w': $(show "$2")"
    done
}

"$run" --stats "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--stats: exit status $st: $(show "$tmp/err")"
same_stdout "--stats" "$tmp/out"
check_report "--stats (stderr)" "$tmp/err"

"$run" --stats="$tmp/report.txt" "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--stats=FILE: exit status $st: $(show "$tmp/err")"
same_stdout "--stats=FILE" "$tmp/out"
if test -s "$tmp/report.txt"; then
    check_report "--stats=FILE" "$tmp/report.txt"
else
    fail "--stats=FILE wrote no report to $tmp/report.txt"
fi
grep -qi 'fragmentation' "$tmp/err" && fail "--stats=FILE also wrote the report to stderr"

# A relative FILE is taken from where myalloc-run starts, even if the
# program changes directory.
mkdir "$tmp/cwd" "$tmp/elsewhere"
(cd "$tmp/cwd" && "$run" --json=rel.json sh -c 'cd "$1" && exec "$2" -c "print(1)"' sh "$tmp/elsewhere" "${py:-true}") > /dev/null 2>&1
if test -n "$py"; then
    test -s "$tmp/cwd/rel.json" || fail "--json=rel.json was not written relative to the starting directory"
fi

# check_json LABEL FILE: the JSON statistics, read by python3.
check_json() {
    test -s "$2" || {
        fail "$1: no JSON written to $2"
        return
    }
    test -n "$py" || return
    if ! "$py" - "$2" > "$tmp/py.out" 2>&1 << 'EOF'; then
import json, sys
with open(sys.argv[1]) as f:
    text = f.read()
assert text.endswith("}\n"), "the JSON does not end with a newline"
d = json.loads(text)
assert isinstance(d, dict), "not an object"
for key in ("version", "bytes_allocated", "bytes_mapped", "peak_bytes_mapped",
            "calls_malloc", "calls_free", "frag_internal", "frag_external",
            "classes", "orders"):
    assert key in d, "no member %s" % key
for key in ("bytes_allocated", "bytes_mapped", "peak_bytes_mapped", "calls_malloc"):
    assert isinstance(d[key], int) and d[key] >= 0, "%s is %r" % (key, d[key])
assert d["calls_malloc"] > 0, "calls_malloc is 0"
assert d["peak_bytes_mapped"] >= d["bytes_mapped"], "peak below mapped"
for key in ("frag_internal", "frag_external"):
    assert 0 <= d[key] <= 1, "%s is %r" % (key, d[key])
assert len(d["classes"]) == 48, "%d classes" % len(d["classes"])
assert len(d["orders"]) == 10, "%d orders" % len(d["orders"])
for i, c in enumerate(d["classes"]):
    assert c["class"] == i and c["block_size"] > 0, "class %d: %r" % (i, c)
    for k in ("blocks_live", "slabs", "slab_bytes", "allocs"):
        assert k in c, "class %d has no %s" % (i, k)
for k, o in enumerate(d["orders"]):
    assert o["order"] == k and o["block_size"] == 4096 << k, "order %d: %r" % (k, o)
    for m in ("blocks_free", "blocks_used", "blocks_slab"):
        assert m in o, "order %d has no %s" % (k, m)
EOF
        fail "$1: bad JSON in $2: $(tail -n 1 "$tmp/py.out")"
    fi
}

"$run" --json="$tmp/stats.json" "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--json: exit status $st: $(show "$tmp/err")"
same_stdout "--json" "$tmp/out"
test -s "$tmp/err" && fail "--json wrote to stderr: $(show "$tmp/err")"
check_json "--json" "$tmp/stats.json"

"$run" --heatmap="$tmp/heap.svg" "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--heatmap: exit status $st: $(show "$tmp/err")"
same_stdout "--heatmap" "$tmp/out"
if test ! -s "$tmp/heap.svg"; then
    fail "--heatmap wrote nothing to $tmp/heap.svg"
elif test -n "$py"; then
    if ! "$py" - "$tmp/heap.svg" > "$tmp/py.out" 2>&1 << 'EOF'; then
import sys
import xml.etree.ElementTree as ET
svg = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == svg + "svg", "the root is %s, not svg in the SVG namespace" % root.tag
assert root.find(svg + "title") is not None or root.find(".//" + svg + "title") is not None, "no title"
rects = root.findall(".//" + svg + "rect")
classes = set()
for r in rects:
    classes.update(r.get("class", "").split())
assert classes & {"used", "slab"}, "no rect of class used or slab (classes: %s)" % sorted(classes)
known = {"used", "slab", "free-large", "free-small", "purged", "meta", "huge"}
regions = [g for g in root.iter(svg + "g") if g.get("id", "").startswith("region-")]
assert regions, "no region group"
for g in regions:
    assert g.find(".//" + svg + "text") is not None, "%s has no label" % g.get("id")
    assert g.findall(".//" + svg + "rect"), "%s has no cells" % g.get("id")
for g in regions:
    for r in g.iter(svg + "rect"):
        c = set(r.get("class", "").split())
        assert c & known, "a cell of %s has class %r" % (g.get("id"), r.get("class"))
EOF
        fail "--heatmap: bad SVG in $tmp/heap.svg: $(tail -n 1 "$tmp/py.out")"
    fi
fi

"$run" --verbose --json="$tmp/v.json" "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--verbose: exit status $st"
same_stdout "--verbose" "$tmp/out"
grep -q '^myalloc: libmyalloc [0-9][0-9.]* started, [0-9][0-9]* arenas\{0,1\}$' "$tmp/err" ||
    fail "--verbose: no start-up line on stderr: $(show "$tmp/err")"
grep -q "^myalloc: wrote .*$tmp/v.json" "$tmp/err" ||
    fail "--verbose: no line saying that $tmp/v.json was written: $(show "$tmp/err")"

# --check: the program runs as before; stderr holds only the leak report
# (what the program left allocated at exit), which ends with the totals.
"$run" --check "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "--check: exit status $st"
same_stdout "--check" "$tmp/out"
if test -s "$tmp/err"; then
    grep -v -e '^myalloc: leak: [0-9]* bytes in [0-9]* blocks\{0,1\} allocated at:$' \
        -e '^myalloc:     #[0-9]* 0x[0-9a-f]*' -e '^myalloc:     (no stack trace kept)$' \
        -e '^myalloc: leaks: [0-9]* bytes in [0-9]* blocks\{0,1\} from [0-9]* sites\{0,1\}$' \
        "$tmp/err" > "$tmp/other"
    test -s "$tmp/other" && fail "--check: stderr has more than the leak report: $(show "$tmp/other")"
    tail -n 1 "$tmp/err" | grep -q '^myalloc: leaks: ' ||
        fail "--check: the leak report does not end with the totals: $(show "$tmp/err")"
fi
"$run" --check --options=check_leaks=0 "$@" > "$tmp/out" 2> "$tmp/err"
same_stdout "--check --options=check_leaks=0" "$tmp/out"
test -s "$tmp/err" && fail "--check with check_leaks=0: stderr is '$(show "$tmp/err")', want nothing"

"$run" --options=stats_json="$tmp/o.json" "$@" > "$tmp/out" 2> "$tmp/err"
same_stdout "--options" "$tmp/out"
check_json "--options=stats_json=FILE" "$tmp/o.json"

# ----------------------------------------------- (c) environment kept --
say "(c) LD_PRELOAD and MYALLOC_OPTIONS set before are kept"
LD_PRELOAD=libm.so.6 MYALLOC_OPTIONS=verbose=1 \
    "$run" --json="$tmp/kept.json" sh -c 'printf "%s\n%s\n" "$LD_PRELOAD" "$MYALLOC_OPTIONS"' \
    > "$tmp/out" 2> "$tmp/err"
preload_seen=$(sed -n 1p "$tmp/out")
options_seen=$(sed -n 2p "$tmp/out")
case $preload_seen in
"$lib"*libm.so.6*) ;;
*) fail "LD_PRELOAD in the program is '$preload_seen', want $lib first, then libm.so.6" ;;
esac
case $options_seen in
verbose=1*stats_json="$tmp/kept.json"*) ;;
*) fail "MYALLOC_OPTIONS in the program is '$options_seen', want verbose=1 kept and stats_json=$tmp/kept.json after it" ;;
esac
LD_PRELOAD=libm.so.6 MYALLOC_OPTIONS=verbose=1 \
    "$run" --json="$tmp/kept.json" "$@" > "$tmp/out" 2> "$tmp/err"
same_stdout "LD_PRELOAD and MYALLOC_OPTIONS kept" "$tmp/out"
grep -q 'started' "$tmp/err" || fail "MYALLOC_OPTIONS=verbose=1 set before myalloc-run was lost: $(show "$tmp/err")"
check_json "MYALLOC_OPTIONS kept, --json" "$tmp/kept.json"

# --------------------------------------------------- (d) bad options --
say "(d) bad MYALLOC_OPTIONS: one warning each, the program runs on"

# bad_option OPTIONS LINE PROGRAM...: with MYALLOC_OPTIONS=OPTIONS, stderr
# is exactly LINE, stdout is the program's, the status 0.
bad_option() {
    opts=$1 line=$2
    shift 2
    MYALLOC_OPTIONS=$opts "$run" "$@" > "$tmp/out" 2> "$tmp/err"
    st=$?
    test "$st" -eq 0 || fail "MYALLOC_OPTIONS='$opts': exit status $st"
    same_stdout "MYALLOC_OPTIONS='$opts'" "$tmp/out"
    printf '%s\n' "$line" > "$tmp/want"
    cmp -s "$tmp/err" "$tmp/want" ||
        fail "MYALLOC_OPTIONS='$opts': stderr is '$(show "$tmp/err")', want exactly '$line'"
}
w='myalloc: MYALLOC_OPTIONS:'
bad_option 'foo=1' "$w unknown option 'foo' (ignored)" "$@"
bad_option 'foo' "$w unknown option 'foo' (ignored)" "$@"
bad_option 'stats=maybe' "$w bad value 'maybe' for option 'stats' (ignored)" "$@"
bad_option 'verbose=2' "$w bad value '2' for option 'verbose' (ignored)" "$@"
bad_option 'stats=' "$w bad value '' for option 'stats' (ignored)" "$@"
bad_option 'check=2' "$w bad value '2' for option 'check' (ignored)" "$@"
bad_option 'check_guard=sometimes' "$w bad value 'sometimes' for option 'check_guard' (ignored)" "$@"
bad_option 'check_trace=17' "$w bad value '17' for option 'check_trace' (ignored)" "$@"
bad_option 'check_quarantine=-1' "$w bad value '-1' for option 'check_quarantine' (ignored)" "$@"
bad_option 'stats_file=' "$w bad value '' for option 'stats_file' (ignored)" "$@"
bad_option 'stats_json=' "$w bad value '' for option 'stats_json' (ignored)" "$@"
bad_option 'heatmap=' "$w bad value '' for option 'heatmap' (ignored)" "$@"
# Empty items are skipped silently.
MYALLOC_OPTIONS=',,stats=0,,' "$run" "$@" > "$tmp/out" 2> "$tmp/err"
test -s "$tmp/err" && fail "MYALLOC_OPTIONS=',,stats=0,,': stderr is '$(show "$tmp/err")', want nothing"
same_stdout "MYALLOC_OPTIONS=',,stats=0,,'" "$tmp/out"

# A path too long to keep.
long=$(printf '%05000d' 0 | tr 0 a)
MYALLOC_OPTIONS="stats_json=/tmp/$long" "$run" "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "a 5000-byte path: exit status $st"
same_stdout "a 5000-byte path" "$tmp/out"
n=$(grep -c "^$w bad value '.*' for option 'stats_json' (ignored)\$" "$tmp/err")
if test "$n" -ne 1 || test "$(wc -l < "$tmp/err")" -ne 1; then
    fail "a 5000-byte path: want one bad-value line, got: $(show "$tmp/err")"
fi

# Good options beside bad ones apply.
MYALLOC_OPTIONS="foo,stats_json=$tmp/mix.json,stats=maybe,heatmap=$tmp/mix.svg" \
    "$run" "$@" > "$tmp/out" 2> "$tmp/err"
st=$?
test "$st" -eq 0 || fail "mixed options: exit status $st"
same_stdout "mixed options" "$tmp/out"
printf '%s\n' "$w unknown option 'foo' (ignored)" \
    "$w bad value 'maybe' for option 'stats' (ignored)" > "$tmp/want"
cmp -s "$tmp/err" "$tmp/want" ||
    fail "mixed options: stderr is '$(show "$tmp/err")', want '$(show "$tmp/want")'"
check_json "mixed options: stats_json" "$tmp/mix.json"
test -s "$tmp/mix.svg" || fail "mixed options: heatmap=$tmp/mix.svg was not written"

# A later setting wins.
MYALLOC_OPTIONS="stats_json=$tmp/first.json,stats_json=$tmp/second.json" \
    "$run" "$@" > "$tmp/out" 2> "$tmp/err"
test -e "$tmp/first.json" && fail "stats_json given twice: the first one was written too"
check_json "stats_json given twice: the second" "$tmp/second.json"

if test "$failures" -ne 0; then
    echo "$me: $failures check(s) failed" >&2
    exit 1
fi
echo "$me: PASS"
exit 0
