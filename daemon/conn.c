/*
 * One client connection: framing, request dispatch, ordered responses and
 * back-pressure.
 *
 * Each request line gets a slot at the tail of the connection's queue.
 * Quick ops (ping, stats, errors) fill their slot at once; queries fill it
 * from the thread pool; reload fills it when the reload job ends. flush()
 * writes the done slots at the head, so responses leave in request order
 * however the work completes.
 *
 * Limits: at most MAX_QUEUED requests per connection are queued (then we
 * stop reading until some are written); reading also pauses while more
 * than OUT_PAUSE bytes wait in the kernel-side write queue, and a client
 * that lets OUT_CAP bytes pile up is cut off.
 *
 * Lifetime: a conn is freed when its handle's close callback has run and
 * no job or reload still points at one of its slots (refs == 0).
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "proto.h"
#include "server.h"

#define MAX_QUEUED 64
#define READ_CHUNK (64 * 1024)
#define OUT_PAUSE  (1024 * 1024)
#define OUT_CAP    (8 * 1024 * 1024)

struct conn {
    uv_pipe_t pipe; /* first: (uv_handle_t *)c is the handle */
    server *srv;
    conn *prev, *next;
    unsigned long num; /* for log lines */
    trawl_buf in;      /* received bytes not yet consumed */
    size_t scanned;    /* in[0..scanned) holds no newline */
    slot *head, *tail; /* responses in request order */
    unsigned queued;   /* slots in the queue */
    unsigned writes;   /* uv_write requests in flight */
    unsigned refs;     /* jobs and reloads holding one of our slots */
    bool counted;      /* counts against max_connections */
    bool reading;
    bool eof;        /* the client has shut down its side */
    bool no_input;   /* take no more requests (too large, busy, stop) */
    bool in_process; /* process() is on the stack */
    bool closing;    /* uv_close() called */
    bool closed;     /* close callback ran */
};

typedef struct conn_write {
    uv_write_t req;
    conn *c;
    slot *slots; /* the slots being written, freed in the callback */
    unsigned nbufs;
    uv_buf_t bufs[];
} conn_write;

static unsigned long conn_counter;

static void process(conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* ---- lifetime ---------------------------------------------------------- */

static void slot_free(slot *s)
{
    free(s->reload_id);
    trawl_buf_free(&s->out);
    free(s);
}

static void conn_free(conn *c)
{
    while (c->head != NULL) {
        slot *s = c->head;
        c->head = s->next;
        slot_free(s);
    }
    trawl_buf_free(&c->in);
    free(c);
}

static void conn_closed(uv_handle_t *h)
{
    conn *c = h->data;
    server *srv = c->srv;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->closed = true;
    log_debug("conn %lu: closed", c->num);
    if (c->refs == 0)
        conn_free(c);
}

void conn_abort(conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->counted)
        c->srv->nconns--;
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

/* Close once the client will get nothing more from us. */
static void maybe_close(conn *c)
{
    if (c->closing || c->queued > 0 || c->writes > 0)
        return;
    if (c->no_input || (c->eof && c->in.len == 0))
        conn_abort(c);
}

/* ---- output ------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status)
{
    conn_write *w = (conn_write *)req;
    conn *c = w->c;

    while (w->slots != NULL) {
        slot *s = w->slots;
        w->slots = s->next;
        slot_free(s);
    }
    free(w);
    c->writes--;
    if (c->closing)
        return;
    if (status < 0) {
        log_debug("conn %lu: write: %s", c->num, uv_strerror(status));
        conn_abort(c);
        return;
    }
    process(c); /* room again: resume buffered requests and reading */
}

/* Write every done slot at the head of the queue, in one uv_write. */
static void flush(conn *c)
{
    unsigned n = 0;
    slot *s, *last = NULL;

    if (c->closing)
        return;
    for (s = c->head; s != NULL && s->done; s = s->next) {
        last = s;
        n++;
    }
    if (n == 0)
        return;
    conn_write *w = malloc(sizeof(*w) + n * sizeof(uv_buf_t));
    if (w == NULL) {
        log_error("conn %lu: out of memory", c->num);
        conn_abort(c);
        return;
    }
    w->c = c;
    w->slots = c->head;
    w->nbufs = n;
    c->head = last->next;
    if (c->head == NULL)
        c->tail = NULL;
    last->next = NULL;
    c->queued -= n;
    n = 0;
    for (s = w->slots; s != NULL; s = s->next) {
        if (s->out.rc != 0) { /* ENOMEM while encoding */
            trawl_buf_clear(&s->out);
            proto_put_error(&s->out, "null", NULL, PROTO_INTERNAL,
                            "out of memory");
        }
        w->bufs[n++] = uv_buf_init((char *)s->out.ptr, (unsigned)s->out.len);
    }
    int rc =
        uv_write(&w->req, (uv_stream_t *)&c->pipe, w->bufs, w->nbufs, on_write);
    if (rc < 0) {
        log_debug("conn %lu: write: %s", c->num, uv_strerror(rc));
        w->req.data = NULL;
        c->writes++;
        on_write(&w->req, rc);
        return;
    }
    c->writes++;
    size_t pending = uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
    if (pending > OUT_CAP) {
        log_warn("conn %lu: client not reading (%zu bytes pending), "
                 "closing it",
                 c->num, pending);
        conn_abort(c);
    }
}

static slot *slot_push(conn *c)
{
    slot *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    if (c->tail != NULL)
        c->tail->next = s;
    else
        c->head = s;
    c->tail = s;
    c->queued++;
    return s;
}

/* Queue an error response that needs no request (id null). */
static void push_error(conn *c, const char *code, const char *msg)
{
    slot *s = slot_push(c);

    if (s == NULL)
        return;
    proto_put_error(&s->out, "null", NULL, code, "%s", msg);
    s->done = true;
    c->srv->errors++;
}

void conn_job_done(conn *c, slot *s, bool error)
{
    s->done = true;
    c->refs--;
    if (error)
        c->srv->errors++;
    if (c->closed) {
        if (c->refs == 0)
            conn_free(c);
        return;
    }
    if (!c->in_process)
        process(c);
}

void conn_reload_done(
    conn *c, slot *s, const uint64_t *gen, bool reloaded, const char *error)
{
    proto_put_reload(&s->out, s->reload_id ? s->reload_id : "null", gen,
                     reloaded, error);
    conn_job_done(c, s, false);
}

/* ---- input ------------------------------------------------------------- */

static void dispatch(conn *c, const char *line, size_t len)
{
    server *srv = c->srv;
    proto_request req;
    proto_fail fail;
    slot *s;

    s = slot_push(c);
    if (s == NULL) {
        log_error("conn %lu: out of memory", c->num);
        conn_abort(c);
        return;
    }
    if (proto_parse(&req, line, len, &fail) < 0) {
        proto_put_error(&s->out, req.id_json, NULL, fail.code, "%s", fail.msg);
        log_debug("conn %lu: %s: %s", c->num, fail.code, fail.msg);
        s->done = true;
        srv->errors++;
        proto_request_free(&req);
        return;
    }
    switch (req.op) {
    case OP_PING:
        proto_put_pong(&s->out, req.id_json);
        s->done = true;
        break;
    case OP_STATS:
        server_put_stats(srv, &s->out, req.id_json);
        s->done = true;
        break;
    case OP_RELOAD:
        s->reload_id = req.id_json; /* kept until the reload ends */
        req.id_json = NULL;
        c->refs++;
        server_reload(srv, c, s, true);
        break;
    default: {
        int rc;
        c->refs++;
        rc = query_submit(srv, c, s, &req);
        if (rc <= 0) {
            s->done = true;
            c->refs--;
            if (rc < 0)
                srv->errors++;
        }
        break;
    }
    }
    proto_request_free(&req);
}

static bool is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    }
    return true;
}

static void handle_line(conn *c, const char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (!is_blank(p, n))
        dispatch(c, p, n);
}

static void too_large(conn *c)
{
    char msg[96];

    snprintf(msg, sizeof(msg), "request line exceeds %zu bytes",
             c->srv->cfg.max_request);
    log_info("conn %lu: %s; closing", c->num, msg);
    push_error(c, PROTO_REQUEST_TOO_LARGE, msg);
    c->no_input = true;
    trawl_buf_clear(&c->in);
    c->scanned = 0;
}

static void update_reading(conn *c)
{
    bool want =
        !c->closing && !c->eof && !c->no_input && c->queued < MAX_QUEUED &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < OUT_PAUSE;

    if (want && !c->reading) {
        int rc = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
        if (rc < 0) {
            log_warn("conn %lu: read: %s", c->num, uv_strerror(rc));
            conn_abort(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
}

/*
 * Turn buffered bytes into requests while there is room in the queue,
 * write what is ready, and decide whether to read on or close.
 */
static void process(conn *c)
{
    size_t max = c->srv->cfg.max_request;
    size_t start = 0;

    if (c->closing)
        return;
    c->in_process = true;
    while (!c->no_input && !c->closing && c->queued < MAX_QUEUED) {
        const char *base = (const char *)c->in.ptr + start;
        size_t avail = c->in.len - start;
        size_t from = c->scanned > start ? c->scanned - start : 0;
        const char *nl =
            avail > from ? memchr(base + from, '\n', avail - from) : NULL;
        if (nl == NULL) {
            c->scanned = c->in.len;
            if (avail >= max)
                too_large(c);
            else if (c->eof && avail > 0) { /* last line without newline */
                handle_line(c, base, avail);
                start = c->in.len;
            }
            break;
        }
        size_t n = (size_t)(nl - base);
        if (n + 1 > max) {
            too_large(c);
            break;
        }
        handle_line(c, base, n);
        start += n + 1;
    }
    if (start > 0 && !c->no_input) {
        memmove(c->in.ptr, c->in.ptr + start, c->in.len - start);
        c->in.len -= start;
        c->scanned = c->scanned > start ? c->scanned - start : 0;
    }
    c->in_process = false;
    flush(c);
    update_reading(c);
    maybe_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn *c = h->data;

    (void)suggested;
    if (trawl_buf_reserve(&c->in, READ_CHUNK) != 0) {
        *buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init((char *)c->in.ptr + c->in.len,
                       (unsigned)(c->in.cap - c->in.len - 1));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = stream->data;

    (void)buf;
    if (nread == UV_EOF) {
        /* Half-close (e.g. socat after stdin ends): answer what was sent,
         * then close. */
        c->eof = true;
        process(c);
        return;
    }
    if (nread < 0) {
        log_debug("conn %lu: read: %s", c->num, uv_strerror((int)nread));
        conn_abort(c);
        return;
    }
    c->in.len += (size_t)nread;
    process(c);
}

/* ---- accept and shutdown ----------------------------------------------- */

void conn_accept(server *srv)
{
    conn *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL) {
        log_error("accept: out of memory");
        return;
    }
    c->srv = srv;
    c->num = ++conn_counter;
    if ((rc = uv_pipe_init(&srv->loop, &c->pipe, 0)) < 0) {
        log_error("accept: %s", uv_strerror(rc));
        free(c);
        return;
    }
    c->pipe.data = c;
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    if ((rc = uv_accept((uv_stream_t *)&srv->listener,
                        (uv_stream_t *)&c->pipe)) < 0) {
        log_warn("accept: %s", uv_strerror(rc));
        conn_abort(c);
        return;
    }
    if (srv->nconns >= srv->cfg.max_connections || srv->stopping) {
        log_warn("conn %lu: refused, %u connections open", c->num, srv->nconns);
        push_error(c, PROTO_BUSY,
                   srv->stopping ? "server is shutting down"
                                 : "too many connections");
        c->no_input = true;
        process(c);
        return;
    }
    c->counted = true;
    srv->nconns++;
    log_debug("conn %lu: open (%u connections)", c->num, srv->nconns);
    process(c);
}

void conn_drain(conn *c)
{
    c->no_input = true;
    process(c);
}

conn *conn_next(conn *c)
{
    return c->next;
}
