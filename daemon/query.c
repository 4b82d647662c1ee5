/*
 * Queries, run inline on the query loop that read them (see server.h):
 * the generation is retained for the query's duration (a reload may swap
 * generations meanwhile), the loop's own searcher brings its arena, and
 * the response is encoded straight into the request's slot.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "trawl/arena.h"

#include "log.h"
#include "proto.h"
#include "server.h"

static const char *op_name(proto_op op)
{
    return op == OP_SEARCH ? "search" : op == OP_COUNT ? "count" : "get";
}

int query_run(qloop *q, slot *s, proto_request *req)
{
    server *srv = q->srv;
    trawl_buf *out = &s->out;
    const char *id = req->id_json;
    uint64_t t0 = uv_hrtime();
    trawl_searcher *sr = q->searcher;
    trawl_arena *arena;
    trawl_index *ix;
    uint64_t gen = 0;
    trawl_err err;
    int rc;

    if ((ix = server_index_acquire(srv, &gen)) == NULL) {
        proto_put_error(out, id, NULL, PROTO_NO_INDEX,
                        "no index loaded yet from %s", srv->cfg.index_dir);
        return -1;
    }
    trawl_err_clear(&err);
    /* The searcher's arena is kept warm from query to query: no
     * allocation per request here. */
    arena = trawl_searcher_arena(sr);
    trawl_arena_reset(arena);
    if (req->op == OP_GET) {
        trawl_stored doc;
        rc = trawl_index_get(ix, req->doc, req->doc_len, arena, &doc, &err);
        if (rc == 0)
            proto_put_doc(out, id, gen, &doc);
    } else if (req->op == OP_SEARCH) {
        trawl_results res;
        rc = trawl_search(sr, ix, &req->query, arena, &res, &err);
        if (rc == 0)
            proto_put_search(out, req, gen, &res, (uv_hrtime() - t0) / 1000);
    } else if (req->explain) {
        /* A count that also reports the parsed query: a search for no
         * hits, counting every match. */
        trawl_results res;
        trawl_query qq = req->query;
        qq.limit = 0;
        qq.offset = 0;
        qq.snippets = 0;
        qq.exact_total = 1;
        rc = trawl_search(sr, ix, &qq, arena, &res, &err);
        if (rc == 0)
            proto_put_count(out, req, gen, res.total, res.parsed,
                            (uv_hrtime() - t0) / 1000);
    } else {
        uint64_t n = 0;
        rc = trawl_count(sr, ix, req->query.q, req->query.qlen, arena, &n,
                         &err);
        if (rc == 0)
            proto_put_count(out, req, gen, n, NULL,
                            (uv_hrtime() - t0) / 1000);
    }
    if (rc < 0) {
        const char *code = proto_core_code(rc);
        if (strcmp(code, PROTO_INTERNAL) == 0)
            log_error("%s failed: %s (%s)", op_name(req->op),
                      err.msg[0] ? err.msg : "?", trawl_strerror(rc));
        trawl_buf_clear(out);
        proto_put_error(out, id, &gen, code, "%s",
                        err.msg[0] ? err.msg : trawl_strerror(rc));
    }
    trawl_arena_reset(arena); /* big one-off blocks go back now */
    trawl_index_release(ix);
    server_note_query(srv, (uv_hrtime() - t0) / 1000);
    return rc < 0 ? -1 : 0;
}
