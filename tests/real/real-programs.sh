#!/bin/bash
# Real programs nobody here wrote, run under reclaim.
#
#   real-programs.sh --lib PATH/libreclaim.so [--leaky PATH/examples/leaky]
#                    [--timeout SECONDS] [--list] [PATTERN...]
#
# Each check is a small piece of real work (python3 running part of its own
# regression test suite, perl, sqlite3, git, gcc, sort, awk, sed, grep,
# tar+gzip/xz, bc, find|xargs, make, bash, diff). It runs three times, each
# in a fresh directory on the same input data:
#
#   plain               no library: the reference
#   default options     LD_PRELOAD=libreclaim.so
#   collect-every 4M    LD_PRELOAD=libreclaim.so RECLAIM_COLLECT_EVERY=4M
#
# and each preloaded run must print exactly what the plain run printed on
# stdout and exit with the same status. Any line starting with "reclaim:"
# on the stderr of a preloaded run is a failure too. One line per check and
# configuration, then "N passed, N failed" alone on a line; the exit status
# is 1 if anything failed, 77 (automake's SKIP) if there is no shared
# library to preload, 0 otherwise.
#
# PATTERNs (shell globs) select checks by name, e.g. 'python3*' or 'git'.
# RECLAIM_REAL_KEEP=1 keeps the work directory for inspection.
#
# Only the programs each check runs are preloaded; this script's own shell
# is not. Inside a check, a command that fails (non-zero status, pipefail)
# prints "[status N: line L]" on stdout, so a program that crashes halfway
# through a check cannot hide behind a later command's success.

set -u

self=$(readlink -f "$0")

# ---------------------------------------------------------------------------
# The checks. Each runs in a fresh empty directory (the current directory),
# with $DATA holding the shared input and HOME/TMPDIR inside the run
# directory. Whatever it prints on stdout is compared.

PY_TESTS="test_json test_re test_collections test_dict test_list test_set
  test_string test_bisect test_heapq test_itertools test_functools
  test_gc test_unicode test_decimal test_thread test_threading_local
  test_ctypes"
# CPython serves small objects from its own mmap'd arenas; with
# PYTHONMALLOC=malloc every object comes from reclaim's heap instead.
PY_MALLOC_TESTS="test_json test_dict test_gc test_threading_local"

# The first N lines of the input, reading all of it: `head` would leave the
# writer to die of SIGPIPE or not, depending on timing, and pipefail would
# tell.
first() { sed -n "1,${1}p"; }

py_norm() {
    # regrtest stamps lines with elapsed time and load average.
    sed -E 's/^[0-9]+:[0-9]{2}:[0-9]{2} (load avg: [0-9.]+ )?//
            /^Total duration:/d
            /^-- running:/d
            s/[0-9]+(\.[0-9]+)? ?(sec|ms|min)\b/<T>/g'
}

t_python() {
    PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
        /usr/bin/python3 -m test "$1" 2>&1 | py_norm
}

t_python_malloc() {
    PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
        /usr/bin/python3 -m test "$1" 2>&1 | py_norm
}

t_perl_text() {
    perl -e '
        my (%count, %first, @lines);
        open my $fh, "<", $ARGV[0] or die "$ARGV[0]: $!";
        while (my $l = <$fh>) {
            chomp $l;
            push @lines, $l;
            for my $w ($l =~ /\b([a-z]{3,})\b/g) {
                $count{$w}++;
                $first{$w} //= $.;
            }
        }
        my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 29];
        printf "%-14s %6d first at line %d\n", $_, $count{$_}, $first{$_} for @top;
        printf "%d distinct words, %d lines\n", scalar(keys %count), scalar(@lines);

        # A big hash with sprintf keys, deleted from and sorted numerically.
        my %h;
        $h{sprintf("k%07d", ($_ * 7919) % 200003)} = $_ * 3 for 1 .. 200000;
        delete $h{sprintf("k%07d", $_)} for grep { $_ % 5 == 0 } 1 .. 200000;
        my @v = sort { $a <=> $b } values %h;
        printf "hash: %d keys, median %d, sum %d\n", scalar(@v), $v[@v / 2], eval { my $s = 0; $s += $_ for @v; $s };

        # Regex rewriting with captures, tr, reverse, join/split.
        my $n = 0;
        my $out = "";
        for (@lines[0 .. 4999]) {
            (my $x = $_) =~ s/(\w+) (\w+)/$2-$1/g;
            $x =~ tr/a-m/N-Z/;
            $n += () = $x =~ /[aeiou]{2}/g;
            $out .= join(",", reverse split / /, $x) . "\n";
        }
        printf "vowel pairs %d, rewritten %d bytes\n", $n, length $out;
        my @sorted = sort { length($a) <=> length($b) or $a cmp $b } split /\n/, $out;
        print "$sorted[0]\n$sorted[-1]\n";
    ' "$DATA/text.txt"
}

t_perl_modules() {
    perl -MDigest::MD5=md5_hex -MDigest::SHA=sha256_hex -MStorable=freeze,thaw \
         -MData::Dumper -MJSON::PP -MList::Util=sum,max,shuffle -MPOSIX=floor \
         -MEncode=encode,decode -e '
        srand(42);
        my $data = { map { ("key$_" => { n => $_, list => [ map { $_ * $_ } 1 .. ($_ % 40) ],
                                        name => "item" x ($_ % 7) }) } 1 .. 3000 };
        my $frozen = freeze($data);
        my $back = thaw($frozen);
        print "storable round trip: ", (sum(map { $back->{$_}{n} } keys %$back)), "\n";
        local $Data::Dumper::Sortkeys = 1;
        local $Data::Dumper::Indent = 1;
        my $dump = Dumper($back);
        print "dumper: ", length($dump), " bytes, md5 ", md5_hex($dump), "\n";
        my $json = JSON::PP->new->canonical->encode($back);
        print "json: sha256 ", sha256_hex($json), "\n";
        my $again = JSON::PP->new->decode($json);
        print "json max n: ", max(map { $_->{n} } values %$again), "\n";
        my $u = decode("UTF-8", encode("UTF-8", join "", map { chr(0x400 + $_ % 200) } 1 .. 50000));
        print "utf8: ", length($u), " chars, md5 ", md5_hex(encode("UTF-8", $u)), "\n";
        my $ctx = Digest::MD5->new;
        $ctx->add("block $_\n" x 50) for 1 .. 2000;
        print "streamed md5 ", $ctx->hexdigest, ", floor ", floor(1e6 / 7), "\n";
    '
}

t_perl_threads() {
    perl -Mthreads -e '
        my @t = map { my $k = $_; threads->create(sub {
            my %h; my $s = 0;
            for my $i (1 .. 60000) { $h{"$k:$i"} = [$i, "x" x ($i % 50)]; }
            $s += $h{$_}[0] for keys %h;
            return $s + $k;
        }) } 1 .. 4;
        print "thread sums: ", join(" ", map { $_->join } @t), "\n";
    '
}

t_sqlite3() {
    sqlite3 test.db <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE grp(id INTEGER PRIMARY KEY, label TEXT NOT NULL);
WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 96)
INSERT INTO grp SELECT x, 'group-' || printf('%02d', x) FROM c;
CREATE TABLE item(id INTEGER PRIMARY KEY, grp INT REFERENCES grp(id), name TEXT, val REAL, note BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO item SELECT x, (x * 31) % 97, printf('name-%06d-%s', (x * 7919) % 100003, hex(x * 13)),
                        ((x * 37) % 1000) / 7.0, zeroblob(x % 64)
FROM c;
CREATE INDEX item_grp ON item(grp);
CREATE INDEX item_name ON item(name);
SELECT count(*), round(sum(val), 3), min(name), max(name) FROM item;
SELECT g.label, count(*), round(avg(i.val), 4), max(i.name), sum(length(i.note))
  FROM item i JOIN grp g ON g.id = i.grp
 GROUP BY g.label ORDER BY count(*) DESC, g.label LIMIT 12;
SELECT a.grp, count(*) FROM item a JOIN item b ON b.id = a.id + 1 WHERE a.val > b.val GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 5;
SELECT name, rank() OVER (PARTITION BY grp ORDER BY val DESC, id) AS r FROM item WHERE grp = 5 ORDER BY r, name LIMIT 5;
UPDATE item SET val = val * 2 WHERE grp IN (SELECT id FROM grp WHERE label LIKE '%7');
DELETE FROM item WHERE id % 10 = 3;
SELECT count(*), round(sum(val), 3) FROM item;
SELECT group_concat(label, ',') FROM (SELECT label FROM grp ORDER BY label DESC LIMIT 10);
CREATE TABLE words AS SELECT DISTINCT substr(name, 6, 3) AS w FROM item;
SELECT count(*), max(w) FROM words;
VACUUM;
PRAGMA integrity_check;
EOF
    sqlite3 test.db 'SELECT count(*) FROM item WHERE name > "name-05"; SELECT sum(id) FROM item INDEXED BY item_grp WHERE grp BETWEEN 10 AND 20;'
}

t_git() {
    export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME='A U Thor' GIT_AUTHOR_EMAIL=author@example.com \
           GIT_COMMITTER_NAME='C O Mitter' GIT_COMMITTER_EMAIL=committer@example.com
    local t=1700000000
    stamp() { t=$((t + 3600)); export GIT_AUTHOR_DATE="@$t +0000" GIT_COMMITTER_DATE="@$t +0000"; }
    git init -q -b main repo
    cd repo
    cp -R "$DATA/tree/." .
    stamp; git add -A; git commit -q -m 'import the tree'
    for i in 1 2 3 4 5 6; do
        find . -path ./.git -prune -o -name "*$i.txt" -print | sort | xargs sed -i "s/^\(.*\)$i\(.*\)\$/\1[$i]\2/"
        printf 'change %d\n' "$i" >> "d0$i/NOTES"
        stamp; git add -A; git commit -q -m "change $i"
    done
    git checkout -q -b feature HEAD~3
    sed -i 's/e/E/g' d01/f011.txt d02/f022.txt
    stamp; git commit -q -am 'feature: shout'
    git checkout -q main
    stamp; git merge -q --no-edit --no-ff feature
    git log --format='%H %an %ad %s' --date=iso-strict
    git log --stat --format='== %s' | tail -n 40
    git diff --stat HEAD~4 HEAD | tail -n 3
    git diff HEAD~2 HEAD | md5sum
    git show --format=%B HEAD~1:d03/NOTES
    git grep -c 'word[0-9]' HEAD -- d05 | first 5
    git blame -s d01/f011.txt | md5sum
    git gc -q
    git fsck --full --strict --no-progress
    git rev-list --all --objects | wc -l
    git archive --format=tar HEAD | tar -tf - | sort | md5sum
    git status --porcelain | wc -l
}

t_gcc() {
    cp "$DATA/gen.c" "$DATA/words.c" .
    gcc -O2 -Wall -Wextra -o prog gen.c words.c
    ./prog "$DATA/text.txt"
    gcc -O0 -g -o prog0 gen.c words.c
    ./prog0 "$DATA/text.txt" | md5sum
    cat > warn.c <<'EOF'
#include <stdio.h>
static int unused(int x) { return x * 2; }
int main(void)
{
    int i;
    unsigned u = 3;
    char buf[4];
    if (u > -1) puts("never");
    sprintf(buf, "%d", 123456);
    return i;
}
EOF
    gcc -Wall -Wextra -O2 -fsyntax-only warn.c 2>&1 || true
    gcc -E -P gen.c | md5sum
}

t_sort() {
    sort -n -k3,3 -k1,1n "$DATA/nums.tsv" | md5sum
    sort -t "$(printf '\t')" -k2,2 -k1,1nr "$DATA/nums.tsv" | md5sum
    sort -u -k2,2 "$DATA/nums.tsv" | wc -l
    sort -S 1M -n "$DATA/nums.tsv" | tail -n 3
    sort --parallel=2 -r "$DATA/text.txt" | first 3
    sort -R --random-source="$DATA/nums.tsv" "$DATA/text.txt" | md5sum
    cut -f2 "$DATA/nums.tsv" | sort | uniq -c | sort -k1,1nr -k2 | first 10
}

t_awk() {
    local awk=$1
    "$awk" '{ for (i = 1; i <= NF; i++) n[$i]++ } END { for (w in n) print n[w], w }' "$DATA/text.txt" \
        | sort -k1,1nr -k2 | first 20
    "$awk" -F '\t' '{ s[$2] += $1; c[$2]++; if ($3 > m) m = $3 } END { for (k in s) printf "%s %d %.3f\n", k, c[k], s[k] / c[k]; print "max", m }' \
        "$DATA/nums.tsv" | sort | md5sum
    "$awk" '{ line[NR] = $0 } END { for (i = NR; i > 0; i -= 97) out = out substr(line[i], 1, 10); print length(out); print substr(out, 1, 60) }' "$DATA/text.txt"
    "$awk" 'BEGIN { for (i = 0; i < 200000; i++) a[sprintf("%x", i * 2654435761 % 4294967296)] = i; n = 0; for (k in a) if (a[k] % 3 == 0) n++; print n; split("x y z", t); print t[3] }'
}

t_gawk() {
    gawk 'BEGIN { PROCINFO["sorted_in"] = "@val_num_desc" }
          { for (i = 1; i <= NF; i++) n[$i]++ }
          END { c = 0; for (w in n) { if (c++ < 10) print w, n[w] }
                m = asorti(n, k); print m, k[1], k[m]
                print gensub(/([a-z]+)([0-9]+)/, "\\2\\1", "g", "abc123 def456") }' "$DATA/text.txt"
    t_awk gawk
}

t_sed() {
    sed -E 's/([a-z]+)([0-9]+)/\2\1/g; /^a/d; y/abcdef/ABCDEF/' "$DATA/text.txt" | md5sum
    head -n 2000 "$DATA/text.txt" | sed -n '1!G;h;$p' | md5sum
    sed -n '/word1[0-9]/{s/ +/ /g;p}' "$DATA/text.txt" | wc -l
    sed -e ':a' -e 'N;$!ba' -e 's/\n/|/g' "$DATA/nums.tsv" | wc -c
    sed -n '$!d;=' "$DATA/text.txt"
}

t_grep() {
    grep -cE '(ka|lo)[a-z]*( |$)' "$DATA/text.txt"
    grep -oE '\b[a-z]{2}[0-9]+\b' "$DATA/text.txt" | sort | uniq -c | sort -k1,1nr -k2 | first 10
    grep -vcE 'word[0-9]' "$DATA/text.txt"
    grep -nE '(\b[a-z]+\b) \1' "$DATA/text.txt" | first 5
    grep -ciw 'ZUKA' "$DATA/text.txt"
    grep -rlE 'word1[23]' "$DATA/tree" | sed "s|$DATA/||" | sort | md5sum
    grep -F -f <(head -n 200 "$DATA/words.lst") -c "$DATA/text.txt"
}

t_tar() {
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$DATA" -cf tree.tar tree
    md5sum < tree.tar
    gzip -n -6 -c tree.tar > tree.tar.gz
    md5sum < tree.tar.gz
    xz -6 -T1 -c tree.tar > tree.tar.xz
    md5sum < tree.tar.xz
    mkdir a b
    tar -xzf tree.tar.gz -C a
    xz -dc tree.tar.xz | tar -xf - -C b
    diff -r "$DATA/tree" a/tree && echo 'gzip round trip ok'
    diff -r "$DATA/tree" b/tree && echo 'xz round trip ok'
    tar -tvzf tree.tar.gz | first 5
    gzip -9 -n -c "$DATA/text.txt" | gzip -dc | cmp - "$DATA/text.txt" && echo 'gzip -9 ok'
    head -c 1000000 "$DATA/nums.tsv" | xz -1 | xz -dc | md5sum
}

t_bc() {
    echo 'scale=1000; 4*a(1)' | bc -l
    echo 'define f(n) { if (n < 2) return 1; return n * f(n - 1); }
          x = f(1200); length(x); x % 1000000007
          s = 0; for (i = 1; i <= 3000; i++) s = s + 1 / i; scale = 50; s
          obase = 16; 2^512 - 1' | bc -l
}

t_find_xargs() {
    cd "$DATA"
    find tree -type f -name '*.txt' -print0 | sort -z | xargs -0 -n 25 md5sum | md5sum
    find tree -type f | sort | xargs wc -l | tail -n 1
    find tree -type f -size +2k | wc -l
    find tree -regextype posix-extended -regex '.*/f0[0-9]{2}\.txt' | sort | first 5
    find tree -type f -name '*.txt' | xargs -P 2 -n 30 grep -l 'word7' | sort | md5sum
    find tree -type d | sort | xargs -I{} sh -c 'printf "%s %s\n" "{}" "$(ls {} | wc -l)"' | tail -n 4
}

t_make() {
    {
        printf 'N := $(shell seq 1 300)\n'
        printf 'OUT := $(patsubst %%,out/f%%.txt,$(N))\n'
        printf 'all: sum.txt\n'
        printf 'out:\n\tmkdir -p out\n'
        printf 'out/f%%.txt: | out\n\t@printf "%%s %%s\\n" "$*" "$(words $(filter %%0,$(N)))" > $@\n'
        printf 'define RULE\nx$(1): ; @true\nendef\n$(foreach n,$(N),$(eval $(call RULE,$(n))))\n'
        printf 'sum.txt: $(OUT) $(addprefix x,$(N))\n\t@cat $(sort $(OUT)) | md5sum > $@\n\t@echo "$(words $(OUT)) files"\n\t@cat $@\n'
    } > Makefile
    make -s -j2 --no-print-directory
    make -s -j2 --no-print-directory && echo 'second make: nothing to do'
    make -s -pq --no-print-directory 2>/dev/null | grep -c '^out/f' || true
}

t_bash() {
    bash -c '
        declare -A h
        for ((i = 0; i < 20000; i++)); do h["k$((i * 7919 % 20011))"]=$i; done
        echo "${#h[@]} keys"
        s=0; for k in "${!h[@]}"; do s=$((s + h[$k])); done; echo "sum $s"
        str=""; for ((i = 0; i < 3000; i++)); do str+="${i}abc"; done
        echo "${#str} ${str:1000:20} ${str//abc/}" | md5sum
        mapfile -t lines < "$1"; echo "${#lines[@]} lines"
        printf "%s\n" "${lines[@]:100:3}"
        a=(${lines[5]}); echo "${a[*]^^}"
    ' bash "$DATA/text.txt"
}

t_diff() {
    sed 's/word1/WORD1/; 50~37d' "$DATA/text.txt" > changed.txt
    diff -u --label old --label new "$DATA/text.txt" changed.txt > d.patch || echo "diff exit $?"
    md5sum < d.patch
    cp "$DATA/text.txt" patched.txt
    patch -s patched.txt < d.patch && cmp patched.txt changed.txt && echo 'patch applies'
    cmp "$DATA/nums.tsv" "$DATA/text.txt" || echo "cmp exit $?"
}

t_leaky() {
    # The bundled example: compare everything but the peak memory line.
    "$LEAKY" 30000 | grep -v '^peak resident memory'
}

# ---------------------------------------------------------------------------
# Input data, made once by the (unpreloaded) script with a deterministic
# generator, shared read-only by every run.

make_data() {
    local d=$1
    mkdir -p "$d/tree"
    # Park-Miller: exact in the doubles every awk uses.
    awk -v out="$d" '
        function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }
        BEGIN {
            seed = 42
            split("ka lo mi nu pe ra si to vu we xa yo zu ba ce di", syl, " ")
            for (i = 1; i <= 600; i++) {
                w = ""
                k = 2 + rnd(3)
                for (j = 0; j < k; j++) w = w syl[1 + rnd(16)]
                if (rnd(5) == 0) w = w rnd(100)
                words[i] = w
                print w > (out "/words.lst")
            }
            for (l = 1; l <= 40000; l++) {
                line = ""
                n = 6 + rnd(9)
                for (j = 0; j < n; j++) {
                    r = rnd(600); r = (r * rnd(600)) % 600
                    line = line (j ? " " : "") (rnd(40) ? words[1 + r] : "word" rnd(30))
                }
                print line > (out "/text.txt")
            }
            for (l = 1; l <= 200000; l++)
                printf "%d\t%s\t%d.%03d\n", rnd(1000000), words[1 + rnd(600)], rnd(5000), rnd(1000) > (out "/nums.tsv")
            for (f = 0; f < 300; f++) {
                dir = sprintf("%s/tree/d%02d", out, f % 10)
                if (f < 10) system("mkdir -p " dir)
                file = sprintf("%s/f%03d.txt", dir, f)
                n = 5 + rnd(60)
                for (l = 0; l < n; l++) {
                    line = ""
                    for (j = 0; j < 8; j++) line = line words[1 + rnd(600)] " "
                    print line "word" rnd(20) > file
                }
                close(file)
            }
            for (f = 0; f < 10; f++) print "notes for d" f > sprintf("%s/tree/d%02d/NOTES", out, f)
        }'

    # A generated C file of some size for gcc: many small functions with
    # loops, switches and arithmetic, called through a table.
    awk 'BEGIN {
        print "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>"
        print "unsigned long count_words(const char *path, unsigned long *distinct);"
        nf = 150
        for (f = 0; f < nf; f++) {
            printf "static unsigned long f%d(unsigned long x)\n{\n", f
            printf "    unsigned long a = x * %dUL + %d;\n", 2 * f + 1, f
            printf "    for (int i = 0; i < %d; i++) {\n", 3 + f % 9
            printf "        switch ((a >> i) & 7) {\n"
            for (c = 0; c < 8; c++)
                printf "        case %d: a = a * %d + (a >> %d) + %d; break;\n", c, 3 + (f * 7 + c) % 29, 1 + (f + c) % 17, c * f
            printf "        }\n    }\n    return a ^ (a >> 13);\n}\n"
        }
        printf "static unsigned long (*const table[%d])(unsigned long) = {\n", nf
        for (f = 0; f < nf; f++) printf "    f%d,\n", f
        print "};"
        print "int main(int argc, char **argv)\n{\n    unsigned long total = 0;"
        printf "    for (unsigned long r = 0; r < 200; r++)\n        for (int f = 0; f < %d; f++) {\n", nf
        print "            total += table[f](r * 1000 + (unsigned long)f);"
        print "            if (r == 199 && f % 50 == 0) printf(\"f%03d: %016lx\\n\", f, total);\n        }"
        print "    printf(\"total %016lx\\n\", total);"
        print "    if (argc > 1) {\n        unsigned long distinct;\n        unsigned long n = count_words(argv[1], &distinct);"
        print "        printf(\"%lu words, %lu distinct\\n\", n, distinct);\n    }\n    return 0;\n}"
    }' > "$d/gen.c"

    # A second translation unit that uses the allocator at run time: a
    # chained hash table of words, grown by realloc, sorted with qsort.
    cat > "$d/words.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry { char *word; unsigned long n; struct entry *next; };

static struct entry **buckets;
static size_t nbuckets = 16, nentries;

static size_t hash(const char *s)
{
    size_t h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h;
}

static void grow(void)
{
    size_t nb = nbuckets * 2;
    struct entry **b = calloc(nb, sizeof *b);
    if (!b) { perror("calloc"); exit(1); }
    for (size_t i = 0; i < nbuckets; i++)
        for (struct entry *e = buckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = hash(e->word) % nb;
            e->next = b[k];
            b[k] = e;
        }
    free(buckets);
    buckets = b;
    nbuckets = nb;
}

static void add(const char *w)
{
    size_t k = hash(w) % nbuckets;
    for (struct entry *e = buckets[k]; e; e = e->next)
        if (!strcmp(e->word, w)) { e->n++; return; }
    struct entry *e = malloc(sizeof *e);
    if (!e || !(e->word = strdup(w))) { perror("malloc"); exit(1); }
    e->n = 1;
    e->next = buckets[k];
    buckets[k] = e;
    if (++nentries > nbuckets * 2)
        grow();
}

static int by_count(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->word, y->word);
}

unsigned long count_words(const char *path, unsigned long *distinct)
{
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(1); }
    buckets = calloc(nbuckets, sizeof *buckets);
    char *line = NULL;
    size_t cap = 0;
    unsigned long total = 0;
    while (getline(&line, &cap, f) > 0)
        for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n")) {
            add(t);
            total++;
        }
    free(line);
    fclose(f);
    struct entry **all = NULL;
    size_t n = 0;
    for (size_t i = 0; i < nbuckets; i++)
        for (struct entry *e = buckets[i]; e; e = e->next) {
            if ((n & (n - 1)) == 0) {
                all = realloc(all, (n ? 2 * n : 1) * sizeof *all);
                if (!all) { perror("realloc"); exit(1); }
            }
            all[n++] = e;
        }
    qsort(all, n, sizeof *all, by_count);
    for (size_t i = 0; i < n && i < 8; i++)
        printf("%-12s %lu\n", all[i]->word, all[i]->n);
    for (size_t i = 0; i < n; i++) {
        free(all[i]->word);
        free(all[i]);
    }
    free(all);
    free(buckets);
    *distinct = n;
    return total;
}
EOF
}

# ---------------------------------------------------------------------------
# One run of one check, in a child bash started by timeout(1), so that a
# hung program is killed with its whole process group.

if [ "${1:-}" = --child ]; then
    run=$2 DATA=$3 lib=$4 mode=$5 LEAKY=$6
    shift 6
    export DATA LEAKY
    cd "$run" || exit 99
    mkdir -p home tmp work
    export HOME=$run/home TMPDIR=$run/tmp LC_ALL=C TZ=UTC
    cd work || exit 99
    case $mode in
    plain)   unset LD_PRELOAD ;;
    default) export LD_PRELOAD=$lib ;;
    collect) export LD_PRELOAD=$lib RECLAIM_COLLECT_EVERY=4M ;;
    *)       echo "unknown mode $mode" >&2; exit 99 ;;
    esac
    set -o pipefail -o errtrace
    trap 'echo "[status $? at line $LINENO]"' ERR
    "$@"
    exit
fi

# ---------------------------------------------------------------------------
# The driver.

lib= leaky= timeout_s=300 list=0
patterns=()
while [ $# -gt 0 ]; do
    case $1 in
    --lib) lib=$2; shift 2 ;;
    --leaky) leaky=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$self"; exit 0 ;;
    -*) echo "real-programs.sh: unknown option $1" >&2; exit 2 ;;
    *) patterns+=("$1"); shift ;;
    esac
done

# Start from a clean environment as far as we are concerned.
keep=${RECLAIM_REAL_KEEP:-0}
unset LD_PRELOAD PYTHONMALLOC PYTHONHASHSEED PYTHONSTARTUP PYTHONPATH GIT_DIR GIT_WORK_TREE
# Run from `make check`, the make of a check would otherwise join the outer
# make's job server and print "Entering directory".
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS MAKE_TERMOUT MAKE_TERMERR
for v in $(compgen -e); do
    case $v in RECLAIM_*) unset "$v" ;; esac
done

names=() cmds=() skips=()
add() { names+=("$1"); shift; cmds+=("$*"); }
need() {    # need PROGRAM CHECK-NAME: true if installed, else records a SKIP
    if command -v "$1" > /dev/null 2>&1; then
        return 0
    fi
    skips+=("$2: $1 is not installed")
    return 1
}

if [ -x /usr/bin/python3 ] &&
   /usr/bin/python3 -c 'import test.libregrtest, test.test_json' > /dev/null 2>&1; then
    for t in $PY_TESTS; do add "python3 $t" t_python "$t"; done
    for t in $PY_MALLOC_TESTS; do add "python3 PYTHONMALLOC=malloc $t" t_python_malloc "$t"; done
else
    skips+=("python3: /usr/bin/python3 or its test suite (Debian: libpython3.11-testsuite) is not installed")
fi
if need perl perl; then
    add "perl text" t_perl_text
    add "perl modules" t_perl_modules
    if perl -Mthreads -e 1 > /dev/null 2>&1; then
        add "perl threads" t_perl_threads
    else
        skips+=("perl threads: this perl has no thread support")
    fi
fi
need sqlite3 sqlite3 && add "sqlite3" t_sqlite3
need git git && add "git" t_git
need gcc gcc && add "gcc" t_gcc
need sort sort && add "sort" t_sort
need mawk mawk && add "mawk" t_awk mawk
need gawk gawk && add "gawk" t_gawk
need sed sed && add "sed" t_sed
need grep grep && add "grep -E" t_grep
{ need tar tar && need gzip tar && need xz tar; } && add "tar+gzip+xz" t_tar
need bc bc && add "bc" t_bc
{ need find find && need xargs find; } && add "find|xargs" t_find_xargs
need make make && add "make" t_make
add "bash" t_bash
{ need diff diff && need patch diff; } && add "diff+patch" t_diff
if [ -n "$leaky" ]; then
    if [ -x "$leaky" ]; then
        add "examples/leaky" t_leaky
    else
        skips+=("examples/leaky: $leaky was not built")
    fi
fi

selected() {
    [ ${#patterns[@]} -eq 0 ] && return 0
    local p
    for p in "${patterns[@]}"; do
        # shellcheck disable=SC2053
        [[ $1 == $p ]] && return 0
    done
    return 1
}

if [ $list = 1 ]; then
    for i in "${!names[@]}"; do selected "${names[$i]}" && echo "${names[$i]}"; done
    for s in "${skips[@]}"; do echo "SKIP $s"; done
    exit 0
fi

if [ -z "$lib" ]; then
    echo "real-programs.sh: --lib PATH/libreclaim.so is required" >&2
    exit 2
fi
if [ ! -f "$lib" ]; then
    echo "SKIP all: $lib does not exist (configured with --disable-shared?)"
    exit 77
fi
lib=$(readlink -f "$lib")
[ -n "$leaky" ] && leaky=$(readlink -f "$leaky")

work=$(mktemp -d "${TMPDIR:-/tmp}/reclaim-real.XXXXXX") || exit 99
cleanup() {
    if [ "$keep" = 1 ]; then
        echo "work directory kept: $work"
    else
        chmod -R u+w "$work" 2> /dev/null
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

start=$SECONDS
echo "library: $lib"

# The library must really be loaded: ld.so only warns when it cannot
# preload, and every check below would then pass without testing anything.
if LD_PRELOAD=$lib cat /proc/self/maps > "$work/maps" 2> "$work/maps.err" &&
   grep -qF "$lib" "$work/maps" && ! grep -q . "$work/maps.err"; then
    pass "library is preloaded"
else
    fail "library is preloaded"
    sed 's/^/    /' "$work/maps.err"
    echo "$passed passed, $failed failed"
    exit 1
fi

make_data "$work/data" || { fail "generating input data"; echo "$passed passed, $failed failed"; exit 1; }
chmod -R a-w "$work/data"

for s in "${skips[@]}"; do echo "SKIP $s"; done

ms() { date +%s%N | cut -c1-13; }

# run_once IDX MODE: runs check IDX in mode MODE; sets st_MODE and t_MODE.
run_once() {
    local i=$1 mode=$2 dir=$work/run/$1.$2 t0 st
    mkdir -p "$dir"
    t0=$(ms)
    # shellcheck disable=SC2086
    timeout -k 10 "$timeout_s" bash "$self" --child "$dir" "$work/data" "$lib" "$mode" "$leaky" \
        ${cmds[$i]} > "$dir/stdout" 2> "$dir/stderr" < /dev/null
    st=$?
    printf -v "st_$mode" %d "$st"
    printf -v "t_$mode" %s "$(( ($(ms) - t0) / 100 ))"
}

secs() { printf '%d.%ds' $(($1 / 10)) $(($1 % 10)); }

for i in "${!names[@]}"; do
    name=${names[$i]}
    selected "$name" || continue
    run_once "$i" plain
    ref=$work/run/$i.plain
    if [ "$st_plain" = 124 ] || [ "$st_plain" = 137 ]; then
        fail "$name (timed out after ${timeout_s}s without the library; check skipped)"
        continue
    fi
    for mode in default collect; do
        case $mode in
        default) label="default options" ;;
        collect) label="collect-every 4M" ;;
        esac
        run_once "$i" "$mode"
        dir=$work/run/$i.$mode
        st_var=st_$mode t_var=t_$mode
        st=${!st_var}
        why=()
        if [ "$st" = 124 ] || [ "$st" = 137 ]; then
            why+=("timed out after ${timeout_s}s")
        elif [ "$st" != "$st_plain" ]; then
            why+=("exit status $st, plain run $st_plain")
        fi
        cmp -s "$ref/stdout" "$dir/stdout" || why+=("stdout differs")
        grep -q '^reclaim:' "$dir/stderr" && why+=("reclaim wrote to stderr")
        grep -q '^reclaim:' "$dir/stdout" && why+=("a reclaim message in the output")
        timing="$(secs "${!t_var}"), plain $(secs "$t_plain")"
        if [ ${#why[@]} -eq 0 ]; then
            pass "$name ($label)  [$timing]"
        else
            fail "$name ($label): $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')  [$timing]"
            if ! cmp -s "$ref/stdout" "$dir/stdout"; then
                echo "    --- stdout, plain vs preloaded (first lines of the diff):"
                diff -u "$ref/stdout" "$dir/stdout" | sed -n '3,42s/^/    /p'
            fi
            echo "    --- stderr of the preloaded run (last lines):"
            { grep -h '^reclaim:' "$dir/stderr" "$dir/stdout" | sed -n 1,10p; tail -n 15 "$dir/stderr"; } |
                sed 's/^/    /'
        fi
    done
    # Runs can be big (git repositories, archives): keep only on request.
    if [ "$keep" != 1 ]; then
        chmod -R u+w "$work/run/$i".* 2> /dev/null
        rm -rf "$work/run/$i".*
    fi
done

echo "time: $((SECONDS - start))s"
[ ${#skips[@]} -gt 0 ] && echo "${#skips[@]} skipped (see SKIP lines above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
