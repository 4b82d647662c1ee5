#!/bin/sh
# Run one libFuzzer target (docs/fuzzing.md):
#   tests/fuzz/run.sh BUILD_DIR TARGET SECONDS [WORK_DIR] [libFuzzer flags...]
# New inputs go to WORK_DIR/corpus-TARGET (default: a directory under
# ${TMPDIR:-/tmp}), findings to WORK_DIR/artifacts-TARGET/; the checked-in
# seeds in tests/fuzz/corpus/TARGET are read, never written.
set -eu
build=$1 target=$2 secs=$3
work=${4:-${TMPDIR:-/tmp}/trawl-fuzz}
[ $# -ge 4 ] && shift 4 || shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/corpus-$target" "$work/artifacts-$target"
dict=
case $target in
query) dict=$here/query.dict ;;
article|jsonid|proto) dict=$here/json.dict ;;
html) dict=$here/html.dict ;;
esac
exec "$build/bin/fuzz_$target" -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts-$target/" \
    ${dict:+-dict="$dict"} "$@" \
    "$work/corpus-$target" "$here/corpus/$target"
