#!/usr/bin/env python3
"""Synthetic news-like corpus generator for the trawl benchmarks.

The model is built from a real corpus (by default the State of the Union
addresses, corpus/sotu/sotu.jsonl):

  * unigrams: every word of the real text, ranked by frequency. The real
    counts are kept for the real words; beyond them the vocabulary goes on
    with made-up words (syllable strings) whose probabilities continue the
    power law fitted to the real rank/frequency curve, so a large corpus
    keeps growing its vocabulary the way real text does (Heaps' law);
  * bigrams: with probability BIGRAM_P the next word is drawn from the
    real successors of the previous word (so common phrases such as
    "united states" or "the federal government" occur as phrases);
  * shape: bodies of 300-800 words (uniform), sentences of 8-30 words,
    paragraphs of 3-6 sentences, titles of 5-12 words, dates 2000-2025.

Output: JSON Lines {"id", "title", "body", "date"}, plus PATH.meta.json with
the document count and the bytes of title + body text. Deterministic for a
given --seed, --docs and source file (shards are seeded independently, so
the result does not depend on --jobs).

Usage: gen_corpus.py --docs N --out PATH [--seed S] [--source JSONL] [--jobs J]
"""
import argparse
import bisect
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import sys

BIGRAM_P = 0.35
TAIL_RANKS = 2_000_000   # vocabulary size including the made-up tail
SHARD = 5000             # documents per independently seeded shard
WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")

MODEL = None  # set in the parent before forking workers


def build_model(source):
    counts = {}
    succ = {}
    with open(source, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            for para in rec["body"].split("\n"):
                # bigrams do not cross sentence ends
                for sent in re.split(r"[.!?;:]+", para):
                    words = WORD_RE.findall(sent.lower())
                    prev = None
                    for w in words:
                        counts[w] = counts.get(w, 0) + 1
                        if prev is not None:
                            succ.setdefault(prev, []).append(w)
                        prev = w
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    words = [w for w, _ in ranked]
    freqs = [c for _, c in ranked]
    total = float(sum(freqs))
    # Fit log f = a - s log r over ranks 10..min(10000, V) (the straight part).
    lo, hi = 10, min(10000, len(freqs))
    xs = [math.log(r) for r in range(lo, hi + 1)]
    ys = [math.log(freqs[r - 1]) for r in range(lo, hi + 1)]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    s = -sxy / sxx
    a = my + s * mx
    weights = [c / total for c in freqs]
    for r in range(len(freqs) + 1, TAIL_RANKS + 1):
        weights.append(math.exp(a - s * math.log(r)) / total)
    cum = list(itertools.accumulate(weights))
    # The tail's words are made up deterministically from the rank.
    succ_words = {w: lst for w, lst in succ.items()}
    return {"words": words, "cum": cum, "succ": succ_words, "zipf_s": s,
            "real_vocab": len(words), "tail_mass": 1.0 - sum(weights[:len(words)]) / cum[-1]}


SYL = ["ba", "ce", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu", "na", "pe",
       "ri", "so", "tu", "va", "we", "xi", "yo", "za", "bra", "cle", "dri",
       "fla", "gro", "pli", "stra", "tho", "vin", "mar", "ten", "lus"]


def tail_word(rank):
    """A made-up word for a vocabulary rank beyond the real words."""
    n = rank
    out = []
    while True:
        out.append(SYL[n % len(SYL)])
        n //= len(SYL)
        if n == 0:
            break
    return "q" + "".join(out)  # 'q' + syllables never collides with English


def word_at(i):
    words = MODEL["words"]
    return words[i] if i < len(words) else tail_word(i)


def gen_words(rng, n, first_prev=None):
    cum, succ = MODEL["cum"], MODEL["succ"]
    total = cum[-1]
    draws = [bisect.bisect_left(cum, rng.random() * total) for _ in range(n)]
    out = []
    prev = first_prev
    for i in range(n):
        w = None
        if prev is not None and rng.random() < BIGRAM_P:
            lst = succ.get(prev)
            if lst:
                w = lst[int(rng.random() * len(lst))]
        if w is None:
            w = word_at(draws[i])
        out.append(w)
        prev = w
    return out


def gen_doc(rng, doc_id):
    nwords = rng.randint(300, 800)
    words = gen_words(rng, nwords)
    paras, sents, i = [], [], 0
    while i < nwords:
        ln = min(rng.randint(8, 30), nwords - i)
        sent = words[i:i + ln]
        sent[0] = sent[0].capitalize()
        sents.append(" ".join(sent) + ".")
        i += ln
        if len(sents) >= rng.randint(3, 6):
            paras.append(" ".join(sents))
            sents = []
    if sents:
        paras.append(" ".join(sents))
    title = " ".join(w.capitalize() for w in gen_words(rng, rng.randint(5, 12)))
    day = rng.randint(0, 9496)  # 2000-01-01 .. 2025-12-31
    import datetime
    date = (datetime.date(2000, 1, 1) + datetime.timedelta(days=day)).isoformat()
    return {"id": "syn-%07d" % doc_id, "title": title,
            "body": "\n\n".join(paras), "date": date}


def gen_shard(args):
    seed, shard, start, count = args
    rng = random.Random(seed * 1_000_003 + shard)
    lines = []
    text_bytes = 0
    for k in range(count):
        d = gen_doc(rng, start + k)
        text_bytes += len(d["title"].encode()) + len(d["body"].encode())
        lines.append(json.dumps(d, ensure_ascii=False))
    return "\n".join(lines) + "\n", text_bytes


def main():
    global MODEL
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--source", default=os.path.join(here, "..", "corpus", "sotu", "sotu.jsonl"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if not os.path.exists(args.source):
        sys.exit("gen_corpus: %s is missing (run: sh corpus/fetch-sotu.sh)" % args.source)
    MODEL = build_model(args.source)
    shards = []
    for sh, start in enumerate(range(0, args.docs, SHARD)):
        shards.append((args.seed, sh, start, min(SHARD, args.docs - start)))
    tmp = args.out + ".tmp"
    text_bytes = 0
    with open(tmp, "w", encoding="utf-8") as f:
        if args.jobs > 1 and len(shards) > 1:
            with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
                for text, nb in pool.imap(gen_shard, shards):
                    f.write(text)
                    text_bytes += nb
        else:
            for s in shards:
                text, nb = gen_shard(s)
                f.write(text)
                text_bytes += nb
    os.replace(tmp, args.out)
    meta = {"docs": args.docs, "text_bytes": text_bytes, "seed": args.seed,
            "source": os.path.basename(args.source),
            "zipf_exponent": round(MODEL["zipf_s"], 4),
            "real_vocabulary": MODEL["real_vocab"],
            "tail_mass": round(MODEL["tail_mass"], 5),
            "bigram_p": BIGRAM_P, "vocabulary_ranks": TAIL_RANKS}
    with open(args.out + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    print("gen_corpus: %d docs, %.1f MB of text, Zipf s=%.3f over %d real words -> %s"
          % (args.docs, text_bytes / 1e6, MODEL["zipf_s"], MODEL["real_vocab"], args.out))


if __name__ == "__main__":
    main()
