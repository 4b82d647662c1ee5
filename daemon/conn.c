/*
 * One client connection, owned by one query loop from accept to close:
 * framing, request dispatch, ordered responses and back-pressure.
 *
 * Each request line gets a slot at the tail of the connection's queue and
 * is answered at once, on this loop's thread (queries included, see
 * query.c), except "reload", whose slot is filled when the main loop's
 * reload job has ended; the connection's later requests wait for that (and
 * reading pauses), so they are served by the generation the reload
 * reports, or a newer one. flush() writes the done slots at the head, so
 * responses leave in request order. A long query holds up the other
 * connections of this loop until it ends: the price of running each
 * request to completion without a thread hand-off.
 *
 * Writing: when nothing is queued in libuv, flush() first tries a direct
 * write (uv_try_write), which in the common case (one request read, one
 * response written) takes the whole answer with no write request and no
 * callback; what the kernel does not take goes through uv_write().
 *
 * Limits: at most MAX_QUEUED requests per connection are queued
 * unanswered (then we stop reading until some are written), and at most
 * MAX_QUEUED, or about ROUND_NS of work, are answered per round (see
 * process()); reading pauses while
 * more than OUT_PAUSE bytes wait in libuv's write queue, and a client that
 * lets more than OUT_CAP bytes pile up behind the write it is reading is
 * cut off (a single bigger answer is sent whole).
 *
 * Idleness: a connection is busy from the moment a request line is
 * complete (its newline read) until every response has been handed to the
 * kernel; otherwise it is idle, a partial line or not. Its idle clock
 * starts when it opens and each time it turns idle again; the bytes of a
 * partial line do not reset it, so a line must be complete within
 * --idle-timeout of the last answer (a client dribbling one byte now and
 * then does not hold a slot for ever). The loop keeps its idle
 * connections in a list, idle longest first (appending at the loop's
 * current time keeps it sorted), and one timer for the list's head. At
 * the connection limit, the main loop hands a new client to the loop
 * whose head has been idle longest, and that head is closed to make room
 * if it has been idle for --evict-idle (conn_open()). A busy connection
 * whose client reads none of the answers waiting for it is closed after
 * --write-timeout (conn_stall_timer()).
 *
 * Lifetime: a conn is freed when its handle's close callback has run and
 * no reload still points at one of its slots (refs == 0).
 */
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "proto.h"
#include "server.h"

#define MAX_QUEUED 64
#define READ_CHUNK (64 * 1024)
#define OUT_PAUSE  (1024 * 1024)
#define OUT_CAP    (8 * 1024 * 1024)
#define FLUSH_AT   (64 * 1024) /* answered bytes worth writing at once */
#define SLOT_CACHE 8           /* spare slots kept per connection */
#define ROUND_NS   2000000     /* work per connection before the others */
#define DISCARD_MAX (16 * 1024 * 1024) /* read and dropped after too large */

typedef struct conn_write conn_write;

struct conn {
    uv_pipe_t pipe; /* first: (uv_handle_t *)c is the handle */
    qloop *q;
    server *srv;
    conn *prev, *next;
    unsigned long num; /* for log lines */
    trawl_buf in;      /* received bytes not yet consumed */
    size_t scanned;    /* in[0..scanned) holds no newline */
    slot *head, *tail; /* responses in request order */
    slot *spare;       /* freed slots kept for reuse */
    unsigned nspare;
    unsigned queued;  /* slots in the queue */
    size_t ready;     /* bytes of the done slots at the head (roughly) */
    unsigned writes;  /* uv_write requests in flight */
    conn_write *wfirst, *wlast; /* those requests, oldest first */
    unsigned refs;    /* reloads holding one of our slots */
    bool counted;     /* counts against max_connections */
    bool reading;
    bool eof;        /* the client has shut down its side */
    bool no_input;   /* take no more requests (too large, busy, stop) */
    bool discard;    /* too large: drop what the client still sends */
    bool shut;       /* our sending side is shut down */
    size_t discarded;
    uv_shutdown_t shut_req;
    bool in_process; /* process() is on the stack */
    bool resume;     /* on the loop's resume list */
    conn *resume_next;
    bool closing;    /* uv_close() called */
    bool closed;     /* close callback ran */
    bool idle;       /* on the loop's idle list */
    conn *idle_prev, *idle_next;
    uint64_t idle_since; /* uv_now() when it turned idle */
    uint64_t wprogress;  /* uv_now() when the client last took some of
                            the writes in flight (or the first began) */
    size_t wq_last;      /* libuv's write queue at the last look */
    size_t kq_last;      /* the socket's unread bytes then (kernel) */
    size_t wq_added;     /* bytes given to uv_write() since */
};

struct conn_write {
    uv_write_t req;
    conn *c;
    conn_write *next; /* the connection's next write request */
    slot *slots;      /* the slots being written, freed in the callback */
    size_t bytes;     /* bytes handed to uv_write() */
    unsigned nbufs;
    uv_buf_t bufs[];
};

static void process(conn *c);
static void resume_cancel(conn *c);
static void resume_later(conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void idle_unlink(conn *c);
static void idle_update(conn *c);

/* ---- lifetime ---------------------------------------------------------- */

static void slot_destroy(slot *s)
{
    free(s->reload_id);
    trawl_buf_free(&s->out);
    free(s);
}

/* Give a written slot back: kept for reuse unless its buffer is big. */
static void slot_release(conn *c, slot *s)
{
    if (c->nspare >= SLOT_CACHE || s->out.cap > FLUSH_AT ||
        s->reload_id != NULL) {
        slot_destroy(s);
        return;
    }
    trawl_buf_clear(&s->out);
    s->done = false;
    s->next = c->spare;
    c->spare = s;
    c->nspare++;
}

static void release_chain(conn *c, slot *s)
{
    while (s != NULL) {
        slot *next = s->next;
        slot_release(c, s);
        s = next;
    }
}

static void conn_free(conn *c)
{
    qloop *q = c->q;

    while (c->head != NULL) {
        slot *s = c->head;
        c->head = s->next;
        slot_destroy(s);
    }
    while (c->spare != NULL) {
        slot *s = c->spare;
        c->spare = s->next;
        slot_destroy(s);
    }
    trawl_buf_free(&c->in);
    free(c);
    qloop_conn_freed(q);
}

static void conn_closed(uv_handle_t *h)
{
    conn *c = h->data;
    qloop *q = c->q;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        q->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->closed = true;
    if (c->resume)
        resume_cancel(c);
    log_debug("conn %lu: closed", c->num);
    if (c->refs == 0)
        conn_free(c);
}

void conn_abort(conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    idle_unlink(c);
    if (c->counted)
        atomic_fetch_sub(&c->srv->nconns, 1);
    atomic_fetch_sub(&c->q->load, 1);
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status; /* closing follows the client's EOF or the limit */
}

/*
 * Close once the client will get nothing more from us. After a request
 * that is too large, the client may still be sending the rest of it: we
 * shut our side down (it reads the error, then EOF) and read and drop
 * what comes, up to DISCARD_MAX, so that a client blocked in writing its
 * request gets to read the answer instead of a broken pipe; its EOF ends
 * the connection.
 */
static void maybe_close(conn *c)
{
    if (c->closing || c->queued > 0 || c->writes > 0)
        return;
    if (c->discard && !c->eof && c->discarded < DISCARD_MAX) {
        if (!c->shut) {
            c->shut = true;
            if (uv_shutdown(&c->shut_req, (uv_stream_t *)&c->pipe,
                            on_shutdown) < 0)
                conn_abort(c);
        }
        return;
    }
    if (c->no_input || (c->eof && c->in.len == 0))
        conn_abort(c);
}

/* ---- output ------------------------------------------------------------ */

static uint64_t write_timeout_ms(const qloop *q)
{
    return (uint64_t)q->srv->cfg.write_timeout_s * 1000;
}

/* How often the stall timer looks: a second, or the timeout if shorter. */
static uint64_t stall_period_ms(const qloop *q)
{
    uint64_t t = write_timeout_ms(q);
    return t < 1000 ? t : 1000;
}

/* What the kernel holds in the socket for the client (in the kernel's
 * accounting, which counts buffers, not bytes; 0 if unknown). */
static size_t kernel_queue(conn *c)
{
#ifdef TIOCOUTQ
    uv_os_fd_t fd;
    int k;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
        ioctl(fd, TIOCOUTQ, &k) == 0 && k > 0)
        return (size_t)k;
#endif
    return 0;
}

/* Note where c's output stands now: the client's progress is measured
 * from here. */
static void stall_mark(conn *c)
{
    c->wprogress = uv_now(&c->q->loop);
    c->wq_last = uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
    c->kq_last = kernel_queue(c);
    c->wq_added = 0;
}

/* c starts waiting for its client to read (a write now in flight). */
static void stall_watch(conn *c)
{
    qloop *q = c->q;

    stall_mark(c);
    if (write_timeout_ms(q) > 0 && !uv_is_active((uv_handle_t *)&q->stall))
        uv_timer_start(&q->stall, conn_stall_timer, stall_period_ms(q),
                       stall_period_ms(q));
}

/*
 * A client that reads none of the responses waiting for it holds its
 * connection busy (never idle) and the responses in memory, for ever:
 * enough of them lock everyone else out at --max-connections. Such a
 * connection is closed once its client has taken no byte for
 * --write-timeout. The client read something when a write completed,
 * when libuv could move bytes of its queue into the socket (the queue is
 * shorter than it was plus what was added), or when the socket holds
 * less than it did.
 */
void conn_stall_timer(uv_timer_t *t)
{
    qloop *q = t->data;
    uint64_t timeout = write_timeout_ms(q);
    uint64_t now = uv_now(&q->loop);
    bool watching = false;

    for (conn *c = q->conns; c != NULL; c = c->next) {
        if (c->closing || c->writes == 0)
            continue;
        size_t wq = uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
        size_t kq = kernel_queue(c);
        if (wq < c->wq_last + c->wq_added || kq < c->kq_last) {
            stall_mark(c);
            watching = true;
            continue;
        }
        c->wq_last = wq;
        c->kq_last = kq;
        c->wq_added = 0;
        if (now - c->wprogress < timeout) {
            watching = true;
            continue;
        }
        log_info("conn %lu: the client read nothing for %llu s (%zu bytes "
                 "waiting), closing it",
                 c->num, (unsigned long long)((now - c->wprogress) / 1000),
                 wq);
        conn_abort(c); /* unlinked by its close callback */
    }
    if (!watching)
        uv_timer_stop(t);
}

/* Take w off its connection's list of writes in flight (normally the
 * oldest: libuv completes a stream's writes in order). */
static void write_unlink(conn *c, conn_write *w)
{
    conn_write **p = &c->wfirst, *prev = NULL;

    while (*p != NULL && *p != w) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return;
    *p = w->next;
    if (c->wlast == w)
        c->wlast = prev;
}

static void on_write(uv_write_t *req, int status)
{
    conn_write *w = (conn_write *)req;
    conn *c = w->c;

    write_unlink(c, w);
    release_chain(c, w->slots);
    free(w);
    c->writes--;
    if (c->closing)
        return;
    if (status < 0) {
        log_debug("conn %lu: write: %s", c->num, uv_strerror(status));
        conn_abort(c);
        return;
    }
    stall_mark(c);
    process(c); /* room again: resume buffered requests and reading */
}

/* Write every done slot at the head of the queue. */
static void flush(conn *c)
{
    unsigned n = 0, i;
    slot *s, *last = NULL, *first;
    size_t total = 0;

    if (c->closing)
        return;
    for (s = c->head; s != NULL && s->done; s = s->next) {
        if (s->out.rc != 0) { /* ENOMEM while encoding */
            trawl_buf_clear(&s->out);
            proto_put_error(&s->out, "null", NULL, PROTO_INTERNAL,
                            "out of memory");
        }
        total += s->out.len;
        last = s;
        n++;
    }
    if (n == 0)
        return;
    first = c->head;
    c->head = last->next;
    if (c->head == NULL)
        c->tail = NULL;
    last->next = NULL;
    c->queued -= n;
    c->ready = 0;

    uv_buf_t one[8], *bufs = one;
    conn_write *w = NULL;
    if (c->writes > 0 || n > 8) {
        if ((w = malloc(sizeof(*w) + n * sizeof(uv_buf_t))) == NULL)
            goto nomem;
        bufs = w->bufs;
    }
    for (i = 0, s = first; s != NULL; s = s->next)
        bufs[i++] = uv_buf_init((char *)s->out.ptr, (unsigned)s->out.len);

    unsigned skip = 0;
    if (c->writes == 0) {
        int rc = uv_try_write((uv_stream_t *)&c->pipe, bufs, n);
        if (rc < 0 && rc != UV_EAGAIN) {
            log_debug("conn %lu: write: %s", c->num, uv_strerror(rc));
            release_chain(c, first);
            free(w);
            conn_abort(c);
            return;
        }
        size_t done = rc > 0 ? (size_t)rc : 0;
        if (done == total) {
            release_chain(c, first);
            free(w);
            return;
        }
        while (skip < n && done >= bufs[skip].len) {
            done -= bufs[skip].len;
            skip++;
        }
        bufs[skip].base += done;
        bufs[skip].len -= done;
        if (w == NULL) {
            if ((w = malloc(sizeof(*w) + n * sizeof(uv_buf_t))) == NULL)
                goto nomem;
            memcpy(w->bufs, bufs, n * sizeof(uv_buf_t));
        }
    }
    w->c = c;
    w->next = NULL;
    w->slots = first;
    w->nbufs = n - skip;
    w->bytes = 0;
    for (i = skip; i < n; i++)
        w->bytes += w->bufs[i].len;
    if (c->wlast != NULL)
        c->wlast->next = w;
    else
        c->wfirst = w;
    c->wlast = w;
    bool first_write = c->writes++ == 0;
    int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, w->bufs + skip,
                      w->nbufs, on_write);
    if (rc < 0) {
        log_debug("conn %lu: write: %s", c->num, uv_strerror(rc));
        conn_abort(c);
        on_write(&w->req, rc);
        return;
    }
    if (first_write) /* after uv_write: its bytes are in the queue */
        stall_watch(c);
    else
        c->wq_added += w->bytes;
    /* What waits behind the write the client is reading: one answer
     * bigger than OUT_CAP is no pile-up, and is sent whole. */
    size_t pending = uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
    size_t head = c->wfirst != NULL ? c->wfirst->bytes : 0;
    if (pending > head && pending - head > OUT_CAP) {
        log_warn("conn %lu: client not reading (%zu bytes pending), "
                 "closing it",
                 c->num, pending);
        conn_abort(c);
    }
    return;
nomem:
    log_error("conn %lu: out of memory", c->num);
    release_chain(c, first);
    conn_abort(c);
}

static slot *slot_push(conn *c)
{
    slot *s = c->spare;

    if (s != NULL) {
        c->spare = s->next;
        c->nspare--;
        s->next = NULL;
    } else if ((s = calloc(1, sizeof(*s))) == NULL) {
        return NULL;
    }
    if (c->tail != NULL)
        c->tail->next = s;
    else
        c->head = s;
    c->tail = s;
    c->queued++;
    return s;
}

/* A slot has its answer. */
static void slot_done(conn *c, slot *s)
{
    s->done = true;
    c->ready += s->out.len;
}

/* Queue an error response that needs no request (id null). */
static void push_error(conn *c, const char *code, const char *msg)
{
    slot *s = slot_push(c);

    if (s == NULL)
        return;
    proto_put_error(&s->out, "null", NULL, code, "%s", msg);
    slot_done(c, s);
    server_note_error(c->srv);
}

void conn_reload_done(reload_waiter *w)
{
    conn *c = w->c;
    slot *s = w->s;

    proto_put_reload(&s->out, s->reload_id ? s->reload_id : "null",
                     w->has_gen ? &w->gen : NULL, w->reloaded, w->error);
    free(w->error);
    free(w);
    slot_done(c, s);
    c->refs--;
    if (c->closed) {
        if (c->refs == 0)
            conn_free(c);
        return;
    }
    if (!c->in_process)
        process(c);
}

/* ---- input ------------------------------------------------------------- */

static void dispatch(conn *c, const char *line, size_t len)
{
    server *srv = c->srv;
    proto_request req;
    proto_fail fail;
    slot *s;

    c->q->served++;
    idle_unlink(c);
    s = slot_push(c);
    if (s == NULL) {
        log_error("conn %lu: out of memory", c->num);
        conn_abort(c);
        return;
    }
    if (proto_parse(&req, line, len, &fail) < 0) {
        proto_put_error(&s->out, req.id_json, NULL, fail.code, "%s", fail.msg);
        log_debug("conn %lu: %s: %s", c->num, fail.code, fail.msg);
        slot_done(c, s);
        server_note_error(srv);
        proto_request_free(&req);
        return;
    }
    switch (req.op) {
    case OP_PING:
        proto_put_pong(&s->out, req.id_json);
        slot_done(c, s);
        break;
    case OP_STATS:
        server_put_stats(srv, &s->out, req.id_json);
        slot_done(c, s);
        break;
    case OP_RELOAD: {
        reload_waiter *w = calloc(1, sizeof(*w));
        if (w == NULL) {
            proto_put_reload(&s->out, req.id_json, NULL, false,
                             "out of memory");
            slot_done(c, s);
            break;
        }
        s->reload_id = req.id_json; /* kept until the reload ends */
        req.id_json = NULL;
        w->q = c->q;
        w->c = c;
        w->s = s;
        c->refs++;
        server_post_reload(srv, w);
        break;
    }
    default:
        if (query_run(c->q, s, &req) < 0)
            server_note_error(srv);
        slot_done(c, s);
        break;
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
    /* A byte order mark before the JSON (RFC 8259 lets a parser ignore
     * it): .NET's StreamWriter with Encoding.UTF8 writes one at the start
     * of a socket stream, and the first request was bad_json. */
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        n -= 3;
    }
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (!is_blank(p, n))
        dispatch(c, p, n);
}

/* Lines of repeated events, shared by the loops (log.h). */
static log_limit too_large_log, refused_log;

static void too_large(conn *c)
{
    char msg[96];
    unsigned long long more;

    snprintf(msg, sizeof(msg), "request line exceeds %zu bytes",
             c->srv->cfg.max_request);
    if (log_limited(&too_large_log, &more))
        log_info("conn %lu: %s; closing (%llu more since the last such "
                 "line)",
                 c->num, msg, more);
    push_error(c, PROTO_REQUEST_TOO_LARGE, msg);
    c->no_input = true;
    c->discard = true;
    trawl_buf_clear(&c->in);
    c->scanned = 0;
}

static size_t write_queue(conn *c)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
}

static void update_reading(conn *c)
{
    bool want = !c->closing && !c->eof &&
                (c->discard ? c->discarded < DISCARD_MAX
                            : !c->no_input && c->refs == 0 &&
                                  c->queued < MAX_QUEUED &&
                                  write_queue(c) < OUT_PAUSE);

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
 * Has the client closed its socket altogether (not just shut down its
 * sending side)? Then nobody will read what we would answer.
 */
static bool peer_gone(conn *c)
{
    uv_os_fd_t fd;
    struct pollfd pfd;

    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0)
        return false;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP) != 0;
}

/*
 * Answer the buffered requests while there is room in the queue, write
 * what is ready, and decide whether to read on or close.
 *
 * A round takes at most MAX_QUEUED requests and about ROUND_NS of work, so
 * that a client that pipelines a lot shares its loop with the others: when
 * the round ends with requests left in the buffer, the connection goes on
 * the loop's resume list and the next round runs once the loop has seen to
 * its other events (qloop_resume_later()).
 * Once a stop is asked, buffered requests are no longer started (the loop
 * is told in its next wake-up, and drains): a shutdown waits for the query
 * running, not for a whole pipelined batch.
 */
static void process(conn *c)
{
    size_t max = c->srv->cfg.max_request;
    size_t start = 0;
    bool more = false; /* stopped with requests left: continue later */
    unsigned handled = 0;
    uint64_t t0 = uv_hrtime();

    if (c->closing)
        return;
    /* A client that sent a pipeline and closed (or died) wants no
     * answers: do not run it (heavy queries from a dead client would hold
     * up the live connections of this loop). Asked only when more than
     * one request waits, which spares the common case a system call; a
     * lone request costs at most itself. */
    const unsigned char *first =
        c->in.len > 0 ? memchr(c->in.ptr, '\n', c->in.len) : NULL;
    if (first != NULL && (size_t)(first - c->in.ptr) + 1 < c->in.len &&
        !c->no_input && peer_gone(c)) {
        log_debug("conn %lu: client gone, %zu bytes of requests dropped",
                  c->num, c->in.len);
        conn_abort(c);
        return;
    }
    c->in_process = true;
    while (!c->no_input && !c->closing) {
        if (c->refs > 0) /* a reload first: conn_reload_done() resumes */
            break;
        if (atomic_load_explicit(&c->q->stop_seen, memory_order_relaxed))
            break; /* on_wake() drains us */
        if (c->queued >= MAX_QUEUED || handled >= MAX_QUEUED ||
            (handled > 0 && uv_hrtime() - t0 > ROUND_NS)) {
            more = true;
            break;
        }
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
        handled++;
        start += n + 1;
        if (c->ready >= FLUSH_AT) /* big answers: out with them now */
            flush(c);
    }
    if (start > 0 && !c->no_input && !c->closing) {
        memmove(c->in.ptr, c->in.ptr + start, c->in.len - start);
        c->in.len -= start;
        c->scanned = c->scanned > start ? c->scanned - start : 0;
    }
    c->in_process = false;
    flush(c);
    if (more)
        resume_later(c);
    update_reading(c);
    maybe_close(c);
    idle_update(c);
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
    if (c->discard) { /* the rest of a request too large: dropped */
        c->discarded += (size_t)nread;
        update_reading(c);
        maybe_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    process(c);
}

/* ---- idleness ---------------------------------------------------------- */

static uint64_t idle_timeout_ms(const qloop *q)
{
    return (uint64_t)q->srv->cfg.idle_timeout_s * 1000;
}

/* The head of the loop's idle list changed: tell the main loop. */
static void publish_oldest(qloop *q)
{
    atomic_store_explicit(&q->idle_oldest,
                          q->idle_head ? q->idle_head->idle_since : UINT64_MAX,
                          memory_order_relaxed);
}

static void idle_unlink(conn *c)
{
    qloop *q = c->q;

    if (!c->idle)
        return;
    if (c->idle_prev != NULL)
        c->idle_prev->idle_next = c->idle_next;
    else
        q->idle_head = c->idle_next;
    if (c->idle_next != NULL)
        c->idle_next->idle_prev = c->idle_prev;
    else
        q->idle_tail = c->idle_prev;
    c->idle = false;
    if (c->idle_prev == NULL)
        publish_oldest(q);
    c->idle_prev = c->idle_next = NULL;
}

/* c turns idle now: to the tail (the loop's time never goes back). */
static void idle_append(conn *c)
{
    qloop *q = c->q;

    c->idle = true;
    c->idle_since = uv_now(&q->loop);
    c->idle_next = NULL;
    c->idle_prev = q->idle_tail;
    if (q->idle_tail != NULL)
        q->idle_tail->idle_next = c;
    else
        q->idle_head = c;
    q->idle_tail = c;
    if (c->idle_prev == NULL)
        publish_oldest(q);
    if (idle_timeout_ms(q) > 0 && !uv_is_active((uv_handle_t *)&q->idle))
        uv_timer_start(&q->idle, conn_idle_timer, idle_timeout_ms(q), 0);
}

/* After a round of process(): on the idle list, or off it. */
static void idle_update(conn *c)
{
    bool busy = c->queued > 0 || c->writes > 0 || c->refs > 0 || c->resume;

    if (c->closing || busy)
        idle_unlink(c);
    else if (!c->idle)
        idle_append(c);
}

/* Bytes from the client wait in the socket, not read yet: it sent
 * something just now, and is not to be closed as idle. */
static bool input_waiting(conn *c)
{
    uv_os_fd_t fd;
    struct pollfd pfd;

    if (!c->reading || uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0)
        return false;
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) != 0;
}

/*
 * Close the connections idle for the timeout. One with bytes waiting in
 * its socket is spared for now: they may complete the request that ends
 * its idleness, and the loop reads them right after its timers. Its clock
 * does not start over (it did: a client whose next byte of a partial line
 * happened to be unread when the timer ran, which a loaded loop makes
 * likely, was given another timeout, and could dribble on for ever); it
 * is looked at again a millisecond later, once they are read.
 */
void conn_idle_timer(uv_timer_t *t)
{
    qloop *q = t->data;
    uint64_t timeout = idle_timeout_ms(q);
    uint64_t now = uv_now(&q->loop);
    bool spared = false;
    conn *c, *next;

    for (c = q->idle_head; c != NULL && now - c->idle_since >= timeout;
         c = next) {
        next = c->idle_next;
        if (input_waiting(c)) {
            spared = true;
            continue;
        }
        log_debug("conn %lu: idle for %llu s, closing", c->num,
                  (unsigned long long)((now - c->idle_since) / 1000));
        conn_abort(c); /* off the list; next stays on it */
    }
    /* not 0: libuv would run this timer again before reading */
    if (spared)
        uv_timer_start(t, conn_idle_timer, 1, 0);
    else if (c != NULL)
        uv_timer_start(t, conn_idle_timer, c->idle_since + timeout - now, 0);
}

/*
 * At the connection limit: close the loop's connection idle longest to
 * make room for newcomer, if it has been idle for --evict-idle. Its place
 * in nconns goes to newcomer. false if there is none to close. newcomer
 * NULL: to free a descriptor for accept() (its place is just freed).
 */
static bool evict_idle(qloop *q, const conn *newcomer)
{
    char why[96];
    uint64_t min = (uint64_t)q->srv->cfg.evict_idle_s * 1000;
    uint64_t now = uv_now(&q->loop);
    conn *c = q->idle_head;

    /* Input waiting, or not counted (not seen on the list in practice):
     * move on to the next. */
    while (c != NULL && (!c->counted || input_waiting(c)))
        c = c->idle_next;
    if (min == 0 || c == NULL || now - c->idle_since < min)
        return false;
    if (newcomer != NULL)
        snprintf(why, sizeof(why),
                 "to make room for conn %lu (--max-connections %u reached)",
                 newcomer->num, q->srv->cfg.max_connections);
    else
        snprintf(why, sizeof(why), "to free a file descriptor");
    log_info("conn %lu: idle for %.1f s, closed %s", c->num,
             (double)(now - c->idle_since) / 1000, why);
    if (newcomer != NULL)
        c->counted = false; /* its place is the newcomer's */
    conn_abort(c); /* closes the descriptor now */
    return true;
}

void conn_evict_for_fd(qloop *q)
{
    evict_idle(q, NULL);
}

/* ---- open and shutdown ------------------------------------------------- */

void conn_open(qloop *q, const handoff *h)
{
    server *srv = q->srv;
    conn *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL) {
        log_error("accept: out of memory");
        goto refuse;
    }
    c->q = q;
    c->srv = srv;
    c->num = h->num;
    c->counted = h->reject == NULL && !h->evict;
    if ((rc = uv_pipe_init(&q->loop, &c->pipe, 0)) < 0) {
        log_error("accept: %s", uv_strerror(rc));
        free(c);
        goto refuse;
    }
    c->pipe.data = c;
    q->nalloc++;
    c->next = q->conns;
    if (q->conns != NULL)
        q->conns->prev = c;
    q->conns = c;
    if ((rc = uv_pipe_open(&c->pipe, h->fd)) < 0) {
        log_warn("accept: %s", uv_strerror(rc));
        close(h->fd);
        conn_abort(c);
        return;
    }
    const char *reject = h->reject;
    if (reject == NULL && h->evict && !q->stopping) {
        if (evict_idle(q, c))
            c->counted = true;
        else
            reject = "too many connections";
    }
    if (reject != NULL || q->stopping) {
        const char *why = reject ? reject : "server is shutting down";
        unsigned long long more;
        if (log_limited(&refused_log, &more))
            log_warn("conn %lu: refused: %s (%llu more refused since the "
                     "last such line)",
                     c->num, why, more);
        push_error(c, PROTO_BUSY, why);
        c->no_input = true;
        process(c);
        return;
    }
    log_debug("conn %lu: open on loop %u", c->num, q->idx);
    process(c);
    return;
refuse:
    close(h->fd);
    if (h->reject == NULL && !h->evict)
        atomic_fetch_sub(&srv->nconns, 1);
    atomic_fetch_sub(&q->load, 1);
}

void conn_drain(conn *c)
{
    c->no_input = true;
    c->discard = false;
    process(c);
}

conn *conn_next(conn *c)
{
    return c->next;
}

/* ---- rounds ------------------------------------------------------------ */

static void resume_later(conn *c)
{
    qloop *q = c->q;

    if (c->resume)
        return;
    c->resume = true;
    c->resume_next = q->resume_list;
    q->resume_list = c;
    if (!uv_is_active((uv_handle_t *)&q->resume))
        uv_idle_start(&q->resume, conn_resume_all);
}

static void resume_cancel(conn *c)
{
    conn **p = &c->q->resume_list;

    while (*p != NULL && *p != c)
        p = &(*p)->resume_next;
    if (*p == c)
        *p = c->resume_next;
    c->resume = false;
}

void conn_resume_all(uv_idle_t *h)
{
    qloop *q = h->data;
    conn *list = q->resume_list;

    /* Connections put back during this pass wait for the next one. */
    q->resume_list = NULL;
    uv_idle_stop(&q->resume);
    while (list != NULL) {
        conn *c = list;
        list = c->resume_next;
        c->resume = false;
        process(c);
    }
}
