#!/bin/sh
# test_readme_example.sh - the usage example of README.md compiles, links
# against the library of this build tree and runs successfully.
#
# Run by `make check` with top_srcdir, top_builddir, CC, CFLAGS and LIBTOOL in
# the environment.  The program is the ```c block between the lines
# <!-- example:begin --> and <!-- example:end --> of README.md.  It fails
# when nothing is found there, when the compiler warns about the example,
# when it does not build, or when the program exits with a nonzero status.

me=test_readme_example

die() {
    printf '%s: FAIL: %s\n' "$me" "$1" >&2
    exit 1
}

: "${top_srcdir:?top_srcdir is not set (run through make check)}"
: "${top_builddir:?top_builddir is not set (run through make check)}"
: "${LIBTOOL:?LIBTOOL is not set (run through make check)}"
: "${CC:=cc}"
# CC, CFLAGS and LIBTOOL may hold several words ("/bin/bash ./libtool"):
# they are expanded unquoted below, and the working directory never changes
# so that relative paths in them keep their meaning.

srcdir_abs=$(cd "$top_srcdir" && pwd) || die "no source tree at $top_srcdir"
builddir_abs=$(cd "$top_builddir" && pwd) || die "no build tree at $top_builddir"
readme=$srcdir_abs/README.md
la=$builddir_abs/lib/libmyalloc.la
test -f "$readme" || die "$readme is missing"
test -f "$la" || die "$la is missing (the library was not built)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/myalloc-readme.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The lines between the markers, less the ``` fence lines.
awk '/<!-- example:end -->/ { inside = 0 }
     inside && !/^[ \t]*```/ { print }
     /<!-- example:begin -->/ { inside = 1; found++ }
     END { if (found != 1) exit 1 }' "$readme" > "$tmp/example.c" ||
    die "README.md must hold exactly one <!-- example:begin --> marker"
grep -q 'main' "$tmp/example.c" ||
    die "no program between the example markers of README.md"
echo "$me: $(wc -l < "$tmp/example.c" | tr -d ' ') lines extracted from README.md"

# Compile against the headers of this tree (the configured myalloc.h lives in
# the build tree), warnings on: the README shows clean code.
# shellcheck disable=SC2086
$CC $CFLAGS -Wall -Wextra -I"$builddir_abs/include" -I"$srcdir_abs/include" \
    -c "$tmp/example.c" -o "$tmp/example.o" 2> "$tmp/cc.err"
cc_status=$?
cat "$tmp/cc.err" >&2
test "$cc_status" -eq 0 || die "the README example does not compile"
if grep -q 'example\.c:[0-9]*:[0-9]*: warning' "$tmp/cc.err"; then
    die "the compiler warns about the README example"
fi

# shellcheck disable=SC2086
$LIBTOOL --mode=link $CC $CFLAGS -o "$tmp/example" "$tmp/example.o" "$la" ||
    die "the README example does not link against $la"

# shellcheck disable=SC2086
$LIBTOOL --mode=execute "$tmp/example" > "$tmp/out"
status=$?
cat "$tmp/out"
test "$status" -eq 0 || die "the README example exited with status $status"
test -s "$tmp/out" || die "the README example printed nothing"
echo "$me: PASS"
exit 0
