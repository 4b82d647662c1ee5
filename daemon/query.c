/*
 * Queries, run inline on the query loop that read them (see server.h):
 * the generation is retained for the query's duration (a reload may swap
 * generations meanwhile), the loop's own searcher brings its arena, and
 * the response is encoded straight into the request's slot.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "trawl/arena.h"

#include "log.h"
#include "proto.h"
#include "server.h"

/* ---- reading the mapped index safely ------------------------------------ */

/*
 * Segments are mapped. If a file is truncated under the daemon (segments
 * are immutable, but nothing stops a person or a broken disk), touching a
 * page past its new end raises SIGBUS, which would kill the daemon. The
 * reads of the index run under guarded(): the handler jumps back there and
 * the request fails with TRAWL_ECORRUPT (an "internal" answer), while
 * everything else goes on. A SIGBUS anywhere else keeps its default
 * effect.
 */
static _Thread_local sigjmp_buf *bus_jump;
/* The thread's signal mask outside the handler, saved at its first
 * guarded() call: the jump out of the handler does not restore the mask
 * (sigsetjmp(j, 0) spares every query a system call), and the handler
 * may have been entered with more than SIGBUS blocked. SA_NODEFER alone
 * kept SIGBUS deliverable, but only while nothing else sets the mask:
 * ThreadSanitizer runs every handler with all signals blocked, so after
 * one recovered SIGBUS the thread's next one was blocked, and the kernel
 * killed the daemon with it (test_robust). */
static _Thread_local sigset_t bus_mask;
static _Thread_local bool bus_mask_saved;

static void on_sigbus(int sig)
{
    sigjmp_buf *j = bus_jump;

    if (j != NULL) {
        bus_jump = NULL;
        siglongjmp(*j, 1);
    }
    /* Not ours: the faulting access runs again and dies of it. */
    signal(sig, SIG_DFL);
}

int guard_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    /* Not blocked in the handler: the jump leaves it without restoring
     * the mask, so a later fault must still be delivered. */
    sa.sa_flags = SA_NODEFER;
    return sigaction(SIGBUS, &sa, NULL);
}

int guarded(int (*fn)(void *arg, trawl_err *err), void *arg, trawl_err *err)
{
    sigjmp_buf j;

    if (!bus_mask_saved &&
        pthread_sigmask(SIG_BLOCK, NULL, &bus_mask) == 0)
        bus_mask_saved = true;
    if (sigsetjmp(j, 0) != 0) {
        if (bus_mask_saved) {
            pthread_sigmask(SIG_SETMASK, &bus_mask, NULL);
        } else { /* at least the next SIGBUS must reach the handler */
            sigset_t bus;
            sigemptyset(&bus);
            sigaddset(&bus, SIGBUS);
            pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
        }
        return trawl_err_set(err, TRAWL_ECORRUPT,
                             "an index file could not be read (truncated "
                             "or an I/O error)");
    }
    bus_jump = &j;
    int rc = fn(arg, err);
    bus_jump = NULL;
    return rc;
}

/* ---- queries ------------------------------------------------------------ */

static const char *op_name(proto_op op)
{
    return op == OP_SEARCH ? "search" : op == OP_COUNT ? "count" : "get";
}

typedef struct query_job {
    trawl_searcher *sr;
    trawl_index *ix;
    trawl_arena *arena;
    proto_request *req;
    trawl_buf *out;
    uint64_t gen, t0;
} query_job;

/* The part of a query that reads the index (and encodes from it). */
static int query_answer(void *arg, trawl_err *err)
{
    query_job *qj = arg;
    trawl_searcher *sr = qj->sr;
    trawl_index *ix = qj->ix;
    trawl_arena *arena = qj->arena;
    proto_request *req = qj->req;
    trawl_buf *out = qj->out;
    const char *id = req->id_json;
    uint64_t gen = qj->gen, t0 = qj->t0;
    int rc;

    if (req->op == OP_GET) {
        trawl_stored doc;
        rc = trawl_index_get(ix, req->doc, req->doc_len, arena, &doc, err);
        if (rc == 0)
            proto_put_doc(out, id, gen, &doc);
    } else if (req->op == OP_SEARCH) {
        trawl_results res;
        rc = trawl_search(sr, ix, &req->query, arena, &res, err);
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
        qq.explain = 1;
        rc = trawl_search(sr, ix, &qq, arena, &res, err);
        if (rc == 0)
            proto_put_count(out, req, gen, res.total, res.parsed,
                            (uv_hrtime() - t0) / 1000);
    } else {
        uint64_t n = 0;
        rc = trawl_count(sr, ix, req->query.q, req->query.qlen, arena, &n,
                         err);
        if (rc == 0)
            proto_put_count(out, req, gen, n, NULL,
                            (uv_hrtime() - t0) / 1000);
    }
    return rc;
}

int query_run(qloop *q, slot *s, proto_request *req)
{
    server *srv = q->srv;
    trawl_buf *out = &s->out;
    const char *id = req->id_json;
    uint64_t t0 = uv_hrtime();
    trawl_index *ix;
    uint64_t gen = 0;
    trawl_err err;
    int rc;

    if ((ix = server_index_acquire(srv, &gen)) == NULL) {
        /* An index that is there but cannot be served: say why. */
        char *why = server_reload_error(srv);
        if (why != NULL && strstr(why, "no CURRENT") == NULL)
            proto_put_error(out, id, NULL, PROTO_NO_INDEX,
                            "no index loaded from %s: %s",
                            srv->cfg.index_dir, why);
        else
            proto_put_error(out, id, NULL, PROTO_NO_INDEX,
                            "no index loaded yet from %s",
                            srv->cfg.index_dir);
        free(why);
        return -1;
    }
    trawl_err_clear(&err);
    /* The searcher's arena is kept warm from query to query: no
     * allocation per request here. */
    query_job qj = {q->searcher, ix, trawl_searcher_arena(q->searcher), req,
                    out, gen, t0};
    trawl_arena_reset(qj.arena);
    rc = guarded(query_answer, &qj, &err);
    if (rc < 0) {
        const char *code = proto_core_code(rc);
        if (strcmp(code, PROTO_INTERNAL) == 0)
            log_error("%s failed: %s (%s)", op_name(req->op),
                      err.msg[0] ? err.msg : "?", trawl_strerror(rc));
        trawl_buf_clear(out);
        proto_put_error(out, id, &gen, code, "%s",
                        err.msg[0] ? err.msg : trawl_strerror(rc));
    }
    trawl_arena_reset(qj.arena); /* big one-off blocks go back now */
    trawl_index_release(ix);
    server_note_query(srv, (uv_hrtime() - t0) / 1000);
    return rc < 0 ? -1 : 0;
}
