#!/usr/bin/env python3
"""Run the trawl / SQLite FTS5 / Xapian / Sphinx benchmarks and write bench/RESULTS.md.

Called by bench/run.sh (which installs the packages and builds everything);
see bench/README.md. Usage:

  run.py --build BUILD_DIR --bin BENCH_BIN_DIR [--short | --full]
         [--sizes 10k,100k] [--queries N] [--results PATH] [--command TEXT]
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
ENGINES = ("trawl", "fts5", "xapian")
PEERS = ("fts5", "xapian", "sphinx")
COLS = ENGINES + ("sphinx",)  # table columns; Sphinx has no in-process figures
NAMES = {"trawl": "trawl", "fts5": "FTS5", "xapian": "Xapian", "fts5c": "FTS5 contentless",
         "sphinx": "Sphinx"}
THREADS = "1,2,8"


_T0 = time.monotonic()


def log(msg):
    print("bench: [%4.0f s] %s" % (time.monotonic() - _T0, msg), flush=True)


RSS_RUN = None  # bench/out/rss_run, set in main()


def measured(cmd, env=None):
    """Run cmd under rss_run; return (wall seconds, peak RSS in bytes,
    stdout text)."""
    fd, report = tempfile.mkstemp(prefix="bench-rss.")
    os.close(fd)
    try:
        p = subprocess.run([RSS_RUN, report] + cmd, stdout=subprocess.PIPE,
                           env=None if env is None else dict(os.environ, **env))
        if p.returncode != 0:
            sys.exit("bench: command failed (%d): %s" % (p.returncode, " ".join(cmd)))
        rep = json.load(open(report))
    finally:
        os.unlink(report)
    return rep["wall_s"], rep["maxrss_kb"] * 1024, p.stdout.decode()


BUILD_REPEAT_UNDER_S = 3.0  # builds this quick are repeated ...
BUILD_REPEATS = 3           # ... up to this many times, fastest kept


def measured_build(cmd, paths, repeats=BUILD_REPEATS):
    """Build with cmd (removing paths first, every time): repeated while
    it takes under BUILD_REPEAT_UNDER_S, up to BUILD_REPEATS times, the
    fastest kept (the same rule for every engine: a one-second build is
    at the mercy of a shared machine's hiccups). Returns (wall seconds,
    peak RSS of that build, builds run)."""
    best = None
    n = 0
    while n < repeats:
        for p in paths:
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.unlink(p)
        wall, rss, _ = measured(cmd)
        n += 1
        if best is None or wall < best[0]:
            best = (wall, rss)
        if wall >= BUILD_REPEAT_UNDER_S:
            break
    return best[0], best[1], n


def pct(values, p):
    """Nearest-rank percentile p (0-100) of values, as benchutil.h's
    bench_pct computes it."""
    v = sorted(values)
    if not v:
        return None
    k = int(p / 100.0 * len(v) + 0.999999)
    return v[min(max(k, 1), len(v)) - 1]


def jsonlines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


def tree_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(d, f))
    return total


# Section ids of a trawl segment that hold the stored articles' bodies
# (STORE, STORE_INDEX, STORE_DICT, STORE_CODE: docs/index-format.md).
TRAWL_STORE_SECTIONS = (4, 5, 12, 14)


def trawl_store_bytes(path):
    """Bytes of trawl's stored bodies in the index at path: the STORE
    sections of its live segment files, read from each file's table of
    contents (the 32-byte footer points at it; 32 bytes per section)."""
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            if not f.endswith(".trs"):
                continue
            with open(os.path.join(d, f), "rb") as fh:
                fh.seek(-32, os.SEEK_END)
                toc_off, toc_len = struct.unpack("<QQ", fh.read(16))
                fh.seek(toc_off)
                toc = fh.read(toc_len)
            n = struct.unpack_from("<I", toc, 0)[0]
            for i in range(n):
                sid, _, _, slen = struct.unpack_from("<IIQQ", toc, 4 + 32 * i)
                if sid in TRAWL_STORE_SECTIONS:
                    total += slen
    return total


def sqlite_live_bytes(path):
    """Bytes of the pages in use (FTS5 'optimize' leaves the old segments'
    pages on the free list until a VACUUM)."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    ps = con.execute("PRAGMA page_size").fetchone()[0]
    pc = con.execute("PRAGMA page_count").fetchone()[0]
    fl = con.execute("PRAGMA freelist_count").fetchone()[0]
    con.close()
    return ps * (pc - fl)


# ---------------------------------------------------------------- corpora

def prepare_real():
    """corpus/seeds/*.txt + corpus/sotu/sotu.jsonl -> data/real.jsonl with
    the fields every engine indexes (id, title, body, date)."""
    out = os.path.join(DATA, "real.jsonl")
    sotu = os.path.join(ROOT, "corpus", "sotu", "sotu.jsonl")
    if not os.path.exists(sotu):
        subprocess.run(["sh", os.path.join(ROOT, "corpus", "fetch-sotu.sh")], check=True)
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(sotu):
        return out
    recs = []
    seeds = os.path.join(ROOT, "corpus", "seeds")
    for name in sorted(os.listdir(seeds)):
        if not name.endswith((".txt", ".md")):
            continue
        lines = open(os.path.join(seeds, name), encoding="utf-8").read().split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        title = lines[0].strip() if lines else ""
        recs.append({"id": "seeds/" + name, "title": title,
                     "body": "\n".join(lines[1:]).strip(), "date": None})
    for line in open(sotu, encoding="utf-8"):
        r = json.loads(line)
        recs.append({"id": r["id"], "title": r["title"], "body": r["body"], "date": r["date"]})
    nb = 0
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        for r in recs:
            if r["date"] is None:
                del r["date"]
            nb += len(r["title"].encode()) + len(r["body"].encode())
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(out + ".tmp", out)
    json.dump({"docs": len(recs), "text_bytes": nb}, open(out + ".meta.json", "w"))
    return out


def prepare_synth(size):
    out = os.path.join(DATA, "synth-%s.jsonl" % size)
    if os.path.exists(out) and os.path.exists(out + ".meta.json"):
        return out
    n = SIZES[size]
    need = n * 3600 * 12  # text + three engines' indexes, generously
    free = shutil.disk_usage(DATA).free
    if free < need:
        sys.exit("bench: synthetic %s needs about %.1f GB free under %s, %.1f GB free"
                 % (size, need / 1e9, DATA, free / 1e9))
    log("generating synthetic corpus %s (%d docs)" % (size, n))
    subprocess.run([sys.executable, os.path.join(HERE, "gen_corpus.py"), "--docs", str(n),
                    "--out", out, "--seed", "42"], check=True)
    return out


def meta(path):
    return json.load(open(path + ".meta.json"))


_WS = re.compile(r"[\t\n\r]+")


def prepare_sphinx_source(corpus):
    """corpus.jsonl -> corpus.sphinx.tsv (document number, title, body; tabs
    and newlines in the text become spaces, both are separators to Sphinx)
    and corpus.sphinx.ids (the article id of document N on line N). Not
    part of Sphinx's timed indexing; kept between runs like the corpus."""
    base = os.path.splitext(corpus)[0]
    tsv, ids = base + ".sphinx.tsv", base + ".sphinx.ids"
    if (os.path.exists(tsv) and os.path.exists(ids)
            and os.path.getmtime(tsv) >= os.path.getmtime(corpus)):
        return tsv, ids
    log("converting %s to Sphinx's tsvpipe source" % os.path.basename(corpus))
    with open(corpus, encoding="utf-8") as f, \
            open(tsv + ".tmp", "w", encoding="utf-8") as t, \
            open(ids + ".tmp", "w", encoding="utf-8") as d:
        for n, line in enumerate(f, 1):
            rec = json.loads(line)
            t.write("%d\t%s\t%s\n" % (n, _WS.sub(" ", rec.get("title") or ""),
                                      _WS.sub(" ", rec.get("body") or "")))
            d.write(_WS.sub(" ", str(rec["id"])) + "\n")
    os.replace(ids + ".tmp", ids)
    os.replace(tsv + ".tmp", tsv)
    return tsv, ids


SPHINX_CONF = """# written by bench/run.py for one benchmark run
source src
{
    type = tsvpipe
    tsvpipe_command = cat %(tsv)s
    tsvpipe_field = title
    tsvpipe_field = body
}

index idx
{
    source = src
    path = %(path)s
    morphology = stem_en
    index_field_lengths = 1
}

indexer
{
    mem_limit = 512M
}

searchd
{
    listen = %(sock)s:mysql41
    log = %(log)s
    pid_file = %(pid)s
    binlog_path =
    watchdog = 0
    workers = threads
}
"""


def _sq(path):
    """A path for the Sphinx config: no spaces or '#' (no quoting there)."""
    if re.search(r"[\s#]", path):
        sys.exit("bench: Sphinx cannot take a path with spaces or '#': %s" % path)
    return path


def _pdeathsig():
    """In the child before exec: get SIGTERM if the runner dies, so that a
    killed run never leaves searchd behind (Linux; ignored elsewhere)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_unix(sock, proc, what, logname, hello=None, expect=b""):
    """Wait until sock accepts connections and sends something (after
    hello, if given) that contains expect."""
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit("bench: %s exited (%d) on start (see %s)" % (what, proc.returncode, logname))
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(sock)
            if hello is not None:
                s.sendall(hello)
            data = s.recv(4096)
            s.close()
            if data and expect in data:
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench: %s did not come up (see %s)" % (what, logname))


def run_sphinx(name, corpus, ix, qfile, kfile, args, r):
    """Index with Sphinx's indexer, then query through its searchd."""
    tsv, ids = prepare_sphinx_source(corpus)
    sdir = os.path.join(ix, "sphinx")
    os.makedirs(sdir)
    sockdir = tempfile.mkdtemp(prefix="sphinx-bench.")
    conf = os.path.join(ix, "sphinx.conf")
    slog = os.path.join(args.bin, "searchd-%s.log" % name)
    vals = {"tsv": _sq(tsv), "path": _sq(os.path.join(sdir, "idx")),
            "sock": _sq(os.path.join(sockdir, "searchd.sock")), "log": _sq(slog),
            "pid": _sq(os.path.join(ix, "searchd.pid"))}
    with open(conf, "w") as f:
        f.write(SPHINX_CONF % vals)
    log("%s: indexing with Sphinx" % name)
    wall, rss, nb = measured_build(["indexer", "--config", conf, "--all", "--quiet"], [])
    r["build"]["sphinx"] = {"wall_s": wall, "rss": rss, "builds": nb}
    r["size"]["sphinx"] = tree_bytes(sdir)

    log("%s: queries through Sphinx searchd" % name)
    prog = os.path.join(args.bin, "sphinx_bench")
    logf = open(slog + ".out", "w")
    d = subprocess.Popen(["searchd", "--config", conf, "--nodetach"], stdout=logf,
                         stderr=subprocess.STDOUT, preexec_fn=_pdeathsig)
    try:
        # searchd speaks first on a MySQL connection: its handshake packet
        wait_unix(vals["sock"], d, "searchd", logf.name)
        _, _, out = measured([prog, "query", vals["sock"], "idx", qfile, "--threads", THREADS,
                              "--repeat", str(args.repeat)])
        for j in jsonlines(out):
            r["daemon"].setdefault("sphinx", {})[j["threads"]] = j
        if args.full:
            # Sphinx's cheaper built-in ranker, for the record (full runs)
            _, _, out = measured([prog, "query", vals["sock"], "idx", qfile, "--threads",
                                  THREADS, "--repeat", str(args.repeat), "--ranker", "bm25"])
            for j in jsonlines(out):
                r["daemon"].setdefault("sphinx_bm25", {})[j["threads"]] = j
        _, _, out = measured([prog, "ping", vals["sock"], "--count", "5000"])
        for j in jsonlines(out):
            r["daemon"]["sphinx_ping"] = j
        log("%s: known-item queries with Sphinx" % name)
        _, _, out = measured([prog, "known", vals["sock"], "idx", kfile, ids])
        r["known"] += jsonlines(out)
    finally:
        stop(d)
        logf.close()
        shutil.rmtree(sockdir, ignore_errors=True)


# ------------------------------------------------------------- the engines

def run_corpus(name, corpus, args, res):
    m = meta(corpus)
    r = {"name": name, "docs": m["docs"], "text_bytes": m["text_bytes"],
         "build": {}, "size": {}, "inproc": {}, "socket": {}, "daemon": {}, "known": []}
    res["corpora"].append(r)
    qfile = os.path.join(DATA, "queries-%s.txt" % name)
    kfile = os.path.join(DATA, "known-%s.txt" % name)
    gen = [sys.executable, os.path.join(HERE, "gen_queries.py"), "--corpus", corpus,
           "--seed", "7", "--out", qfile, "--count", str(args.queries),
           "--known-out", kfile, "--known-count", str(args.known)]
    if name == "real":  # known items: the long State of the Union addresses
        gen += ["--id-prefix", "sotu-", "--min-words", "1000"]
    subprocess.run(gen, check=True, stdout=subprocess.DEVNULL)
    r["queries"] = sum(1 for l in open(qfile) if l.strip())
    r["phrases"] = sum(1 for l in open(qfile) if l.startswith('"'))
    r["qtext"] = [l.rstrip("\r\n") for l in open(qfile) if l.rstrip("\r\n")]
    r["known_n"] = sum(1 for l in open(kfile) if l.strip())

    ix = os.path.join(DATA, "idx", name)
    shutil.rmtree(ix, ignore_errors=True)
    os.makedirs(ix)
    paths = {"trawl": os.path.join(ix, "trawl"), "fts5": os.path.join(ix, "fts5.db"),
             "fts5c": os.path.join(ix, "fts5-contentless.db"),
             "xapian": os.path.join(ix, "xapian")}
    builds = {
        "trawl": [os.path.join(args.build, "bin", "trawl-index"), "-q", "--full",
                  "--index", paths["trawl"], corpus],
        "fts5": [os.path.join(args.bin, "fts5_bench"), "build", paths["fts5"], corpus],
        "fts5c": [os.path.join(args.bin, "fts5_bench"), "build", paths["fts5c"], corpus,
                  "--contentless"],
        "xapian": [os.path.join(args.bin, "xapian_bench"), "build", paths["xapian"], corpus],
    }
    for eng, cmd in builds.items():
        log("%s: indexing with %s" % (name, NAMES[eng]))
        # (the contentless FTS5 index is built for its size alone: once)
        wall, rss, nb = measured_build(cmd, [paths[eng]], 1 if eng == "fts5c" else BUILD_REPEATS)
        r["build"][eng] = {"wall_s": wall, "rss": rss, "builds": nb}
        if eng in ("fts5", "fts5c"):
            r["size"][eng] = sqlite_live_bytes(paths[eng])
            r["size"][eng + "_file"] = tree_bytes(paths[eng])
        else:
            r["size"][eng] = tree_bytes(paths[eng])
        if eng == "trawl":
            r["size"]["trawl_store"] = trawl_store_bytes(paths[eng])

    qprogs = {"trawl": os.path.join(args.bin, "trawl_bench"),
              "fts5": os.path.join(args.bin, "fts5_bench"),
              "xapian": os.path.join(args.bin, "xapian_bench")}
    for eng in ENGINES:
        log("%s: %d queries in process with %s (threads %s)" % (name, r["queries"], NAMES[eng], THREADS))
        _, _, out = measured([qprogs[eng], "query", paths[eng], qfile, "--threads", THREADS,
                              "--repeat", str(args.repeat)])
        for j in jsonlines(out):
            r["inproc"].setdefault(eng, {})[j["threads"]] = j
        log("%s: known-item queries with %s" % (name, NAMES[eng]))
        kcmd = [qprogs[eng], "known", paths[eng], kfile]
        if eng == "trawl":
            kcmd += ["--prox", "1", "--prox", "0"]
        _, _, out = measured(kcmd)
        r["known"] += jsonlines(out)

    # Each query's latency, 1 thread: its fastest over --lat-rounds rounds
    # that take the engines in turn (trawl, trawl without its proximity
    # signal, as the peers rank by BM25 alone, FTS5, Xapian, then again),
    # so that a stretch of load from elsewhere on a shared machine slows
    # one round of one engine, not an engine's only measurement. The
    # latency rows and the medians by kind of query come from these.
    lat_runs = [("trawl", "trawl", []), ("trawl_noprox", "trawl", ["--prox", "0"]),
                ("fts5", "fts5", []), ("xapian", "xapian", [])]
    r["lat"] = {}
    r["lat_rounds"] = args.lat_rounds
    for rnd in range(args.lat_rounds):
        log("%s: latency round %d of %d (trawl, trawl without proximity, FTS5, Xapian)"
            % (name, rnd + 1, args.lat_rounds))
        for key, eng, extra in lat_runs:
            fd, latf = tempfile.mkstemp(prefix="bench-lat.")
            os.close(fd)
            try:
                measured([qprogs[eng], "query", paths[eng], qfile, "--threads", "1",
                          "--repeat", "1"] + extra, env={"BENCH_LATENCIES": latf})
                v = [float(x) for x in open(latf)]
            finally:
                os.unlink(latf)
            prev = r["lat"].get(key)
            r["lat"][key] = v if prev is None else [min(a, b) for a, b in zip(prev, v)]

    log("%s: queries through trawld" % name)
    sockdir = tempfile.mkdtemp(prefix="trawl-bench.")
    sock = os.path.join(sockdir, "trawl.sock")
    logf = open(os.path.join(args.bin, "trawld-%s.log" % name), "w")
    d = subprocess.Popen([os.path.join(args.build, "bin", "trawld"), "--index", paths["trawl"],
                          "--socket", sock, "--log-level", "warn"], stdout=logf, stderr=logf,
                         preexec_fn=_pdeathsig)
    try:
        for _ in range(200):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(sock)
                s.sendall(b'{"op":"ping"}\n')
                if b'"pong":true' in s.recv(4096):
                    s.close()
                    break
                s.close()
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("bench: trawld did not come up (see %s)" % logf.name)
        _, _, out = measured([os.path.join(args.bin, "daemon_bench"), "query", sock, qfile,
                              "--threads", THREADS, "--repeat", str(args.repeat)])
        for j in jsonlines(out):
            r["socket"][j["threads"]] = j
        # ping and a bare echo, alternately, unpinned and then pinned to
        # one CPU and to two (daemon_bench pins every trawld thread)
        _, _, out = measured([os.path.join(args.bin, "daemon_bench"), "ping", sock,
                              "--count", "5000", "--rounds", "3",
                              "--server-pid", str(d.pid)])
        for j in jsonlines(out):
            pl = j.get("placement", "os")
            r["socket"].setdefault("placements", {}).setdefault(pl, {})[j["mode"]] = j
            if pl == "os":
                r["socket"][j["mode"]] = j
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=10)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        logf.close()
        shutil.rmtree(sockdir, ignore_errors=True)
    run_sphinx(name, corpus, ix, qfile, kfile, args, r)
    if not args.keep_indexes:
        shutil.rmtree(ix, ignore_errors=True)


# ----------------------------------------------------------------- report

def ratio_cell(t, p):
    if not p or t is None:
        return "n/a"
    return "%.2fx" % (t / p)


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "MB":
        return "%.1f MB" % (v / 1e6)
    if unit == "us":
        return "%.0f us" % v if v >= 100 else "%.1f us" % v
    if unit == "x":
        return "%.2f" % v
    if unit == "s":
        return "%.2f s" % v
    if v >= 100:
        return "%.0f" % v
    return "%.1f" % v


def corpus_rows(r):
    """(metric, unit, better, {engine: value}, note) rows for one corpus."""
    mb = r["text_bytes"] / 1e6
    rows = []
    b = r["build"]
    rows.append(("index build, wall", "s", "lower", {e: b[e]["wall_s"] for e in COLS}, ""))
    rows.append(("indexing MB/s (text)", "", "higher", {e: mb / b[e]["wall_s"] for e in COLS}, ""))
    rows.append(("indexing docs/s", "", "higher", {e: r["docs"] / b[e]["wall_s"] for e in COLS}, ""))
    rows.append(("indexing peak RSS", "MB", "lower", {e: b[e]["rss"] for e in COLS}, ""))
    rows.append(("index size", "MB", "lower", {e: r["size"][e] for e in COLS}, ""))
    rows.append(("index size / text size", "x", "lower",
                 {e: r["size"][e] / r["text_bytes"] for e in COLS}, ""))
    rows.append(("  vs FTS5 contentless (no text stored)", "x", "lower",
                 {"trawl": r["size"]["trawl"] / r["text_bytes"],
                  "fts5": r["size"]["fts5c"] / r["text_bytes"], "xapian": None, "sphinx": None},
                 "contentless"))
    if "fts5c_file" in r["size"]:
        rows.append(("  vs FTS5 contentless file on disk (before VACUUM)", "x", "lower",
                     {"trawl": r["size"]["trawl"] / r["text_bytes"],
                      "fts5": r["size"]["fts5c_file"] / r["text_bytes"], "xapian": None,
                      "sphinx": None},
                     "contentless-file"))
    if "trawl_store" in r["size"]:
        rows.append(("  without trawl's stored bodies", "x", "lower",
                     {"trawl": (r["size"]["trawl"] - r["size"]["trawl_store"]) /
                      r["text_bytes"],
                      "fts5": r["size"]["fts5c"] / r["text_bytes"], "xapian": None,
                      "sphinx": None},
                     "contentless"))
    ip = r["inproc"]
    lat = r.get("lat", {})

    def inproc_lat(key, p):
        """Percentile p of key's per-query latencies (each query's fastest
        over the interleaved rounds), or the 1-thread pass's figure."""
        if key in lat and lat[key]:
            return pct(lat[key], p)
        return ip[key][1]["p%d_us" % p] if key in ip else None
    for p in (50, 95, 99):
        rows.append(("latency p%d, in process, 1 thread" % p, "us", "lower",
                     {e: inproc_lat(e, p) for e in ENGINES}, ""))
    if "trawl_noprox" in lat:
        for p in (50, 95, 99):
            vals = {e: inproc_lat(e, p) for e in ENGINES}
            vals["trawl"] = inproc_lat("trawl_noprox", p)
            rows.append(("latency p%d, in process, 1 thread, trawl without proximity "
                         "(BM25F alone, like the peers)" % p, "us", "lower", vals, ""))
    for t in (1, 2, 8):
        rows.append(("QPS in process, %d thread%s" % (t, "s" if t > 1 else ""), "", "higher",
                     {e: ip[e][t]["qps"] for e in ENGINES}, ""))
    sk = r["socket"]
    sd = r.get("daemon", {}).get("sphinx", {})
    for p in ("p50", "p95", "p99"):
        rows.append(("latency %s, trawld socket, 1 client (FTS5, Xapian: in process; "
                     "Sphinx: searchd)" % p, "us", "lower",
                     {"trawl": sk[1][p + "_us"], "fts5": inproc_lat("fts5", int(p[1:])),
                      "xapian": inproc_lat("xapian", int(p[1:])),
                      "sphinx": sd[1][p + "_us"] if 1 in sd else None}, ""))
    for t in (1, 2, 8):
        rows.append(("QPS trawld socket, %d client%s (FTS5, Xapian: in process, %d thread%s; "
                     "Sphinx: searchd)" % (t, "s" if t > 1 else "", t, "s" if t > 1 else ""),
                     "", "higher",
                     {"trawl": sk[t]["qps"], "fts5": ip["fts5"][t]["qps"],
                      "xapian": ip["xapian"][t]["qps"],
                      "sphinx": sd[t]["qps"] if t in sd else None}, ""))
    return rows


def render(res):
    L = []
    L.append("# trawl benchmarks: trawl vs SQLite FTS5 vs Xapian vs Sphinx")
    L.append("")
    L.append("Generated by `bench/run.sh` (see bench/README.md); do not edit by hand.")
    L.append("")
    L.append("- date: %s" % res["date"])
    L.append("- command: `%s` (mode: %s; wall time of the run: %.0f s)" % (res["command"], res["mode"], res["elapsed_s"]))
    L.append("- machine: %s, %d CPUs (nproc), %.1f GB RAM, %s" % (res["cpu"], res["nproc"], res["ram"] / 1e9, res["os"]))
    L.append("- load average (1, 5, 15 min) at the start: %.2f %.2f %.2f, at the end: %.2f %.2f %.2f"
             % (tuple(res["load_start"]) + tuple(res["load_end"])))
    L.append("- trawl: commit %s, CMake Release build" % res["commit"])
    L.append("- peers: SQLite %s (FTS5), Xapian %s, Sphinx %s (Debian's sphinxsearch: indexer, searchd); "
             "C compiler %s" % (res["sqlite"], res["xapian"], res.get("sphinx", "?"), res["cc"]))
    L.append("")
    L.append("Every trawl figure is followed by its ratio to each peer: **trawl / peer**, "
             "so a ratio above 1 means trawl's value is larger (better for MB/s, docs/s "
             "and QPS; worse for time, memory, size and latency). The *better* column says which.")
    L.append("")
    L.append("## Corpora and queries")
    L.append("")
    L.append("| corpus | docs | text (title + body) | ad hoc queries (phrases) | known-item queries |")
    L.append("|---|---:|---:|---:|---:|")
    for r in res["corpora"]:
        L.append("| %s | %d | %.1f MB | %d (%d) | %d |" % (r["name"], r["docs"], r["text_bytes"] / 1e6,
                                                        r["queries"], r["phrases"], r["known_n"]))
    L.append("")
    L.append("`real` = the 3 seed articles of corpus/seeds plus the 233 State of the Union "
             "addresses of corpus/sotu (fetched by corpus/fetch-sotu.sh). `synth-N` = "
             "bench/gen_corpus.py, seed 42: vocabulary and bigrams of the SOTU text, Zipf tail, "
             "300-800-word bodies.")
    for r in res["corpora"]:
        L.append("")
        L.append("## %s (%d docs, %.1f MB of text)" % (r["name"], r["docs"], r["text_bytes"] / 1e6))
        L.append("")
        L.append("| metric | better | trawl | FTS5 | Xapian | Sphinx | trawl / FTS5 | trawl / Xapian "
                 "| trawl / Sphinx |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for metric, unit, better, vals, _ in corpus_rows(r):
            t = vals["trawl"]
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                metric, better, fmt(t, unit), fmt(vals["fts5"], unit), fmt(vals["xapian"], unit),
                fmt(vals.get("sphinx"), unit), ratio_cell(t, vals["fts5"]),
                ratio_cell(t, vals["xapian"]), ratio_cell(t, vals.get("sphinx"))))
        L.append("")
        line = []
        for e in ENGINES:
            line.append("%s %.2f" % (NAMES[e], r["inproc"][e][1]["mean_hits"]))
        sd = r.get("daemon", {})
        if 1 in sd.get("sphinx", {}):
            line.append("Sphinx %.2f" % sd["sphinx"][1]["mean_hits"])
        L.append("Mean hits returned per query (of at most 10): " + ", ".join(line) +
                 " (differences come from the tokenizers and stemmers, see the notes).")
        L += kind_table(r)
        sk = r["socket"]
        if "ping" in sk and "echo" in sk:
            L.append("")
            L.append("Protocol overhead: a `ping` round trip to trawld against the same line echoed by a "
                     "bare Unix-socket echo server (a process doing blocking read/write), measured "
                     "alternately (3 passes of 5000 each, medians), with the scheduler free to place "
                     "client and server (os), both pinned to one CPU (same), and to two (split):")
            L.append("")
            L.append("| placement | ping p50 | echo p50 | ping / echo | ping p99 | echo p99 |")
            L.append("|---|---:|---:|---:|---:|---:|")
            pls = sk.get("placements") or {"os": {"ping": sk["ping"], "echo": sk["echo"]}}
            for pl in ("os", "same", "split"):
                if "ping" not in pls.get(pl, {}) or "echo" not in pls[pl]:
                    continue
                pg, ec = pls[pl]["ping"], pls[pl]["echo"]
                L.append("| %s | %.1f us | %.1f us | %.2fx | %.1f us | %.1f us |"
                         % (pl, pg["p50_us"], ec["p50_us"], pg["p50_us"] / ec["p50_us"],
                            pg["p99_us"], ec["p99_us"]))
        if "sphinx_ping" in sd:
            L.append("")
            L.append("Sphinx: a MySQL-protocol ping (COM_PING) round trip to searchd takes %.1f us "
                     "(p50; p99 %.1f us)." % (sd["sphinx_ping"]["p50_us"], sd["sphinx_ping"]["p99_us"]))
        b25 = sd.get("sphinx_bm25", {})
        if all(t in b25 for t in (1, 2, 8)):
            L.append("With Sphinx's built-in `ranker=bm25` instead of the BM25F expression ranker "
                     "(cheaper: no document-length normalisation, no field weights in the score): "
                     "latency p50 %s, p95 %s, p99 %s at 1 client; QPS %.0f, %.0f, %.0f at 1, 2 and 8 "
                     "clients (trawl / Sphinx: %s, %s, %s)."
                     % (fmt(b25[1]["p50_us"], "us"), fmt(b25[1]["p95_us"], "us"),
                        fmt(b25[1]["p99_us"], "us"), b25[1]["qps"], b25[2]["qps"], b25[8]["qps"],
                        ratio_cell(sk[1]["qps"], b25[1]["qps"]), ratio_cell(sk[2]["qps"], b25[2]["qps"]),
                        ratio_cell(sk[8]["qps"], b25[8]["qps"])))
    L.append("")
    L.append("## Known-item search")
    L.append("")
    L.append("A distinctive run of 3-5 consecutive words copied from one article (the most "
             "distinctive by idf of 5 random runs), issued as a plain query (all words must "
             "match, no quotes); the article it came from is the one right answer. On `real` "
             "the targets are the State of the Union addresses of 1000 words or more.")
    L.append("")
    L.append("| corpus | engine | queries | MRR@10 | success@1 | success@10 |")
    L.append("|---|---|---:|---:|---:|---:|")
    for r in res["corpora"]:
        for k in r["known"]:
            eng = NAMES[k["engine"]]
            if k["engine"] == "trawl":
                eng += " (%s)" % k["variant"].replace("prox=", "w_prox ")
            elif k["engine"] == "sphinx":
                eng += " (%s ranker)" % ("BM25F expression" if k["variant"] == "bm25f" else k["variant"])
            L.append("| %s | %s | %d | %.3f | %.3f | %.3f |" % (r["name"], eng, k["queries"], k["mrr10"],
                                                                k["success1"], k["success10"]))
    L.append("")
    L.append("trawl runs twice: with its default proximity weight (`w_prox` 1) and with it "
             "off (`w_prox` 0): the difference is what the proximity signal (query words "
             "standing close together, in order) adds on top of BM25F.")
    L.append("")
    L += sphinx_targets(res)
    L.append(NOTES)
    return "\n".join(L) + "\n"


def query_kind(q):
    if '"' in q:
        return "phrase"
    n = len(q.split())
    return "%d word%s" % (n, "s" if n > 1 else "") if n < 4 else "4+ words"


def kind_table(r):
    """Median latency by kind of query, in process, 1 thread."""
    lat = r.get("lat", {})
    if "qtext" not in r or not all(k in lat for k in ("trawl", "xapian")):
        return []
    cols = [("trawl", "trawl"), ("trawl_noprox", "trawl, no proximity"),
            ("fts5", "FTS5"), ("xapian", "Xapian")]
    cols = [c for c in cols if c[0] in lat and len(lat[c[0]]) == len(r["qtext"])]
    kinds = {}
    for i, q in enumerate(r["qtext"]):
        kinds.setdefault(query_kind(q), []).append(i)
    order = ["1 word", "2 words", "3 words", "4+ words", "phrase"]
    L = ["", "Median latency by kind of query (in process, 1 thread, each query's fastest "
         "time over %d interleaved rounds):" % r.get("lat_rounds", 1), "",
         "| queries | n | " + " | ".join(c[1] for c in cols) +
         " | trawl / Xapian | trawl, no proximity / Xapian |",
         "|---|---:|" + "---:|" * (len(cols) + 2)]
    def med(v):
        v = sorted(v)
        return v[len(v) // 2]
    for k in order:
        if k not in kinds:
            continue
        ix = kinds[k]
        m = {c[0]: med([lat[c[0]][i] for i in ix]) for c in cols}
        L.append("| %s | %d | %s | %s | %s |" % (
            k, len(ix), " | ".join(fmt(m[c[0]], "us") for c in cols),
            ratio_cell(m["trawl"], m["xapian"]),
            ratio_cell(m.get("trawl_noprox"), m["xapian"]) if "trawl_noprox" in m else "n/a"))
    return L


def sphinx_targets(res):
    """The tracker's targets against Sphinx, as ratios trawl / Sphinx."""
    rows = []
    for r in res["corpora"]:
        b, sd, sk = r["build"], r.get("daemon", {}).get("sphinx", {}), r["socket"]
        if "sphinx" not in b or not all(t in sd for t in (1, 2, 8)):
            continue
        mbs = (r["text_bytes"] / b["trawl"]["wall_s"]) / (r["text_bytes"] / b["sphinx"]["wall_s"])
        q = [sk[t]["qps"] / sd[t]["qps"] for t in (1, 2, 8)]
        cells = ["%.2fx%s" % (v, "" if v >= 5 else " (below 5x)") for v in [mbs] + q]
        rows.append("| %s | %s |" % (r["name"], " | ".join(cells)))
    if not rows:
        return []
    return ["## Against the targets set relative to Sphinx", "",
            "The tracker asks for indexing throughput of at least 5x Sphinx's `indexer` and, "
            "through the daemon, at least 5x the queries per second of Sphinx's `searchd` at 1, "
            "2 and 8 clients. trawl / Sphinx in this run:", "",
            "| corpus | indexing MB/s | QPS, 1 client | QPS, 2 clients | QPS, 8 clients |",
            "|---|---:|---:|---:|---:|"] + rows + [""]


NOTES = """## How it is measured, and where the engines differ

- **Same input.** Every engine reads the same JSON Lines file (id, title,
  body, date) and runs the same query file. Each build is a separate
  process: wall time from start to exit (JSON parsing, analysis, writing,
  commit) and its peak RSS (`wait4` rusage). A build that takes under
  3 s is run again from scratch, up to 3 times, and the fastest is kept;
  the same rule holds for every engine (a one-second build is at the mercy
  of a shared machine's hiccups; a slow one averages them out). Indexing MB/s counts the
  bytes of title + body. Files are in the page cache (warm) for every
  engine; nothing is dropped between runs.
- **trawl**: `trawl-index --full` (default 512 MiB memory budget), English
  Snowball stemmer. It stores the whole article (zstd) and positions, so
  its index size includes the text; it fsyncs on commit. The row
  "without trawl's stored bodies" leaves out its STORE sections (the
  zstd-compressed bodies, authors and URLs; ids and titles stay), which is
  what compares with FTS5's contentless index.
- **SQLite FTS5**: `fts5(id UNINDEXED, title, body, tokenize='porter
  unicode61')`, all inserts in one transaction followed by FTS5's
  `optimize` (part of the timed build). It stores the text too (the
  content table) plus positions (detail=full). Sizes are of the pages in
  use (the file itself keeps the pre-optimize pages on the free list until
  a VACUUM). The contentless variant (`content=''`) is built only for the
  size rows "vs FTS5 contentless": the first compares with its pages in
  use (what a VACUUM would leave), the second with the file as `optimize`
  leaves it, the size a user sees on disk (the tracker's "0.77-1.0x the
  text" for FTS5 contentless is this one). Ranking: `ORDER BY bm25(t, 0, 3.0, 1.0)
  LIMIT 10` (k1 1.2, b 0.75; title weight 3). FTS5's porter stemmer is
  the original Porter algorithm; trawl and Xapian use Snowball English
  (Porter 2), so a few words stem differently. Read connections have
  `mmap_size` set (trawl maps its index too).
- **Xapian**: glass backend, TermGenerator with the English stemmer
  (STEM_SOME: stemmed terms plus unstemmed terms with positions for
  phrases), title indexed with wdf increment 3, body 1; the document data
  is the id only (no text stored); default flush every 10000 documents,
  one commit, no compaction (`xapian-compact` would shrink it). Ranking:
  BM25Weight(k1 1.2, k2 0, k3 1, b 0.75, min_normlen 0.5): trawl's k1 and b
  instead of Xapian's defaults. QueryParser with default operator AND,
  FLAG_DEFAULT | FLAG_PHRASE.
- **Queries**: bench/gen_queries.py (seed 7): 1-4 words drawn by
  occurrence from one random document (no stopwords, plain a-z words),
  80%, and 2-3-word quoted phrases copied from a document, 20%. Words are
  AND-ed by every engine. Each engine returns the top 10 by score with the
  hits' ids (trawl: id and title; snippets off; default total counting,
  which may stop early). In process: one untimed warm-up pass, then the
  whole set three times in a full run, twice in a short one (`--repeat`) per
  thread count, the threads taking queries
  from a shared counter; the fastest pass is reported (the
  one least disturbed by other load); QPS = queries / wall time. One searcher
  (trawl), connection (FTS5) or Database (Xapian) per thread. Latency
  percentiles (1 thread) are of each query's fastest time over 5 rounds
  (3 in a short run; `--lat-rounds`) that take the engines in turn (trawl, trawl without
  proximity, FTS5, Xapian, then again; each round a warm-up pass and one
  timed pass): on a shared machine a stretch of load from elsewhere then
  slows one round of one engine rather than an engine's only measurement
  (single passes moved trawl's real-corpus p50 by 20% from one run to the
  next while Xapian's stayed put).
- **Fetching hits**: trawl's hits carry the id and title, read from its
  compressed document store (as of this writing the whole stored article
  is decompressed for each hit, even with snippets off, which weighs on
  long articles such as the SOTU addresses); FTS5 reads the id column of
  its content table; Xapian reads the document data (the id).
- **trawld**: started on the new index with its default thread pool;
  `daemon_bench` opens one connection per client and sends one search at a
  time (`"limit":10,"snippet":false`), waiting for each response, as an
  interactive client does (warm-up, then the fastest of three passes, as
  in process). FTS5 and Xapian have no server, so trawld's
  socket figures are set against the peers' *in-process* figures: those
  ratios include trawl's protocol and socket costs.
- **Sphinx** (2.2, Debian's `sphinxsearch`): the JSON Lines corpus is
  first converted to a TSV file (document number, title, body; tabs and
  newlines turned into spaces) for a `tsvpipe` source read with `cat`;
  the conversion is done once and is *not* part of Sphinx's indexing
  time. `indexer --all` is timed as a separate process like the others
  (the `cat` it starts is tiny and does not change the peak RSS); index
  size is the files it writes. Index settings: fields title
  and body, `morphology = stem_en` (Sphinx's Porter stemmer, like FTS5's
  the original Porter algorithm), positions (the default), no attributes,
  nothing stored (document ids are the line numbers; the known-item run
  maps them back to article ids), `index_field_lengths = 1` (needed for
  BM25F's length normalisation), default `charset_table` (ASCII letters
  and digits plus Cyrillic: other letters are separators, which matters
  little for these English corpora), `mem_limit = 512M` (trawl's default
  budget); no fsync. Queries go to a `searchd` started for the run
  (`--nodetach`, `watchdog = 0`, a private Unix socket, `workers =
  threads`: one thread per connection; pid file under
  bench/data/idx/, stopped with SIGTERM at the end, and tied to the
  runner by PR_SET_PDEATHSIG) through SphinxQL (the MySQL protocol,
  libmariadb), one connection per client, one query at a time, as for
  trawld: `SELECT id FROM idx WHERE MATCH('...') LIMIT 10 OPTION
  ranker=expr('bm25f(1.2,0.75,{title=3,body=1})*1000000'),
  idf='plain'`: Sphinx's BM25F with trawl's k1, b and field weights
  (scaled: the ranker's weight is an integer and bm25f() a fraction);
  idf `plain` (log(N/n)) because Sphinx's default `normalized` idf gives
  terms found in more than half of the documents a weight of about zero
  (on `real` that cost it a third of its known-item MRR); words are
  AND-ed (Sphinx's default),
  quoted phrases stay phrases, any byte that is special to Sphinx's query
  syntax or to SQL becomes a space. The built-in `ranker=bm25` (cheaper,
  no length normalisation; same idf) is run too in a full run and reported
  under each table.
  Sphinx has no in-process mode, so its query figures are only in the
  "trawld socket" rows, and those trawl / Sphinx ratios compare daemon
  with daemon, both over a Unix socket.
- The machine has few cores; with 8 clients or threads on 2 CPUs the
  extra threads only add contention (8 is there to show it does not
  collapse).
"""


def machine_info(res):
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    res["cpu"] = cpu
    res["nproc"] = os.cpu_count() or 1
    res["ram"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    res["os"] = "%s %s" % (platform.system(), platform.release())
    res["sqlite"] = sqlite3.sqlite_version
    try:
        res["xapian"] = subprocess.run(["xapian-config", "--version"], capture_output=True,
                                       text=True).stdout.split()[-1]
    except (OSError, IndexError):
        res["xapian"] = "?"
    try:
        out = subprocess.run(["indexer", "--help"], capture_output=True, text=True).stdout
        res["sphinx"] = out.split()[1] if out.startswith("Sphinx ") else "?"
    except (OSError, IndexError):
        res["sphinx"] = "?"
    try:
        res["cc"] = subprocess.run(["cc", "--version"], capture_output=True,
                                   text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        res["cc"] = "?"
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "core",
                                "indexer", "daemon"], capture_output=True, text=True).stdout.strip()
        res["commit"] = c + (" (with uncommitted changes in core/indexer/daemon)" if dirty else "")
    except OSError:
        res["commit"] = "?"


def print_table(res):
    for r in res["corpora"]:
        print()
        print("== %s: %d docs, %.1f MB of text" % (r["name"], r["docs"], r["text_bytes"] / 1e6))
        print("%-58s %11s %11s %11s %11s %8s %8s %8s" % ("metric", "trawl", "FTS5", "Xapian", "Sphinx",
                                                          "t/FTS5", "t/Xap", "t/Sph"))
        for metric, unit, better, vals, _ in corpus_rows(r):
            t = vals["trawl"]
            print("%-58s %11s %11s %11s %11s %8s %8s %8s" % (
                metric[:58], fmt(t, unit), fmt(vals["fts5"], unit), fmt(vals["xapian"], unit),
                fmt(vals.get("sphinx"), unit), ratio_cell(t, vals["fts5"]),
                ratio_cell(t, vals["xapian"]), ratio_cell(t, vals.get("sphinx"))))
        for k in r["known"]:
            print("known-item %-8s %-10s MRR@10 %.3f  success@1 %.3f" % (
                k["engine"], k["variant"], k["mrr10"], k["success1"]))
        sk = r["socket"]
        if "ping" in sk:
            for pl, v in sorted((sk.get("placements") or {}).items()):
                if "ping" in v and "echo" in v:
                    print("ping round trip p50 %.1f us, bare echo %.1f us (%s)"
                          % (v["ping"]["p50_us"], v["echo"]["p50_us"], pl))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="trawl CMake build dir")
    ap.add_argument("--bin", required=True, help="directory of the bench programs")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--short", action="store_true")
    g.add_argument("--full", action="store_true")
    ap.add_argument("--sizes", help="synthetic sizes, e.g. 10k,100k (default: short 10k, full 10k,100k,1m)")
    ap.add_argument("--queries", type=int, help="ad hoc queries per corpus")
    ap.add_argument("--known", type=int, help="known-item queries per corpus")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--command", default="sh bench/run.sh")
    ap.add_argument("--repeat", type=int,
                    help="timed passes per thread count, fastest kept (short 2, full 3)")
    ap.add_argument("--lat-rounds", type=int,
                    help="interleaved rounds of 1-thread latency per engine, each query's "
                         "fastest kept (short 3, full 5)")
    ap.add_argument("--keep-indexes", action="store_true")
    ap.add_argument("--trawl-commit", help="how to name the trawl source in RESULTS.md")
    args = ap.parse_args()
    mode = "full" if args.full else "short"
    sizes = (args.sizes or ("10k,100k,1m" if mode == "full" else "10k")).split(",")
    for s in sizes:
        if s not in SIZES:
            sys.exit("bench: unknown size %s (10k, 100k, 1m)" % s)
    args.queries = args.queries or (1000 if mode == "short" else 5000)
    args.known = args.known or (300 if mode == "short" else 1000)
    args.repeat = args.repeat or (2 if mode == "short" else 3)
    args.lat_rounds = args.lat_rounds or (3 if mode == "short" else 5)
    os.makedirs(DATA, exist_ok=True)
    # a SIGTERM unwinds like ^C, so the daemons are stopped in the finally blocks
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    t0 = time.monotonic()
    res = {"mode": mode, "command": args.command, "corpora": [],
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    global RSS_RUN
    RSS_RUN = os.path.join(args.bin, "rss_run")
    res["load_start"] = os.getloadavg()
    machine_info(res)
    if args.trawl_commit:
        res["commit"] = args.trawl_commit
    corpora = [("real", prepare_real())]
    for s in sizes:
        corpora.append(("synth-" + s, prepare_synth(s)))
    for name, path in corpora:
        run_corpus(name, path, args, res)
    res["elapsed_s"] = time.monotonic() - t0
    res["load_end"] = os.getloadavg()
    print_table(res)
    with open(args.results + ".tmp", "w") as f:
        f.write(render(res))
    os.replace(args.results + ".tmp", args.results)
    with open(os.path.join(args.bin, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    log("wrote %s (%.0f s)" % (os.path.relpath(args.results, ROOT), res["elapsed_s"]))


if __name__ == "__main__":
    main()
