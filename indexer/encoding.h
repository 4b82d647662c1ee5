/*
 * Text files in legacy encodings of scripts other than Latin.
 *
 * A text file that is not UTF-8 is read as Windows-1252 by the article
 * parser, which is right for Latin-1 and Windows-1252 text (most of what
 * is not UTF-8 in Western archives) and wrong for the rest: a Korean
 * archive in EUC-KR, Russian news in Windows-1251, Japanese in Shift_JIS
 * became unsearchable mojibake. uchardet (Mozilla's detector, from
 * Debian) names the encoding; its answer is taken only when it names an
 * encoding of another script and the text reads as that script, because
 * on short Latin text it guesses wrong (Spanish as ISO-8859-4, Italian as
 * ISO-8859-13): everything else keeps the Windows-1252 reading.
 */
#ifndef TRAWL_INDEXER_ENCODING_H
#define TRAWL_INDEXER_ENCODING_H

#include <stddef.h>

/*
 * text[0..len) is not valid UTF-8. If it is text of a non-Latin script in
 * a legacy encoding, convert it: 1, *out (malloc'd, len *out_len) and
 * *name (the encoding's name, static). 0 when the Windows-1252 reading
 * stands (nothing allocated), -1 when out of memory.
 */
int trawl_legacy_to_utf8(const char *text, size_t len, char **out,
                         size_t *out_len, const char **name);

/*
 * text[0..len) in the encoding iconv calls `from`, as UTF-8: 1 and *out
 * (malloc'd, *out_len bytes; a byte sequence the encoding does not have
 * becomes U+FFFD, counted in *bad), 0 when iconv does not know the
 * encoding, -1 when out of memory.
 */
int trawl_to_utf8(const char *from, const char *text, size_t len,
                  char **out, size_t *out_len, size_t *bad);

/*
 * text[0..len) with every byte that is not part of a valid UTF-8
 * sequence read as Windows-1252 (Latin-1), as the article parser reads
 * a text file: *out (malloc'd), *mapped such bytes. 0, or -1 when out of
 * memory.
 */
int trawl_cp1252_repair(const char *text, size_t len, char **out,
                        size_t *out_len, size_t *mapped);

#endif
