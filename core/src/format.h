/*
 * The on-disk format of an index directory: the one place its layout is
 * specified. docs/index-format.md is the prose version of this comment;
 * change both together and bump the version with a changelog line.
 *
 * All integers are little-endian. "varint" is unsigned LEB128.
 *
 * Directory
 * ---------
 *   LOCK                 writer lock (flock); holds the writer's pid as text
 *   CURRENT              "gen-NNNNNN.man\n": the live generation; replaced by
 *                        rename(2) after everything it names is fsynced
 *   gen-NNNNNN.man       a manifest: the segments of generation NNNNNN
 *   seg-NNNNNN-SS.trs    an immutable segment: NNNNNN = the generation that
 *                        wrote it, SS = its number within that build (runs
 *                        and merge outputs); older indexes used
 *                        seg-NNNNNN.trs (readers take names from the
 *                        manifest, so both open)
 *   *.tmp                leftovers of an unfinished build, removed by the next
 *                        writer
 *   A commit leaves only CURRENT's manifest and the segments it lists.
 *
 * Manifest (gen-NNNNNN.man)
 * -------------------------
 *   "TRAWLMAN" u32 format_version u32 analyzer_version
 *   u64 generation  i64 created (unix seconds)
 *   u8 language_len, language bytes
 *   u32 nsegments, then per segment:
 *       u8 name_len, name bytes   (file name, e.g. "seg-000001.trs")
 *       u32 ndocs
 *       u32 ndeleted, u32 bitmap_bytes, bitmap (bit d set = doc d deleted)
 *       (bitmap_bytes is 0 when ndeleted is 0, else (ndocs + 7) / 8)
 *   u64 xxh3 of every byte above
 *   Segments are listed oldest first; docs keep that order across merges
 *   (ties in ranking break by segment, then doc). A segment is shared by
 *   every generation that lists it; only its deletion bitmap changes, and
 *   that lives in the manifest. Deleted docs still count in the TERMS df
 *   of their segment until a merge drops them.
 *
 * Segment (seg-NNNNNN.trs)
 * ------------------------
 *   header   "TRAWLSEG" u32 format_version u32 0
 *   sections in any order (the TOC says where), each 8-byte aligned
 *   TOC      u32 nsections, then per section: u32 id, u32 0, u64 offset,
 *            u64 length, u64 xxh3 of the section's bytes
 *   footer   u64 toc_offset, u64 toc_length, u64 xxh3(TOC), "TRAWLEND"
 *
 * Section META: u32 ndocs, u32 nfields (= TRAWL_NFIELDS), u64 nterms,
 *   per field u64 total_tokens, u32 analyzer_version, u8 language_len,
 *   language bytes.
 *
 * Section DOCS: ndocs records of DOC_RECORD bytes, by docid:
 *   u32 field_len[TRAWL_NFIELDS] (tokens), i64 date, u64 fingerprint (xxh3
 *   of the article's stored fields), u32 store_block, u32 store_slot.
 *
 * Section IDS: ndocs records of 12 bytes sorted by (hash, docid):
 *   u64 xxh3(external id), u32 docid. Exact lookups compare the stored id.
 *
 * Section STORE: zstd frames (level STORE_LEVEL, content size in the
 *   header, no checksum), one per store block (blocks are sealed once they
 *   reach STORE_BLOCK raw bytes, so a block holds at least one record and
 *   ends after the record that crossed the mark). A decompressed block is
 *   a sequence of body records, each: for each of body, author, url,
 *   extra: varint (len + 1, or 0 when absent) then len bytes. When
 *   STORE_DICT is not empty, every frame is compressed with it as a raw
 *   content dictionary: a reader decodes a frame as if the dictionary's
 *   bytes immediately preceded the frame's output (zstd's "raw content"
 *   dictionary: matches may reach back into it; with libzstd,
 *   ZSTD_decompress_usingDict with the section's bytes).
 * Section STORE_INDEX: u32 nblocks, then u64 offset (into STORE) per
 *   block, plus one final offset = STORE length.
 * Section STORE_DICT: the store's dictionary content, empty (no
 *   dictionary) or STORE_DICT_MIN to STORE_DICT_MAX bytes that do not
 *   begin with the zstd dictionary magic (37 A4 30 EC). The writer
 *   builds it per segment from STORE_DICT_PIECE pieces of raw block
 *   bytes spread evenly over the segment's first STORE_DICT_HOLD raw
 *   bytes (all of them in a smaller segment), 1/32 of those bytes in all,
 *   at most STORE_DICT_MAX; a segment with less than STORE_DICT_MIN_TRAIN
 *   raw bytes has none. A merge builds a new one for its output. (Any
 *   content that meets the rules above is valid: readers only use it.)
 * Section STORE_CODE (format 11, optional; absent = zstd blocks as
 *   above): the segment's word code, and then every STORE block is word
 *   coded instead of a zstd frame, and STORE_DICT is empty. Bytes: u8
 *   WC_VERSION (1), u8 0 (raw) or 1 (then varint n, at most WC_MAXRAW,
 *   and a zstd frame of n content bytes follow), then the code:
 *     u8 L (1 to WC_MAXLEN), varint ntokens (at most WC_MAXTOKENS),
 *     u8 code length of each of EOF, ABSENT and ESC (0 to L; 0 = none),
 *     per length l = 1 .. L varint the number of tokens of that length
 *     (summing to ntokens), then the tokens, those of length 1 first,
 *     each front coded against the previous one of its length (varint
 *     shared, varint suffix length, the suffix; 1 to WC_TOKMAX bytes),
 *     then 257 u8 lengths (0 to L) of the byte code (bytes 0-255, END).
 *   Symbols are numbered EOF, ABSENT, ESC, then the tokens in listed
 *   order; codes are canonical: the codes of length l are consecutive in
 *   symbol order and follow those of length l - 1 (the usual
 *   first_code[l] = (first_code[l - 1] + count[l - 1]) << 1), and no
 *   code is longer than L; the byte code likewise over its 257 symbols.
 *   Kraft's sum of each code is at most 1.
 *   A word-coded block: varint raw_len (the decoded block's bytes, 1 to
 *   WC_BLOCK_MAX), then a bit stream, most significant bit first, ending
 *   in the block's last byte (padded with 0 bits). Per record, per field
 *   (body, author, url, extra): ABSENT, or its tokens then EOF; a token
 *   is a token's code, or ESC, then its bytes in the byte code, then
 *   END. Tokens are maximal runs of word bytes (ASCII letters and digits
 *   and every byte >= 0x80) or of other bytes, cut every WC_TOKMAX bytes;
 *   a single space between two words is not coded when the first word is
 *   shorter than WC_TOKMAX (the decoder puts it back between two
 *   consecutive words unless the first is WC_TOKMAX long). The decoded
 *   block is the same record layout as a zstd block's and must be
 *   exactly raw_len bytes of whole records.
 * Section DOCMETA: what a result list shows, apart from the bodies, so a
 *   page of hits reads a few small records instead of whole articles:
 *   raw (uncompressed) blocks of META_BLOCK documents each (doc d is in
 *   block d / META_BLOCK, slot d % META_BLOCK), each document: id, then
 *   title, each as varint (len + 1, or 0 when absent) then len bytes.
 * Section DOCMETA_INDEX: u32 nblocks (= ceil(ndocs / META_BLOCK)), then
 *   u64 offset (into DOCMETA) per block, plus a final offset; then
 *   (format 8, META_DOC_OFFSETS) one offset per document, by docid: where
 *   its record starts, counted from the start of its block (0 for a
 *   block's first, strictly increasing within a block, less than the
 *   block's length), so a reader goes straight to a document's record
 *   instead of walking the records before it. The offsets are u16 when
 *   every block is shorter than 65536 bytes, else u32: the section's
 *   length says which (4 + (nblocks + 1) * 8 + 2 or 4 * ndocs).
 *
 * Section TERMS: the term dictionary, terms in byte order, in blocks of
 *   TERM_BLOCK entries (TERM_BLOCK_OLD before format 10). Terms' postings (and positions) are laid out in
 *   POSTINGS (and POSITIONS) in term order, back to back. Each entry:
 *     varint shared_prefix_len (0 for the first of a block), varint
 *     suffix_len, suffix bytes, varint df,
 *     first entry of a block: varint postings_offset (into POSTINGS),
 *       varint positions_offset (into POSITIONS);
 *     other entries: varint positions_offset minus the previous entry's
 *       (the postings_offset is the previous entry's postings_offset +
 *       postings_len),
 *     varint postings_len (skip table + blocks),
 *     only when df > BLOCK_SIZE: varint skip_len, varint
 *       max_tf[TRAWL_NFIELDS], varint min_len[TRAWL_NFIELDS] (bounds over
 *       the whole list, for MaxScore).
 *   A list of COMPACT_MAX < df <= BLOCK_SIZE postings has one block, so
 *   its skip table is one entry: skip_len is that entry's length and the
 *   whole-list bounds are its block-max values (its doc_bytes is
 *   postings_len - skip_len). A list of df <= COMPACT_MAX postings
 *   (format 7) is compact: no skip table, no bounds anywhere (a reader
 *   computes them from the decoded list and DOCS).
 * Section TERMS_INDEX: u32 nblocks, u64 nterms, then u32 offset (into
 *   TERMS) of each block.
 *
 * Section POSTINGS, per term at postings_offset:
 *   skip table (skip_len bytes): per block of up to BLOCK_SIZE postings,
 *     varint last_doc_delta (from the previous block's last doc, or from 0),
 *     varint doc_bytes, varint pos_bytes, varint max_tf[TRAWL_NFIELDS],
 *     varint min_len[TRAWL_NFIELDS]: the block-max inputs. An upper bound
 *     of any BM25F score in the block follows from them for any k1, b and
 *     field weights.
 *   blocks: n = min(BLOCK_SIZE, remaining) postings as
 *     a PFor run (codec.h) of (doc gap - 1) [n values]
 *     a PFor run of tf[f] for each field [n values each]
 *   The first gap of the first block is doc + 1 (i.e. from -1).
 *   Compact lists (format 7, df <= COMPACT_MAX; in format 5 and 6 every
 *   list has the form above): no skip table and no PFor, postings_len
 *   bytes of, per posting in doc order,
 *     varint ((doc gap - 1) << 1 | plain) (the first gap from -1: the
 *       doc itself), plain = 1 when tf[TITLE] = 0 and tf[BODY] = 1;
 *     unless plain, varint (tf[BODY] << 2 | min(tf[TITLE], 3)), and when
 *       tf[TITLE] >= 3 varint (tf[TITLE] - 3).
 *   The block-max inputs of such a list (its max tf and min field length
 *   per field) are not stored: a reader decodes the list, all at once,
 *   and reads the field lengths of its (few) docs in DOCS. Its positions
 *   have no length anywhere: they end where the walk of its postings'
 *   tfs ends (the next term's positions_offset).
 *
 * Section POSITIONS, per term at positions_offset, per block (pos_bytes
 *   each), per posting in order, per field: tf[f] varints of position
 *   deltas (the first from 0). Positions count tokens within one field.
 *   Format 9 (POS_TAB_FROM): a block of n >= 2 postings whose pos_bytes
 *   (from its skip entry, the table included) is at least POS_TAB_MIN * n
 *   starts with a table of n - 1 offsets, then the positions as above:
 *   offset i - 1 (i = 1 .. n - 1) is where posting i's positions start,
 *   counted from the end of the table (posting 0's start there). The
 *   offsets are u16 when pos_bytes < 65536, else u32 (the width follows
 *   from pos_bytes alone); they strictly increase and are less than the
 *   block's bytes after the table. So a reader goes straight to one
 *   posting's positions instead of stepping over the varints of those
 *   before it. The writer decides on the positions bytes without the
 *   table (d): a table when n >= 2 and d >= POS_TAB_MIN * n, u16 when
 *   d + 2 * (n - 1) < 65536; both then hold for pos_bytes. Compact lists
 *   (no skip entry) and blocks below the mark have no table.
 *
 * Author terms: the words of an article's author (the stored author
 *   field, analyzed like the text: folded, stemmed, hyphenated chains and
 *   apostrophes as in the body) are terms AUTHOR_MARK followed by the
 *   word's term, for author: queries. Each occurrence is a posting entry
 *   in the body field (in the title when only the title has words), at
 *   positions 0, 1, ... in the byline's own numbering, so phrases of
 *   author words match: unlike a word's, an author term's positions may
 *   pass the field's length and its tf exceed it (readers and --check
 *   allow it for these terms only). They are not tokens: DOCS does not
 *   count them and BM25 never scores them. At most AUTHOR_MAX_WORDS an
 *   article. AUTHOR_MARK (0x02)
 *   is in no analyzed word, so these terms sort after the pair terms and
 *   before every word, no word's prefix query reaches them, and PAIRS
 *   never lists them.
 * Site terms: SITE_MARK followed by the host of the article's URL
 *   (trawl__site_host: no scheme, user, port or path, case folded) and
 *   by each of its parent domains ("www.bbc.co.uk", "bbc.co.uk",
 *   "co.uk", "uk"; a deeper host keeps itself and its SITE_MAX_TERMS - 1
 *   shortest parents, the ones people type; an IP literal alone), for
 *   site: queries: like author terms, not tokens, never scored, never in
 *   PAIRS, each a posting at the first position of the field that holds
 *   the author terms (even when it has no word).
 * Section PAIRS (optional; absent or empty = none): the segment's common
 *   and frequent words, for phrase queries: u32 ncommon (1 to
 *   PAIR_MAX_WORDS), u32 nfrequent (0 to PAIR_MAX_FREQ), u32 offset per
 *   word plus a final one (offset 0 first, increasing) into the word
 *   bytes that follow: the common words in strictly increasing byte
 *   order, then the frequent ones likewise; a word is 1 to PAIR_MAX_LEN
 *   bytes without PAIR_MARK, and no word is in both lists. For every two
 *   listed words a and b (a = b included), at least one of them common,
 *   that stand next to each other in some document's field (a at
 *   position p, b at p + 1), TERMS has the pair term
 *   PAIR_MARK a PAIR_MARK b: a term like any other whose postings are the
 *   documents where the pair occurs, tf[f] the number of its occurrences
 *   in field f, and no positions (pos_bytes 0 in every block); its
 *   occurrences are not tokens (DOCS counts only words). Such a pair
 *   without a term does not occur in the segment. So a phrase's adjacent
 *   words, when covered, read one short list instead of the positions of
 *   two long ones, and a two-word phrase is exactly its pair term. Pair
 *   terms start with PAIR_MARK (0x01), which no analyzed word contains,
 *   so they sort before every word and no prefix query reaches them. The
 *   writer picks the words once per build, from its first run of at
 *   least PAIR_MIN_DOCS documents: as common, up to PAIR_MAX_WORDS terms
 *   of document frequency at least 1/PAIR_DF_DIV of the run's documents;
 *   as frequent, up to PAIR_MAX_FREQ more of at least 1/PAIR_FREQ_DIV
 *   (most frequent first, at least 2); or it keeps those of the previous
 *   generation (a smaller run gets no pairs). A merge copies them when
 *   every input has the same PAIRS bytes; otherwise it builds the pair
 *   terms of its output again, with the words of its newest input that
 *   has some (or, when none has, chosen from the merged documents by the
 *   same rules, given 100 or more of them).
 *
 * Format changelog:
 *   1: first version.
 *   2: ids and titles moved from STORE into DOCMETA (small blocks), so a
 *      page of hits no longer decompresses the articles' bodies.
 *   3: postings blocks packed with PFor (bit packing with exceptions)
 *      instead of StreamVByte: runs of zeros and small gaps cost bits, not
 *      bytes.
 *   4: DOCMETA blocks stored raw instead of zstd frames: a page of hits
 *      read no body, but still decompressed up to ten frames, which was
 *      two thirds of a typical query's time.
 *   5: the document store compresses with a per-segment dictionary (new
 *      section STORE_DICT) and seals blocks at 8 KiB instead of 16 KiB:
 *      the store is 11% smaller on synthetic news, 7% on long real
 *      articles, and a stored document decompresses less text. TERMS
 *      entries imply their offsets from the previous entry (only a
 *      block's first has them), and a one-block list keeps its skip
 *      length and bounds only in its skip entry: the dictionary is less
 *      than half its size.
 *   6: the PAIRS section and pair terms of common and frequent words
 *      (phrases of very common words read a pair's list instead of two
 *      long position lists). Format 5 segments are still read: they have
 *      no pairs.
 *   7: compact posting lists: a list of at most COMPACT_MAX postings has
 *      no skip entry and no PFor headers, only varint doc gaps and tfs,
 *      and its bounds are computed when it is read (a one-posting list
 *      took about 18 bytes of POSTINGS, now 2 or 3): POSTINGS is a third
 *      smaller, the index 9% on synthetic news, 5% on long real
 *      articles. Formats 5 and 6 are still read.
 *   8: DOCMETA_INDEX gives each document's offset within its DOCMETA
 *      block (u16, or u32 when a block is 64 KiB or more), so a hit's id
 *      and title are read without walking the records before it (about
 *      65 to 14 ns per hit; the real corpus's benchmark queries 3-4%
 *      faster). Formats 5 to 7 are still read.
 *   9: a POSITIONS block with many bytes per posting (POS_TAB_MIN) starts
 *      with a table of its postings' offsets (u16, or u32 when the block
 *      is 64 KiB or more), so a document's positions are found without
 *      stepping over those of the block's earlier documents (phrases and
 *      the proximity part on long articles: on the real corpus POSITIONS
 *      +4.7%, its phrases 11% fewer instructions, plain queries 5%;
 *      synth-10k POSITIONS +1.5%). Formats 5 to 8 are still read.
 *  10: TERMS blocks of 16 terms instead of 32 (TERM_BLOCK), so a lookup
 *      walks half as many entries of its block (real corpus: 2-4 word
 *      queries about 1% faster; the index 0.2% larger). Formats 5 to 9
 *      are still read.
 *  11: a segment's store may be word coded (section STORE_CODE, a
 *      semi-static Huffman code of spaceless words built from the
 *      segment's first 2 MiB of stored text) instead of zstd frames, when
 *      that is clearly smaller (docs/index-format.md). Formats 5 to 10
 *      are still read, and an index may mix both kinds of store.
 */
#ifndef TRAWL_FORMAT_H
#define TRAWL_FORMAT_H

#define TRAWL_FORMAT_VERSION 11
#define TRAWL_FORMAT_OLDEST 5 /* the oldest version still read */

#define TRAWL_NFIELDS 2
enum { TRAWL_FIELD_TITLE = 0, TRAWL_FIELD_BODY = 1 };

#define SEG_MAGIC     "TRAWLSEG"
#define SEG_END_MAGIC "TRAWLEND"
#define MAN_MAGIC     "TRAWLMAN"
#define SEG_HEADER    16
#define SEG_FOOTER    32

enum {
    SEC_META = 1,
    SEC_DOCS = 2,
    SEC_IDS = 3,
    SEC_STORE = 4,
    SEC_STORE_INDEX = 5,
    SEC_TERMS = 6,
    SEC_TERMS_INDEX = 7,
    SEC_POSTINGS = 8,
    SEC_POSITIONS = 9,
    SEC_DOCMETA = 10,
    SEC_DOCMETA_INDEX = 11,
    SEC_STORE_DICT = 12,
    SEC_PAIRS = 13,
    SEC_STORE_CODE = 14,
    SEC_MAX = 15
};

#define DOC_RECORD  (4 * TRAWL_NFIELDS + 8 + 8 + 4 + 4)
#define ID_RECORD   12
#define BLOCK_SIZE  128
/* Format 7: lists of df <= COMPACT_MAX are compact (POSTINGS). Measured:
 * POSTINGS shrinks with the threshold up to about 32 and 48, then grows
 * again (docs/index-format.md); a compact list's reader also reads the
 * DOCS records of its documents for its bounds. Part of the format. */
#define COMPACT_MAX 32
#define COMPACT_FROM 7  /* the first format with compact lists */
/* Terms per TERMS block: 16 from format 10 (a lookup bisects the blocks'
 * first terms, then walks its block from the start: half the walk for
 * 1,125 more block starts per 36,000 terms, +0.2% of the index), 32
 * before. */
#define TERM_BLOCK  16
#define TERM_BLOCK_OLD 32
#define TERM_BLOCK_FROM 10 /* the first format with TERM_BLOCK */
#define STORE_BLOCK (8 * 1024) /* target raw bytes per store block */
#define STORE_LEVEL 3          /* zstd level of the store's frames */
#define STORE_DICT_MAX       (64 * 1024)   /* dictionary bytes, at most */
#define STORE_DICT_MIN       8             /* ... and at least */
#define STORE_DICT_HOLD      (2048 * 1024) /* raw bytes held to pick from */
#define STORE_DICT_MIN_TRAIN (128 * 1024)  /* less text: no dictionary */
#define STORE_DICT_PIECE     1024          /* bytes per dictionary piece */
#define STORE_ZDICT_MAGIC    0xEC30A437u   /* zstd dictionary magic (LE) */
/* Format 11: the word-coded store (STORE_CODE). The writer's guard, not
 * the format: a segment's held raw bytes (at least STORE_WORDS_MIN_TRAIN)
 * take the word code when it codes them, code included, below
 * STORE_WORDS_GAIN of zstd with the dictionary (estimated from one block
 * in STORE_WORDS_ZSTEP), and the code's tokens are under
 * 1 / STORE_WORDS_VOCAB_DIV of those bytes; held blocks that average more
 * than STORE_WORDS_LONG raw bytes (long articles, one to a block) keep
 * zstd without trying: a get or snippet decodes the whole article, which
 * the word decoder does at about half zstd's speed (real's 45 KB
 * addresses: 54 -> 100 us a get, snippets +30%), and coding such text
 * cost 12% more indexing time than zstd there. */
#define STORE_CODE_FROM        11
#define STORE_WORDS_LONG       (16 * 1024)
#define STORE_WORDS_MIN_TRAIN  (32 * 1024)
#define STORE_WORDS_GAIN       0.95
#define STORE_WORDS_VOCAB_DIV  4
#define STORE_WORDS_ZSTEP      4 /* zstd's size taken from 1 block in 4 */

#define META_BLOCK 32 /* documents per DOCMETA block */
#define META_DOC_OFFSETS 8 /* the first format with per-document offsets in
                             DOCMETA_INDEX */

/* Format 9: offset tables in POSITIONS blocks of n >= 2 postings with at
 * least POS_TAB_MIN bytes of positions per posting (see POSITIONS above;
 * part of the format). Measured from 8 to 64 (docs/index-format.md): 8
 * costs 4.7% of POSITIONS on the long real articles (1.1% of the index
 * more than 16) for the most skipping saved where the median query is. */
#define POS_TAB_FROM 9
#define POS_TAB_MIN  8

#define PAIR_MARK      0x01 /* first byte of a pair term, and separator */
#define AUTHOR_MARK    0x02 /* first byte of an author term */
#define AUTHOR_MAX_WORDS 64 /* author words indexed per article, at most */
#define SITE_MARK      0x03 /* first byte of a site term */
#define SITE_HOST_MAX  253  /* bytes of a host name, at most */
#define SITE_MAX_TERMS 8    /* site terms per article, at most */
#define PAIR_MAX_WORDS 64   /* common words per segment, at most */
#define PAIR_MAX_LEN   32   /* bytes of a common word, at most */
#define PAIR_DF_DIV    8    /* df >= ndocs / PAIR_DF_DIV to be common */
#define PAIR_MAX_FREQ  192 /* frequent (not common) words, at most */
#define PAIR_FREQ_DIV  16   /* df >= ndocs / PAIR_FREQ_DIV to be frequent */
#define PAIR_MIN_DOCS  100  /* documents of the run that chooses them */

/* Stored field order of an article record as the writer builds it; the
 * first two go to DOCMETA, the rest (STORED_BODY_N fields) to STORE. */
enum {
    STORED_ID,
    STORED_TITLE,
    STORED_BODY,
    STORED_AUTHOR,
    STORED_URL,
    STORED_EXTRA,
    STORED_N
};
#define STORED_META_N 2
#define STORED_BODY_N (STORED_N - STORED_META_N)

#endif
