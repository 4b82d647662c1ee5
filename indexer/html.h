/*
 * Article text that is HTML: feeds and scrapers put the article's markup
 * in the JSON body ("<p>The storm hit...</p><p>...", "AT&amp;T"), which
 * would be indexed as words ("p", "amp") and shown in snippets and by
 * `get`. Such a body is read as HTML (libxml2's parser, which knows every
 * entity and mends broken markup) and its text kept: paragraphs and line
 * breaks as newlines, table cells apart, <pre> as it is, scripts, styles
 * and comments dropped. A body without block markup (plain text with an
 * entity or a <b>) keeps its own line breaks; a tag named in text and
 * never closed ("inject <script> into forms") is text.
 */
#ifndef TRAWL_INDEXER_HTML_H
#define TRAWL_INDEXER_HTML_H

#include <stddef.h>

/* 1 if text looks like HTML: a tag of the kinds article markup uses
 * (<p>, <br>, <a href=...>, </div>, ...) or a character reference
 * (&amp;, &#8217;). Cheap when it does not. */
int trawl_html_like(const char *text, size_t len);

/* The text of the HTML fragment html[0..len) (UTF-8), into *out
 * (malloc'd, *out_len bytes, NUL-terminated). 0, or -1 when out of
 * memory or libxml2 gives nothing (the caller keeps the original). */
int trawl_html_text(const char *html, size_t len, char **out,
                    size_t *out_len);

#endif
