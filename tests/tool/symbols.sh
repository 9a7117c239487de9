#!/bin/sh
# tests/tool/symbols.sh: symbolization with libdw. symtest captures its own
# stacks and writes them as the library records frames, then prints what
# each stack must symbolize to; the tool's JSON must say exactly that:
# function and file:line for a PIE and a non-PIE executable, a function
# inlined into another (a frame of its own), and a shared library
# dlclose'd before the report was written. Without debug info, the ELF
# symbol table still names functions. Suppressions by function and file.
. "$srcdir/tests/tool/common.sh"
need_python
SYMLIB=$PWD/tests/tool/.libs/libsymlib.so

# check_frames DESCRIPTION JSON EXPECTATIONS [stripped]
check_frames() {
    if python3 - "$2" "$3" "${4:-}" <<'PY'
import json, os, sys
obj = json.loads(open(sys.argv[1]).readline())
stripped = sys.argv[3] == "stripped"
ok = True
for line in open(sys.argv[2]):
    kind, blocks, nbytes, *frames = line.split()
    pool = obj["reachable"] if kind == "reachable" else obj["leaks"]
    match = [l for l in pool if l["kind"] == kind and l["blocks"] == int(blocks) and l["bytes"] == int(nbytes)]
    if len(match) != 1:
        print("    no single %s record of %s blocks, %s bytes" % (kind, blocks, nbytes)); ok = False; continue
    stack = match[0]["stack"]
    want = [tuple(f.split(":")) for f in frames]
    if stripped:
        # No DWARF: no inlined frames, no lines; names from the symbol table.
        want = [(fn, None) for fn, _ in want if fn != "helper_inline"]
    got = [(f["function"], str(f["line"]) if f["line"] else None) for f in stack[:len(want)]]
    if got != want:
        print("    %s: frames %s, expected %s" % (kind, got, want)); ok = False; continue
    for f, (fn, _) in zip(stack, want):
        src = os.path.basename(f["file"] or "")
        wantsrc = "" if stripped else ("symlib.c" if fn == "lib_leak" else "symtest.c")
        if src != wantsrc:
            print("    %s: file %r, expected %r" % (fn, f["file"], wantsrc)); ok = False
        if f["inlined"] != (fn == "helper_inline"):
            print("    %s: inlined is %s" % (fn, f["inlined"])); ok = False
        if fn == "lib_leak" and not f["module"].endswith("/libsymlib.so"):
            print("    lib_leak: module %s" % f["module"]); ok = False
sys.exit(0 if ok else 1)
PY
    then pass "$1"; else fail "$1"; fi
}

for prog in symtest symtest_nopie; do
    if ! tests/tool/$prog "$T/$prog.raw" "$SYMLIB" >"$T/$prog.want"; then
        fail "$prog did not run"
        continue
    fi
    expect_status 23 "$prog: report" $TOOL report --show-reachable --json "$T/$prog.json" "$T/$prog.raw"
    check_frames "$prog: functions, files, lines, inlined frames, dlclose'd library" \
        "$T/$prog.json" "$T/$prog.want"
    cp "$T/err" "$T/$prog.txt"
done

# The text report: one line per frame, inlined ones included.
line=$(sed -n 's/^direct 3 48 helper_inline:\([0-9]*\) leak_outer:\([0-9]*\).*/\1 \2/p' "$T/symtest.want")
set -- $line
# (file paths are as the compiler saw them: only their ends are compared)
expect_line() {
    if grep -qE -- "$2" "$1"; then pass "$3"; else fail "$3: no line matches $2"; cat "$1"; fi
}
expect_line "$T/symtest.txt" "^    #0 helper_inline [^ ]*symtest\.c:$1 \(symtest\+0x[0-9a-f]+\)$" \
    "text: inlined frame"
expect_line "$T/symtest.txt" "^    #1 leak_outer [^ ]*symtest\.c:$2 \(symtest\+0x[0-9a-f]+\)$" \
    "text: the function it was inlined into"
expect_line "$T/symtest.txt" "^    #0 lib_leak [^ ]*symlib\.c:[0-9]+ \(libsymlib\.so\+0x[0-9a-f]+\)$" \
    "text: dlclose'd library symbolized"

# Suppressions by function name and by source file.
printf 'leak:leak_outer\n' >"$T/fn.supp"
expect_status 23 "suppressed by function" $TOOL report --suppressions "$T/fn.supp" "$T/symtest.raw"
expect_grep "$T/err" "48 bytes in 3 blocks suppressed" "function pattern matched"
printf 'leak:*/symlib.c$\nleak:^helper_in*e$\n' >"$T/file.supp"
expect_status 0 "every leak suppressed by file and function: exit 0" \
    $TOOL report --suppressions "$T/file.supp" "$T/symtest.raw"
expect_grep "$T/err" "148 bytes in 4 blocks suppressed" "file and anchored function patterns matched"

# Debug info stripped: the symbol table still names the functions.
if command -v objcopy >/dev/null 2>&1 && objcopy --strip-debug tests/tool/symtest "$T/symtest_stripped" &&
   objcopy --strip-debug "$SYMLIB" "$T/libsymlib.so"; then
    "$T/symtest_stripped" "$T/stripped.raw" "$T/libsymlib.so" >"$T/stripped.want"
    expect_status 23 "stripped: report" $TOOL report --show-reachable --json "$T/stripped.json" "$T/stripped.raw"
    check_frames "stripped: names from the symbol table" "$T/stripped.json" "$T/stripped.want" stripped
else
    echo "SKIP: objcopy --strip-debug unavailable: symbol-table fallback not tested"
fi

# A module that is no longer there: ?? with module+offset.
rm -f "$T/libsymlib.so"
expect_status 23 "missing module" $TOOL report "$T/stripped.raw"
expect_grep "$T/err" "    #0 ?? (libsymlib.so+0x" "missing module shown as ??"

finish
