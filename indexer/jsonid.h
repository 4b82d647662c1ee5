/*
 * Finding the id of a JSON Lines record without parsing it into a tree.
 *
 * trawl-index hashes each raw line and asks the writer whether the article
 * with that id already has that hash (trawl_writer_keep); only then can it
 * skip the line. That needs the id, which this scanner finds in one pass
 * without allocating: it walks the whole line as JSON (strings with their
 * escapes, numbers, literals, nested objects and arrays), checks the
 * syntax the way jansson does, and notes the value of the top-level key
 * the id is read from: "id", or the KEY of trawl-index --field id=KEY.
 *
 * It answers only when it is sure the full parser (trawl_article_parse_json)
 * would read the same id: the value must be a non-empty string without
 * backslash escapes, or an integer (given in the decimal form the parser
 * stores). Anything it does not handle (escapes in keys or in the id,
 * nesting deeper than JSONID_MAX_DEPTH, more than JSONID_MAX_KEYS keys
 * open at once, very long numbers) and anything invalid (bad syntax,
 * invalid UTF-8, a duplicate key, an integer out of range) makes it say
 * "not found", and the caller parses the line fully, which reports errors.
 *
 * Even a wrong answer could not keep a wrong article: the writer keeps an
 * article only if that id's stored fingerprint equals the hash of this
 * very line, and a line gets stored only after a full parse gave it that
 * id.
 */
#ifndef TRAWL_INDEXER_JSONID_H
#define TRAWL_INDEXER_JSONID_H

#include <stddef.h>

#define JSONID_MAX_DEPTH 64 /* nested objects/arrays, the record included */
#define JSONID_MAX_KEYS 64  /* keys of the objects open at one time */

typedef struct jsonid {
    const char *id; /* the id bytes: inside the line, or num */
    size_t len;
    char num[24];   /* the decimal form of an integer id */
} jsonid;

/* Scan one record (without its newline) for the value of its top-level
 * member key[0..key_len) (a key as it is written in the line, without
 * escapes: a line that spells it with escapes is parsed fully; an empty
 * key is not looked for). 1 and the
 * id in *out, or 0 when the line must be parsed fully. Never reads outside
 * line[0..len). */
int jsonid_find_key(const char *line, size_t len, const char *key,
                    size_t key_len, jsonid *out);

/* jsonid_find_key for the default key, "id". */
int jsonid_find(const char *line, size_t len, jsonid *out);

#endif
