#!/usr/bin/env python3
"""Seeded query sets for the trawl benchmarks.

Ad hoc queries (--out): one query per line in trawl syntax, which the peers
translate (words are AND-ed everywhere; "..." is a phrase). Each query is
drawn from one random document of the corpus, so it matches at least that
document:
  * 1-4 words (20% one word, 30% two, 20% three, 10% four): distinct words
    sampled by occurrence from the document's title and body (so frequent
    words of the document are likelier), skipping stopwords and words of
    fewer than 3 letters;
  * 20% phrases: a run of 2-3 consecutive words of one sentence (nothing
    but spaces between them), in double quotes.
Only words of plain letters a-z are used (no digits, apostrophes or
hyphens), so every engine's tokenizer sees the same words.

Known-item queries (--known-out): "TARGET_ID<TAB>query" lines. For a random
document with at least --min-words words, 5 random runs of 3-5 consecutive
words of one sentence are drawn and the most distinctive one (highest sum
of idf, df estimated on a sample of the corpus) is issued as a plain query
(no quotes: every word must match, ranking decides).

Usage: gen_queries.py --corpus JSONL [--out F --count N] [--known-out F
       --known-count N --min-words W] [--seed S]
"""
import argparse
import math
import os
import random
import re
import sys

import json

TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)*|[^\sA-Za-z0-9]")
STOP = set("""a an and are as at be been but by for from had has have he her his
i if in into is it its me my no not of on or our she so than that the their
them then there these they this those to us was we were what when which who
will with would you your""".split())


def load_docs(path, rng, want):
    """Return `want` documents (dicts) sampled from a JSON Lines file: all
    lines for files up to 256 MB, random byte offsets beyond."""
    size = os.path.getsize(path)
    if size <= 256 << 20:
        with open(path, encoding="utf-8") as f:
            docs = [json.loads(l) for l in f if l.strip()]
        return docs, True
    out = []
    with open(path, "rb") as f:
        while len(out) < want:
            f.seek(rng.randrange(size))
            f.readline()
            line = f.readline()
            if not line.strip():
                continue
            out.append(json.loads(line))
    return out, False


def sentences(text):
    """Runs of plain-letter words with only spaces between them."""
    runs, cur = [], []
    for m in TOKEN_RE.finditer(text):
        t = m.group(0)
        if t.isalpha() and t.isascii():
            if cur and text[cur[-1][1]:m.start()].strip(" \t") != "":
                runs.append([w for w, _ in cur])
                cur = []
            cur.append((t.lower(), m.end()))
        else:
            if cur:
                runs.append([w for w, _ in cur])
            cur = []
    if cur:
        runs.append([w for w, _ in cur])
    return [r for r in runs if r]


def words_of(doc):
    return [w.lower() for w in re.findall(r"[A-Za-z]+", doc["title"] + " " + doc["body"])]


def adhoc_query(rng, doc):
    kind = rng.random()
    if kind < 0.8:
        k = 1 if kind < 0.2 else 2 if kind < 0.5 else 3 if kind < 0.7 else 4
        toks = [w for w in TOKEN_RE.findall(doc["title"] + " " + doc["body"])
                if w.isalpha() and w.isascii() and len(w) >= 3 and w.lower() not in STOP]
        if not toks:
            return None
        chosen = []
        for _ in range(50):
            w = rng.choice(toks).lower()
            if w not in chosen:
                chosen.append(w)
            if len(chosen) == k:
                break
        return " ".join(chosen)
    runs = [r for r in sentences(doc["body"]) if len(r) >= 3]
    if not runs:
        return None
    run = rng.choice(runs)
    n = rng.choice((2, 3))
    for _ in range(20):
        i = rng.randrange(len(run) - n + 1)
        ph = run[i:i + n]
        if any(w not in STOP for w in ph):
            return '"%s"' % " ".join(ph)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--known-out")
    ap.add_argument("--known-count", type=int, default=200)
    ap.add_argument("--min-words", type=int, default=0)
    ap.add_argument("--id-prefix", default="", help="known-item targets: only ids starting with this")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    docs, complete = load_docs(args.corpus, rng, 20000)

    if args.out:
        qs = []
        while len(qs) < args.count:
            q = adhoc_query(rng, rng.choice(docs))
            if q:
                qs.append(q)
        with open(args.out, "w") as f:
            f.write("\n".join(qs) + "\n")
        print("gen_queries: %d queries -> %s" % (len(qs), args.out))

    if args.known_out:
        sample = docs if len(docs) <= 5000 else rng.sample(docs, 5000)
        df = {}
        for d in sample:
            for w in set(words_of(d)):
                df[w] = df.get(w, 0) + 1
        n = len(sample)
        idf = lambda w: math.log((n + 1) / (df.get(w, 0) + 0.5))
        cands = [d for d in docs if d["id"].startswith(args.id_prefix)
                 and len(d["body"].split()) >= args.min_words]
        if not cands:
            sys.exit("gen_queries: no document has %d words" % args.min_words)
        out = []
        while len(out) < args.known_count:
            d = rng.choice(cands)
            runs = sentences(d["body"])
            best = None
            for _ in range(5):
                L = rng.randint(3, 5)
                ok = [r for r in runs if len(r) >= L]
                if not ok:
                    break
                r = rng.choice(ok)
                i = rng.randrange(len(r) - L + 1)
                ph = r[i:i + L]
                s = sum(idf(w) for w in ph)
                if best is None or s > best[0]:
                    best = (s, ph)
            if best:
                out.append("%s\t%s" % (d["id"], " ".join(best[1])))
        with open(args.known_out, "w") as f:
            f.write("\n".join(out) + "\n")
        print("gen_queries: %d known-item queries (docs >= %d words) -> %s"
              % (len(out), args.min_words, args.known_out))


if __name__ == "__main__":
    main()
