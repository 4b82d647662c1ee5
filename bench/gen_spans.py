#!/usr/bin/env python3
"""Known-item sets of phrases typed without quotes (for trawl_bench known).

    python3 bench/gen_spans.py CORPUS.jsonl OUTPREFIX [--n 300] [--seed 7]

writes three files of "TARGET[ TARGET...]<TAB>query" lines (a hit is any
of the targets in the top 10):

  OUTPREFIX-span.txt    a span of 2-5 consecutive words of a random
                        document's body holding at least one common word
                        (a stop word or a word in over half the documents)
                        and at least one other, that occurs as that exact
                        phrase in at most 3 documents (the targets: every
                        document holding it); the query is the span unquoted.
  OUTPREFIX-common.txt  the same with spans of 3-6 words that are all
                        common ("to be or not to be").
  OUTPREFIX-rare.txt    a control: spans of 2-4 words none of which is
                        common (ranking should not suffer there).
  OUTPREFIX-title.txt   a random document's title typed as a query
                        (lowercased, query punctuation dropped); targets:
                        the documents with that title (at most 3).

Words are runs of ASCII letters or digits, lowercased (close to trawl's
analyzer without stemming); a span is taken only where its words stand in
the text separated by single spaces and are all letters. Seeded.
"""
import argparse
import collections
import json
import random
import re

STOP = set("""a about above after again against all am an and any are as at
be because been before being below between both but by can could did do
does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me
more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too
under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves shall may must upon""".split())

TOK = re.compile(r"[a-z0-9]+")
ALPHA = re.compile(r"^[A-Za-z]+$")


def tokens(text):
    return TOK.findall(text.lower())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    docs = [json.loads(line) for line in open(args.corpus, encoding="utf-8")]
    ndocs = len(docs)
    toks = []
    df = collections.Counter()
    for d in docs:
        t = tokens(d.get("title", "") + " " + d.get("body", ""))
        toks.append(t)
        df.update(set(t))
    common = {w for w, n in df.items() if n * 2 > ndocs} | STOP

    def pick(doc, lo, hi, want_all_common):
        words = doc.get("body", "").split()
        if len(words) < hi:
            return None
        k = rnd.randint(lo, hi)
        i = rnd.randrange(0, len(words) - k + 1)
        span = words[i:i + k]
        if not all(ALPHA.match(w) for w in span):
            return None
        low = [w.lower() for w in span]
        nc = sum(w in common for w in low)
        if want_all_common is None:
            if nc != 0:
                return None
        elif want_all_common:
            if nc != k:
                return None
        elif nc == 0 or nc == k:
            return None
        return tuple(low)

    cands = {"span": [], "common": [], "rare": []}
    for kind, lo, hi, allc in (("span", 2, 5, False), ("common", 3, 6, True),
                               ("rare", 2, 4, None)):
        seen = set()
        tries = 0
        while len(cands[kind]) < 4 * args.n and tries < 400 * args.n:
            tries += 1
            c = pick(docs[rnd.randrange(ndocs)], lo, hi, allc)
            if c is not None and c not in seen:
                seen.add(c)
                cands[kind].append(c)

    # Documents holding each candidate as an exact phrase.
    want = collections.defaultdict(set)
    lens = set()
    for kind in cands:
        for c in cands[kind]:
            want[c] = set()
            lens.add(len(c))
    for di, t in enumerate(toks):
        for k in lens:
            for j in range(len(t) - k + 1):
                g = tuple(t[j:j + k])
                s = want.get(g)
                if s is not None and len(s) <= 3:
                    s.add(di)

    for kind in cands:
        out = []
        for c in cands[kind]:
            hits = want[c]
            if 1 <= len(hits) <= 3:
                out.append((c, sorted(hits)))
            if len(out) == args.n:
                break
        with open(f"{args.out}-{kind}.txt", "w", encoding="utf-8") as f:
            for c, hits in out:
                ids = " ".join(docs[h]["id"] for h in hits)
                f.write(f"{ids}\t{' '.join(c)}\n")
        print(f"{args.out}-{kind}.txt: {len(out)} of {len(cands[kind])} "
              "candidates")

    bytitle = collections.defaultdict(list)
    for di, d in enumerate(docs):
        bytitle[" ".join(tokens(d.get("title", "")))].append(di)
    out = []
    order = list(range(ndocs))
    rnd.shuffle(order)
    for di in order:
        title = docs[di].get("title", "")
        key = " ".join(tokens(title))
        if not key or len(bytitle[key]) > 3:
            continue
        q = re.sub(r'["():|&]', " ", title.lower())
        q = " ".join(w.lstrip("-") for w in q.split())
        if not q.strip():
            continue
        ids = " ".join(docs[h]["id"] for h in bytitle[key])
        out.append(f"{ids}\t{q}\n")
        if len(out) == args.n:
            break
    with open(f"{args.out}-title.txt", "w", encoding="utf-8") as f:
        f.writelines(out)
    print(f"{args.out}-title.txt: {len(out)}")


if __name__ == "__main__":
    main()
