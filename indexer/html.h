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

/*
 * A whole web page (a news article saved with "Save page as", a wget or
 * httrack mirror, a scraper's or web archive's copy) read as an article:
 *  - title: og:title, else <title> (without a " | Site" or " - Site"
 *    suffix naming og:site_name or repeating the page's <h1>), else the
 *    first <h1>;
 *  - body: the text of the largest <article> (unless it holds less than
 *    a fifth of the page's text: a teaser beside an article that is not
 *    marked up so), else <main>, else <body>; scripts, styles, noscript,
 *    templates, svg, nav, footer, aside, forms, iframes, page-level
 *    <header>s and elements of role navigation, banner, contentinfo,
 *    complementary, search or dialog, or whose id or class names a
 *    cookie or consent banner, dropped; a first line equal to the title
 *    dropped;
 *  - date: article:published_time (og:), a <meta name> date (date,
 *    pubdate, dc.date, ...), JSON-LD datePublished, a <time datetime>
 *    in the article; the first that can be read;
 *  - author: <meta name="author">, else article:author (not a URL), else
 *    JSON-LD author names; several joined with ", ";
 *  - url: <link rel="canonical">, else og:url (an absolute one first).
 * Nothing is fetched (no network, no external entities). trawl-index
 * keeps an unchanged page by a hash of its bytes: a change here that
 * reads the same page into another article must raise HTML_FP_VERSION in
 * main.c.
 */
#include <stdint.h>

typedef struct trawl_html_page {
    char *title, *body;   /* malloc'd, NUL-terminated, never NULL */
    char *author, *url;   /* malloc'd, or NULL when absent */
    size_t title_len, body_len, author_len, url_len;
    int64_t date;         /* TRAWL_NO_DATE when none could be read */
    int bad_date;         /* a date was given that could not be read */
} trawl_html_page;

/*
 * The page html[0..len) (UTF-8, without NUL bytes) into *p. 0, or -1 out
 * of memory (*p is then empty).
 */
int trawl_html_page_read(const char *html, size_t len, trawl_html_page *p);

void trawl_html_page_free(trawl_html_page *p);

/*
 * The character encoding the page declares in its first bytes (<meta
 * charset>, <meta http-equiv="Content-Type" content="...; charset=">,
 * an XML declaration's encoding), as iconv names it, with the HTML
 * standard's readings (ISO-8859-1 and ASCII are Windows-1252, Shift_JIS
 * is CP932, EUC-KR is CP949, GB2312 and GBK are GB18030, a UTF-16 label
 * in bytes that are not UTF-16 is UTF-8), into buf; NULL when none.
 */
const char *trawl_html_charset(const char *html, size_t len, char *buf,
                               size_t cap);

#endif
