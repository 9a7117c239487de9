#!/bin/sh
# tests/tool/cli.sh: the tool's command line: --help, --version, bad
# options, a program that is missing, not executable or statically linked
# (refused without running it), and `reclaim run`.
. "$srcdir/tests/tool/common.sh"

expect_status 0 "--version" $TOOL --version
expect_grep "$T/out" "reclaim 0.1.0" "--version prints the version"
expect_status 0 "--help" $TOOL --help
expect_grep "$T/out" "reclaim leaks [OPTIONS] [--] PROGRAM" "--help shows the synopsis"
for cmd in run leaks report; do
    expect_status 0 "$cmd --help" $TOOL $cmd --help
    expect_grep "$T/out" "reclaim $cmd:" "$cmd --help describes $cmd"
done
expect_status 2 "no arguments" $TOOL
expect_status 2 "unknown command" $TOOL frobnicate
expect_grep "$T/err" "unknown command 'frobnicate'" "unknown command is named"
expect_status 2 "unknown option" $TOOL leaks --frob -- true
expect_grep "$T/err" "reclaim: leaks: unknown option '--frob'" "unknown option is named"
expect_status 2 "missing option argument" $TOOL leaks --json
expect_grep "$T/err" "option '--json' needs an argument" "missing argument is named"
expect_status 2 "bad --exitcode" $TOOL leaks --exitcode 300 -- true
expect_grep "$T/err" "--exitcode wants a number from 0 to 255" "bad --exitcode explained"
expect_status 2 "bad --signal" $TOOL leaks --signal NOPE -- true
expect_status 2 "uncatchable --signal" $TOOL leaks --signal KILL -- true
expect_grep "$T/err" "SIGKILL cannot trigger a report" "uncatchable signal explained"
expect_status 2 "--stats is not a leaks option" $TOOL leaks --stats -- true
expect_status 2 "no program" $TOOL leaks --
expect_grep "$T/err" "leaks: no program to run" "missing program explained"

# Every message is one line starting with "reclaim: ".
$TOOL leaks --frob -- true 2>"$T/err"
if [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^reclaim: ' "$T/err"; then
    pass "errors are one line starting with 'reclaim: '"
else
    fail "error message shape"; cat "$T/err"
fi

expect_status 127 "program not found" $TOOL leaks -- no-such-program-here
expect_grep "$T/err" "reclaim: no-such-program-here: command not found" "not found explained"
expect_status 127 "program path not found" $TOOL run ./no/such/path
printf 'not executable\n' >"$T/noexec"
chmod 644 "$T/noexec"
expect_status 126 "program not executable" $TOOL leaks -- "$T/noexec"
expect_grep "$T/err" "permission denied" "not executable explained"
expect_status 2 "--library that does not exist" $TOOL leaks --library "$T/nope.so" -- true

# A statically linked program is refused without being run.
CC_FOR_TEST=${CC:-cc}
cat >"$T/static.c" <<'SRC'
#include <stdio.h>
int main(void) { puts("static program ran"); return 0; }
SRC
if $CC_FOR_TEST -static -o "$T/static" "$T/static.c" 2>/dev/null && [ -x "$T/static" ]; then
    expect_status 2 "static binary refused" $TOOL leaks -- "$T/static"
    expect_grep "$T/err" "is statically linked; LD_PRELOAD cannot reach it (link it with -lreclaim instead)" \
        "static binary explained"
    expect_no_grep "$T/out" "static program ran" "static binary not run"
    [ "$(wc -l <"$T/err")" -eq 1 ] && pass "static refusal is one line" || fail "static refusal is one line"
    expect_status 2 "static binary refused by run" $TOOL run -- "$T/static"
    # Found through PATH as well.
    expect_status 2 "static binary refused through PATH" env PATH="$T:$PATH" $TOOL leaks static
    # A script whose interpreter is static is refused too.
    printf '#!%s\n' "$T/static" >"$T/script"
    chmod +x "$T/script"
    expect_status 2 "script with a static interpreter refused" $TOOL leaks -- "$T/script"
else
    echo "SKIP: $CC_FOR_TEST -static does not link (no libc.a?): static refusal not tested"
fi

# run: the library preloaded in collect mode, the program's status kept.
expect_status 3 "run keeps the program's status" \
    $TOOL run --library "$FAKELIB" -- sh -c 'echo "$RECLAIM_MODE $RECLAIM_STATS $LD_PRELOAD"; exit 3'
expect_grep "$T/out" "collect  $FAKELIB" "run sets RECLAIM_MODE=collect and LD_PRELOAD"
expect_status 0 "run --stats" \
    $TOOL run --stats --library "$FAKELIB" -- sh -c 'echo "stats=$RECLAIM_STATS"'
expect_grep "$T/out" "stats=1" "run --stats sets RECLAIM_STATS=1"
expect_status 0 "existing LD_PRELOAD kept" \
    env LD_PRELOAD=/lib/nothing.so $TOOL run --library "$FAKELIB" -- sh -c 'echo "$LD_PRELOAD"'
expect_grep "$T/out" "$FAKELIB:/lib/nothing.so" "the library goes first in LD_PRELOAD"
# The program's own options are not taken for the tool's.
expect_status 0 "program options after the program name" \
    $TOOL run --library "$FAKELIB" sh -c 'echo "$0" --stats' x
expect_grep "$T/out" "x --stats" "options after PROGRAM belong to PROGRAM"

finish
