#!/bin/bash
# Indexer stress (docs/fuzzing.md, ThreadSanitizer): a full build with a
# 1 MiB budget (many runs flushed, merged at commit), 40 --add runs then a
# --merge of many segments, a rerun with updates and deletions; each
# checked with --check. Run it with a TSan or ASan build's binaries.
#   tests/stress/indexer_stress.sh BIN_DIR WORK_DIR CORPUS.jsonl
# WORK_DIR is removed and made again.
set -u
B=${1:?usage: $0 BIN_DIR WORK_DIR CORPUS.jsonl}
W=${2:?usage: $0 BIN_DIR WORK_DIR CORPUS.jsonl}
C=${3:?usage: $0 BIN_DIR WORK_DIR CORPUS.jsonl}
rm -rf "$W"
mkdir -p "$W/parts"
split -n l/40 -d -a 2 --additional-suffix=.jsonl "$C" "$W/parts/p"
t0=$(date +%s)
echo "== full build --memory 1"
"$B/trawl-index" --index "$W/ix1" --memory 1 "$C" 2>&1 | tail -3
echo "rc ${PIPESTATUS[0]}"
echo "== merge"; "$B/trawl-index" --index "$W/ix1" --merge 2>&1 | tail -2
echo "== check"; "$B/trawl-index" --check "$W/ix1" | tail -1
echo "== 40 --add runs, --memory 1"
for f in "$W"/parts/*.jsonl; do
    "$B/trawl-index" --index "$W/ix2" --add --memory 1 -q "$f" ||
        echo "add $f failed"
done
ls "$W/ix2" | grep -c '^seg-'
echo "== merge of many"; "$B/trawl-index" --index "$W/ix2" --merge 2>&1 | tail -2
echo "== check"; "$B/trawl-index" --check "$W/ix2" | tail -1
echo "== rerun with edits (deletes + updates), --memory 2"
sed 's/"body": "/"body": "edited /' "$W/parts/p00.jsonl" > "$W/parts/p00.jsonl.new" &&
    mv "$W/parts/p00.jsonl.new" "$W/parts/p00.jsonl"
rm "$W/parts/p01.jsonl"
"$B/trawl-index" --index "$W/ix2" --memory 2 "$W/parts" 2>&1 | tail -2
"$B/trawl-index" --index "$W/ix2" --merge 2>&1 | tail -2
"$B/trawl-index" --check "$W/ix2" | tail -1
echo "elapsed $(( $(date +%s) - t0 )) s"
