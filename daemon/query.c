/*
 * Queries on the thread pool. Each job holds a reference to the index
 * generation it started on (so a reload can swap generations under it), a
 * searcher borrowed from the server's pool with the arena it owns; it encodes
 * its response into the request's slot before returning to the loop.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "trawl/arena.h"

#include "log.h"
#include "proto.h"
#include "server.h"

typedef struct job {
    uv_work_t work;
    server *srv;
    conn *c;
    slot *s;
    proto_request req;
    trawl_index *ix; /* retained for the job's lifetime */
    uint64_t gen;
    uint64_t took_us;
    bool error;
} job;

static const char *op_name(proto_op op)
{
    return op == OP_SEARCH ? "search" : op == OP_COUNT ? "count" : "get";
}

/* Worker thread: touches only the job, its slot's buffer and the pool. */
static void job_run(uv_work_t *w)
{
    job *j = w->data;
    trawl_buf *out = &j->s->out;
    const char *id = j->req.id_json;
    uint64_t t0 = uv_hrtime();
    trawl_searcher *sr = NULL;
    trawl_arena *arena = NULL;
    trawl_err err;
    int rc;

    trawl_err_clear(&err);
    /* The searcher (taken from the pool) brings its own arena, kept warm
     * from query to query: no allocation per request here. */
    sr = server_searcher_take(j->srv);
    if (sr == NULL) {
        rc = trawl_err_set(&err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    arena = trawl_searcher_arena(sr);
    trawl_arena_reset(arena);
    if (j->req.op == OP_GET) {
        trawl_stored doc;
        rc = trawl_index_get(j->ix, j->req.doc, j->req.doc_len, arena, &doc,
                             &err);
        if (rc == 0)
            proto_put_doc(out, id, j->gen, &doc);
        goto done;
    }
    if (j->req.op == OP_SEARCH) {
        trawl_results res;
        rc = trawl_search(sr, j->ix, &j->req.query, arena, &res, &err);
        if (rc == 0)
            proto_put_search(out, &j->req, j->gen, &res,
                             (uv_hrtime() - t0) / 1000);
    } else if (j->req.explain) {
        /* A count that also reports the parsed query: a search for no
         * hits, counting every match. */
        trawl_results res;
        trawl_query q = j->req.query;
        q.limit = 0;
        q.offset = 0;
        q.snippets = 0;
        q.exact_total = 1;
        rc = trawl_search(sr, j->ix, &q, arena, &res, &err);
        if (rc == 0)
            proto_put_count(out, &j->req, j->gen, res.total, res.parsed,
                            (uv_hrtime() - t0) / 1000);
    } else {
        uint64_t n = 0;
        rc = trawl_count(sr, j->ix, j->req.query.q, j->req.query.qlen, arena,
                         &n, &err);
        if (rc == 0)
            proto_put_count(out, &j->req, j->gen, n, NULL,
                            (uv_hrtime() - t0) / 1000);
    }
done:
    if (rc < 0) {
        const char *code = proto_core_code(rc);
        if (strcmp(code, PROTO_INTERNAL) == 0)
            log_error("%s failed: %s (%s)", op_name(j->req.op),
                      err.msg[0] ? err.msg : "?", trawl_strerror(rc));
        trawl_buf_clear(out);
        proto_put_error(out, id, &j->gen, code, "%s",
                        err.msg[0] ? err.msg : trawl_strerror(rc));
        j->error = true;
    }
    if (arena != NULL)
        trawl_arena_reset(arena); /* big one-off blocks go back now */
    server_searcher_give(j->srv, sr);
    j->took_us = (uv_hrtime() - t0) / 1000;
}

/* Loop thread. */
static void job_after(uv_work_t *w, int status)
{
    job *j = w->data;

    (void)status; /* jobs are never cancelled */
    trawl_index_release(j->ix);
    j->srv->queries++;
    server_note_latency(j->srv, j->took_us);
    proto_request_free(&j->req);
    conn_job_done(j->c, j->s, j->error);
    free(j);
}

int query_submit(server *srv, conn *c, slot *s, proto_request *req)
{
    uint64_t gen = 0;
    trawl_index *ix = server_index_acquire(srv, &gen);
    job *j;
    int rc;

    if (ix == NULL) {
        proto_put_error(&s->out, req->id_json, NULL, PROTO_NO_INDEX,
                        "no index loaded yet from %s", srv->cfg.index_dir);
        return -1;
    }
    if ((j = calloc(1, sizeof(*j))) == NULL) {
        trawl_index_release(ix);
        proto_put_error(&s->out, req->id_json, NULL, PROTO_INTERNAL,
                        "out of memory");
        return -1;
    }
    j->work.data = j;
    j->srv = srv;
    j->c = c;
    j->s = s;
    j->ix = ix;
    j->gen = gen;
    j->req = *req;
    memset(req, 0, sizeof(*req));
    if ((rc = uv_queue_work(&srv->loop, &j->work, job_run, job_after)) < 0) {
        *req = j->req; /* the caller frees it */
        trawl_index_release(ix);
        free(j);
        proto_put_error(&s->out, req->id_json, NULL, PROTO_INTERNAL,
                        "cannot queue work: %s", uv_strerror(rc));
        return -1;
    }
    return 1;
}
