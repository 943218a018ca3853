#!/bin/sh
# test_manpages.sh - the man pages cover the exported API, agree with the
# header, and are clean.
#
# Run by `make check` (Automake TESTS).  Exit status: 0 pass, 1 fail.
# Environment (from AM_TESTS_ENVIRONMENT):
#   top_srcdir    the source tree (man/, lib/myalloc.map, include/myalloc.h.in)
#   top_builddir  the build tree (not used: everything checked is in the sources)
#   MANDOC        path of mandoc(1); empty when configure found none, and then
#                 the lint check is skipped with a message, the others still run
#
# What is checked:
#   1. every name exported by lib/myalloc.map has a page man/NAME.3, and the
#      page it leads to (after a .so link) names it in NAME and gives the
#      header's prototype for it in SYNOPSIS;
#   2. every .so link is a one-line page that points to an existing page,
#      which is not a link itself;
#   3. `$MANDOC -Tlint -W warning` prints nothing and exits 0 on every page
#      that is not a .so link;
#   4. every page that is not a link has the sections it needs, only
#      man-pages(7) sections, in man-pages(7) order, and a .TH line that
#      matches its file name;
#   5. every page is listed in Makefile.am, so that it is installed and
#      distributed.

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
MANDOC=${MANDOC-}

mandir=$top_srcdir/man
map=$top_srcdir/lib/myalloc.map
header=$top_srcdir/include/myalloc.h.in
makefile=$top_srcdir/Makefile.am

failures=0

fail()
{
    printf 'FAIL: %s\n' "$*"
    failures=$((failures + 1))
}

ok()
{
    printf 'ok: %s\n' "$*"
}

for f in "$map" "$header"; do
    if [ ! -r "$f" ]; then
        printf 'FAIL: cannot read %s\n' "$f"
        exit 1
    fi
done
if [ ! -d "$mandir" ]; then
    printf 'FAIL: no directory %s\n' "$mandir"
    exit 1
fi

# ------------------------------------------------------------- helpers --

# The exported names of the version script: the words between a `global:`
# and the following `local:` or `}` of every node, comments removed.
exported_names()
{
    awk '
    {
        line = $0
        # Remove comments, which may span lines.
        out = ""
        while (line != "") {
            if (incomment) {
                e = index(line, "*/")
                if (e == 0) { line = ""; break }
                line = substr(line, e + 2)
                incomment = 0
            } else {
                b = index(line, "/*")
                if (b == 0) { out = out line; line = ""; break }
                out = out substr(line, 1, b - 1)
                line = substr(line, b + 2)
                incomment = 1
            }
        }
        line = out
        while (line != "") {
            if (!inglobal) {
                g = index(line, "global:")
                if (g == 0) break
                line = substr(line, g + 7)
                inglobal = 1
                continue
            }
            # Inside a global: list, up to local: or the end of the node.
            l = index(line, "local:")
            c = index(line, "}")
            end = 0
            if (l > 0) end = l
            if (c > 0 && (end == 0 || c < end)) end = c
            part = (end > 0) ? substr(line, 1, end - 1) : line
            gsub(/;/, " ", part)
            n = split(part, words, /[ \t]+/)
            for (i = 1; i <= n; i++)
                if (words[i] != "")
                    print words[i]
            if (end == 0) break
            inglobal = 0
            line = substr(line, end + 1)
        }
    }' "$map"
}

# The target of a .so link page, as written (e.g. man3/my_malloc.3); empty
# for an ordinary page.
so_target()
{
    awk '/^\.\\"/ || /^[ \t]*$/ || /^'"'"'\\"/ { next }
         { if ($1 == ".so") print $2; exit }' "$1"
}

# The number of lines of a page that are neither comments nor blank.
content_lines()
{
    awk '/^\.\\"/ || /^[ \t]*$/ || /^'"'"'\\"/ { next } { n++ } END { print n + 0 }' "$1"
}

# The .SH headings of a page, one a line, quotes removed.
section_names()
{
    awk '/^\.SH([ \t]|$)/ {
        s = $0
        sub(/^\.SH[ \t]*/, "", s)
        gsub(/"/, "", s)
        sub(/[ \t]+$/, "", s)
        print s
    }' "$1"
}

# The text of one section of a page, with the arguments of the font macros
# joined as troff would join them and the common escapes resolved.
section_text()
{
    awk -v want="$2" '
    function args(s,    out, n, c, q, word, i) {
        n = 0
        i = 1
        while (i <= length(s)) {
            c = substr(s, i, 1)
            if (c == " " || c == "\t") { i++; continue }
            word = ""
            if (c == "\"") {
                i++
                while (i <= length(s)) {
                    c = substr(s, i, 1)
                    if (c == "\"") {
                        if (substr(s, i + 1, 1) == "\"") { word = word "\""; i += 2; continue }
                        i++
                        break
                    }
                    word = word c
                    i++
                }
            } else {
                while (i <= length(s)) {
                    c = substr(s, i, 1)
                    if (c == " " || c == "\t") break
                    word = word c
                    i++
                }
            }
            argv[++n] = word
        }
        return n
    }
    /^\.SH([ \t]|$)/ {
        s = $0
        sub(/^\.SH[ \t]*/, "", s)
        gsub(/"/, "", s)
        sub(/[ \t]+$/, "", s)
        on = (s == want)
        next
    }
    !on { next }
    /^\.\\"/ { next }
    /^\.(B|I|BI|IB|BR|RB|IR|RI)([ \t]|$)/ {
        m = $1
        n = args(substr($0, length(m) + 1))
        out = ""
        for (k = 1; k <= n; k++)
            out = out ((m == ".B" || m == ".I") && k > 1 ? " " : "") argv[k]
        print out
        next
    }
    /^[.'"'"']/ { print ""; next }
    { print }
    ' "$1" | sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\&//g' \
                 -e 's/\\~/ /g' -e 's/\\ / /g' -e 's/\\e/\\/g'
}

# Normalises C declarations, one a line: attributes of the header dropped,
# blanks squeezed, no blank after `*` or `(`, or before `,`, `)` and `;`.
normalise_decls()
{
    sed -e 's/MYALLOC_API//g' \
        -e 's/MYALLOC_ATTR_[A-Z0-9_]*([^)]*)//g' \
        -e 's/MYALLOC_ATTR_[A-Z0-9_]*//g' \
        -e 's/[[:space:]][[:space:]]*/ /g' \
        -e 's/^ //' -e 's/ $//' \
        -e 's/\* /*/g' -e 's/( /(/g' \
        -e 's/ ,/,/g' -e 's/ )/)/g' -e 's/ ;/;/g'
}

# The public declarations of the header, one a line, normalised.
header_decls()
{
    awk '
    /^[ \t]*#/ { next }
    !on && /MYALLOC_API/ { on = 1; decl = "" }
    on {
        decl = decl " " $0
        if (index($0, ";")) {
            sub(/;.*/, ";", decl)
            print decl
            on = 0
        }
    }' "$header" | normalise_decls
}

# The declarations in the SYNOPSIS of a page, one a line, normalised.
synopsis_decls()
{
    section_text "$1" SYNOPSIS | tr '\n' ' ' | tr ';' '\n' |
        sed -e 's/#[[:space:]]*include[[:space:]]*<[^>]*>//g' \
            -e '/^[[:space:]]*$/d' -e 's/$/;/' | normalise_decls
}

# The declaration of function $1 among the lines on standard input.
decl_of()
{
    awk -v name="$1" '{
        line = " " $0
        if (match(line, "[ *]" name "\\(")) { print $0; exit }
    }'
}

# Whether word $1 appears in the NAME section of page $2.
named_in()
{
    section_text "$2" NAME | awk -v name="$1" '
        { gsub(/,/, " "); for (i = 1; i <= NF; i++) if ($i == name) found = 1 }
        END { exit !found }'
}

# The page that page $1 leads to: itself, or the target of its .so link.
resolve()
{
    t=$(so_target "$1")
    if [ -z "$t" ]; then
        printf '%s\n' "$1"
    else
        printf '%s/%s\n' "$mandir" "${t##*/}"
    fi
}

# ------------------------------------------- 1. every export has a page --
echo "== 1. every name exported by lib/myalloc.map has a page in man/"
names=$(exported_names)
if [ -z "$names" ]; then
    fail "no exported names found in $map"
fi
hdecls=$(header_decls)
for name in $names; do
    page=$mandir/$name.3
    if [ ! -f "$page" ]; then
        fail "$name is exported but has no page man/$name.3"
        continue
    fi
    target=$(resolve "$page")
    if [ ! -f "$target" ]; then
        fail "$name: man/$name.3 links to a missing page (see check 2)"
        continue
    fi
    tname=${target##*/}
    if ! named_in "$name" "$target"; then
        fail "$name: man/$tname does not list $name in its NAME section"
        continue
    fi
    want=$(printf '%s\n' "$hdecls" | decl_of "$name")
    have=$(synopsis_decls "$target" | decl_of "$name")
    if [ -z "$want" ]; then
        fail "$name: exported, but include/myalloc.h.in does not declare it"
    elif [ -z "$have" ]; then
        fail "$name: man/$tname has no prototype for $name in SYNOPSIS"
    elif [ "$want" != "$have" ]; then
        fail "$name: the SYNOPSIS of man/$tname says '$have', the header says '$want'"
    else
        ok "$name: man/$name.3 -> man/$tname, named, prototype as in the header"
    fi
done

# ----------------------------------------------- 2. .so links resolve --
echo "== 2. every .so link points to an existing page"
pages=
links=
for page in "$mandir"/*.[0-9]; do
    [ -f "$page" ] || continue
    base=${page##*/}
    t=$(so_target "$page")
    if [ -z "$t" ]; then
        pages="$pages $page"
        continue
    fi
    links="$links $page"
    sec=${t%%/*}
    file=${t##*/}
    if [ "$(content_lines "$page")" != 1 ]; then
        fail "man/$base: a .so link page must hold only the .so line"
    elif [ "$sec" = "$t" ] || [ "$sec" != "man${file##*.}" ]; then
        fail "man/$base: .so $t is not of the form manN/NAME.N"
    elif [ ! -f "$mandir/$file" ]; then
        fail "man/$base: .so $t points to man/$file, which does not exist"
    elif [ -n "$(so_target "$mandir/$file")" ]; then
        fail "man/$base: .so $t points to man/$file, which is itself a link"
    else
        ok "man/$base -> man/$file"
    fi
done
if [ -z "$pages" ]; then
    fail "no pages found in $mandir"
fi

# ------------------------------------------------------------ 3. lint --
echo "== 3. mandoc -Tlint -W warning is silent on every page"
if [ -z "$MANDOC" ]; then
    echo "SKIP: lint: MANDOC is empty (configure found no mandoc); install mandoc to lint the pages"
else
    for page in $pages; do
        base=${page##*/}
        out=$("$MANDOC" -Tlint -W warning "$page" 2>&1)
        rc=$?
        if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
            fail "man/$base: $MANDOC -Tlint -W warning exited $rc:"
            printf '%s\n' "$out" | sed 's/^/    /'
        else
            ok "man/$base: lint clean"
        fi
    done
fi

# ---------------------------------------------------------- 4. sections --
echo "== 4. every page has its sections, in man-pages(7) order"
# The sections of man-pages(7), in their order.
order='NAME
LIBRARY
SYNOPSIS
CONFIGURATION
DESCRIPTION
OPTIONS
EXIT STATUS
RETURN VALUE
ERRORS
ENVIRONMENT
FILES
ATTRIBUTES
VERSIONS
STANDARDS
HISTORY
NOTES
CAVEATS
BUGS
EXAMPLES
AUTHORS
REPORTING BUGS
COPYRIGHT
SEE ALSO'
for page in $pages; do
    base=${page##*/}
    sec=${base##*.}
    stem=${base%.*}
    bad=0

    # The .TH line names the page and its section.
    th=$(awk '/^\.TH[ \t]/ { print $2, $3; exit }' "$page" | tr -d '"')
    th_title=$(printf '%s\n' "${th% *}" | tr '[:upper:]' '[:lower:]')
    if [ "$th_title" != "$stem" ] || [ "${th##* }" != "$sec" ]; then
        fail "man/$base: .TH says '$th', expected the title $stem and section $sec"
        bad=1
    fi

    required='NAME
SYNOPSIS
DESCRIPTION
NOTES
EXAMPLES
SEE ALSO'
    if [ "$sec" = 3 ]; then
        required="$required
LIBRARY
RETURN VALUE
ERRORS
ATTRIBUTES
VERSIONS"
    fi
    found=$(section_names "$page")
    missing=$(printf '%s\n' "$required" | while IFS= read -r s; do
        printf '%s\n' "$found" | grep -qxF -- "$s" || printf ' "%s"' "$s"
    done)
    if [ -n "$missing" ]; then
        fail "man/$base: missing sections:$missing"
        bad=1
    fi

    misplaced=$(printf '%s\n' "$found" | awk -v order="$order" '
        BEGIN { n = split(order, o, "\n"); for (i = 1; i <= n; i++) rank[o[i]] = i }
        !($0 in rank) { printf " \"%s\" (not a man-pages section)", $0; next }
        rank[$0] <= last { printf " \"%s\" (after \"%s\")", $0, lastname }
        { last = rank[$0]; lastname = $0 }')
    if [ -n "$misplaced" ]; then
        fail "man/$base: sections out of place:$misplaced"
        bad=1
    fi
    if [ "$bad" -eq 0 ]; then
        ok "man/$base: .TH, and sections $(printf '%s\n' "$found" | paste -s -d , -)"
    fi
done

# --------------------------------------------------------- 5. installed --
echo "== 5. every page is listed in Makefile.am"
if [ ! -r "$makefile" ]; then
    echo "SKIP: install list: no $makefile"
else
    for page in $pages $links; do
        base=${page##*/}
        if awk -v f="man/$base" '{ for (i = 1; i <= NF; i++) if ($i == f) found = 1 }
                END { exit !found }' "$makefile"; then
            ok "man/$base is in Makefile.am"
        else
            fail "man/$base is not listed in Makefile.am (dist_man${base##*.}_MANS), so it is neither installed nor distributed"
        fi
    done
fi

# ---------------------------------------------------------------- done --
if [ "$failures" -ne 0 ]; then
    printf '%d check(s) failed\n' "$failures"
    exit 1
fi
echo "all man page checks passed"
exit 0
