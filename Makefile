# Convenience front end: `make demo` and `make test` work on a fresh Debian
# 12 machine (as root, or with sudo for the package install).

BUILD    ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

DEB_PACKAGES = build-essential cmake pkg-config libuv1-dev libxxhash-dev \
	libstemmer-dev libcmocka-dev libutf8proc-dev libjansson-dev libzstd-dev \
	libuchardet-dev zlib1g-dev libxml2-dev \
	python3

.PHONY: all deps build test demo clean sanitize bench bench-short bench-scale corpus

all: build

deps:
	@sh scripts/install-deps.sh $(DEB_PACKAGES)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

sanitize:
	$(MAKE) test BUILD=build-asan BUILD_TYPE=Debug \
		CMAKE_FLAGS='-DTRAWL_SANITIZE="address;undefined"'

demo: build
	@sh scripts/demo.sh $(BUILD)

corpus:
	@sh corpus/fetch-sotu.sh

# trawl vs SQLite FTS5, Xapian and Sphinx at 10k and 100k documents (about
# 20 minutes); writes bench/RESULTS-full.md (see bench/README.md). The 1M
# corpus is trawl alone: make bench-scale (Xapian would take hours there).
bench:
	@sh bench/run.sh --full --sizes 10k,100k --results bench/RESULTS-full.md

bench-short:
	@sh bench/run.sh --short

# trawl alone at 10k, 100k and 1M documents, 1 GiB indexing budget;
# writes bench/RESULTS-scale.md (about 4 GB of corpus under bench/data)
bench-scale:
	@sh bench/run.sh --scale

clean:
	rm -rf build build-asan
