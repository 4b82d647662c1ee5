/*
 * libFuzzer target: trawld's request lines (daemon/proto.c), without a
 * running loop. A line is handled as conn.c's handle_line does (a leading
 * BOM and a trailing CR dropped, blank lines skipped), parsed, and
 * answered with made-up results built from the request's own strings
 * (a search hit whose id, title and snippet are the query, a stored
 * document whose fields are the doc id and the query, extra included).
 * Every answer is one line of JSON: an object with "ok", and for a
 * request that parsed, the request's "id" (null when absent). An id
 * beyond 64-bit integers is echoed as written, which jansson cannot read
 * back: such answers are only checked for one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "proto.h"
#include "trawl/article.h"
#include "trawl/buf.h"
#include "trawl/index.h"
#include "trawl/search.h"

static void check_answer(const trawl_buf *out, json_t *want_id, int have_id)
{
    FUZZ_CHECK(out->rc == 0, "encoding rc %d", out->rc);
    FUZZ_CHECK(out->len > 0 && out->ptr[out->len - 1] == '\n',
               "answer does not end its line");
    FUZZ_CHECK(memchr(out->ptr, '\n', out->len - 1) == NULL,
               "newline inside the answer: %.*s", (int)out->len, out->ptr);
    json_error_t e;
    json_t *v = json_loadb((const char *)out->ptr, out->len - 1, 0, &e);
    if (v == NULL && json_error_code(&e) == json_error_numeric_overflow)
        return;
    FUZZ_CHECK(v != NULL, "answer not JSON (%s): %.*s", e.text,
               (int)out->len, out->ptr);
    FUZZ_CHECK(json_is_object(v), "answer not an object");
    FUZZ_CHECK(json_is_boolean(json_object_get(v, "ok")), "no ok");
    json_t *id = json_object_get(v, "id");
    FUZZ_CHECK(id != NULL, "answer without an id");
    if (have_id)
        FUZZ_CHECK(json_equal(id, want_id ? want_id : json_null()),
                   "id not echoed: %.*s", (int)out->len, out->ptr);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t n = size;
    if (memchr(p, '\n', n) != NULL || n > 65535)
        return 0; /* conn.c splits lines at '\n' */
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        n -= 3;
    }
    if (n > 0 && p[n - 1] == '\r')
        n--;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
        i++;
    if (i == n)
        return 0;

    proto_request req;
    proto_fail fail;
    trawl_buf out = TRAWL_BUF_INIT;
    if (proto_parse(&req, p, n, &fail) < 0) {
        FUZZ_CHECK(fail.code != NULL && fail.msg[0] != '\0', "no reason");
        proto_put_error(&out, req.id_json, NULL, fail.code, "%s", fail.msg);
        json_t *want = json_is_object(req.root)
                           ? json_object_get(req.root, "id")
                           : NULL;
        /* an id jansson read as 0 in place of a huge integer is echoed
         * as written: compare only ids jansson could read */
        check_answer(&out, want, json_is_object(req.root) &&
                                     !json_is_integer(want));
        proto_request_free(&req);
        trawl_buf_free(&out);
        return 0;
    }
    json_t *want = json_object_get(req.root, "id");
    int cmp = !json_is_integer(want);
    uint64_t gen = 7;
    switch (req.op) {
    case OP_PING:
        proto_put_pong(&out, req.id_json);
        break;
    case OP_STATS: {
        proto_stats st;
        memset(&st, 0, sizeof(st));
        st.last_reload_error = req.query.q;
        proto_put_stats(&out, req.id_json, &st);
        break;
    }
    case OP_RELOAD:
        proto_put_reload(&out, req.id_json, &gen, 1, "a \"reload\" error\n");
        break;
    case OP_SEARCH: {
        FUZZ_CHECK(req.query.q != NULL, "search without q");
        FUZZ_CHECK(req.query.limit <= TRAWL_MAX_LIMIT, "limit %u",
                   req.query.limit);
        trawl_hit h;
        trawl_range r = {0, (uint32_t)(req.query.qlen ? 1 : 0)};
        memset(&h, 0, sizeof(h));
        h.id = h.title = h.snippet = h.author = h.url = req.query.q;
        h.id_len = h.title_len = h.snippet_len = h.author_len = h.url_len =
            req.query.qlen;
        h.date = TRAWL_NO_DATE;
        h.score = 1.5;
        h.ranges = &r;
        h.nranges = 1;
        trawl_results res;
        memset(&res, 0, sizeof(res));
        res.total = 1;
        res.nhits = 1;
        res.hits = &h;
        res.parsed = req.query.q;
        proto_put_search(&out, &req, gen, &res, 12);
        break;
    }
    case OP_COUNT:
        FUZZ_CHECK(req.query.q != NULL, "count without q");
        proto_put_count(&out, &req, gen, 3, req.query.q, 12);
        break;
    case OP_GET: {
        FUZZ_CHECK(req.doc != NULL, "get without doc");
        trawl_stored d;
        memset(&d, 0, sizeof(d));
        d.id = d.title = d.body = d.extra = req.doc;
        d.id_len = d.title_len = d.body_len = d.extra_len = req.doc_len;
        d.date = 1700000000;
        proto_put_doc(&out, req.id_json, gen, &d);
        break;
    }
    default:
        FUZZ_CHECK(0, "op %d", (int)req.op);
    }
    check_answer(&out, want, cmp);
    proto_request_free(&req);
    trawl_buf_free(&out);
    return 0;
}
