# preload_common.sh - sourced by the test scripts that run programs on the
# preload library.  The caller sets $me first.  Defines the reporting
# helpers and sets $lib to the built libmyalloc-preload.so, or skips the
# test (exit 77) where that library cannot be preloaded: not built, or a
# sanitizer build (an instrumented library cannot be preloaded into
# programs that are not).

# shellcheck shell=sh
: "${me:?set me before sourcing preload_common.sh}"
failures=0

fail() {
    printf '%s: FAIL: %s\n' "$me" "$1" >&2
    failures=$((failures + 1))
}
die() {
    printf '%s: ERROR: %s\n' "$me" "$1" >&2
    exit 1
}
skip() {
    printf '%s: SKIP: %s\n' "$me" "$1"
    exit 77
}
say() {
    printf '%s: %s\n' "$me" "$1"
}
oneline() {
    printf '%s' "$1" | tr '\n' ' '
}

: "${top_builddir:?top_builddir is not set (run through make check)}"
: "${LT_OBJDIR:=.libs}"
objdir=${LT_OBJDIR%/}
top_builddir=$(cd "$top_builddir" && pwd) || die "no build tree at $top_builddir"

case " ${CFLAGS-} ${LDFLAGS-} " in
*-fsanitize*)
    skip "sanitizer build (CFLAGS/LDFLAGS hold -fsanitize): an instrumented preload library cannot be preloaded into uninstrumented programs"
    ;;
esac
la=$top_builddir/lib/libmyalloc-preload.la
test -f "$la" || skip "$la was not built"
# shellcheck source=/dev/null
dlname=$(. "$la" && printf '%s' "$dlname") || die "cannot read $la"
test -n "$dlname" || skip "$la names no shared library (--disable-shared?)"
lib=$top_builddir/lib/$objdir/$dlname
test -f "$lib" || die "$la names $dlname, but $lib does not exist"
if command -v readelf > /dev/null 2>&1; then
    san=$(readelf -d "$lib" 2> /dev/null | sed -n 's/.*NEEDED.*\[\(lib[a-z]*san[^]]*\)\].*/\1/p')
    test -z "$san" ||
        skip "$dlname is linked against $(oneline "$san") (a sanitizer build): it cannot be preloaded into uninstrumented programs"
fi
case $lib in
*[:\ \	]*) skip "the build path $lib holds a space or colon, which LD_PRELOAD cannot take" ;;
esac
