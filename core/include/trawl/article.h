/*
 * Articles: the unit trawl indexes and stores, and their parsers.
 *
 * Plain text / Markdown: an optional header block of "Title:", "Date:",
 * "Author:", "URL:" lines (case-insensitive keys) ended by a blank line;
 * without one, the first non-blank line is the title and the rest is the
 * body. The date comes from the header, else from the first line in the
 * first 40 lines that reads like "Posted <date>", "Published <date>" or
 * "Updated <date>", else from the caller's fallback (the file's mtime).
 * A header Date: that cannot be read is ignored (the search goes on).
 * Leading lines that are site chrome ("Go to contents", "Skip to content",
 * "Skip to main content") are not titles; a Markdown "# " is stripped from
 * the title. "\r\n" becomes "\n" and a leading BOM is dropped.
 *
 * JSON Lines: one object per line with string fields "id", "title", "body"
 * (required), and optional "date" (ISO 8601), "author", "url"; any other
 * members are kept verbatim as a JSON object in `extra`. "id" may also be
 * an integer (stored as its decimal string) and must not be empty; a
 * missing or null "title" is empty; "date" may also be a number of
 * seconds since the epoch (a fraction is dropped: the second it falls in),
 * or another date string ("2025", "2025-06", RFC 2822 dates, "November
 * 14, 2023"); null optional fields count as absent.
 *
 * Those are the default member names. A trawl_json_fields mapping reads
 * a field from another top-level member instead (cc_news' "text" as the
 * body, NewsAPI's "publishedAt" as the date, "url" as the id of records
 * without one), with the same rules; several fields may read one member.
 * The members a field reads are not kept in `extra`; every other member
 * is, the default names no field reads any more included. Errors name
 * the member the line has, and the field it is read as.
 *
 * Text files: UTF-16 with a byte order mark is decoded; other text with
 * a NUL byte is binary (refused), zeros only at the end are dropped;
 * bytes that are not UTF-8 are read as Windows-1252 (counted in
 * `replaced`); a lone CR ends a line like LF and CRLF.
 * JSON Lines: a NUL escape (\u0000) in a string is dropped, an unpaired
 * surrogate escape becomes U+FFFD (counted); raw bytes that are not
 * UTF-8 make the line bad input.
 */
#ifndef TRAWL_ARTICLE_H
#define TRAWL_ARTICLE_H

#include <stddef.h>
#include <stdint.h>

#include "trawl/status.h"

#define TRAWL_NO_DATE INT64_MIN

typedef struct trawl_article {
    char *id;      /* external id; NUL-terminated UTF-8 */
    char *title;   /* may be empty, never NULL */
    char *body;    /* may be empty, never NULL */
    char *author;  /* NULL when absent */
    char *url;     /* NULL when absent */
    char *extra;   /* JSON object text of unknown fields, or NULL */
    int64_t date;  /* seconds since the epoch (UTC), or TRAWL_NO_DATE */
    size_t id_len, title_len, body_len;
    size_t author_len, url_len, extra_len;
    size_t replaced; /* invalid UTF-8 sequences replaced while parsing */
    unsigned long bad_date_line; /* text files: the line of a Date header
                                    (or front matter date) that could not
                                    be read, when no other date header
                                    could; 0 if none */
    uint64_t fingerprint; /* 0: the writer hashes the stored fields; else
                             the caller's hash of the raw source (see
                             trawl_writer_keep) */
} trawl_article;

/* Free the strings of a parsed article and zero it. Accepts NULL. */
void trawl_article_clear(trawl_article *a);

/*
 * Parse a text/Markdown article. id is copied. fallback_date is used when
 * neither header nor body gives a date (TRAWL_NO_DATE for none).
 * Returns 0, TRAWL_EINVAL (e.g. empty file) with a reason, TRAWL_ENOMEM.
 */
int trawl_article_parse_text(trawl_article *out, const char *id,
                             const char *text, size_t len,
                             int64_t fallback_date, trawl_err *err);

/*
 * Parse one JSON Lines record (without its newline), with the default
 * member names. Returns 0, TRAWL_EINVAL with a reason (bad JSON, missing
 * id/body, wrong type, bad date), TRAWL_ENOMEM.
 */
int trawl_article_parse_json(trawl_article *out, const char *line,
                             size_t len, trawl_err *err);

/*
 * Which top-level member of a JSON Lines record each field is read from:
 * a NUL-terminated UTF-8 key as the member's name reads once its escapes
 * are decoded, or NULL for the field's own name ("id", "title", ...).
 * The strings are the caller's and must outlive every use.
 */
typedef struct trawl_json_fields {
    const char *id, *title, *body, *date, *author, *url;
} trawl_json_fields;

/* trawl_article_parse_json reading the members fields names (NULL: the
 * default names). */
int trawl_article_parse_json_fields(trawl_article *out, const char *line,
                                    size_t len,
                                    const trawl_json_fields *fields,
                                    trawl_err *err);

/*
 * Set one field of *fields from "FIELD=KEY" (trawl-index's --field):
 * FIELD is id, title, body, date, author or url, KEY any non-empty UTF-8
 * string, which *fields then points to (inside spec: spec must outlive
 * it). Returns 0, or TRAWL_EINVAL with a reason: no '=', an unknown
 * FIELD, an empty KEY or one that is not UTF-8, a FIELD already set.
 */
int trawl_json_fields_set(trawl_json_fields *fields, const char *spec,
                          trawl_err *err);

/*
 * The key fields->id reads ("id" by default; fields may be NULL), for a
 * scan that looks for the id without parsing the line.
 */
const char *trawl_json_fields_id_key(const trawl_json_fields *fields);

/*
 * A nonzero hash of the mapping, to seed the hash of a raw line with (the
 * same line gives another article under another mapping), or 0 for the
 * default mapping: NULL, or every key NULL or its field's own name.
 * Equal mappings (a key spelled NULL or by its own name alike) give equal
 * seeds.
 */
uint64_t trawl_json_fields_seed(const trawl_json_fields *fields);

/*
 * Parse an ISO 8601 date: "YYYY-MM-DD", optionally followed by
 * "THH:MM[:SS[.fff]]" and "Z" or "+HH:MM"/"-HH:MM". Returns 0 and seconds
 * since the epoch in *out, or TRAWL_EINVAL.
 */
int trawl_parse_iso_date(const char *s, size_t len, int64_t *out);

/* Parse a loose English date such as "December. 17, 2025 08:34",
 * "Dec 17, 2025", "17 December 2025", "2025-12-17". Also: a leading
 * weekday, "17th", "2025/12/17", a time "HH:MM[:SS]" with optional AM/PM
 * (taken as UTC), trailing spaces or ",.;". 0 or TRAWL_EINVAL. */
int trawl_parse_loose_date(const char *s, size_t len, int64_t *out);

/* Format t as "YYYY-MM-DD" into out (at least 11 bytes). TRAWL_NO_DATE
 * gives ""; years outside 0000..9999 are clamped to 0000-01-01 or
 * 9999-12-31. */
void trawl_format_date(int64_t t, char out[11]);

#endif
