#!/bin/sh
# Benchmark trawl against SQLite FTS5, Xapian and Sphinx on the same corpora and
# queries, print a table and write bench/RESULTS.md. See bench/README.md.
#
# Usage: sh bench/run.sh [--short | --full] [run.py options, e.g. --sizes 10k,100k]
#   --short (default)  real corpus + synthetic 10k, 1000 queries each
#   --full             real corpus + synthetic 10k, 100k and 1M
#   --scale            trawl only, synthetic 10k, 100k and 1M with a 1 GiB
#                      indexing budget: bench/scale.py, bench/RESULTS-scale.md
# Environment: BENCH_BUILD (build dir, default build-bench), BENCH_SRC (the
# trawl source tree to build, default this checkout; e.g. a `git archive`
# export of a commit while the working tree is being edited), BENCH_COMMIT
# (how RESULTS.md names that source; default: git rev-parse HEAD), CC, CXX.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
build=${BENCH_BUILD:-build-bench}
src=${BENCH_SRC:-.}
bin="$here/out"
jobs=$(nproc 2>/dev/null || echo 2)
CC=${CC:-cc}
CXX=${CXX:-g++}
command="sh bench/run.sh $*"

sh scripts/install-deps.sh build-essential cmake pkg-config libuv1-dev \
    libxxhash-dev libstemmer-dev libcmocka-dev libutf8proc-dev libjansson-dev \
    libzstd-dev libuchardet-dev zlib1g-dev libxml2-dev libstreamvbyte-dev python3 sqlite3 libsqlite3-dev \
    libxapian-dev g++ sphinxsearch libmariadb-dev
# sphinxsearch: Sphinx 2.2 (indexer, searchd). Debian's package does not
# start searchd (START=no in /etc/default/sphinxsearch, and no
# /etc/sphinxsearch/sphinx.conf); run.py starts its own searchd on a
# private Unix socket for the length of the query runs.
# npm is needed only to fetch the State of the Union corpus; a Node.js
# installed from elsewhere (NodeSource, nvm) already has one, and Debian's
# npm package would conflict with it.
[ -s corpus/sotu/sotu.jsonl ] || command -v npm >/dev/null 2>&1 ||
    sh scripts/install-deps.sh npm

# trawl itself, optimised. Warnings stay warnings here: a Release build can
# raise -O3-only diagnostics that the Debug builds (-Werror) do not.
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTRAWL_WERROR=OFF >/dev/null
fi
echo "bench: building trawl (Release) in $build"
mkdir -p "$bin"
if ! cmake --build "$build" -j "$jobs" --target trawl_core trawl-index trawld \
        >"$bin/build.log" 2>&1; then
    cat "$bin/build.log" >&2
    echo "bench: the trawl build failed" >&2
    exit 1
fi

# The bench programs (not part of the CMake project: they need the peers'
# libraries, which trawl itself does not).
CFLAGS="-std=gnu17 -O2 -g -Wall -Wextra"
deps=$(pkg-config --libs libxxhash libutf8proc jansson libzstd)
newer() { # newer TARGET SOURCES...: true if TARGET is missing or older
    t=$1; shift
    [ -f "$t" ] || return 0
    for s in "$@"; do [ "$s" -nt "$t" ] && return 0; done
    return 1
}
lib="$build/core/libtrawl_core.a"
if newer "$bin/trawl_bench" bench/trawl_bench.c bench/benchutil.h "$lib"; then
    $CC $CFLAGS -I"$src/core/include" -o "$bin/trawl_bench" bench/trawl_bench.c "$lib" \
        $deps -lstemmer -lstreamvbyte -lpthread -lm
fi
if newer "$bin/fts5_bench" bench/fts5_bench.c bench/benchutil.h; then
    $CC $CFLAGS -o "$bin/fts5_bench" bench/fts5_bench.c -lsqlite3 -ljansson -lpthread
fi
if newer "$bin/xapian_bench" bench/xapian_bench.cc bench/benchutil.h; then
    $CXX -std=c++17 -O2 -g -Wall -Wextra -o "$bin/xapian_bench" bench/xapian_bench.cc \
        -lxapian -ljansson -lpthread
fi
if newer "$bin/rss_run" bench/rss_run.c; then
    $CC $CFLAGS -o "$bin/rss_run" bench/rss_run.c
fi
if newer "$bin/daemon_bench" bench/daemon_bench.c bench/benchutil.h; then
    $CC $CFLAGS -o "$bin/daemon_bench" bench/daemon_bench.c -lpthread
fi
if newer "$bin/sphinx_bench" bench/sphinx_bench.c bench/benchutil.h; then
    # shellcheck disable=SC2046
    $CC $CFLAGS $(pkg-config --cflags libmariadb) -o "$bin/sphinx_bench" bench/sphinx_bench.c \
        $(pkg-config --libs libmariadb) -lpthread
fi

mode=--short
rest=""
for a in "$@"; do
    case "$a" in
    --short | --full | --scale) mode=$a ;;
    *) rest="$rest $a" ;;
    esac
done
if [ "$mode" = --scale ]; then
    # trawl alone at 10k, 100k and 1M documents: bench/scale.py writes
    # bench/RESULTS-scale.md (scale.py options, e.g. --sizes, --memory)
    # shellcheck disable=SC2086
    exec python3 bench/scale.py --build "$build" --bin "$bin" --command "$command" \
        ${BENCH_COMMIT:+--trawl-commit "$BENCH_COMMIT"} $rest
fi
# shellcheck disable=SC2086
exec python3 bench/run.py --build "$build" --bin "$bin" $mode --command "$command" \
    ${BENCH_COMMIT:+--trawl-commit "$BENCH_COMMIT"} $rest
