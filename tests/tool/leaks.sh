#!/bin/sh
# tests/tool/leaks.sh: `reclaim leaks` driving a program, with
# libfakereclaim.so standing in for the library (it writes a fixture as
# each process's report), so that what is tested is the tool: the
# environment it sets, the exit status (the program's own, 23, --exitcode,
# 128+signal), reports of forked, exec'd and orphaned processes, on-demand
# reports, signals passed on to the program, and its private directory
# cleaned up.
. "$srcdir/tests/tool/common.sh"
need_python
LEAKS="$TOOL leaks --library $FAKELIB"
export FAKE_RECLAIM_FIXTURE="$FIX/leaky.raw"

# --- exit statuses ----------------------------------------------------------
FAKE_RECLAIM_FIXTURE="$FIX/clean.raw" expect_status 3 "no leaks: the program's status" \
    env FAKE_RECLAIM_FIXTURE="$FIX/clean.raw" $LEAKS -- "$ACTOR" exit:3
expect_grep "$T/err" "SUMMARY: reclaim: 0 bytes leaked in 0 allocations" "clean summary"
expect_status 23 "leaks: 23" $LEAKS -- "$ACTOR"
expect_grep "$T/err" "Direct leak of 48 bytes in 3 blocks allocated from:" "leak reported"
expect_grep "$T/err" "    #0 ?? (libfoo.so.1+0x1a2b)" "frames shown"
expect_status 23 "leaks win over the program's own failure" $LEAKS -- "$ACTOR" exit:3
expect_status 7 "--exitcode 7" $LEAKS --exitcode 7 -- "$ACTOR" exit:3
expect_status 3 "--exitcode 0: the program's status" $LEAKS --exitcode 0 -- "$ACTOR" exit:3
expect_status 0 "--exitcode 0, program succeeds" $LEAKS --exitcode 0 -- "$ACTOR"
printf 'leak:libfoo\nleak:actor\n' >"$T/all.supp"
expect_status 4 "all leaks suppressed: the program's status" \
    $LEAKS --suppressions "$T/all.supp" -- "$ACTOR" exit:4
expect_grep "$T/err" "64 bytes in 4 blocks suppressed" "suppressed counts"

expect_status 5 "no report written: the program's status" \
    env -u FAKE_RECLAIM_FIXTURE $LEAKS -- "$ACTOR" exit:5
expect_grep "$T/err" "wrote no leak report: was libreclaim.so loaded?" "missing report explained"

expect_status 139 "killed by SIGSEGV: 128+11" $LEAKS -- "$ACTOR" raise:11
expect_grep "$T/err" "was killed by SIGSEGV before it could write its leak report" "no report from a crash"
expect_grep "$T/err" "reclaim: $ACTOR was killed by SIGSEGV" "death by signal reported"

# --- outputs ------------------------------------------------------------------
expect_status 23 "--output and --json" $LEAKS --output "$T/leaks.txt" --json "$T/leaks.json" -- "$ACTOR" exit:0
expect_grep "$T/leaks.txt" "Indirect leak of 16 bytes in 1 block" "text report in --output"
expect_no_grep "$T/err" "leak of" "nothing on stderr with --output"
jcheck "JSON of a run" "$T/leaks.json" <<'PY'
len(objs) == 1 and objs[0]["exe"].endswith("/actor") and objs[0]["command"] == "actor"
objs[0]["summary"]["direct_blocks"] == 3 and objs[0]["summary"]["indirect_bytes"] == 16
PY

# --- processes -------------------------------------------------------------------
expect_status 23 "forked child" $LEAKS --json "$T/fork.json" -- "$ACTOR" fork
jcheck "parent and child each report, the program first" "$T/fork.json" <<'PY'
len(objs) == 2 and objs[1]["ppid"] == objs[0]["pid"]
all(o["summary"]["direct_blocks"] == 3 for o in objs)
PY
expect_grep "$T/err" "SUMMARY: reclaim: 128 bytes leaked in 8 allocations in all 2 processes" "total over processes"

expect_status 23 "exec'd program" $LEAKS --signal USR1 --json "$T/exec.json" -- "$ACTOR" signal:10 exec:/bin/true
jcheck "an exec'd program is followed" "$T/exec.json" <<'PY'
len(objs) == 2 and objs[0]["pid"] == objs[1]["pid"]
objs[0]["exe"].endswith("/actor") and objs[1]["exe"].endswith("/true")
PY

expect_status 23 "orphaned process waited for" $LEAKS --json "$T/orphan.json" -- "$ACTOR" orphan:400
jcheck "the orphan's report is there" "$T/orphan.json" <<'PY'
len(objs) == 2
PY
expect_grep "$T/err" "has exited; waiting for the processes it started to exit too" "waiting explained"

# --- on demand ----------------------------------------------------------------------
expect_status 23 "--signal: on-demand reports" $LEAKS --signal SIGUSR1 --json "$T/od.json" -- "$ACTOR" signal:10 signal:10
jcheck "two on-demand reports and the final one" "$T/od.json" <<'PY'
[(o["report"], o["reports"]) for o in objs] == [(1, 3), (2, 3), (3, 3)]
PY
expect_grep "$T/err" "; report 1 of 3" "reports numbered"
expect_status 143 "on-demand report of a program killed later" $LEAKS --signal 10 -- "$ACTOR" signal:10 raise:15
expect_grep "$T/err" "Direct leak of 48 bytes in 3 blocks" "what it wrote is reported"
expect_no_grep "$T/err" "before it could write" "no missing-report warning then"

# --- environment ----------------------------------------------------------------------
expect_status 0 "environment" env FAKE_RECLAIM_ENVLOG="$T/env.log" LD_PRELOAD= \
    $LEAKS --signal USR1 --exitcode 0 -- "$ACTOR"
expect_grep "$T/env.log" " RECLAIM_MODE=leaks " "RECLAIM_MODE=leaks"
expect_grep "$T/env.log" " RECLAIM_EXITCODE=0 " "RECLAIM_EXITCODE=0: the tool decides"
expect_grep "$T/env.log" " RECLAIM_REPORT_SIGNAL=10 " "RECLAIM_REPORT_SIGNAL as a number"
expect_grep "$T/env.log" " LD_PRELOAD=$FAKELIB" "library preloaded"
dir=$(sed -n 's/.* RECLAIM_REPORT_PATH=\([^ ]*\)\/report .*/\1/p' "$T/env.log")
if [ -n "$dir" ] && [ ! -e "$dir" ]; then pass "private report directory removed"
else fail "private report directory: '$dir'"; fi
expect_status 0 "no --signal" env FAKE_RECLAIM_ENVLOG="$T/env2.log" $LEAKS --exitcode 0 -- "$ACTOR"
expect_grep "$T/env2.log" " RECLAIM_REPORT_SIGNAL=(unset) " "no report signal unless asked"

# --- signals sent to the tool reach the program ---------------------------------------
$LEAKS -- "$ACTOR" sleep:20000 >"$T/out" 2>"$T/err" &
tool=$!
sleep 0.5
kill -TERM $tool
wait $tool
got=$?
[ $got = 143 ] && pass "SIGTERM to the tool ends the program (exit 143)" ||
    { fail "SIGTERM to the tool: exit $got"; cat "$T/err"; }

finish
