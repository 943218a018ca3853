#!/bin/sh
# test_symbols.sh - the exported symbols of libmyalloc are exactly the API.
#
# Run by `make check` with top_srcdir, top_builddir, NM and LT_OBJDIR in the
# environment (and HAVE_VERSION_SCRIPT=no where the linker has none).  It
# checks, each failure with its own message:
#  (a) the defined dynamic symbols of libmyalloc.so are exactly the global
#      names of lib/myalloc.map (the version node names themselves aside);
#  (b) each of them carries the default version of the map node that lists
#      it (@@MYALLOC_1.0 for this release);
#  (c) the static archive defines no global symbol outside the library's
#      name space: public names must be in the map, internal ones start
#      with myalloc__;
#  (d) the functions declared MYALLOC_API in include/myalloc.h.in and the
#      names of the map are the same set;
#  (e) the shared library exports none of the C library's allocator names.
# Exit status: 0 pass, 1 fail, 77 skip (the shared library was not built).

me=test_symbols
failures=0

fail() {
    printf '%s: FAIL: %s\n' "$me" "$1" >&2
    failures=$((failures + 1))
}
oneline() {
    printf '%s' "$1" | tr '\n' ' '
}
die() {
    printf '%s: ERROR: %s\n' "$me" "$1" >&2
    exit 1
}

: "${top_srcdir:?top_srcdir is not set (run through make check)}"
: "${top_builddir:?top_builddir is not set (run through make check)}"
: "${NM:=nm}"
: "${LT_OBJDIR:=.libs}"
objdir=${LT_OBJDIR%/}

top_srcdir=$(cd "$top_srcdir" && pwd) || die "no source tree at $top_srcdir"
top_builddir=$(cd "$top_builddir" && pwd) || die "no build tree at $top_builddir"
map=$top_srcdir/lib/myalloc.map
header=$top_srcdir/include/myalloc.h.in
la=$top_builddir/lib/libmyalloc.la
for f in "$map" "$header" "$la"; do
    test -f "$f" || die "$f is missing"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/myalloc-symbols.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The libtool archive names the files it stands for; never guess `.libs`.
# shellcheck source=/dev/null
dlname=$(. "$la" && printf '%s' "$dlname") || die "cannot read $la"
# shellcheck source=/dev/null
old_library=$(. "$la" && printf '%s' "$old_library") || die "cannot read $la"

# ----------------------------------------------------------------- inputs --
# The version script, as "name node" lines for every global name, and the
# list of node names.  Comments go first; the rest is tokenised on braces,
# colons and semicolons.
awk '
    {
        line = $0; text = ""
        while (line != "") {
            if (incomment) {
                i = index(line, "*/")
                if (i == 0) { line = ""; break }
                line = substr(line, i + 2); incomment = 0
            } else {
                i = index(line, "/*")
                if (i == 0) { text = text line; line = ""; break }
                text = text substr(line, 1, i - 1) " "
                line = substr(line, i + 2); incomment = 1
            }
        }
        gsub(/[{};:]/, " & ", text)
        n = split(text, tok, /[ \t]+/)
        for (k = 1; k <= n; k++) {
            t = tok[k]
            if (t == "") continue
            if (depth == 0) {
                if (t == "{") depth = 1
                else if (t == ";") after_node = 0
                else if (t == "}") ;
                else if (after_node) after_node = 0   # inherited node name
                else { node = t; print "node " t }
            } else if (t == "}") {
                depth = 0; section = ""; after_node = 1
            } else if (t == ":") {
                ;
            } else if (t == "global" || t == "local") {
                section = t
            } else if (t == ";") {
                ;
            } else if (section == "global") {
                print "name " t " " node
            }
        }
    }
' "$map" > "$tmp/map.parsed" || die "cannot parse $map"
sed -n 's/^node //p' "$tmp/map.parsed" | sort -u > "$tmp/map.nodes"
sed -n 's/^name //p' "$tmp/map.parsed" | sort -u > "$tmp/map.versioned"
cut -d' ' -f1 "$tmp/map.versioned" | sort -u > "$tmp/map.names"
test -s "$tmp/map.names" || die "no global names found in $map"
dups=$(cut -d' ' -f1 "$tmp/map.versioned" | uniq -d)
test -z "$dups" || fail "names listed in more than one node of $map: $dups"

# The header's public functions: each declaration starts with MYALLOC_API
# and may run over several lines; the name is the word before the first '('.
awk '
    /^[ \t]*MYALLOC_API[ \t]/ { decl = ""; collecting = 1 }
    collecting {
        decl = decl " " $0
        i = index(decl, "(")
        if (i > 0) {
            head = substr(decl, 1, i - 1)
            gsub(/[*]/, " ", head)
            n = split(head, w, /[ \t]+/)
            print w[n]
            collecting = 0
        }
    }
' "$header" | sort -u > "$tmp/header.names"
test -s "$tmp/header.names" || die "no MYALLOC_API declarations found in $header"

# ----------------------------------------------- (d) header against map --
missing=$(comm -23 "$tmp/header.names" "$tmp/map.names")
test -z "$missing" ||
    fail "(d) declared MYALLOC_API in include/myalloc.h.in but not in lib/myalloc.map: $(oneline "$missing")"
missing=$(comm -13 "$tmp/header.names" "$tmp/map.names")
test -z "$missing" ||
    fail "(d) in lib/myalloc.map but not declared MYALLOC_API in include/myalloc.h.in: $(oneline "$missing")"

# ------------------------------------------------------ the shared library --
if test -z "$dlname"; then
    echo "$me: SKIP: $la names no shared library (built with --disable-shared?)"
    test "$failures" -eq 0 || exit 1
    exit 77
fi
so=$top_builddir/lib/$objdir/$dlname
test -f "$so" || die "$la names $dlname, but $so does not exist"
echo "$me: shared library $so"

# Defined dynamic symbols as "name version" lines; version "-" when the
# symbol has none.  nm prints versions with --with-symbol-versions (binutils
# 2.35 and later); older tools fall back to objdump -T.
if "$NM" -D --defined-only --with-symbol-versions "$so" > "$tmp/nm.out" 2> /dev/null; then
    awk 'NF >= 2 {
             s = $NF
             if (index(s, "@@")) { split(s, p, "@@"); print p[1], p[2] }
             else if (index(s, "@")) { split(s, p, "@"); print p[1], "(" p[2] ")" }
             else print s, "-"
         }' "$tmp/nm.out" > "$tmp/so.versioned"
elif objdump -T "$so" > "$tmp/objdump.out" 2> /dev/null; then
    # addr flags [type] section size version name; *UND* marks imports.
    awk '/\*UND\*/ { next }
         NF >= 5 && $1 ~ /^[0-9a-fA-F]+$/ {
             v = $(NF - 1)
             if (v == "Base" || v ~ /^[0-9a-fA-F]+$/) v = "-"
             print $NF, v
         }' "$tmp/objdump.out" > "$tmp/so.versioned"
else
    die "neither '$NM -D --with-symbol-versions' nor 'objdump -T' can read $so"
fi
# The version nodes appear as absolute symbols of their own name.
awk 'NR == FNR { node[$1] = 1; next } !($1 in node)' \
    "$tmp/map.nodes" "$tmp/so.versioned" | sort -u > "$tmp/so.exports"
cut -d' ' -f1 "$tmp/so.exports" | sort -u > "$tmp/so.names"
test -s "$tmp/so.names" || fail "(a) $dlname exports no symbol at all"

# (a) exactly the map's names.
extra=$(comm -23 "$tmp/so.names" "$tmp/map.names")
test -z "$extra" ||
    fail "(a) $dlname exports symbols that lib/myalloc.map does not list: $(oneline "$extra")"
missing=$(comm -13 "$tmp/so.names" "$tmp/map.names")
test -z "$missing" ||
    fail "(a) $dlname does not export these names of lib/myalloc.map: $(oneline "$missing")"

# (b) each at the default version of its node.  Where configure found no
# linker support for version scripts, the Makefile says so with
# HAVE_VERSION_SCRIPT=no and there are no versions to check.
if test "${HAVE_VERSION_SCRIPT-yes}" = no; then
    echo "$me: note: linker without --version-script; version check (b) skipped"
    : > "$tmp/map.versioned"
fi
wrong=$(awk 'NR == FNR { want[$1] = $2; next }
             ($1 in want) && $2 != want[$1] {
                 print $1 ($2 == "-" ? " (unversioned," : "@" $2 " (") \
                     " want @@" want[$1] ")"
             }' \
            "$tmp/map.versioned" "$tmp/so.exports")
test -z "$wrong" || fail "(b) symbols at the wrong version: $(oneline "$wrong")"

# (e) never the C library's allocator.
libc_names='malloc free calloc realloc reallocarray aligned_alloc posix_memalign
memalign valloc pvalloc malloc_usable_size cfree'
for n in $libc_names; do
    if grep -q -x -F "$n" "$tmp/so.names"; then
        fail "(e) $dlname exports the C library name '$n'"
    fi
done

# ------------------------------------------------------ the static archive --
if test -z "$old_library"; then
    echo "$me: note: $la names no static archive (--disable-static?); archive check (c) skipped"
else
    archive=$top_builddir/lib/$objdir/$old_library
    if test ! -f "$archive"; then
        fail "(c) $la names $old_library, but $archive does not exist"
    else
        echo "$me: static archive $archive"
        "$NM" -g --defined-only "$archive" > "$tmp/ar.out" 2> "$tmp/ar.err" ||
            die "'$NM -g --defined-only $archive' failed: $(cat "$tmp/ar.err")"
        # Symbol lines are "[address] type name"; member headers end in ':'.
        # Sanitizers add an ODR indicator __odr_asan.NAME per global NAME:
        # it is judged by NAME.
        bad=$(awk 'NR == FNR { pub[$1] = 1; next }
                   NF >= 2 && $(NF - 1) ~ /^[A-Za-z]$/ {
                       s = $NF
                       sub(/^__odr_asan[.]/, "", s)
                       if (s ~ /^myalloc__/ || (s in pub)) next
                       print $NF
                   }' "$tmp/map.names" "$tmp/ar.out" | sort -u)
        test -z "$bad" ||
            fail "(c) $old_library defines global symbols that are neither in lib/myalloc.map nor prefixed myalloc__: $(oneline "$bad")"
    fi
fi

if test "$failures" -ne 0; then
    echo "$me: $failures check(s) failed" >&2
    exit 1
fi
echo "$me: PASS: $(wc -l < "$tmp/so.names" | tr -d ' ') exported symbols match lib/myalloc.map and include/myalloc.h.in"
exit 0
