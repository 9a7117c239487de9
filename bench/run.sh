#!/bin/sh
# bench/run.sh: run every benchmark under every allocator, side by side.
#
# Usage: run.sh LIBRECLAIM_SO BENCH_BIN_DIR
# Environment: BENCH_REPS (default 3) runs per configuration, the best wall
#   time kept (noise on a shared machine only ever adds time) and the largest
#   peak RSS kept (the conservative figure); BENCH_BUDGET (default 20)
#   seconds per configuration after which no further repetition is started,
#   so a slow allocator cannot blow the time budget of `make bench`;
#   BENCH_TIMEOUT (default 120) seconds before one run is killed;
#   BENCH_ONLY (space-separated benchmark names) to run a subset.
#
# Runs glibc (no preload) and reclaim, plus jemalloc, tcmalloc, mimalloc and
# Boehm's libgc when installed and able to replace malloc (detected, never
# installed). Prints a table with time and peak-RSS ratios against glibc,
# checks that every run printed the same result line as glibc (MISMATCH,
# exit 1 otherwise), and says where reclaim stands against the project bars.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 LIBRECLAIM_SO BENCH_BIN_DIR" >&2
    exit 2
fi
lib=$1
bin=$2
reps=${BENCH_REPS:-3}
budget=${BENCH_BUDGET:-20}
timeout=${BENCH_TIMEOUT:-120}
measure=$bin/measure

if [ ! -f "$lib" ]; then
    echo "run.sh: $lib not found (build the library first)" >&2
    exit 2
fi
for p in measure churn bintree leaky gcpause; do
    if [ ! -x "$bin/$p" ]; then
        echo "run.sh: $bin/$p not built (use 'make bench')" >&2
        exit 2
    fi
done
case $lib in /*) ;; *) lib=$(pwd)/$lib ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reclaim-bench.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Allocators: "name preload" lines; an empty preload is glibc.
allocs="glibc -
reclaim $lib"
notes=
add_if_present() { # name candidate-sonames...
    name=$1
    shift
    for so in "$@"; do
        path=$("$measure" --probe "$so" 2>/dev/null)
        case $? in
        0)
            allocs="$allocs
$name $path"
            return
            ;;
        3)
            notes="$notes
  $name: $so is installed but does not define malloc (not a malloc replacement build); skipped"
            return
            ;;
        esac
    done
}
add_if_present jemalloc libjemalloc.so.2 libjemalloc.so
add_if_present tcmalloc libtcmalloc_minimal.so.4 libtcmalloc_minimal.so libtcmalloc.so.4
add_if_present mimalloc libmimalloc.so.2 libmimalloc.so
add_if_present boehm libgc.so.1 libgc.so

# Benchmarks: "name command..." (the command is relative to $bin).
benches="churn-1t churn 1
churn-2t churn 2
bintree-free bintree --free
bintree-nofree bintree --nofree
leaky leaky
leaky-fixed leaky --fixed-arrays
gcpause gcpause"
if [ -n "${BENCH_ONLY:-}" ]; then
    sel=
    for b in $BENCH_ONLY; do
        line=$(printf '%s\n' "$benches" | awk -v b="$b" '$1 == b')
        if [ -z "$line" ]; then
            echo "run.sh: unknown benchmark $b" >&2
            exit 2
        fi
        sel="$sel${sel:+
}$line"
    done
    benches=$sel
fi

echo "reclaim benchmarks: $reps run(s) per configuration (budget ${budget}s each), best time, max peak RSS"
echo "peak RSS: the largest of VmRSS sampled every 2 ms, after the program's last destructor, and as it exits (exact; ru_maxrss, off by up to 256 KiB, is in the raw lines)"
echo "allocators:$(printf '%s\n' "$allocs" | awk '{ printf " %s", $1 }')"
[ -n "$notes" ] && echo "not used:$notes"
echo

# One file of raw results, a line per run:
#   bench alloc rep wall user sys peak_kib status ok|MISMATCH ms_per_mib pause_ms maxrss_kib
# (ms_per_mib and pause_ms are - except for gcpause under a collector).
# peak_kib is the largest of measure's sampled VmRSS, the rss_end_kib line
# the program prints from its last destructor (bench/bench.h) and the VmRSS
# measure reads as it exits (after libc's teardown), all exact; the
# kernel's ru_maxrss (maxrss_kib) stands in only when none is there.
raw=$tmp/raw
: >"$raw"
failed=0
start=$(date +%s)
rep=1
while [ "$rep" -le "$reps" ]; do
    # Allocators alternate within a repetition so that a burst of load from
    # other processes is spread over all of them, not one.
    printf '%s\n' "$benches" | while read -r bname cmd; do
        printf '%s\n' "$allocs" | while read -r aname apath; do
            spent=$(awk -v b="$bname" -v a="$aname" '$1 == b && $2 == a { s += $4 } END { print s + 0 }' "$raw")
            if [ "$rep" -gt 1 ] && awk -v s="$spent" -v m="$budget" 'BEGIN { exit !(s > m) }'; then
                continue
            fi
            out=$tmp/$bname.$aname.$rep.out
            pre=
            [ "$apath" != - ] && pre=$apath
            # stdin is the list being read, hence </dev/null.
            # shellcheck disable=SC2086 # $cmd is a command line on purpose
            m=$("$measure" --timeout "$timeout" --preload "$pre" --stdout "$out" -- "$bin"/$cmd 2>"$tmp/err" </dev/null)
            if [ -s "$tmp/err" ]; then
                sed "s/^/  [$bname $aname] /" "$tmp/err" | head -n 5 >&2
            fi
            # The reference result line is glibc's first run.
            res=$(grep '^result:' "$out" 2>/dev/null | head -n 1)
            ok=ok
            if [ "$aname" = glibc ] && [ "$rep" -eq 1 ]; then
                printf '%s\n' "$res" >"$tmp/$bname.ref"
            fi
            if [ -z "$res" ] || [ "$res" != "$(cat "$tmp/$bname.ref")" ]; then
                ok=MISMATCH
                {
                    echo "MISMATCH: $bname under $aname (run $rep) printed:"
                    echo "    ${res:-(no result line)}"
                    echo "  glibc printed:"
                    ref=$(cat "$tmp/$bname.ref")
                    echo "    ${ref:-(no result line)}"
                } >>"$tmp/mismatches"
            fi
            pause=$(sed -n 's/.*ms_per_mib=\([0-9.]*\).*/\1/p' "$out" | head -n 1)
            pms=$(sed -n 's/^pause_ms=\([0-9.]*\).*/\1/p' "$out" | head -n 1)
            rend=$(sed -n 's/^rss_end_kib=\([0-9]*\)$/\1/p' "$out" | tail -n 1)
            printf '%s\n' "$m" | awk -v b="$bname" -v a="$aname" -v r="$rep" -v ok="$ok" \
                -v p="${pause:--}" -v pm="${pms:--}" -v rend="${rend:--1}" '{
                for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                peak = v["rss_sampled_kib"] + 0
                if (rend + 0 > peak) peak = rend + 0
                if (v["rss_exit_kib"] + 0 > peak) peak = v["rss_exit_kib"] + 0
                if (peak <= 0) peak = v["maxrss_kib"]
                print b, a, r, v["wall_s"], v["user_s"], v["sys_s"], peak, v["status"], ok, p, pm, v["maxrss_kib"]
            }' >>"$raw"
            printf '  %-15s %-9s run %d: %s %s\n' "$bname" "$aname" "$rep" "$m" "$ok" >&2
        done
    done
    rep=$((rep + 1))
done
end=$(date +%s)
echo >&2

# The table: per (bench, alloc) the best wall time, that run's CPU time, the
# largest peak RSS, and ratios to glibc's figures chosen the same way.
awk -v order="$(printf '%s\n' "$benches" | awk '{ printf "%s ", $1 }')" \
    -v aorder="$(printf '%s\n' "$allocs" | awk '{ printf "%s ", $1 }')" '
{
    k = $1 SUBSEP $2
    n[k]++
    if (!(k in wall) || $4 < wall[k]) { wall[k] = $4; cpu[k] = $5 + $6 }
    if ($7 > rss[k]) rss[k] = $7
    if ($8 != "exit:0") bad[k] = bad[k] " " $8
    if ($9 != "ok") mism[k] = 1
    if ($10 != "-" && (!(k in pause) || $10 < pause[k])) { pause[k] = $10; pms[k] = $11 }
}
# The project bars, judged for reclaim only: t and r are the time and RSS
# ratios to glibc, m the peak RSS in MiB, p the best ms per MiB live.
function verdict(ok, what) { return (ok ? "met" : "MISSED") " (" what ")" }
function bar(b, a, t, r, m, p) {
    if (a != "reclaim") return ""
    if (b ~ /^churn-/) return verdict(t <= 0.6 && r <= 1.1, "t<=0.6x, rss<=1.1x")
    if (b == "leaky") return verdict(t <= 1.0 && m < 16, "t<=1x, rss<16MiB")
    if (b == "leaky-fixed") return "no bar: stale roots in a live frame (see bench/leaky.c)"
    if (b == "bintree-nofree") return verdict(t <= 0.8 && m <= 48, "t<=0.8x, rss<=48MiB")
    if (b == "gcpause")
        return p == "" ? "MISSED (no reclaim_collect)" : verdict(p <= 1, "<=1ms/MiB")
    return ""
}
END {
    nb = split(order, B, " "); na = split(aorder, A, " ")
    fmt = "%-15s %-9s %8s %8s %9s %8s %8s %4s  %-8s %s\n"
    printf fmt, "benchmark", "allocator", "time_s", "cpu_s", "rss_MiB", "t/glibc", "rss/gl",
        "runs", "check", "bar / notes"
    for (i = 1; i <= nb; i++) for (j = 1; j <= na; j++) {
        b = B[i]; a = A[j]; k = b SUBSEP a; g = b SUBSEP "glibc"
        if (!(k in n)) continue
        m = rss[k] / 1024
        t = (wall[g] > 0) ? wall[k] / wall[g] : 0
        r = (rss[g] > 0) ? rss[k] / rss[g] : 0
        note = bar(b, a, t, r, m, (k in pause) ? pause[k] : "")
        if (b == "gcpause")
            note = ((k in pause) ? sprintf("pause %s ms, %s ms/MiB; ", pms[k], pause[k]) \
                                 : "pause n/a; ") note
        # A wrong result or a failed run misses the bar whatever the figures.
        if ((k in mism) || bad[k] != "") sub(/met \(/, "MISSED (", note)
        if (bad[k] != "") note = "FAILED:" bad[k] "; " note
        if (note ~ /(MISSED|met) \(/) { tot++; if (note ~ /met \(/) met++ }
        printf "%-15s %-9s %8.3f %8.3f %9.1f %7.2fx %7.2fx %4d  %-8s %s\n", b, a, wall[k], cpu[k],
            m, t, r, n[k], (k in mism) ? "MISMATCH" : "same", note
    }
    if (tot) printf "\nreclaim bars met: %d of %d\n", met, tot
}' "$raw"
echo "(total $((end - start)) s)"

if grep -q ' FAILED\|timeout\|signal:\|exit:[1-9]' "$raw"; then
    echo
    echo "FAILED: some runs did not exit 0 (see the table)"
    failed=1
fi
if [ -s "$tmp/mismatches" ]; then
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! MISMATCH: results differ from glibc's                    !!!"
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    cat "$tmp/mismatches"
    failed=1
fi
exit $failed
