#!/bin/sh
# tests/tool/e2e.sh: `reclaim leaks` with the real library on leaky_e2e,
# whose leaks are known: exact counts per category in the JSON, the
# leaking functions and their file:line in the text, a forked child's own
# report, exit statuses and suppressions; and `reclaim run`.
. "$srcdir/tests/tool/common.sh"
need_python
LIB=lib/.libs/libreclaim.so
SRC=$srcdir/tests/tool/leaky_e2e.c
PROG=tests/tool/leaky_e2e

if [ ! -f "$LIB" ] || ! grep -q RECLAIM_REPORT_PATH "$LIB"; then
    echo "SKIP: $LIB does not write raw reports (RECLAIM_REPORT_PATH) yet"
    exit 77
fi
line_of() { grep -n "LINE:$1 " "$SRC" | cut -d: -f1; }
MANY=$(line_of many) LIST=$(line_of list) CHILD=$(line_of child)

expect_status 23 "leaks found" $TOOL leaks --json "$T/e2e.json" -- $PROG
cp "$T/err" "$T/e2e.txt"
MANY=$MANY LIST=$LIST jcheck "exact counts and symbolized stacks" "$T/e2e.json" <<'PY'
len(objs) == 1 and objs[0]["command"] == "tests/tool/leaky_e2e"
[(l["kind"], l["bytes"], l["blocks"]) for l in leaks(objs[0])] == [("direct", 16000, 1000), ("indirect", 144, 9), ("direct", 16, 1)]
all(l["stack"][0]["file"].endswith("/leaky_e2e.c") for l in leaks(objs[0]))
(leaks(objs[0])[0]["stack"][0]["function"], leaks(objs[0])[0]["stack"][0]["line"]) == ("leak_many", int(__import__("os").environ["MANY"]))
all((l["stack"][0]["function"], l["stack"][0]["line"]) == ("leak_list", int(__import__("os").environ["LIST"])) for l in leaks(objs[0])[1:])
all(funcs(l)[1] == "main" for l in leaks(objs[0]))
all(not f["module"].endswith(".so") or "libreclaim" not in f["module"] for l in leaks(objs[0]) for f in l["stack"])
objs[0]["summary"] == {"direct_blocks": 1001, "direct_bytes": 16016, "indirect_blocks": 9, "indirect_bytes": 144, "reachable_blocks": 1, "reachable_bytes": 32, "suppressed_blocks": 0, "suppressed_bytes": 0}
PY
if grep -A1 '^Direct leak of 16000 bytes in 1000 blocks allocated from:$' "$T/e2e.txt" |
   grep -qE "^    #0 leak_many [^ ]*leaky_e2e\.c:$MANY \(leaky_e2e\+0x[0-9a-f]+\)$"; then
    pass "text: leak_many at leaky_e2e.c:$MANY"
else
    fail "text: leak_many frame"; cat "$T/e2e.txt"
fi
expect_no_grep "$T/e2e.txt" "libreclaim" "reclaim's own frames not shown"
expect_grep "$T/e2e.txt" "SUMMARY: reclaim: 16160 bytes leaked in 1010 allocations" "summary"

expect_status 23 "forked child" $TOOL leaks --json "$T/fork.json" -- $PROG fork
CHILD=$CHILD jcheck "the child reports its own leaks" "$T/fork.json" <<'PY'
len(objs) == 2 and objs[1]["ppid"] == objs[0]["pid"]
objs[0]["summary"]["direct_bytes"] == 16016
objs[1]["summary"]["direct_bytes"] == 16016 + 168
[(l["stack"][0]["function"], l["stack"][0]["line"]) for l in leaks(objs[1]) if l["bytes"] == 168] == [("child_leak", int(__import__("os").environ["CHILD"]))]
PY

# A shell asks itself for a report on demand, then becomes the program.
expect_status 23 "--signal, then exec" $TOOL leaks --signal USR1 --json "$T/od.json" -- \
    sh -c 'kill -USR1 $$; sleep 0.3; exec tests/tool/leaky_e2e'
jcheck "on-demand report of the shell, final report of the program it became" "$T/od.json" <<'PY'
objs[0]["pid"] == objs[1]["pid"] and objs[0]["time"] is not None
objs[0]["complete"] and objs[1]["exe"].endswith("/leaky_e2e")
objs[1]["summary"]["direct_bytes"] == 16016 and objs[1]["summary"]["indirect_bytes"] == 144
PY

expect_status 0 "--exitcode 0" $TOOL leaks --exitcode 0 -- $PROG
printf 'leak:leak_many\nleak:^leak_li*\n' >"$T/e2e.supp"
expect_status 0 "every leak suppressed" $TOOL leaks --suppressions "$T/e2e.supp" -- $PROG
expect_grep "$T/err" "16160 bytes in 1010 blocks suppressed" "suppressed counts"

expect_status 0 "reclaim run" $TOOL run -- $PROG
expect_status 0 "reclaim run --stats" $TOOL run --stats -- $PROG

finish
