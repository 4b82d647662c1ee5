/*
 * The store's word code (format 11, section STORE_CODE): a semi-static
 * canonical Huffman code over "spaceless words" that a segment builds
 * from its first STORE_DICT_HOLD raw bytes of store records, instead of
 * compressing its store blocks with zstd when that makes them smaller
 * (bench/STORE-MODEL.md). Layout of the code and of a coded block:
 * format.h (STORE_CODE, STORE).
 *
 * Writer side: trawl__wc_build counts a sample of raw store records
 * (the same record layout as a STORE block) and builds the code;
 * trawl__wc_encode codes one raw block (thread safe on a built model);
 * trawl__wc_write serializes the code for the STORE_CODE section.
 * Reader side: trawl__wc_load checks and rebuilds the code from those
 * bytes (any bytes: a damaged or hostile section is TRAWL_ECORRUPT,
 * never a crash), trawl__wc_decode decodes one coded block and checks it
 * against its stated length.
 */
#ifndef TRAWL_WORDCODE_H
#define TRAWL_WORDCODE_H

#include <stddef.h>
#include <stdint.h>

#include "trawl/buf.h"

#define WC_VERSION 1     /* first byte of STORE_CODE */
#define WC_MAXLEN 24     /* longest code, bits */
#define WC_TOKMAX 255    /* longest token, bytes */
#define WC_MAXTOKENS (1u << 20) /* distinct tokens in a code, at most */
#define WC_MAXRAW (64u << 20)   /* serialized code bytes, at most */
#define WC_BLOCK_MAX (1ull << 31) /* a coded block's raw bytes, at most */

typedef struct wc_model wc_model; /* writer */
typedef struct wc_code wc_code;   /* reader */

/*
 * Build a code from raw store records [p, p + len) (whole records; at most
 * STORE_DICT_HOLD of their field bytes are counted). 0 and *out, or
 * TRAWL_ENOMEM, or TRAWL_EINVAL when the records do not parse or the
 * sample has too many distinct tokens for a code (the caller keeps zstd).
 */
int trawl__wc_build(const unsigned char *p, size_t len, wc_model **out);
size_t trawl__wc_model_mem(const wc_model *m);
/* Raw bytes of the distinct tokens that have a code. */
size_t trawl__wc_vocab_bytes(const wc_model *m);
void trawl__wc_model_free(wc_model *m);

/* The STORE_CODE section's bytes into out (cleared first). 0 or
 * TRAWL_ENOMEM. */
int trawl__wc_write(const wc_model *m, trawl_buf *out);

/* Code raw block [p, p + len) into out (cleared first): varint len, then
 * the bit stream. 0, TRAWL_ENOMEM, or TRAWL_EINVAL (records that do not
 * parse). */
int trawl__wc_encode(const wc_model *m, const unsigned char *p, size_t len,
                     trawl_buf *out);

/* Rebuild the code of a STORE_CODE section. 0 and *out, TRAWL_ECORRUPT or
 * TRAWL_ENOMEM. */
int trawl__wc_load(const unsigned char *p, size_t len, wc_code **out);
size_t trawl__wc_code_mem(const wc_code *c);
void trawl__wc_code_free(wc_code *c);

/* A coded block's stated raw length, without decoding it (TRAWL_ECORRUPT
 * when it is not one). */
int trawl__wc_raw_len(const unsigned char *p, size_t n, uint64_t *raw);

/*
 * Decode coded block [p, p + n) into out (cleared first; its len is the
 * raw length). TRAWL_ECORRUPT unless the bits decode to exactly the
 * stated number of bytes of whole records and end in the block's last
 * byte; TRAWL_ENOMEM.
 */
int trawl__wc_decode(const wc_code *c, const unsigned char *p, size_t n,
                     trawl_buf *out);
/* The same, stopping after the block's first nrec records (a reader that
 * wants record nrec - 1 only): out then holds those records, checked
 * against the stated length as far as they go (the rest of the block is
 * not read, so not checked: --check and merges decode whole blocks). */
int trawl__wc_decode_upto(const wc_code *c, const unsigned char *p,
                          size_t n, uint32_t nrec, trawl_buf *out);

#endif
