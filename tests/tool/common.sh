# tests/tool: what the tool's test scripts share. Sourced; they run from
# the top of the build tree, with $srcdir exported by the test harness
# (run one by hand as: srcdir=/path/to/source sh /path/to/source/tests/tool/X.sh).

: "${srcdir:=.}"
TOOL=./tools/reclaim
FIX=$srcdir/tests/tool/fixtures
FAKELIB=$PWD/tests/tool/.libs/libfakereclaim.so
ACTOR=$PWD/tests/tool/actor
failures=0

T=$(mktemp -d "${TMPDIR:-/tmp}/reclaim-tooltest.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

if [ ! -x "$TOOL" ]; then
    echo "ERROR: $TOOL not built (run from the build directory)"
    exit 99
fi

pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_status WANT DESCRIPTION COMMAND... : runs COMMAND, stdout and
# stderr into $T/out and $T/err.
expect_status() {
    want=$1 what=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" = "$want" ]; then
        pass "$what (exit $got)"
    else
        fail "$what: exit $got, expected $want"
        sed 's/^/    err: /' "$T/err" | head -20
    fi
}

# expect_grep FILE FIXED-STRING DESCRIPTION
expect_grep() {
    if grep -qF -- "$2" "$1"; then
        pass "$3"
    else
        fail "$3: '$2' not in $(basename "$1")"
        sed 's/^/    | /' "$1" | head -40
    fi
}

expect_no_grep() {
    if grep -qF -- "$2" "$1"; then
        fail "$3: '$2' unexpectedly in $(basename "$1")"
        sed 's/^/    | /' "$1" | head -40
    else
        pass "$3"
    fi
}

# need_python: JSON is checked with python3's json module.
need_python() {
    if ! command -v python3 >/dev/null 2>&1; then
        echo "SKIP: python3 is needed to check the JSON output"
        exit 77
    fi
}

# jcheck DESCRIPTION JSONFILE PYTHON-EXPRESSIONS: each stdin line is a
# Python assertion over `objs` (the list of parsed JSON lines); helpers:
# leaks(o) (the leaks list), funcs(leak) (the function names of its stack).
jcheck() {
    what=$1 file=$2
    if python3 -c '
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
def leaks(o): return o["leaks"]
def funcs(l): return [f["function"] for f in l["stack"]]
for n, line in enumerate(sys.stdin, 1):
    line = line.strip()
    if line and not eval(line):
        print("    assertion %d failed: %s" % (n, line))
        print("    json: " + open(sys.argv[1]).read()[:3000])
        sys.exit(1)
' "$file"; then
        pass "$what"
    else
        fail "$what"
    fi
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed"
        exit 1
    fi
    exit 0
}
