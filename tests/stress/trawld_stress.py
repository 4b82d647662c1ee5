#!/usr/bin/env python3
"""trawld stress (docs/fuzzing.md, ThreadSanitizer): N clients pipelining
searches, counts, gets, stats and reloads, clients killed mid-answer, a
trawl-index rebuild and --merge every few seconds, SIGHUP now and then,
then SIGTERM under load. Run it with a TSan or ASan build's binaries:

    CORPUS=corpus/sotu/sotu.jsonl NCLIENTS=8 \
        python3 tests/stress/trawld_stress.py BIN_DIR WORK_DIR SECONDS

It prints its counts; trawld must exit 0 and the sanitizer report nothing.
"""
import json, os, random, signal, socket, subprocess, sys, threading, time

bindir, work, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
nclients = int(os.environ.get("NCLIENTS", "8"))
src = os.environ.get("CORPUS")
os.makedirs(work, exist_ok=True)
ix = os.path.join(work, "ix"); sock = os.path.join(work, "s.sock")
cdir = os.path.join(work, "corpus")
lines = open(src, encoding="utf-8").read().splitlines()
ids = [json.loads(l)["id"] for l in lines]
words = ["nation", "war", "congress", "tax", "people", "peace", "economy",
         "america*", "\"united states\"", "freedom OR liberty", "-war peace",
         "title:union", "health care", "jobs", "korea", "iraq", "(tax OR taxes) -cut",
         "date:1990-01-01..2000-12-31 war", "zzzznothing"]
stats = {"req": 0, "resp": 0, "reloads": 0, "kills": 0, "rebuilds": 0, "merges": 0,
         "errors": 0, "conns": 0, "sighup": 0}
lk = threading.Lock()
stop = threading.Event()

def write_corpus(k):
    os.makedirs(cdir, exist_ok=True)
    rnd = random.Random(k)
    sub = [l for l in lines if rnd.random() < 0.8]
    # split into several files so reruns change some
    nf = 4
    for i in range(nf):
        with open(os.path.join(cdir, "p%d.jsonl" % i), "w") as f:
            for l in sub[i::nf]:
                d = json.loads(l)
                if rnd.random() < 0.1:
                    d["body"] += " edited %d" % k
                f.write(json.dumps(d) + "\n")

def index(args):
    r = subprocess.run([os.path.join(os.environ.get("INDEXBIN", bindir), "trawl-index"), "--index", ix, "-q"] + args,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0,):
        print("trawl-index", args, "rc", r.returncode, r.stderr[-2000:], flush=True)
    return r.returncode

def req():
    r = random.random()
    q = random.choice(words)
    if r < 0.55:
        return {"op": "search", "q": q, "limit": random.choice([0, 1, 10, 50, 1000]),
                "offset": random.choice([0, 0, 5]), "snippet": random.random() < 0.7,
                "sort": random.choice(["score", "date", "date_asc"])}
    if r < 0.75:
        return {"op": "count", "q": q}
    if r < 0.92:
        return {"op": "get", "doc": random.choice(ids)}
    if r < 0.97:
        return {"op": "stats"}
    if r < 0.985:
        return {"op": "reload"}
    return {"op": "ping"}

def client(n):
    rnd = random.Random(n)
    while not stop.is_set():
        try:
            s = socket.socket(socket.AF_UNIX); s.connect(sock)
        except OSError:
            time.sleep(0.05); continue
        with lk: stats["conns"] += 1
        f = s.makefile("rb")
        try:
            for _ in range(rnd.randint(1, 30)):
                if stop.is_set(): break
                k = rnd.randint(1, 40)
                batch = []
                for i in range(k):
                    r = req(); r["id"] = i; batch.append(r)
                s.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in batch))
                with lk:
                    stats["req"] += k
                    stats["reloads"] += sum(1 for r in batch if r["op"] == "reload")
                if rnd.random() < 0.03:
                    raise ConnectionAbortedError("dead")
                kill_at = rnd.randint(0, k - 1) if rnd.random() < 0.08 else None
                for i in range(k):
                    if kill_at is not None and i == kill_at:
                        raise ConnectionAbortedError("kill")
                    line = f.readline()
                    if not line:
                        raise ConnectionResetError("eof")
                    o = json.loads(line)
                    if o.get("id") is None and not o.get("ok") and o["error"]["code"] == "busy":
                        with lk: stats["busy"] = stats.get("busy", 0) + 1
                        raise ConnectionResetError("busy")
                    if o.get("id") != i:
                        print("ORDER", i, o, flush=True); os._exit(3)
                    if not o.get("ok"):
                        code = o["error"]["code"]
                        if code not in ("no_index", "busy", "not_found"):
                            print("ERR", batch[i], o, flush=True)
                            with lk: stats["errors"] += 1
                    with lk: stats["resp"] += 1
        except ConnectionAbortedError:
            with lk: stats["kills"] += 1
        except (ConnectionResetError, BrokenPipeError, OSError) as e:
            if not stop.is_set():
                pass
        finally:
            try:
                if rnd.random() < 0.5:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                s.close()
            except OSError:
                pass

def idler(n):
    rnd = random.Random(1000 + n)
    while not stop.is_set():
        try:
            s = socket.socket(socket.AF_UNIX); s.connect(sock)
            f = s.makefile("rb")
            s.sendall(b'{"op":"ping","id":1}\n'); f.readline()
            time.sleep(rnd.uniform(0.5, 3))
            s.sendall(b'{"op":"count","q":"war","id":2}\n'); f.readline()
            s.close()
        except OSError:
            time.sleep(0.05)

def main():
    write_corpus(0)
    assert index([cdir]) == 0
    env = dict(os.environ)
    d = subprocess.Popen([os.path.join(bindir, "trawld"), "--index", ix, "--socket", sock,
                          "--threads", os.environ.get("THREADS", "3"), "--log-level", "warn"]
                         + os.environ.get("DAEMON_ARGS", "").split(),
                         env=env, stderr=open(os.path.join(work, "trawld.log"), "w"))
    for _ in range(200):
        if os.path.exists(sock): break
        time.sleep(0.05)
    ts = [threading.Thread(target=client, args=(i,)) for i in range(nclients)]
    ts += [threading.Thread(target=idler, args=(i,)) for i in range(int(os.environ.get("IDLERS", "0")))]
    for t in ts: t.start()
    t0 = time.time(); k = 1
    while time.time() - t0 < secs:
        time.sleep(random.uniform(1, 3))
        if d.poll() is not None:
            print("trawld died rc", d.returncode, flush=True); break
        write_corpus(k); k += 1
        index([cdir]); stats["rebuilds"] += 1
        if k % 2 == 0:
            index(["--merge"]); stats["merges"] += 1
        if k % 3 == 0:
            d.send_signal(signal.SIGHUP); stats["sighup"] += 1
        print("t=%.0f" % (time.time() - t0), stats, flush=True)
    # SIGTERM under load
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(30)
    except subprocess.TimeoutExpired:
        print("trawld did not exit in 30 s", flush=True); d.kill(); rc = -9
    stop.set()
    for t in ts: t.join()
    print("FINAL trawld rc", rc, stats, flush=True)

main()
