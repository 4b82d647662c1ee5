/*
 * Request decoding and response encoding for the NDJSON protocol.
 *
 * Requests are parsed with jansson (strict: duplicate keys are refused,
 * nesting is bounded); responses are written straight into a trawl_buf,
 * which avoids building a jansson tree for every hit of every search.
 */
#include "proto.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trawl/analyze.h"
#include "trawl/article.h"

/* ---- decoding ---------------------------------------------------------- */

static int fail_set(proto_fail *fail, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_set(proto_fail *fail, const char *code, const char *fmt, ...)
{
    va_list ap;

    fail->code = code;
    va_start(ap, fmt);
    vsnprintf(fail->msg, sizeof(fail->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/*
 * Where the value of the request's top-level "id" member is, when it is an
 * integer (or, with strings, a string with its quotes): *at and *n (its
 * bytes in line). 1, else 0. A lexical scan
 * (strings with their escapes, nesting); the caller parses the line
 * again with the number replaced, which checks everything else.
 */
static int raw_id(const char *line, size_t len, size_t *at, size_t *n,
                  int strings)
{
    int depth = 0;
    size_t i = 0;
    while (i < len) {
        char c = line[i];
        if (c == '"') {
            size_t start = ++i;
            while (i < len && line[i] != '"')
                i += line[i] == '\\' ? 2 : 1;
            if (i >= len)
                return 0;
            size_t end = i++;
            if (depth != 1)
                continue;
            size_t k = i;
            while (k < len && (line[k] == ' ' || line[k] == '\t'))
                k++;
            if (k >= len || line[k] != ':' || end - start != 2 ||
                memcmp(line + start, "id", 2) != 0)
                continue;
            k++;
            while (k < len && (line[k] == ' ' || line[k] == '\t'))
                k++;
            size_t v = k;
            if (strings && k < len && line[k] == '"') {
                for (k++; k < len && line[k] != '"';)
                    k += line[k] == '\\' ? 2 : 1;
                if (k >= len)
                    return 0;
                *at = v;
                *n = k + 1 - v;
                return 1;
            }
            /* an integer only: a real out of range (1e400) would be
             * echoed as a number its client could not read back */
            if (k < len && line[k] == '-')
                k++;
            size_t d = k;
            while (k < len && line[k] >= '0' && line[k] <= '9')
                k++;
            if (k == d || (line[d] == '0' && k - d > 1) ||
                (k < len && (line[k] == '.' || line[k] == 'e' ||
                             line[k] == 'E')))
                return 0;
            *at = v;
            *n = k - v;
            return 1;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        i++;
    }
    return 0;
}

/* Field lookups: 0 if absent (out untouched) or valid, -1 with *fail. */

static int get_string(json_t *obj,
                      const char *name,
                      int required,
                      const char **out,
                      size_t *len,
                      proto_fail *fail)
{
    json_t *v = json_object_get(obj, name);

    if (v == NULL) {
        if (required)
            return fail_set(fail, PROTO_BAD_REQUEST, "missing field \"%s\"",
                            name);
        return 0;
    }
    if (!json_is_string(v))
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"%s\" must be a string", name);
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

static int get_uint(json_t *obj,
                    const char *name,
                    json_int_t min,
                    json_int_t max,
                    uint32_t *out,
                    proto_fail *fail)
{
    json_t *v = json_object_get(obj, name);

    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"%s\" must be an integer", name);
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"%s\" must be in %lld..%lld", name,
                        (long long)min, (long long)max);
    *out = (uint32_t)n;
    return 0;
}

static int get_number(json_t *obj,
                      const char *name,
                      double min,
                      double max,
                      double *out,
                      proto_fail *fail)
{
    json_t *v = json_object_get(obj, name);

    if (v == NULL)
        return 0;
    if (!json_is_number(v))
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"%s\" must be a number", name);
    double d = json_number_value(v);
    if (!(d >= min && d <= max))
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"%s\" must be in %g..%g", name, min, max);
    *out = d;
    return 0;
}

static int get_bool(json_t *obj, const char *name, int *out, proto_fail *fail)
{
    json_t *v = json_object_get(obj, name);

    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"%s\" must be true or false", name);
    *out = json_is_true(v);
    return 0;
}

static const struct {
    const char *name;
    unsigned bit;
} hit_fields[] = {
    {"id", PF_ID},           {"title", PF_TITLE},
    {"date", PF_DATE},       {"score", PF_SCORE},
    {"snippet", PF_SNIPPET}, {"highlights", PF_HIGHLIGHTS},
    {"author", PF_AUTHOR},   {"url", PF_URL},
};

/* "fields": an array of hit member names; id is always sent. */
static int get_fields(json_t *obj, unsigned *out, proto_fail *fail)
{
    json_t *v = json_object_get(obj, "fields");
    size_t i, k;
    json_t *name;

    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"fields\" must be an array of names");
    *out = PF_ID;
    json_array_foreach(v, i, name)
    {
        if (!json_is_string(name))
            return fail_set(fail, PROTO_BAD_REQUEST,
                            "field \"fields\" must be an array of names");
        const char *s = json_string_value(name);
        for (k = 0; k < sizeof(hit_fields) / sizeof(hit_fields[0]); k++)
            if (strcmp(s, hit_fields[k].name) == 0 &&
                strlen(s) == json_string_length(name))
                break;
        if (k == sizeof(hit_fields) / sizeof(hit_fields[0]))
            return fail_set(fail, PROTO_BAD_REQUEST,
                            "unknown name \"%.64s\" in \"fields\" (names: "
                            "id, title, date, score, snippet, highlights, "
                            "author, url)",
                            s);
        *out |= hit_fields[k].bit;
    }
    return 0;
}

static int parse_search(proto_request *req, proto_fail *fail)
{
    trawl_query *q = &req->query;
    const char *sort = NULL;
    size_t sort_len = 0;

    if (get_string(req->root, "q", 1, &q->q, &q->qlen, fail) < 0 ||
        get_uint(req->root, "limit", 0, TRAWL_MAX_LIMIT, &q->limit, fail) < 0 ||
        get_uint(req->root, "offset", 0, PROTO_MAX_OFFSET, &q->offset,
                 fail) < 0 ||
        get_string(req->root, "sort", 0, &sort, &sort_len, fail) < 0 ||
        get_bool(req->root, "snippet", &req->snippet_asked, fail) < 0 ||
        get_uint(req->root, "snippet_length", 1, PROTO_MAX_SNIPPET_LEN,
                 &q->snippet_len, fail) < 0 ||
        get_number(req->root, "k1", 0.0, PROTO_MAX_K1, &q->k1, fail) < 0 ||
        get_number(req->root, "b", 0.0, 1.0, &q->b, fail) < 0 ||
        get_number(req->root, "title_weight", 0.0, PROTO_MAX_WEIGHT,
                   &q->w_title, fail) < 0 ||
        get_number(req->root, "body_weight", 0.0, PROTO_MAX_WEIGHT, &q->w_body,
                   fail) < 0 ||
        get_number(req->root, "prox_weight", 0.0, PROTO_MAX_WEIGHT, &q->w_prox,
                   fail) < 0 ||
        get_uint(req->root, "prox_depth", 0, TRAWL_MAX_PROX_DEPTH,
                 &q->prox_depth, fail) < 0 ||
        get_bool(req->root, "exact_total", &q->exact_total, fail) < 0 ||
        get_bool(req->root, "explain", &req->explain, fail) < 0 ||
        get_fields(req->root, &req->fields, fail) < 0)
        return -1;
    q->explain = req->explain;
    if (sort == NULL || (strcmp(sort, "score") == 0 && sort_len == 5))
        q->sort = TRAWL_SORT_SCORE;
    else if (strcmp(sort, "date") == 0 && sort_len == 4)
        q->sort = TRAWL_SORT_DATE;
    else if (strcmp(sort, "date_asc") == 0 && sort_len == 8)
        q->sort = TRAWL_SORT_DATE_ASC;
    else
        return fail_set(fail, PROTO_BAD_REQUEST,
                        "field \"sort\" must be \"score\", \"date\" or "
                        "\"date_asc\"");
    /* Snippets are built only when they will be sent. */
    q->snippets =
        req->snippet_asked && (req->fields & (PF_SNIPPET | PF_HIGHLIGHTS)) != 0;
    /* Author and url live beside the body: read only when asked for. */
    q->author_url = (req->fields & (PF_AUTHOR | PF_URL)) != 0;
    return 0;
}

static const struct {
    const char *name;
    proto_op op;
} ops[] = {
    {"search", OP_SEARCH}, {"count", OP_COUNT}, {"get", OP_GET},
    {"stats", OP_STATS},   {"ping", OP_PING},   {"reload", OP_RELOAD},
};

static trawl_query defaults;
static int have_defaults;

void proto_set_defaults(const trawl_query *d)
{
    defaults = *d;
    have_defaults = 1;
}

static void init_query(trawl_query *q)
{
    trawl_query_init(q);
    if (have_defaults) {
        q->k1 = defaults.k1;
        q->b = defaults.b;
        q->w_title = defaults.w_title;
        q->w_body = defaults.w_body;
        q->w_prox = defaults.w_prox;
        q->prox_depth = defaults.prox_depth;
        q->snippet_len = defaults.snippet_len;
    }
}

int proto_parse(proto_request *req,
                const char *line,
                size_t len,
                proto_fail *fail)
{
    json_error_t jerr;
    const char *op;
    size_t op_len = 0;
    size_t i;

    memset(req, 0, sizeof(*req));
    init_query(&req->query);
    req->fields = PF_DEFAULT;
    req->snippet_asked = 1;
    req->id_json = strdup("null");
    if (req->id_json == NULL)
        return fail_set(fail, PROTO_INTERNAL, "out of memory");

    if (!trawl_utf8_valid(line, len))
        return fail_set(fail, PROTO_INVALID_UTF8, "request is not valid UTF-8");
    req->root =
        json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    size_t id_at = 0, id_n = 0;
    if (req->root == NULL &&
        json_error_code(&jerr) == json_error_numeric_overflow &&
        raw_id(line, len, &id_at, &id_n, 0)) {
        /* An id beyond jansson's integers (a Go uint64 counter): parsed
         * with 0 in its place, echoed as it was written. */
        char *copy = malloc(len);
        if (copy == NULL)
            return fail_set(fail, PROTO_INTERNAL, "out of memory");
        memcpy(copy, line, len);
        memset(copy + id_at, ' ', id_n);
        copy[id_at] = '0';
        req->root = json_loadb(copy, len,
                               JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                               &jerr);
        free(copy);
        if (req->root == NULL)
            id_n = 0;
    } else {
        id_n = 0;
    }
    if (req->root == NULL) {
        /* Not JSON: still echo the id if the line states one plainly
         * (a string that is valid JSON on its own, or an integer), so
         * that a client matching answers by id can tell which failed. */
        if (raw_id(line, len, &id_at, &id_n, 1)) {
            json_t *v = line[id_at] == '"'
                            ? json_loadb(line + id_at, id_n, JSON_DECODE_ANY,
                                         NULL)
                            : NULL;
            char *s = (line[id_at] != '"' || v != NULL) ? malloc(id_n + 1)
                                                        : NULL;
            json_decref(v);
            if (s != NULL) {
                memcpy(s, line + id_at, id_n);
                s[id_n] = '\0';
                free(req->id_json);
                req->id_json = s;
            }
        }
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            return fail_set(fail, PROTO_INVALID_UTF8, "%s", jerr.text);
        /* jansson's own words name its flag (JSON_ALLOW_NUL) */
        if (json_error_code(&jerr) == json_error_null_character)
            return fail_set(fail, PROTO_BAD_JSON,
                            "invalid JSON at column %d: \\u0000 (a NUL "
                            "character) is not allowed in a request",
                            jerr.column);
        return fail_set(fail, PROTO_BAD_JSON, "invalid JSON at column %d: %s",
                        jerr.column, jerr.text);
    }
    if (!json_is_object(req->root))
        return fail_set(fail, PROTO_BAD_JSON,
                        "a request must be a JSON object");

    json_t *id = json_object_get(req->root, "id");
    if (id_n > 0) {
        char *s = malloc(id_n + 1);
        if (s == NULL)
            return fail_set(fail, PROTO_INTERNAL, "out of memory");
        memcpy(s, line + id_at, id_n);
        s[id_n] = '\0';
        free(req->id_json);
        req->id_json = s;
    } else if (id != NULL) {
        char *s = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
        if (s == NULL)
            return fail_set(fail, PROTO_INTERNAL, "out of memory");
        free(req->id_json);
        req->id_json = s;
    }

    op = NULL;
    if (get_string(req->root, "op", 1, &op, &op_len, fail) < 0)
        return -1;
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(op, ops[i].name) == 0)
            break;
    }
    if (i == sizeof(ops) / sizeof(ops[0]) || strlen(op) != op_len)
        return fail_set(fail, PROTO_UNKNOWN_OP, "unknown op \"%.64s\"", op);
    req->op = ops[i].op;

    switch (req->op) {
    case OP_SEARCH:
        return parse_search(req, fail);
    case OP_COUNT:
        if (get_string(req->root, "q", 1, &req->query.q, &req->query.qlen,
                       fail) < 0)
            return -1;
        return get_bool(req->root, "explain", &req->explain, fail);
    case OP_GET:
        return get_string(req->root, "doc", 1, &req->doc, &req->doc_len, fail);
    default:
        return 0;
    }
}

void proto_request_free(proto_request *req)
{
    json_decref(req->root);
    free(req->id_json);
    memset(req, 0, sizeof(*req));
}

const char *proto_core_code(int rc)
{
    switch (rc) {
    case TRAWL_EQUERY:
        return PROTO_BAD_QUERY;
    case TRAWL_EINVAL:
        return PROTO_BAD_REQUEST;
    case TRAWL_ENOTFOUND:
        return PROTO_NOT_FOUND;
    default:
        return PROTO_INTERNAL;
    }
}

/* ---- encoding ---------------------------------------------------------- */

void proto_put_str(trawl_buf *out, const char *s, size_t n)
{
    char *fixed;
    size_t fixed_len;

    if (s == NULL) {
        trawl_buf_puts(out, "null");
        return;
    }
    if (trawl_utf8_valid(s, n)) {
        trawl_buf_put_json_str(out, s, n);
        return;
    }
    /* Index text is sanitized when stored, but error messages may have been
     * cut in the middle of a character; never let that break the frame. */
    if (trawl_utf8_sanitize(s, n, &fixed, &fixed_len, NULL) < 0) {
        out->rc = out->rc ? out->rc : TRAWL_ENOMEM;
        return;
    }
    trawl_buf_put_json_str(out, fixed, fixed_len);
    free(fixed);
}

static void put_cstr(trawl_buf *out, const char *s)
{
    proto_put_str(out, s, s ? strlen(s) : 0);
}

static void put_head(trawl_buf *out, const char *id_json, int ok)
{
    trawl_buf_puts(out, "{\"id\":");
    trawl_buf_puts(out, id_json ? id_json : "null");
    trawl_buf_puts(out, ok ? ",\"ok\":true" : ",\"ok\":false");
}

static void put_gen(trawl_buf *out, const uint64_t *gen)
{
    if (gen != NULL)
        trawl_buf_printf(out, ",\"generation\":%llu", (unsigned long long)*gen);
}

static void put_date(trawl_buf *out, int64_t date)
{
    char s[11];

    if (date == TRAWL_NO_DATE) {
        trawl_buf_puts(out, "null");
        return;
    }
    trawl_format_date(date, s);
    trawl_buf_putc(out, '"');
    trawl_buf_puts(out, s);
    trawl_buf_putc(out, '"');
}

void proto_put_error(trawl_buf *out,
                     const char *id_json,
                     const uint64_t *gen,
                     const char *code,
                     const char *fmt,
                     ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    put_head(out, id_json, 0);
    put_gen(out, gen);
    trawl_buf_puts(out, ",\"error\":{\"code\":");
    put_cstr(out, code);
    trawl_buf_puts(out, ",\"message\":");
    put_cstr(out, msg);
    trawl_buf_puts(out, "}}\n");
}

void proto_put_pong(trawl_buf *out, const char *id_json)
{
    put_head(out, id_json, 1);
    trawl_buf_puts(out, ",\"pong\":true}\n");
}

static const char *sort_name(int sort)
{
    return sort == TRAWL_SORT_DATE       ? "date"
           : sort == TRAWL_SORT_DATE_ASC ? "date_asc"
                                         : "score";
}

/* ,"explain":{...}: the analyzed query and, for a search, the ranking
 * settings it ran with (defaults filled in). */
static void
put_explain(trawl_buf *out, const proto_request *req, const char *parsed,
            int sort)
{
    const trawl_query *q = &req->query;

    trawl_buf_puts(out, ",\"explain\":{\"parsed\":");
    put_cstr(out, parsed);
    if (req->op == OP_SEARCH) {
        trawl_buf_printf(out,
                         ",\"k1\":%.15g,\"b\":%.15g,\"title_weight\":%.15g,"
                         "\"body_weight\":%.15g,\"prox_weight\":%.15g,"
                         "\"prox_depth\":%u,\"sort\":\"%s\"",
                         q->k1, q->b, q->w_title, q->w_body, q->w_prox,
                         (unsigned)q->prox_depth,
                         sort_name(sort));
    }
    trawl_buf_putc(out, '}');
}

void proto_put_search(trawl_buf *out,
                      const proto_request *req,
                      uint64_t gen,
                      const trawl_results *res,
                      uint64_t took_us)
{
    unsigned f = req->fields;
    int snippets = req->query.snippets;

    put_head(out, req->id_json, 1);
    put_gen(out, &gen);
    trawl_buf_printf(out, ",\"total\":%llu,\"total_exact\":%s,\"took_us\":%llu",
                     (unsigned long long)res->total,
                     res->total_exact ? "true" : "false",
                     (unsigned long long)took_us);
    if (req->explain)
        put_explain(out, req, res->parsed, res->sort);
    trawl_buf_puts(out, ",\"hits\":[");
    for (size_t i = 0; i < res->nhits; i++) {
        const trawl_hit *h = &res->hits[i];
        trawl_buf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        proto_put_str(out, h->id, h->id_len);
        if (f & PF_TITLE) {
            trawl_buf_puts(out, ",\"title\":");
            proto_put_str(out, h->title, h->title_len);
        }
        if (f & PF_DATE) {
            trawl_buf_puts(out, ",\"date\":");
            put_date(out, h->date);
        }
        if (f & PF_SCORE)
            trawl_buf_printf(out, ",\"score\":%.9g",
                             isfinite(h->score) ? h->score : 0.0);
        if (f & PF_AUTHOR) {
            trawl_buf_puts(out, ",\"author\":");
            proto_put_str(out, h->author, h->author_len);
        }
        if (f & PF_URL) {
            trawl_buf_puts(out, ",\"url\":");
            proto_put_str(out, h->url, h->url_len);
        }
        int have = snippets && h->snippet != NULL;
        if (f & PF_SNIPPET) {
            trawl_buf_puts(out, ",\"snippet\":");
            if (have)
                proto_put_str(out, h->snippet, h->snippet_len);
            else
                trawl_buf_puts(out, "null");
        }
        if (f & PF_HIGHLIGHTS) {
            trawl_buf_puts(out, ",\"highlights\":[");
            for (size_t j = 0; have && j < h->nranges; j++)
                trawl_buf_printf(out, "%s[%u,%u]", j ? "," : "",
                                 h->ranges[j].start, h->ranges[j].end);
            trawl_buf_putc(out, ']');
        }
        trawl_buf_putc(out, '}');
    }
    trawl_buf_puts(out, "]}\n");
}

void proto_put_count(trawl_buf *out,
                     const proto_request *req,
                     uint64_t gen,
                     uint64_t count,
                     const char *parsed,
                     uint64_t took_us)
{
    put_head(out, req->id_json, 1);
    put_gen(out, &gen);
    trawl_buf_printf(out, ",\"count\":%llu,\"took_us\":%llu",
                     (unsigned long long)count, (unsigned long long)took_us);
    if (req->explain)
        put_explain(out, req, parsed, req->query.sort);
    trawl_buf_puts(out, "}\n");
}

static void put_extra(trawl_buf *out, const char *extra, size_t len)
{
    /* Stored verbatim at index time; re-encode so that whatever is on disk
     * can never break the one-line framing. */
    json_t *v = extra ? json_loadb(extra, len, 0, NULL) : NULL;
    char *s = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;

    trawl_buf_puts(out, s ? s : "null");
    free(s);
    json_decref(v);
}

void proto_put_doc(trawl_buf *out,
                   const char *id_json,
                   uint64_t gen,
                   const trawl_stored *doc)
{
    put_head(out, id_json, 1);
    put_gen(out, &gen);
    trawl_buf_puts(out, ",\"doc\":{\"id\":");
    proto_put_str(out, doc->id, doc->id_len);
    trawl_buf_puts(out, ",\"title\":");
    proto_put_str(out, doc->title, doc->title_len);
    trawl_buf_puts(out, ",\"date\":");
    put_date(out, doc->date);
    trawl_buf_puts(out, ",\"author\":");
    proto_put_str(out, doc->author, doc->author_len);
    trawl_buf_puts(out, ",\"url\":");
    proto_put_str(out, doc->url, doc->url_len);
    trawl_buf_puts(out, ",\"extra\":");
    put_extra(out, doc->extra, doc->extra_len);
    trawl_buf_puts(out, ",\"body\":");
    proto_put_str(out, doc->body, doc->body_len);
    trawl_buf_puts(out, "}}\n");
}

void proto_put_reload(trawl_buf *out,
                      const char *id_json,
                      const uint64_t *gen,
                      int reloaded,
                      const char *error)
{
    put_head(out, id_json, 1);
    trawl_buf_puts(out, ",\"generation\":");
    if (gen != NULL)
        trawl_buf_printf(out, "%llu", (unsigned long long)*gen);
    else
        trawl_buf_puts(out, "null");
    trawl_buf_puts(out,
                   reloaded ? ",\"reloaded\":true" : ",\"reloaded\":false");
    if (error != NULL) {
        trawl_buf_puts(out, ",\"reload_error\":");
        put_cstr(out, error);
    }
    trawl_buf_puts(out, "}\n");
}

void proto_put_stats(trawl_buf *out, const char *id_json, const proto_stats *st)
{
    const trawl_index_info *info = st->info;

    put_head(out, id_json, 1);
    if (info != NULL) {
        trawl_buf_printf(out,
                         ",\"generation\":%llu,\"docs\":%llu,\"terms\":%llu,"
                         "\"segments\":%u,\"tokens\":%llu,\"deleted\":%llu,"
                         "\"language\":",
                         (unsigned long long)info->generation,
                         (unsigned long long)info->docs,
                         (unsigned long long)info->terms, info->segments,
                         (unsigned long long)info->tokens,
                         (unsigned long long)info->deleted);
        put_cstr(out, info->language);
        trawl_buf_printf(out, ",\"index_bytes\":%llu",
                         (unsigned long long)info->bytes);
    } else {
        trawl_buf_puts(out, ",\"generation\":null,\"docs\":0,\"terms\":0,"
                            "\"segments\":0,\"tokens\":0,\"deleted\":0,"
                            "\"language\":null,\"index_bytes\":0");
    }
    trawl_buf_printf(out,
                     ",\"uptime_s\":%.3f,\"queries\":%llu,\"errors\":%llu,"
                     "\"connections\":%u,\"latency_us\":{\"p50\":%llu,"
                     "\"p95\":%llu,\"p99\":%llu},\"last_reload_error\":",
                     st->uptime_s, (unsigned long long)st->queries,
                     (unsigned long long)st->errors, st->connections,
                     (unsigned long long)st->p50, (unsigned long long)st->p95,
                     (unsigned long long)st->p99);
    put_cstr(out, st->last_reload_error);
    trawl_buf_puts(out, "}\n");
}
