#!/bin/sh
# tests/tool/corpus.sh: the rest of issue 4's corpus, through `reclaim
# leaks --json` with the real library: a leak in a joined thread while a
# running thread holds blocks on its stack and in TLS, a realloc chain and a
# failed p = realloc(p, huge), strdup/getline/asprintf leaks showing the
# user's frame under libc's, and blocks reachable only from globals or from
# an mmap'd page (not leaks). Counts are exact.
. "$srcdir/tests/tool/common.sh"
need_python
LIB=lib/.libs/libreclaim.so
PROG=tests/tool/corpus
if [ ! -f "$LIB" ] || ! grep -q RECLAIM_REPORT_PATH "$LIB"; then
    echo "SKIP: $LIB does not write raw reports yet"
    exit 77
fi

expect_status 23 "thread: leaks found" $TOOL leaks --json "$T/thread.json" -- $PROG thread
jcheck "thread: the joined thread's 3 blocks, nothing held by the running one" "$T/thread.json" <<'PY'
[(l["kind"], l["blocks"], l["bytes"]) for l in leaks(objs[0])] == [("direct", 3, 144)]
funcs(leaks(objs[0])[0])[0] == "leaky_thread"
objs[0]["summary"]["indirect_blocks"] == 0
PY

expect_status 23 "realloc: leaks found" $TOOL leaks --json "$T/realloc.json" -- $PROG realloc
jcheck "realloc: the end of the chain and the block a failed realloc lost" "$T/realloc.json" <<'PY'
sorted((l["kind"], l["blocks"], l["bytes"]) for l in leaks(objs[0])) == [("direct", 1, 77), ("direct", 1, 1000)]
sorted(funcs(l)[0] for l in leaks(objs[0])) == ["failed_realloc", "realloc_chain"]
PY

expect_status 23 "libc: leaks found" $TOOL leaks --json "$T/libc.json" -- $PROG libc
jcheck "libc: strdup, getline and asprintf, each under the user's frame" "$T/libc.json" <<'PY'
objs[0]["summary"]["direct_blocks"] == 3 and objs[0]["summary"]["indirect_blocks"] == 0
all(funcs(l)[0] != "use_libc" and "use_libc" in funcs(l) for l in leaks(objs[0]))
all(l["stack"][0]["module"].split("/")[-1].startswith("libc.so") for l in leaks(objs[0]))
PY

expect_status 0 "globals: no leak, the program's own status" $TOOL leaks --json "$T/globals.json" -- $PROG globals
jcheck "globals: reachable, counted" "$T/globals.json" <<'PY'
objs[0]["summary"]["direct_blocks"] == 0 and objs[0]["summary"]["reachable_blocks"] >= 5
PY

expect_status 0 "mmap: no leak" $TOOL leaks --json "$T/mmap.json" -- $PROG mmap
jcheck "mmap: a block held only by an mmap'd page is reachable" "$T/mmap.json" <<'PY'
objs[0]["summary"]["direct_blocks"] == 0 and objs[0]["summary"]["reachable_blocks"] >= 1
PY
finish
