#!/bin/sh
# installcheck.sh - a separate program uses the installed libmyalloc through
# pkg-config, linked once against the shared library and once statically.
#
# Usage: sh tests/installcheck.sh LIBDIR INCLUDEDIR SRCDIR
# `make installcheck` calls it (also from `make distcheck`, where the prefix
# is a temporary directory); .ci/run calls it for the real install under
# /usr/local.  The program is the usage example of SRCDIR/README.md.  CC and
# CFLAGS are taken from the environment when set.
#
# Checks: pkg-config finds myalloc.pc in LIBDIR/pkgconfig and gives flags
# that point into LIBDIR and INCLUDEDIR; the shared build needs
# libmyalloc.so and loads it from LIBDIR; the static build
# (pkg-config --static, -static) needs no libmyalloc.so; both programs exit
# with status 0.

me=installcheck

die() {
    printf '%s: FAIL: %s\n' "$me" "$1" >&2
    exit 1
}

test $# -eq 3 || die "usage: $0 LIBDIR INCLUDEDIR SRCDIR"
libdir=$1
includedir=$2
srcdir=$3
: "${CC:=cc}"
: "${CFLAGS=}"
: "${PKG_CONFIG:=pkg-config}"

test -f "$libdir/pkgconfig/myalloc.pc" || die "$libdir/pkgconfig/myalloc.pc is not installed"
test -f "$includedir/myalloc.h" || die "$includedir/myalloc.h is not installed"
test -f "$srcdir/README.md" || die "$srcdir/README.md is missing"
command -v "$PKG_CONFIG" > /dev/null 2>&1 || die "$PKG_CONFIG is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/myalloc-installcheck.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

awk '/<!-- example:end -->/ { inside = 0 }
     inside && !/^[ \t]*```/ { print }
     /<!-- example:begin -->/ { inside = 1 }' "$srcdir/README.md" > "$tmp/example.c"
grep -q 'main' "$tmp/example.c" || die "no example program between the markers of README.md"

# Only the installed myalloc.pc, none from the system.
PKG_CONFIG_PATH=$libdir/pkgconfig
PKG_CONFIG_LIBDIR=$libdir/pkgconfig
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR

# Under `make install DESTDIR=...` the .pc names the final libdir, and the
# files sit below DESTDIR: pkg-config's sysroot puts that prefix back.
pc_libdir=$("$PKG_CONFIG" --variable=libdir myalloc) || die "pkg-config cannot read myalloc.pc"
if test "x$pc_libdir" != "x$libdir"; then
    case $libdir in
    *"$pc_libdir")
        PKG_CONFIG_SYSROOT_DIR=${libdir%"$pc_libdir"}
        export PKG_CONFIG_SYSROOT_DIR
        echo "$me: note: myalloc.pc names $pc_libdir; using $PKG_CONFIG_SYSROOT_DIR as the staging root"
        ;;
    *)
        die "myalloc.pc in $libdir/pkgconfig names libdir=$pc_libdir"
        ;;
    esac
fi

pc_cflags=$("$PKG_CONFIG" --cflags myalloc) || die "pkg-config --cflags myalloc failed"
pc_libs=$("$PKG_CONFIG" --libs myalloc) || die "pkg-config --libs myalloc failed"
pc_static_libs=$("$PKG_CONFIG" --static --libs myalloc) || die "pkg-config --static --libs myalloc failed"
echo "$me: pkg-config --cflags: $pc_cflags"
echo "$me: pkg-config --libs: $pc_libs"
echo "$me: pkg-config --static --libs: $pc_static_libs"

# The NEEDED entries of an ELF file, one a line.
needed() {
    readelf -d "$1" 2> /dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

# --------------------------------------------------------------- shared --
# shellcheck disable=SC2086
$CC $CFLAGS $pc_cflags -o "$tmp/example-shared" "$tmp/example.c" $pc_libs ||
    die "cannot build the example with pkg-config --cflags --libs myalloc"
needed "$tmp/example-shared" | grep -q '^libmyalloc\.so' ||
    die "the shared build does not need libmyalloc.so: $(needed "$tmp/example-shared" | tr '\n' ' ')"
# It must load the library just installed, not another copy.
loaded=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/example-shared" | sed -n 's/^[ \t]*libmyalloc\.so[^ ]* => \([^ ]*\) .*/\1/p')
case $loaded in
"$libdir"/*) echo "$me: shared build loads $loaded" ;;
*) die "the shared build loads libmyalloc from '$loaded', not from $libdir" ;;
esac
LD_LIBRARY_PATH=$libdir "$tmp/example-shared" > "$tmp/out-shared"
status=$?
test "$status" -eq 0 || die "the shared build exited with status $status"
echo "$me: shared build ran: $(head -n 1 "$tmp/out-shared")"

# --------------------------------------------------------------- static --
# A fully static program first; where the C library has no static form,
# link libmyalloc.a alone statically and say so.
how="fully static (-static)"
# shellcheck disable=SC2086
if ! $CC $CFLAGS $pc_cflags -static -o "$tmp/example-static" "$tmp/example.c" $pc_static_libs \
        2> "$tmp/static.err"; then
    cat "$tmp/static.err" >&2
    echo "$me: note: a fully static link is impossible here; linking only libmyalloc statically"
    how="libmyalloc.a only (-Wl,-Bstatic -lmyalloc -Wl,-Bdynamic)"
    partial=
    for word in $pc_static_libs; do
        case $word in
        -lmyalloc) partial="$partial -Wl,-Bstatic -lmyalloc -Wl,-Bdynamic" ;;
        *) partial="$partial $word" ;;
        esac
    done
    # shellcheck disable=SC2086
    $CC $CFLAGS $pc_cflags -o "$tmp/example-static" "$tmp/example.c" $partial ||
        die "cannot build the example with pkg-config --static --libs myalloc"
fi
if needed "$tmp/example-static" | grep -q '^libmyalloc\.so'; then
    die "the static build still needs libmyalloc.so"
fi
# No LD_LIBRARY_PATH: the static program must not look for the library.
"$tmp/example-static" > "$tmp/out-static"
status=$?
test "$status" -eq 0 || die "the static build exited with status $status"
echo "$me: static build, $how, ran: $(head -n 1 "$tmp/out-static")"

echo "$me: PASS"
exit 0
