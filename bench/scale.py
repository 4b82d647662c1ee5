#!/usr/bin/env python3
"""Scale run: how trawl's build time, index size and query latency grow
from 10k to 100k to 1M synthetic documents, with a fixed memory budget.

Called by `sh bench/run.sh --scale` (which builds trawl in Release and the
bench programs); see bench/README.md. trawl only: the peers' 10k and 100k
figures are in RESULTS-full.md. Usage:

  scale.py --build BUILD_DIR --bin BENCH_BIN_DIR [--sizes 10k,100k,1m]
           [--memory MB] [--queries N] [--repeat N] [--jobs J] [--nice N]
           [--results PATH] [--command TEXT] [--keep-indexes]
  scale.py --render RESULTS_JSON [--results PATH]   (rewrite the report only)

For each size: the corpus bench/data/synth-SIZE.jsonl (generated with
gen_corpus.py, seed 42, if missing; reused otherwise), a query set drawn
from it (gen_queries.py, seed 7), then
  * trawl-index --full --memory MB --progress=json under rss_run: wall
    time, CPU time, peak RSS, blocks written, and a sampler that follows
    the process's resident set (anonymous and file-backed separately) and
    the size of the index directory while it runs;
  * trawl_bench (in process, 1 and 2 threads) and daemon_bench through a
    trawld on the new index (1 and 2 clients): latency and QPS, top 10,
    snippets off.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
TEXT_PER_DOC = 3600  # bytes of JSON per synthetic document, roughly
LEVELS = "1,2"
RSS_RUN = None  # bench/out/rss_run, set in main()


def log(msg):
    print("scale: " + msg, flush=True)


def tree_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(d, f))
            except OSError:  # removed while we walked (runs being merged)
                pass
    return total


def proc_status(pid):
    """VmRSS, RssAnon, RssFile, VmHWM of a process, in bytes (None if gone)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        return None
    return out


def child_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def jsonlines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


def measured(cmd, nice=0):
    """Run cmd under rss_run; return (rusage report, stdout text)."""
    fd, report = tempfile.mkstemp(prefix="bench-rss.")
    os.close(fd)
    if nice:
        cmd = ["nice", "-n", str(nice)] + cmd
    try:
        p = subprocess.run([RSS_RUN, report] + cmd, stdout=subprocess.PIPE)
        if p.returncode != 0:
            sys.exit("scale: command failed (%d): %s" % (p.returncode, " ".join(cmd)))
        rep = json.load(open(report))
    finally:
        os.unlink(report)
    return rep, p.stdout.decode()


def measured_build(cmd, ixdir, nice):
    """Run the indexer under rss_run, reading its JSON progress lines as
    they come and sampling its memory and the index directory's size.
    Returns (rusage report, done event, timeline, peaks, samples)."""
    fd, report = tempfile.mkstemp(prefix="bench-rss.")
    os.close(fd)
    if nice:
        cmd = ["nice", "-n", str(nice)] + cmd
    p = subprocess.Popen([RSS_RUN, report] + cmd, stdout=subprocess.PIPE)
    t0 = time.monotonic()
    peak = {"RssAnon": 0, "RssFile": 0, "VmRSS": 0, "disk": 0}
    last = {"RssAnon": 0, "RssFile": 0}
    series = []  # [t, anon, file, disk] every 0.2 s
    stop = threading.Event()

    def sampler():
        pid = None
        while not stop.is_set():
            if pid is None:
                pid = child_of(p.pid)
            st = proc_status(pid) if pid is not None else None
            if st:
                for k in ("RssAnon", "RssFile", "VmRSS"):
                    peak[k] = max(peak[k], st.get(k, 0))
                    if k in last:
                        last[k] = st.get(k, 0)
            disk = tree_bytes(ixdir)
            peak["disk"] = max(peak["disk"], disk)
            if st:
                series.append([round(time.monotonic() - t0, 2), st.get("RssAnon", 0),
                               st.get("RssFile", 0), disk])
            stop.wait(0.2)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    timeline, done = [], None
    for raw in p.stdout:
        line = raw.decode(errors="replace").strip()
        if not line.startswith("{"):
            continue
        ev = json.loads(line)
        ev["t"] = time.monotonic() - t0
        ev["rss_anon"] = last["RssAnon"]
        ev["rss_file"] = last["RssFile"]
        if ev.get("event") == "done":
            done = ev
        else:
            timeline.append(ev)
    rc = p.wait()
    stop.set()
    th.join()
    peak["disk"] = max(peak["disk"], tree_bytes(ixdir))
    try:
        if rc != 0:
            sys.exit("scale: indexing failed (%d): %s" % (rc, " ".join(cmd)))
        rep = json.load(open(report))
    finally:
        os.unlink(report)
    if done is None:
        sys.exit("scale: the indexer printed no summary")
    return rep, done, timeline, peak, series


# ---------------------------------------------------------------- corpora

def prepare(size, args):
    out = os.path.join(DATA, "synth-%s.jsonl" % size)
    n = SIZES[size]
    have = os.path.exists(out) and os.path.exists(out + ".meta.json")
    # text (unless present) + the index + its runs during the build
    need = n * TEXT_PER_DOC * (2 if have else 3)
    free = shutil.disk_usage(DATA).free
    if free < need:
        sys.exit("scale: synth-%s needs about %.1f GB free under %s, %.1f GB free"
                 % (size, need / 1e9, DATA, free / 1e9))
    if have:
        log("reusing %s" % os.path.relpath(out, ROOT))
        return out, None
    log("generating synth-%s (%d docs, about %.1f GB)" % (size, n, n * TEXT_PER_DOC / 1e9))
    t = time.monotonic()
    cmd = [sys.executable, os.path.join(HERE, "gen_corpus.py"), "--docs", str(n),
           "--out", out, "--seed", "42", "--jobs", str(args.jobs)]
    if args.nice:
        cmd = ["nice", "-n", str(args.nice)] + cmd
    subprocess.run(cmd, check=True)
    return out, time.monotonic() - t


# ------------------------------------------------------------------ a size

def wait_ready(sock, logname):
    for _ in range(1200):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.sendall(b'{"op":"ping"}\n')
            if b'"pong":true' in s.recv(4096):
                s.close()
                return
            s.close()
        except OSError:
            time.sleep(0.05)
    sys.exit("scale: trawld did not come up (see %s)" % logname)


def stats_of(sock):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(b'{"op":"stats"}\n')
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf)


def run_size(size, corpus, gen_s, args):
    m = json.load(open(corpus + ".meta.json"))
    r = {"size": size, "docs": m["docs"], "text_bytes": m["text_bytes"],
         "corpus_bytes": os.path.getsize(corpus), "gen_s": gen_s,
         "load_before": os.getloadavg()}
    qfile = os.path.join(DATA, "queries-scale-%s.txt" % size)
    subprocess.run([sys.executable, os.path.join(HERE, "gen_queries.py"), "--corpus", corpus,
                    "--seed", "7", "--out", qfile, "--count", str(args.queries)],
                   check=True, stdout=subprocess.DEVNULL)
    r["queries"] = sum(1 for l in open(qfile) if l.strip())
    r["phrases"] = sum(1 for l in open(qfile) if l.startswith('"'))

    ix = os.path.join(DATA, "idx", "scale-%s" % size)
    shutil.rmtree(ix, ignore_errors=True)
    os.makedirs(os.path.dirname(ix), exist_ok=True)
    log("synth-%s: trawl-index --memory %d (%d docs, %.0f MB of text)"
        % (size, args.memory, r["docs"], r["text_bytes"] / 1e6))
    rep, done, timeline, peak, series = measured_build(
        [os.path.join(args.build, "bin", "trawl-index"), "--full", "--memory", str(args.memory),
         "--progress=json", "--index", ix, corpus], ix, args.nice)
    commit = [e for e in timeline if e.get("event") == "commit"]
    r["build"] = {"wall_s": rep["wall_s"], "rss": rep["maxrss_kb"] * 1024,
                  "utime_s": rep.get("utime_s"), "stime_s": rep.get("stime_s"),
                  "written": rep.get("oublock", 0) * 512, "read": rep.get("inblock", 0) * 512,
                  "peak_anon": peak["RssAnon"], "peak_file": peak["RssFile"],
                  "peak_vmrss": peak["VmRSS"],
                  "peak_disk": peak["disk"],
                  "commit_at_s": commit[0]["elapsed_s"] if commit else None,
                  "done": done}
    r["timeline"] = [{"t": e["elapsed_s"], "docs": e["docs"], "anon": e["rss_anon"],
                      "file": e["rss_file"], "event": e["event"]} for e in timeline]
    r["series"] = series
    r["index_bytes"] = tree_bytes(ix)
    r["load_after_build"] = os.getloadavg()
    log("synth-%s: built in %.1f s, peak RSS %.0f MB, index %.0f MB, %d runs, %d merges"
        % (size, rep["wall_s"], r["build"]["rss"] / 1e6, r["index_bytes"] / 1e6,
           done["runs"], done["merges"]))

    log("synth-%s: %d queries in process (threads %s)" % (size, r["queries"], LEVELS))
    rep, out = measured([os.path.join(args.bin, "trawl_bench"), "query", ix, qfile,
                         "--threads", LEVELS, "--repeat", str(args.repeat)])
    r["inproc"] = {str(j["threads"]): j for j in jsonlines(out)}
    r["inproc_rss"] = rep["maxrss_kb"] * 1024

    log("synth-%s: queries through trawld (clients %s)" % (size, LEVELS))
    sockdir = tempfile.mkdtemp(prefix="trawl-scale.")
    sock = os.path.join(sockdir, "trawl.sock")
    logname = os.path.join(args.bin, "trawld-scale-%s.log" % size)
    logf = open(logname, "w")
    t = time.monotonic()
    d = subprocess.Popen([os.path.join(args.build, "bin", "trawld"), "--index", ix,
                          "--socket", sock, "--log-level", "warn"], stdout=logf, stderr=logf)
    try:
        wait_ready(sock, logname)
        r["daemon_ready_s"] = time.monotonic() - t
        _, out = measured([os.path.join(args.bin, "daemon_bench"), "query", sock, qfile,
                           "--threads", LEVELS, "--repeat", str(args.repeat)])
        r["socket"] = {str(j["threads"]): j for j in jsonlines(out)}
        st = stats_of(sock)
        r["daemon_stats"] = {k: st.get(k) for k in ("docs", "terms", "segments", "tokens",
                                                     "index_bytes")}
        r["daemon_mem"] = proc_status(d.pid)
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=10)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        logf.close()
        shutil.rmtree(sockdir, ignore_errors=True)
    r["load_after"] = os.getloadavg()
    if not args.keep_indexes:
        shutil.rmtree(ix, ignore_errors=True)
    return r


# ----------------------------------------------------------------- report

def mb(v):
    return "n/a" if v is None else "%.1f MB" % (v / 1e6)


def us(v):
    if v is None:
        return "n/a"
    return "%.0f us" % v if v >= 100 else "%.1f us" % v


def num(v, fmt="%.1f"):
    return "n/a" if v is None else fmt % v


def metrics(r):
    """(name, unit, value) rows shared by the per-size and growth tables."""
    b, dn = r["build"], r["build"]["done"]
    cpu = (b["utime_s"] or 0) + (b["stime_s"] or 0)
    rows = [
        ("documents", "n", r["docs"]),
        ("text (title + body)", "MB", r["text_bytes"]),
        ("index build, wall", "s", b["wall_s"]),
        ("  of which reading + inverting (until the commit event)", "s", b["commit_at_s"]),
        ("    stalls while reading (no progress event for over 1 s: runs being written)", "s",
         stalls(r)[0]),
        ("  of which final write / merge / commit", "s",
         b["wall_s"] - b["commit_at_s"] if b["commit_at_s"] is not None else None),
        ("index build, CPU (user + sys)", "s", cpu),
        ("  cores busy on average (CPU / wall)", "x", cpu / b["wall_s"]),
        ("indexing MB/s (text)", "f", r["text_bytes"] / 1e6 / b["wall_s"]),
        ("indexing docs/s", "f0", r["docs"] / b["wall_s"]),
        ("peak RSS (wait4)", "MB", b["rss"]),
        ("  peak RSS, sampled every 0.2 s", "MB", b.get("peak_vmrss")),
        ("  peak anonymous RSS (sampled)", "MB", b["peak_anon"]),
        ("  peak file-backed RSS (sampled)", "MB", b["peak_file"]),
        ("  peak anonymous RSS while reading (sampled)", "MB", phase_peak(r, 1, False)),
        ("  peak anonymous RSS in the final write / merge (sampled)", "MB",
         phase_peak(r, 1, True)),
        ("  peak file-backed RSS in the final write / merge (sampled)", "MB",
         phase_peak(r, 2, True)),
        ("runs written (more than 1: flushed at the budget)", "n", dn["runs"]),
        ("merges", "n", dn["merges"]),
        ("segments in the index", "n", dn["segments"]),
        ("distinct terms", "n", dn["terms"]),
        ("index size", "MB", r["index_bytes"]),
        ("index size / text size", "x", r["index_bytes"] / r["text_bytes"]),
        ("peak disk of the index dir during the build", "MB", b["peak_disk"]),
        ("bytes written by the build (rusage)", "MB", b["written"]),
        ("trawld ready (open the index, first ping)", "s", r.get("daemon_ready_s")),
    ]
    ip, sk = r["inproc"], r["socket"]
    for p in ("p50", "p95", "p99"):
        rows.append(("latency %s, in process, 1 thread" % p, "us", ip["1"][p + "_us"]))
    for t in ("1", "2"):
        rows.append(("QPS in process, %s thread%s" % (t, "s" if t != "1" else ""), "f0", ip[t]["qps"]))
    for p in ("p50", "p95", "p99"):
        rows.append(("latency %s, trawld, 1 client" % p, "us", sk["1"][p + "_us"]))
    for p in ("p50", "p95", "p99"):
        rows.append(("latency %s, trawld, 2 clients" % p, "us", sk["2"][p + "_us"]))
    for t in ("1", "2"):
        rows.append(("QPS trawld, %s client%s" % (t, "s" if t != "1" else ""), "f0", sk[t]["qps"]))
    rows.append(("mean hits per query (of at most 10)", "f2", ip["1"]["mean_hits"]))
    rows.append(("peak RSS of trawl_bench (queries in process)", "MB", r["inproc_rss"]))
    dm = r.get("daemon_mem") or {}
    rows.append(("trawld RSS after the queries (anonymous / total)", "MB2",
                 (dm.get("RssAnon"), dm.get("VmRSS"))))
    return rows


def stalls(r):
    """(seconds, count) of the gaps of over 1 s between the indexer's
    progress events (emitted every 0.5 s while it reads), minus the 0.5 s
    it would have waited anyway."""
    tl = [e["t"] for e in r["timeline"]]
    gaps = [b - a for a, b in zip(tl, tl[1:]) if b - a > 1.0]
    return sum(g - 0.5 for g in gaps), len(gaps)


def phase_peak(r, col, after_commit):
    """Peak of a sampled column (1 anon, 2 file, 3 disk) before or after
    the commit event."""
    at = r["build"]["commit_at_s"]
    ser = r.get("series")
    if not ser or at is None:
        return None
    vals = [x[col] for x in ser if (x[0] >= at) == after_commit]
    return max(vals) if vals else None


def cell(unit, v):
    if v is None:
        return "n/a"
    if unit == "MB":
        return mb(v)
    if unit == "MB2":
        return "%s / %s" % (mb(v[0]), mb(v[1]))
    if unit == "us":
        return us(v)
    if unit == "s":
        return "%.2f s" % v
    if unit == "x":
        return "%.2f" % v
    if unit == "n":
        return "%d" % v
    if unit == "f0":
        return "%.0f" % v
    if unit == "f2":
        return "%.2f" % v
    return "%.1f" % v


def growth(a, b, unit):
    if unit == "MB2":
        a, b = a[1] if a else None, b[1] if b else None
    if a is None or b is None or not a:
        return "n/a"
    return "%.2fx" % (b / a)


def render(res):
    L = []
    add = L.append
    add("# trawl at scale: 10k, 100k and 1M documents")
    add("")
    add("Generated by `bench/scale.py` (run by `sh bench/run.sh --scale`, see bench/README.md); "
        "do not edit by hand.")
    add("")
    add("- date: %s" % res["date"])
    add("- command: `%s` (wall time of the run: %.0f s)" % (res["command"], res["elapsed_s"]))
    add("- machine: %s, %d CPUs (nproc), %.1f GB RAM, %s" % (res["cpu"], res["nproc"],
                                                             res["ram"] / 1e9, res["os"]))
    add("- load average (1, 5, 15 min) at the start: %.2f %.2f %.2f, at the end: %.2f %.2f %.2f"
        % (tuple(res["load_start"]) + tuple(res["load_end"])))
    add("- trawl: commit %s, CMake Release build; `trawl-index --full --memory %d` "
        "(the memory budget in MiB) run with `nice -n %d`; queries not niced"
        % (res["commit"], res["memory"], res["nice"]))
    add("- queries: %d per size (gen_queries.py, seed 7, drawn from that size's corpus), "
        "top 10 by score, snippets off; fastest of %d timed passes after a warm-up"
        % (res["queries"], res["repeat"]))
    add("")
    sizes = res["sizes"]
    rows = [metrics(r) for r in sizes]
    add("## Growth")
    add("")
    hdr = "| metric | " + " | ".join("synth-%s" % r["size"] for r in sizes)
    sep = "|---|" + "---:|" * len(sizes)
    pairs = list(zip(range(len(sizes) - 1), range(1, len(sizes))))
    for i, j in pairs:
        hdr += " | %s -> %s" % (sizes[i]["size"], sizes[j]["size"])
        sep += "---:|"
    add(hdr + " |")
    add(sep)
    for k, (name, unit, _) in enumerate(rows[0]):
        line = "| %s | " % name + " | ".join(cell(unit, rw[k][2]) for rw in rows)
        for i, j in pairs:
            line += " | " + growth(rows[i][k][2], rows[j][k][2], unit)
        add(line + " |")
    add("")
    add("The growth columns are the ratio of the larger size's figure to the smaller's "
        "(the corpus itself grows 10x each step).")
    for r in sizes:
        add("")
        add("## synth-%s (%d docs, %.1f MB of text, %.1f MB of JSON)"
            % (r["size"], r["docs"], r["text_bytes"] / 1e6, r["corpus_bytes"] / 1e6))
        add("")
        b, dn = r["build"], r["build"]["done"]
        add("| | |")
        add("|---|---:|")
        add("| corpus | %s |" % ("generated in %.0f s (gen_corpus.py --jobs %d, nice)"
                                % (r["gen_s"], res["jobs"]) if r["gen_s"] else "reused from bench/data"))
        add("| queries (phrases) | %d (%d) |" % (r["queries"], r["phrases"]))
        add("| load average before the build / after it / after the queries | %.2f / %.2f / %.2f |"
            % (r["load_before"][0], r["load_after_build"][0], r["load_after"][0]))
        for name, unit, v in metrics(r):
            if name in ("documents", "text (title + body)"):
                continue
            add("| %s | %s |" % (name.strip(), cell(unit, v)))
        add("| indexer summary: tokens / terms / segments | %s / %d / %d |"
            % (num((r.get("daemon_stats") or {}).get("tokens"), "%d"), dn["terms"], dn["segments"]))
        tl = [e for e in r["timeline"] if e["event"] == "progress"]
        if len(tl) >= 10:
            add("")
            add("Progress of the build (from the indexer's JSON progress events; RSS sampled "
                "at the same moment):")
            add("")
            add("| elapsed | docs read | docs/s in the interval | anonymous RSS | file-backed RSS | index dir on disk |")
            add("|---:|---:|---:|---:|---:|---:|")
            picks, prev = [], None
            for q in range(1, 11):
                want = r["docs"] * q / 10
                e = next((e for e in tl if e["docs"] >= want), tl[-1])
                if e is not prev:
                    picks.append(e)
                    prev = e
            last_t, last_d = 0.0, 0
            for e in picks:
                dt = e["t"] - last_t
                rate = (e["docs"] - last_d) / dt if dt > 0 else 0
                add("| %.1f s | %d | %.0f | %s | %s | %s |" % (
                    e["t"], e["docs"], rate, mb(e["anon"]), mb(e["file"]),
                    mb(disk_at(r, e["t"]))))
                last_t, last_d = e["t"], e["docs"]
            if b["commit_at_s"] is not None:
                add("| %.1f s | commit starts | | | | %s |" % (b["commit_at_s"],
                                                           mb(disk_at(r, b["commit_at_s"]))))
                add("| %.1f s | done | | | | %s |" % (b["wall_s"], mb(r["index_bytes"])))
            st, n = stalls(r)
            add("")
            if n:
                add("While reading, the progress events stopped %d times for over a second "
                    "(%.1f s in all): reading waits while a run is written out." % (n, st))
            else:
                add("The progress events never stopped for over a second while reading.")
    add("")
    add(res.get("notes", NOTES_PLACEHOLDER))
    return "\n".join(L) + "\n"


NOTES_PLACEHOLDER = """## Notes

(No notes: see bench/scale.py --notes.)"""


def disk_at(r, t):
    """The index directory's size sampled at or just before t."""
    best = None
    for x in r.get("series") or ():
        if x[0] <= t:
            best = x[3]
    return best


# ------------------------------------------------------------------- main

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
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "core",
                                "indexer", "daemon"], capture_output=True, text=True).stdout.strip()
        res["commit"] = c + (" (with uncommitted changes in core/indexer/daemon)" if dirty else "")
    except OSError:
        res["commit"] = "?"


def write_report(res, path, notes_file):
    if notes_file:
        res["notes"] = open(notes_file, encoding="utf-8").read().rstrip("\n")
    with open(path + ".tmp", "w") as f:
        f.write(render(res))
    os.replace(path + ".tmp", path)
    log("wrote %s" % path)


def main():
    global RSS_RUN
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", help="trawl CMake build dir")
    ap.add_argument("--bin", help="directory of the bench programs")
    ap.add_argument("--sizes", default="10k,100k,1m")
    ap.add_argument("--memory", type=int, default=1024, help="trawl-index --memory (MiB)")
    ap.add_argument("--queries", type=int, default=1000, help="queries per size")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes (fastest kept)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="gen_corpus.py processes")
    ap.add_argument("--nice", type=int, default=10, help="niceness of generation and indexing")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS-scale.md"))
    ap.add_argument("--command", default="sh bench/run.sh --scale")
    ap.add_argument("--keep-indexes", action="store_true")
    ap.add_argument("--trawl-commit", help="how to name the trawl source in the report")
    ap.add_argument("--notes", help="a Markdown file appended to the report as its notes")
    ap.add_argument("--render", metavar="JSON", help="only rewrite the report from a saved run")
    args = ap.parse_args()
    if args.render:
        write_report(json.load(open(args.render)), args.results, args.notes)
        return
    if not args.build or not args.bin:
        sys.exit("scale: --build and --bin are required (run it through bench/run.sh --scale)")
    sizes = args.sizes.split(",")
    for s in sizes:
        if s not in SIZES:
            sys.exit("scale: unknown size %s (10k, 100k, 1m)" % s)
    RSS_RUN = os.path.join(args.bin, "rss_run")
    os.makedirs(DATA, exist_ok=True)
    t0 = time.monotonic()
    res = {"command": args.command, "memory": args.memory, "nice": args.nice,
           "queries": args.queries, "repeat": args.repeat, "jobs": args.jobs, "sizes": [],
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "load_start": os.getloadavg()}
    machine_info(res)
    if args.trawl_commit:
        res["commit"] = args.trawl_commit
    saved = os.path.join(args.bin, "scale-results.json")
    for s in sizes:
        corpus, gen_s = prepare(s, args)
        res["sizes"].append(run_size(s, corpus, gen_s, args))
        with open(saved, "w") as f:  # partial results survive a failure later on
            json.dump(res, f, indent=1)
    res["elapsed_s"] = time.monotonic() - t0
    res["load_end"] = os.getloadavg()
    with open(saved, "w") as f:
        json.dump(res, f, indent=1)
    for name, unit, _ in metrics(res["sizes"][0]):
        print("%-58s %s" % (name[:58], "  ".join("%16s" % cell(unit, v)
                                                for v in (dict((n, x) for n, _, x in metrics(r))[name]
                                                          for r in res["sizes"]))))
    write_report(res, args.results, args.notes)
    log("done in %.0f s (results also in %s)" % (res["elapsed_s"], os.path.relpath(saved, ROOT)))


if __name__ == "__main__":
    main()
