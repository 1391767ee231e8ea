#!/usr/bin/env bash
# The OpenSSL layer's support matrix, docs/libssl-support.md: which of the 518 functions of
# Debian 12's libssl.so.3 target/libssl/libssl.so.3 implements, which are stubs, and which of
# eight programs built for OpenSSL import each one.
#
#   scripts/libssl-matrix.sh            rewrite docs/libssl-support.md
#   scripts/libssl-matrix.sh --check    exit 1 if docs/libssl-support.md is not what it would write
#   scripts/libssl-matrix.sh --imports  re-measure openssl-compat/program-imports.txt (see below)
#
# Inputs, all in the repository (no build needed, nothing installed, the output is the same on
# every machine): openssl-compat/libssl-exports.txt (the 518), openssl-compat/src/*.rs (what is
# implemented: every `_ferrossl_NAME` there that the exports list, scanned exactly as
# openssl-compat/build.rs scans them; everything else is a generated stub) and
# openssl-compat/program-imports.txt (NAME program program ...). Output is sorted (C locale)
# and has no dates, so --check compares bytes.
#
# --imports measures the imports of the programs installed here (`nm -D --undefined-only` on
# the object that links libssl.so.3, intersected with the 518) and takes those of the programs
# that are not (nginx, stunnel, haproxy, Python's _ssl) from ../shared/research/libssl-imports.md
# (LIBSSL_IMPORTS_NOTE=FILE to read another copy); a program that is installed is measured and
# compared with the note, and a difference is reported.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."

EXPORTS=openssl-compat/libssl-exports.txt
SRC=openssl-compat/src
IMPORTS=openssl-compat/program-imports.txt
DOC=docs/libssl-support.md
NOTE=${LIBSSL_IMPORTS_NOTE:-../shared/research/libssl-imports.md}

# The eight programs, in the matrix's order: name, the object that links libssl.so.3 (what nm
# reads), and whether tests/libssl/programs.sh runs it (unmodified, on our libssl).
PROGRAMS=(openssl curl socat psql nginx stunnel haproxy python)
declare -A OBJECT=(
    [openssl]=/usr/bin/openssl
    [curl]=/usr/lib/x86_64-linux-gnu/libcurl.so.4
    [socat]=/usr/bin/socat
    [psql]=/usr/lib/x86_64-linux-gnu/libpq.so.5
    [nginx]=/usr/sbin/nginx
    [stunnel]=/usr/bin/stunnel4
    [haproxy]=/usr/sbin/haproxy
    [python]=/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so
)
TESTED=" openssl curl socat psql "

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }
mode=write
case "${1:-}" in
"") ;;
--check) mode=check ;;
--imports) mode=imports ;;
-h | --help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

# --- --imports: openssl-compat/program-imports.txt ----------------------------------------------
measure_imports() {
    local tmp p obj pkg ver from note_has
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    [ -f "$NOTE" ] && note_has=1 || note_has=0
    if [ "$note_has" = 1 ]; then
        # The note's union table: | `NAME` | COUNT | prog prog ... |
        awk -F'|' '$2 ~ /^ *`[A-Za-z0-9_]+` *$/ && $3 ~ /^ *[0-9]+ *$/ {
            name = $2; gsub(/[ `]/, "", name); n = split($4, p, " ")
            for (i = 1; i <= n; i++) print p[i], name
        }' "$NOTE" | sort -u >"$tmp/note"
    fi
    {
        echo "# Which of the 518 functions of Debian 12's libssl.so.3 (libssl-exports.txt) eight programs"
        echo "# built for OpenSSL 3 import: one line per imported function, NAME then the programs, in the"
        echo "# order of the program lines below. Functions no program imports are not listed."
        echo "# Written by scripts/libssl-matrix.sh --imports; docs/libssl-support.md is made from it."
        echo "#"
        echo "# The programs, one '# program' line each: name, object (Debian 12 package and version),"
        echo "# number of imports, how they were measured."
    } >"$tmp/out"
    for p in "${PROGRAMS[@]}"; do
        obj=${OBJECT[$p]}
        if [ -f "$obj" ]; then
            nm -D --undefined-only "$obj" | awk '{sub(/@.*/, "", $2); print $2}' | sort -u |
                comm -12 - <(sort -u "$EXPORTS") >"$tmp/$p"
            pkg=$(dpkg-query -S "$(realpath "$obj")" 2>/dev/null | sed -n '1s/:.*//p' || true)
            ver=${pkg:+$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || true)}
            from="nm -D --undefined-only $obj"
            if [ "$note_has" = 1 ]; then
                if diff -q <(awk -v p="$p" '$1 == p {print $2}' "$tmp/note") "$tmp/$p" >/dev/null; then
                    from="$from (the same as the research note's list)"
                else
                    echo "note: $p: nm on $obj differs from $NOTE (nm is used):" >&2
                    diff <(awk -v p="$p" '$1 == p {print $2}' "$tmp/note") "$tmp/$p" | sed 's/^/    /' >&2 || true
                fi
            fi
        else
            [ "$note_has" = 1 ] || { echo "error: $obj is not installed and $NOTE is missing" >&2; return 1; }
            awk -v p="$p" '$1 == p {print $2}' "$tmp/note" >"$tmp/$p"
            [ -s "$tmp/$p" ] || { echo "error: $NOTE lists no imports of $p" >&2; return 1; }
            # The note's first table: | program | `object` (package version) | ...
            pkg=$(awk -F'|' -v p="$p" '{x = $2; gsub(/ /, "", x)} x == p {
                s = $3; sub(/^.*\(/, "", s); sub(/\).*$/, "", s); print s; exit}' "$NOTE")
            ver=${pkg##* } pkg=${pkg%% *}
            [ "$pkg" != "$ver" ] || ver=
            from="not installed here: from the research note libssl-imports.md (nm -D --undefined-only, Debian 12)"
        fi
        echo "# program $p $obj (${pkg:-?} ${ver:-?}): $(wc -l <"$tmp/$p") imports; $from" >>"$tmp/out"
    done
    echo "#" >>"$tmp/out"
    for p in "${PROGRAMS[@]}"; do sed "s/\$/ $p/" "$tmp/$p"; done |
        awk -v order="${PROGRAMS[*]}" '
            BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i }
            { list[$1] = list[$1] SUBSEP rank[$2] }
            END { for (f in list) {
                m = split(substr(list[f], 2), r, SUBSEP); line = f
                for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (r[j] == i) line = line " " o[i]
                print line } }' | sort >>"$tmp/out"
    mv "$tmp/out" "$IMPORTS"
    echo "wrote $IMPORTS: $(grep -vc '^#' "$IMPORTS") functions imported by at least one of ${#PROGRAMS[@]} programs"
}
if [ "$mode" = imports ]; then
    measure_imports
    exit 0
fi

# --- the matrix -----------------------------------------------------------------------------------
for f in "$EXPORTS" "$IMPORTS"; do [ -f "$f" ] || { echo "error: $f is missing" >&2; exit 1; }; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -v '^[[:space:]]*\(#\|$\)' "$EXPORTS" | awk '{print $1}' | sort -u >"$tmp/exports"
# What build.rs counts as implemented: split each file in src/ (its *.rs, not below) at every
# `_ferrossl_`; the identifier characters that start each piece are a name; a name that
# libssl-exports.txt lists is implemented (build.rs generates a stub for every other export).
find -L "$SRC" -mindepth 1 -maxdepth 1 -name '?*.rs' ! -type d -print0 | sort -z | xargs -0 cat |
    awk '{
        s = $0
        while ((i = index(s, "_ferrossl_")) > 0) {
            s = substr(s, i + 10)
            j = index(s, "_ferrossl_"); piece = j ? substr(s, 1, j - 1) : s
            if (match(piece, /^[A-Za-z0-9_]+/)) print substr(piece, 1, RLENGTH)
        }
    }' | sort -u | comm -12 - "$tmp/exports" >"$tmp/implemented"
grep -v '^[[:space:]]*\(#\|$\)' "$IMPORTS" | sort >"$tmp/imports"
grep '^# program ' "$IMPORTS" >"$tmp/programs" || { echo "error: $IMPORTS has no '# program' lines" >&2; exit 1; }
unknown=$(awk '{print $1}' "$tmp/imports" | comm -23 - "$tmp/exports" | head -5 | tr '\n' ' ')
[ -z "$unknown" ] || { echo "error: $IMPORTS names functions libssl-exports.txt does not: $unknown" >&2; exit 1; }

awk -v tested="$TESTED" -v nexports="$(wc -l <"$tmp/exports")" '
FILENAME == ARGV[1] { impl[$1] = 1; nimpl++; next }
FILENAME == ARGV[2] {   # # program NAME OBJECT (PACKAGE VERSION): ...
    np++; prog[np] = $3; obj[$3] = $4
    pv = $0; sub(/^[^(]*\(/, "", pv); sub(/\).*$/, "", pv); pkg[$3] = pv
    next
}
FILENAME == ARGV[3] {
    for (i = 2; i <= NF; i++) {
        if (!($i in obj)) { print "error: program-imports.txt: " $1 ": unknown program " $i > "/dev/stderr"; exit 1 }
        imp[$i]++; by[$1] = by[$1] " " $i
        if ($1 in impl) yes[$i]++; else stub_of[$i] = stub_of[$i] (stub_of[$i] == "" ? "" : ", ") "`" $1 "`"
    }
    next
}
{ name[++n] = $1 }
END {
    if (n != nexports) exit 1
    for (k = 1; k <= n; k++) if (name[k] in by) union++
    for (f in by) if (f in impl) unionimpl++
    print "# libssl.so.3 over ferrotls: what is implemented"
    print ""
    print "<!-- Generated by scripts/libssl-matrix.sh from openssl-compat/libssl-exports.txt,"
    print "     openssl-compat/src/*.rs and openssl-compat/program-imports.txt: do not edit."
    print "     tests/libssl/run.sh checks it is current (scripts/libssl-matrix.sh --check). -->"
    print ""
    printf "`make libssl` builds `target/libssl/libssl.so.3`, which exports all **%d** functions of Debian 12%ss\n", n, "\047"
    printf "libssl.so.3 (OpenSSL 3.0) in version node `OPENSSL_3.0.0`. **%d of them are implemented** over\n", nimpl
    printf "ferrotls; the other %d are generated stubs, which return 0 or NULL and put an error naming the call\n", n - nimpl
    print "on libcrypto" "\047" "s queue (library SSL, reason `ERR_R_UNSUPPORTED`), never a crash:"
    print ""
    print "```"
    print "error:0A08010C:SSL routines:SSL_CTX_set_srp_username:unsupported:ferrotls-openssl:0:SSL_CTX_set_srp_username is not implemented by ferrotls" "\047" "s libssl yet"
    print "```"
    print ""
    print "\"Implemented\" means the function has a definition of its own in `openssl-compat/src/`. Where"
    print "ferrotls has no such feature (DANE, CT, async engines, early data), what it answers is OpenSSL" "\047" "s"
    print "own \"none\" (-1, NULL, \"not enabled\"); the limits are listed in the top-level README, \"Replacing"
    print "OpenSSL in programs built for it\"."
    print ""
    printf "Of the %d functions that at least one of the %d programs below imports, %d are implemented.\n", union, np, unionimpl
    print ""
    print "## Per program"
    print ""
    print "Imports: the functions of the 518 that the object linking libssl.so.3 imports (`nm -D"
    print "--undefined-only`). Tested: `tests/libssl/programs.sh` (part of `make test-libssl`) runs the program"
    print "unmodified on this libssl against peers on Debian" "\047" "s OpenSSL."
    print ""
    print "| program | object (Debian 12 package) | tested | imports | implemented | stubs |"
    print "|---|---|---|---:|---:|---:|"
    for (k = 1; k <= np; k++) {
        p = prog[k]
        printf "| %s | `%s` (%s) | %s | %d | %d | %d |\n", p, obj[p], pkg[p], index(tested, " " p " ") ? "yes" : "no", imp[p], yes[p], imp[p] - yes[p]
    }
    print ""
    print "A stub a program imports is not necessarily one it calls: an import is bound when the program"
    print "starts (BIND_NOW) or at its first call, and most programs import calls for options and features"
    print "a given run does not use. The stubs each program imports:"
    print ""
    for (k = 1; k <= np; k++) {
        p = prog[k]
        printf "- **%s** (%d): %s\n", p, imp[p] - yes[p], stub_of[p] == "" ? "none" : stub_of[p]
    }
    print ""
    print "## All functions"
    print ""
    print "| function | status | imported by |"
    print "|---|---|---|"
    for (k = 1; k <= n; k++) {
        f = name[k]
        printf "| `%s` | %s | %s |\n", f, (f in impl) ? "implemented" : "stub", (f in by) ? substr(by[f], 2) : ""
    }
}' "$tmp/implemented" "$tmp/programs" "$tmp/imports" "$tmp/exports" >"$tmp/doc" ||
    { echo "error: generating $DOC failed" >&2; exit 1; }

if [ "$mode" = check ]; then
    if [ -f "$DOC" ] && cmp -s "$tmp/doc" "$DOC"; then
        echo "ok    $DOC is current ($(wc -l <"$tmp/implemented") of $(wc -l <"$tmp/exports") implemented)"
        exit 0
    fi
    echo "FAIL: $DOC is stale: run scripts/libssl-matrix.sh (differences, - in the file, + current):" >&2
    if [ -f "$DOC" ]; then diff -u "$DOC" "$tmp/doc" | sed -n '3,40p' >&2; else echo "    $DOC is missing" >&2; fi
    exit 1
fi
mkdir -p "$(dirname "$DOC")"
if [ -f "$DOC" ] && cmp -s "$tmp/doc" "$DOC"; then
    echo "$DOC unchanged ($(wc -l <"$tmp/implemented") of $(wc -l <"$tmp/exports") implemented)"
else
    cp "$tmp/doc" "$DOC"
    echo "wrote $DOC ($(wc -l <"$tmp/implemented") of $(wc -l <"$tmp/exports") implemented)"
fi
