#!/bin/sh
# tests/tool/format.sh: hand-written raw report files (fixtures/) through
# `reclaim report`: the text and JSON reports (exact counts, grouping of
# equal stacks once reclaim's frames are dropped, largest first),
# suppressions and their counts, several reports of one process, several
# processes, damaged files, and the exit statuses.
. "$srcdir/tests/tool/common.sh"
need_python
export TZ=UTC

# --- basic.raw: one process, every kind of record -------------------------
expect_status 23 "leaks found: exit 23" $TOOL report --json "$T/basic.json" "$FIX/basic.raw"
cp "$T/err" "$T/basic.txt"
expect_grep "$T/basic.txt" "reclaim: process 100 (parent 1): ./server --port 8080 100%, at 2023-11-14 22:13:20" \
    "header: pid, parent, decoded command, time"
grep 'leak of' "$T/basic.txt" >"$T/order"
cat >"$T/order.want" <<'TXT'
Direct leak of 4096 bytes in 1 block allocated from:
Direct leak of 2400 bytes in 150 blocks allocated from:
Indirect leak of 144 bytes in 9 blocks allocated from:
Direct leak of 20 bytes in 2 blocks allocated from:
Direct leak of 10 bytes in 1 block allocated from:
TXT
if cmp -s "$T/order" "$T/order.want"; then pass "grouped by stack, largest first"
else fail "record order"; diff "$T/order.want" "$T/order"; fi
expect_grep "$T/basic.txt" "    #0 ?? (libfoo.so.1+0x1a2b)" "unknown function shown as ??"
expect_grep "$T/basic.txt" "    #1 ?? (server+0x1144)" "main executable named from the process line"
expect_grep "$T/basic.txt" "    (no stack recorded)" "record without a stack"
expect_grep "$T/basic.txt" "([unknown]+0x7f0000001000)" "frame outside any module"
expect_no_grep "$T/basic.txt" "libreclaim" "reclaim's own frames not shown"
expect_no_grep "$T/basic.txt" "reachable:" "reachable blocks not listed by default"
expect_grep "$T/basic.txt" "SUMMARY: reclaim: 6670 bytes leaked in 163 allocations (direct: 6526 bytes in 154 blocks, indirect: 144 bytes in 9 blocks); 64 bytes in 2 blocks still reachable; 0 bytes in 0 blocks suppressed." \
    "summary line"
jcheck "JSON of basic.raw" "$T/basic.json" <<'PY'
len(objs) == 1
objs[0]["pid"] == 100 and objs[0]["ppid"] == 1
objs[0]["command"] == "./server --port 8080 100%"
objs[0]["exe"] == "/fixture/bin/server"
objs[0]["time"] == 1700000000.25 and objs[0]["complete"] is True
objs[0]["report"] == 1 and objs[0]["reports"] == 1
[(l["kind"], l["bytes"], l["blocks"]) for l in leaks(objs[0])] == [("direct", 4096, 1), ("direct", 2400, 150), ("indirect", 144, 9), ("direct", 20, 2), ("direct", 10, 1)]
[f["module"] for f in leaks(objs[0])[1]["stack"]] == ["/fixture/lib/libfoo.so.1", "/fixture/bin/server", "/fixture/bin/server"]
[f["offset"] for f in leaks(objs[0])[1]["stack"]] == ["0x1a2b", "0x1144", "0x1200"]
leaks(objs[0])[1]["stack"][0] == {"function": None, "file": None, "line": None, "module": "/fixture/lib/libfoo.so.1", "offset": "0x1a2b", "inlined": False}
leaks(objs[0])[3]["stack"] == []
"reachable" not in objs[0]
objs[0]["summary"] == {"direct_blocks": 154, "direct_bytes": 6526, "indirect_blocks": 9, "indirect_bytes": 144, "reachable_blocks": 2, "reachable_bytes": 64, "suppressed_blocks": 0, "suppressed_bytes": 0}
PY

expect_status 23 "--show-reachable" $TOOL report --show-reachable --json "$T/r.json" "$FIX/basic.raw"
expect_grep "$T/err" "Still reachable: 64 bytes in 2 blocks allocated from:" "reachable listed"
jcheck "JSON reachable list" "$T/r.json" <<'PY'
[(l["kind"], l["bytes"], l["blocks"]) for l in objs[0]["reachable"]] == [("reachable", 64, 2)]
len(leaks(objs[0])) == 5
PY

expect_status 5 "--exitcode 5" $TOOL report --exitcode 5 "$FIX/basic.raw"
expect_status 0 "--exitcode 0" $TOOL report --exitcode 0 "$FIX/basic.raw"
expect_status 23 "--output FILE" $TOOL report --output "$T/out.txt" "$FIX/basic.raw"
expect_grep "$T/out.txt" "SUMMARY: reclaim: 6670 bytes leaked" "text report written to --output"
[ -s "$T/err" ] && fail "--output: stderr not empty" || pass "--output: nothing on stderr"
expect_status 2 "--json into a missing directory" $TOOL report --json /nonexistent/dir/x.json "$FIX/basic.raw"
expect_grep "$T/err" "--json /nonexistent/dir/x.json:" "unwritable --json explained"
expect_status 0 "no leaks: exit 0" $TOOL report "$FIX/clean.raw"
expect_grep "$T/err" "SUMMARY: reclaim: 0 bytes leaked in 0 allocations; 64 bytes in 2 blocks still reachable" \
    "summary without leaks"

# --- suppressions -----------------------------------------------------------
expect_status 23 "suppressed by module" $TOOL report --suppressions "$FIX/modules.supp" \
    --json "$T/s.json" "$FIX/basic.raw"
expect_no_grep "$T/err" "Direct leak of 2400" "suppressed record not shown"
expect_grep "$T/err" "SUMMARY: reclaim: 4270 bytes leaked in 13 allocations (direct: 4126 bytes in 4 blocks, indirect: 144 bytes in 9 blocks); 64 bytes in 2 blocks still reachable; 2400 bytes in 150 blocks suppressed." \
    "suppressed counts in the summary"
expect_grep "$T/err" "leak:libfoo.so" "suppressions used are listed"
expect_no_grep "$T/err" "leak:no_such_function_anywhere" "unused suppressions are not"
jcheck "JSON with suppressions" "$T/s.json" <<'PY'
objs[0]["summary"]["direct_blocks"] == 4 and objs[0]["summary"]["direct_bytes"] == 4126
objs[0]["summary"]["suppressed_blocks"] == 150 and objs[0]["summary"]["suppressed_bytes"] == 2400
[l["bytes"] for l in leaks(objs[0])] == [4096, 144, 20, 10]
PY
printf 'leak:^/fixture/lib/libfoo*$\n' >"$T/anchored.supp"
expect_status 23 "anchored pattern" $TOOL report --suppressions "$T/anchored.supp" "$FIX/basic.raw"
expect_grep "$T/err" "2400 bytes in 150 blocks suppressed" "^...*\$ matches the whole path"
printf 'leak:^libfoo\nleak:libfoo.so.1$x\n' >"$T/nomatch.supp"
expect_status 23 "patterns that must not match" $TOOL report --suppressions "$T/nomatch.supp" "$FIX/basic.raw"
expect_grep "$T/err" "0 bytes in 0 blocks suppressed" "^ anchors at the start of the name"
printf 'leak:server\n' >"$T/server.supp"
expect_status 23 "pattern matching most stacks" $TOOL report --suppressions "$T/server.supp" "$FIX/basic.raw"
expect_grep "$T/err" "SUMMARY: reclaim: 20 bytes leaked in 2 allocations (direct: 20 bytes in 2 blocks, indirect: 0 bytes in 0 blocks); 64 bytes in 2 blocks still reachable; 6650 bytes in 161 blocks suppressed." \
    "substring match on the module path"
printf '# all of it\nleak:second\n' >"$T/second.supp"
expect_status 0 "every leak suppressed: exit 0" $TOOL report --suppressions "$T/second.supp" "$FIX/exec.raw"
expect_status 2 "bad suppression line" $TOOL report --suppressions "$FIX/bad.supp" "$FIX/basic.raw"
expect_grep "$T/err" "bad.supp:2: unknown suppression type 'called_from_lib'" "bad suppression explained"
expect_status 2 "missing suppression file" $TOOL report --suppressions "$T/none.supp" "$FIX/basic.raw"

# --- several reports and processes -------------------------------------------
expect_status 23 "on-demand reports" $TOOL report --json "$T/od.json" "$FIX/ondemand.raw"
expect_grep "$T/err" "reclaim: process 300 (parent 1): daemon -f; report 1 of 2, at 2023-11-14 22:13:20" \
    "first report headed by its number and time"
expect_grep "$T/err" "report 2 of 2, at 2023-11-14 22:14:20" "second report headed too"
jcheck "JSON: one object per report" "$T/od.json" <<'PY'
[(o["report"], o["reports"]) for o in objs] == [(1, 2), (2, 2)]
[o["summary"]["direct_bytes"] for o in objs] == [16, 48]
[l["bytes"] for l in leaks(objs[1])] == [32, 16]
PY
mkdir "$T/dir"
cp "$FIX/child.raw" "$T/dir/report.101"
cp "$FIX/basic.raw" "$T/dir/report.100"
expect_status 23 "a directory of reports" $TOOL report --json "$T/dir.json" "$T/dir"
jcheck "JSON: processes in pid order" "$T/dir.json" <<'PY'
[o["pid"] for o in objs] == [100, 101]
objs[1]["ppid"] == 100 and objs[1]["summary"]["direct_blocks"] == 7
PY
expect_grep "$T/err" "SUMMARY: reclaim: 6838 bytes leaked in 170 allocations in all 2 processes; 0 bytes in 0 blocks suppressed." \
    "total over processes"
expect_status 23 "exec'd program in the same file" $TOOL report --json "$T/exec.json" "$FIX/exec.raw"
jcheck "JSON: an exec'd program is a process of its own" "$T/exec.json" <<'PY'
[(o["pid"], o["command"], o["summary"]["direct_bytes"]) for o in objs] == [(200, "first", 0), (200, "second arg", 500)]
[o["reports"] for o in objs] == [1, 1]
PY

# --- damaged input -------------------------------------------------------------
expect_status 23 "truncated report still read" $TOOL report --json "$T/t.json" "$FIX/truncated.raw"
expect_grep "$T/err" "ends without its 'end' line" "truncated report flagged"
expect_grep "$T/err" "(incomplete: the process stopped while writing this report)" "incomplete block marked"
expect_grep "$T/err" "Direct leak of 64 bytes in 2 blocks" "its records shown"
jcheck "JSON of a truncated report" "$T/t.json" <<'PY'
objs[0]["complete"] is False and objs[0]["summary"]["direct_bytes"] == 64
PY
expect_status 23 "malformed lines skipped" $TOOL report --json "$T/m.json" "$FIX/malformed.raw"
expect_grep "$T/err" "malformed.raw:5: malformed frame in 'stack' line" "bad frame located"
expect_grep "$T/err" "malformed.raw:6: 'stack' line names a module that no 'module' line defined" "unknown module located"
expect_grep "$T/err" "malformed.raw:8: malformed 'record' line" "bad number located"
expect_grep "$T/err" "malformed.raw:9: malformed 'record' line" "bad kind located"
expect_grep "$T/err" "malformed.raw:10: 'record' line names a stack" "unknown stack located"
expect_no_grep "$T/err" "a-future-line" "unknown line types skipped quietly"
jcheck "JSON of a damaged report" "$T/m.json" <<'PY'
[(l["bytes"], l["blocks"]) for l in leaks(objs[0])] == [(64, 2), (8, 1)]
objs[0]["summary"]["direct_blocks"] == 3 and objs[0]["summary"]["direct_bytes"] == 72
PY
printf 'hello\n' >"$T/notreport"
expect_status 2 "not a report file" $TOOL report "$T/notreport"
expect_grep "$T/err" "not a reclaim report file" "not a report explained"
expect_status 2 "missing report file" $TOOL report "$T/missing.raw"
expect_status 2 "no file given" $TOOL report

finish
