#!/bin/sh
# Demo: index corpus/ (the seeds, plus the State of the Union addresses if
# corpus/fetch-sotu.sh has been run), start trawld on a socket in the build
# directory, run a few searches with the trawl client, stop the daemon.
#
# Usage: sh scripts/demo.sh [BUILD_DIR]      (default: build; `make demo`)
set -eu

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case $build in
/*) ;;
*) build=$(pwd)/$build ;;
esac
bin=$build/bin
index=$build/demo-index
sock=$build/trawl.sock
log=$build/trawld.log

for prog in trawl-index trawld trawl; do
    if [ ! -x "$bin/$prog" ]; then
        echo "demo: $bin/$prog not found; build first (make build)" >&2
        exit 2
    fi
done

pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=
}
trap cleanup EXIT
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 141' PIPE
trap 'cleanup; exit 143' TERM

inputs="$root/corpus/seeds"
if [ -s "$root/corpus/sotu/sotu.jsonl" ]; then
    inputs="$inputs $root/corpus/sotu"
else
    echo "demo: corpus/sotu/ is missing; run 'make corpus' to add 233 State of the Union addresses"
fi

echo "== indexing into $index"
# shellcheck disable=SC2086 # $inputs is a list of paths without spaces
"$bin/trawl-index" --index "$index" $inputs

if "$bin/trawl" --socket "$sock" --ping >/dev/null 2>&1; then
    echo "demo: a trawld already listens on $sock; stop it first" >&2
    exit 2
fi

echo "== starting trawld on $sock (log: $log)"
"$bin/trawld" --index "$index" --socket "$sock" 2>"$log" &
pid=$!

tries=0
until "$bin/trawl" --socket "$sock" --ping >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: trawld exited; its log:" >&2
        cat "$log" >&2
        pid=
        exit 2
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 100 ]; then
        echo "demo: trawld did not answer within 10 s; its log:" >&2
        cat "$log" >&2
        exit 2
    fi
    sleep 0.1
done
"$bin/trawl" --socket "$sock" --ping

search() {
    echo
    echo "== trawl $*"
    rc=0
    "$bin/trawl" --socket "$sock" "$@" || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "demo: trawl $* failed (exit $rc)" >&2
        exit 2
    fi
}

search -n 3 "north korea"
search "charge d'affaires"
search consulting
search sanction
if [ -s "$root/corpus/sotu/sotu.jsonl" ]; then
    search -n 3 "income tax"
    search -n 3 --sort date "federal reserve"
    search -n 3 '"manifest destiny" OR "new frontier"'
    search -n 3 'author:roosevelt war'
fi

echo
echo "== trawl --stats"
"$bin/trawl" --socket "$sock" --stats

echo
echo "== stopping trawld"
cleanup
echo "demo: done"
