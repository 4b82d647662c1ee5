#!/bin/sh
# Ranking of phrases typed without quotes, measured (bench/gen_spans.py):
#
#   sh bench/spans.sh [--build DIR] [--out DIR] [--depths 30,100,0]
#                     [--sizes real,synth-10k]
#
# For each corpus bench/data/NAME.jsonl: indexes it with DIR/bin/trawl-index
# (DIR: a Release build, default build-bench), writes the span sets
# (OUT/NAME-{span,common,rare,title}.txt, 300 queries each, seeded), builds
# trawl_bench against DIR/core/libtrawl_core.a, and prints MRR@10 and
# success@1/10 of each set and of bench/data/known-NAME.txt, per depth.
# OUT (default bench/out/spans) keeps the indexes and sets between runs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build-bench
out=$root/bench/out/spans
depths=30
sizes=real,synth-10k
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --depths) depths=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    *) echo "usage: spans.sh [--build DIR] [--out DIR] [--depths 30,100,0]" \
            "[--sizes real,synth-10k]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
cc -std=gnu17 -O2 -I "$root/core/include" -o "$out/trawl_bench" \
    "$here/trawl_bench.c" "$build/core/libtrawl_core.a" \
    $(pkg-config --libs libzstd libxxhash libutf8proc jansson) \
    -lstemmer -lpthread -lm
for name in $(echo "$sizes" | tr , ' '); do
    corpus=$here/data/$name.jsonl
    [ -f "$corpus" ] || { echo "spans.sh: no $corpus (run bench/run.sh first)" >&2; exit 2; }
    [ -d "$out/idx-$name" ] ||
        "$build/bin/trawl-index" --index "$out/idx-$name" -q --full "$corpus"
    [ -f "$out/$name-title.txt" ] ||
        python3 "$here/gen_spans.py" "$corpus" "$out/$name"
    for d in $(echo "$depths" | tr , ' '); do
        for set in span common rare title known; do
            f=$out/$name-$set.txt
            [ "$set" = known ] && f=$here/data/known-$name.txt
            [ -f "$f" ] || continue
            printf '%-10s %-7s depth %-5s ' "$name" "$set" "$d"
            "$out/trawl_bench" known "$out/idx-$name" "$f" --depth "$d" |
                sed 's/.*"mrr10":\([0-9.]*\),"success1":\([0-9.]*\),"success10":\([0-9.]*\).*/MRR@10 \1  s@1 \2  s@10 \3/'
        done
    done
done
