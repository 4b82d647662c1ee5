/*
 * The server's loop-thread side: the listening socket, signals, the index
 * watcher and reloads, stats, and the orderly shutdown.
 *
 * Shutdown (SIGTERM/SIGINT): close the listener, the signal handlers and
 * the watcher; let every connection answer what it has queued, then close
 * (abort them after DRAIN_MS); uv_run() returns once nothing is left;
 * close whatever remains with uv_walk(), and uv_loop_close() must be 0.
 */
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "proto.h"

#define DRAIN_MS 5000
#define POLL_MS  1000

struct reload_waiter {
    reload_waiter *next;
    conn *c;
    slot *s;
};

typedef struct reload_job {
    uv_work_t work;
    server *srv;
    reload_waiter *waiters;
    trawl_index *ix;  /* the newly opened generation, or NULL */
    uint64_t current; /* what CURRENT named when the job ran, 0 if unknown */
    int rc;
    trawl_err err;
} reload_job;

/* ---- index and reload -------------------------------------------------- */

trawl_index *server_index_acquire(server *srv, uint64_t *gen)
{
    if (srv->ix == NULL)
        return NULL;
    trawl_index_retain(srv->ix);
    *gen = srv->gen;
    return srv->ix;
}

static void set_reload_error(server *srv, const char *msg)
{
    free(srv->last_reload_error);
    srv->last_reload_error = msg ? strdup(msg) : NULL;
}

/* Swap in ix (which we own) unless it is the generation already served. */
static bool install(server *srv, trawl_index *ix)
{
    trawl_index_info info;

    trawl_index_info_get(ix, &info);
    if (srv->ix != NULL && info.generation == srv->gen) {
        trawl_index_release(ix);
        return false;
    }
    trawl_index_release(srv->ix); /* jobs in flight keep their own refs */
    srv->ix = ix;
    srv->gen = info.generation;
    srv->failed_gen = 0;
    set_reload_error(srv, NULL);
    log_info("serving generation %llu: %llu docs, %u segments, %llu bytes",
             (unsigned long long)info.generation, (unsigned long long)info.docs,
             info.segments, (unsigned long long)info.bytes);
    return true;
}

static void
answer_waiters(server *srv, reload_waiter *w, bool reloaded, const char *error)
{
    while (w != NULL) {
        reload_waiter *next = w->next;
        conn_reload_done(w->c, w->s, srv->ix ? &srv->gen : NULL, reloaded,
                         error);
        free(w);
        w = next;
    }
}

static void reload_run(uv_work_t *w)
{
    reload_job *j = w->data;
    const char *dir = j->srv->cfg.index_dir;

    if (trawl_index_current(dir, &j->current, NULL) < 0)
        j->current = 0;
    j->rc = trawl_index_open(&j->ix, dir, &j->err);
}

static void reload_after(uv_work_t *w, int status)
{
    reload_job *j = w->data;
    server *srv = j->srv;
    bool reloaded = false;

    (void)status;
    srv->reloading = false;
    if (j->rc == 0) {
        reloaded = install(srv, j->ix);
    } else {
        srv->failed_gen = j->current;
        set_reload_error(srv,
                         j->err.msg[0] ? j->err.msg : trawl_strerror(j->rc));
        if (srv->ix != NULL)
            log_warn("reload failed, still serving generation %llu: %s",
                     (unsigned long long)srv->gen, srv->last_reload_error);
        else
            log_warn("reload failed, no index to serve: %s",
                     srv->last_reload_error);
    }
    answer_waiters(srv, j->waiters, reloaded,
                   j->rc < 0 ? srv->last_reload_error : NULL);
    free(j);
    if (srv->reload_again || srv->waiters != NULL) {
        srv->reload_again = false;
        server_reload(srv, NULL, NULL, true);
    }
}

void server_reload(server *srv, conn *c, slot *s, bool force)
{
    uint64_t cur = 0;
    int rc;

    if (c != NULL) {
        reload_waiter *w = calloc(1, sizeof(*w));
        if (w == NULL) {
            conn_reload_done(c, s, srv->ix ? &srv->gen : NULL, false,
                             "out of memory");
            return;
        }
        w->c = c;
        w->s = s;
        w->next = srv->waiters;
        srv->waiters = w;
    }
    if (srv->reloading) {
        srv->reload_again = true;
        return;
    }
    /* Cheap check first: CURRENT is a few bytes. */
    rc = trawl_index_current(srv->cfg.index_dir, &cur, NULL);
    if (rc == 0 && srv->ix != NULL && cur == srv->gen) {
        reload_waiter *ws = srv->waiters;
        srv->waiters = NULL;
        answer_waiters(srv, ws, false, NULL);
        return;
    }
    if (!force && (rc < 0 || cur == srv->failed_gen))
        return;

    reload_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        reload_waiter *ws = srv->waiters;
        srv->waiters = NULL;
        answer_waiters(srv, ws, false, "out of memory");
        return;
    }
    log_debug("reloading %s", srv->cfg.index_dir);
    j->work.data = j;
    j->srv = srv;
    j->waiters = srv->waiters;
    srv->waiters = NULL;
    if ((rc = uv_queue_work(&srv->loop, &j->work, reload_run, reload_after)) <
        0) {
        log_error("reload: %s", uv_strerror(rc));
        answer_waiters(srv, j->waiters, false, uv_strerror(rc));
        free(j);
        return;
    }
    srv->reloading = true;
}

static void
on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    server *srv = h->data;

    (void)events;
    if (status < 0) {
        log_debug("watch: %s", uv_strerror(status));
        return;
    }
    if (name == NULL || strcmp(name, "CURRENT") == 0)
        server_reload(srv, NULL, NULL, false);
}

static void watch_start(server *srv)
{
    int rc = uv_fs_event_start(&srv->watch, on_fs_event, srv->cfg.index_dir, 0);
    if (rc < 0) {
        if (!srv->watch_failed)
            log_debug("watch %s: %s (polling every %d ms)", srv->cfg.index_dir,
                      uv_strerror(rc), POLL_MS);
        srv->watch_failed = true;
        return;
    }
    srv->watching = true;
}

static void on_poll(uv_timer_t *t)
{
    server *srv = t->data;

    if (!srv->watching)
        watch_start(srv);
    server_reload(srv, NULL, NULL, false);
}

/* ---- searchers, latency, stats ----------------------------------------- */

trawl_searcher *server_searcher_take(server *srv)
{
    trawl_searcher *s = NULL;
    trawl_err err;

    pthread_mutex_lock(&srv->pool_lock);
    if (srv->npool > 0)
        s = srv->pool[--srv->npool];
    pthread_mutex_unlock(&srv->pool_lock);
    if (s == NULL && trawl_searcher_new(&s, &err) < 0) {
        log_error("searcher: %s", err.msg);
        return NULL;
    }
    return s;
}

void server_searcher_give(server *srv, trawl_searcher *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&srv->pool_lock);
    if (srv->npool == srv->cap_pool) {
        size_t cap = srv->cap_pool ? 2 * srv->cap_pool : 8;
        trawl_searcher **p = realloc(srv->pool, cap * sizeof(*p));
        if (p == NULL) {
            pthread_mutex_unlock(&srv->pool_lock);
            trawl_searcher_free(s);
            return;
        }
        srv->pool = p;
        srv->cap_pool = cap;
    }
    srv->pool[srv->npool++] = s;
    pthread_mutex_unlock(&srv->pool_lock);
}

void server_note_latency(server *srv, uint64_t us)
{
    srv->latency[srv->nlatency++ % LATENCY_RING] =
        us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void server_put_stats(server *srv, trawl_buf *out, const char *id_json)
{
    uint32_t sorted[LATENCY_RING];
    size_t n = srv->nlatency < LATENCY_RING ? srv->nlatency : LATENCY_RING;
    trawl_index_info info;
    proto_stats st = {0};

    if (srv->ix != NULL) {
        trawl_index_info_get(srv->ix, &info);
        st.info = &info;
    }
    st.uptime_s = (double)(uv_hrtime() - srv->started_ns) / 1e9;
    st.queries = srv->queries;
    st.errors = srv->errors;
    st.connections = srv->nconns;
    st.last_reload_error = srv->last_reload_error;
    if (n > 0) {
        memcpy(sorted, srv->latency, n * sizeof(sorted[0]));
        qsort(sorted, n, sizeof(sorted[0]), cmp_u32);
        /* nearest rank: the smallest value with at least p% at or below */
        st.p50 = sorted[(n * 50 + 99) / 100 - 1];
        st.p95 = sorted[(n * 95 + 99) / 100 - 1];
        st.p99 = sorted[(n * 99 + 99) / 100 - 1];
    }
    proto_put_stats(out, id_json, &st);
}

/* ---- the socket -------------------------------------------------------- */

/*
 * Make sure path can be bound: short enough for sun_path, and not a live
 * daemon's socket. A socket file nobody accepts on is stale: remove it.
 */
static int socket_prepare(const char *path)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, rc;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_error("socket path is %zu bytes, longer than the %zu a Unix "
                  "socket allows: %s",
                  strlen(path), sizeof(sa.sun_path) - 1, path);
        return -1;
    }
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        log_error("socket %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        log_error("%s exists and is not a socket; not touching it", path);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        log_error("socket: %s", strerror(errno));
        return -1;
    }
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int saved = errno;
    close(fd);
    if (rc == 0) {
        log_error("another trawld is already listening on %s", path);
        return -1;
    }
    if (saved != ECONNREFUSED) {
        log_error("socket %s: %s", path, strerror(saved));
        return -1;
    }
    log_info("removing stale socket %s", path);
    if (unlink(path) < 0 && errno != ENOENT) {
        log_error("unlink %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void on_connection(uv_stream_t *listener, int status)
{
    server *srv = listener->data;

    if (status < 0) {
        log_warn("listen: %s", uv_strerror(status));
        return;
    }
    conn_accept(srv);
}

static int listen_start(server *srv)
{
    const char *path = srv->cfg.socket_path;
    struct stat st;
    mode_t old;
    int rc;

    if (socket_prepare(path) < 0)
        return -1;
    if ((rc = uv_pipe_init(&srv->loop, &srv->listener, 0)) < 0) {
        log_error("pipe: %s", uv_strerror(rc));
        return -1;
    }
    srv->listener.data = srv;
    srv->listening = true;
    old = umask(0177); /* the socket file is born 0600 */
    rc = uv_pipe_bind(&srv->listener, path);
    umask(old);
    if (rc < 0) {
        log_error("bind %s: %s", path, uv_strerror(rc));
        return -1;
    }
    if (stat(path, &st) == 0) {
        srv->sock_dev = st.st_dev;
        srv->sock_ino = st.st_ino;
    }
    if ((rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection)) <
        0) {
        log_error("listen %s: %s", path, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* Remove the socket file, unless someone has replaced it since. */
static void socket_unlink(server *srv)
{
    struct stat st;

    if (srv->sock_ino == 0)
        return;
    if (stat(srv->cfg.socket_path, &st) == 0 && st.st_dev == srv->sock_dev &&
        st.st_ino == srv->sock_ino)
        unlink(srv->cfg.socket_path);
}

/* ---- signals, startup, shutdown ---------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
    server *srv = h->data;

    if (signum == SIGHUP) {
        log_info("SIGHUP: reloading");
        server_reload(srv, NULL, NULL, true);
        return;
    }
    log_info("%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    server_stop(srv);
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop != NULL && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_drain_timeout(uv_timer_t *t)
{
    server *srv = t->data;

    log_warn("shutdown: requests still in flight after %d ms; closing "
             "their connections",
             DRAIN_MS);
    conn *c = srv->conns;
    while (c != NULL) {
        conn *next = conn_next(c);
        conn_abort(c);
        c = next;
    }
}

void server_stop(server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    if (srv->listening)
        close_if_open((uv_handle_t *)&srv->listener);
    close_if_open((uv_handle_t *)&srv->sig_term);
    close_if_open((uv_handle_t *)&srv->sig_int);
    close_if_open((uv_handle_t *)&srv->sig_hup);
    close_if_open((uv_handle_t *)&srv->watch);
    close_if_open((uv_handle_t *)&srv->poll);
    /* The deadline must not keep the loop alive by itself. */
    uv_timer_start(&srv->drain, on_drain_timeout, DRAIN_MS, 0);
    uv_unref((uv_handle_t *)&srv->drain);
    conn *c = srv->conns;
    while (c != NULL) {
        conn *next = conn_next(c);
        conn_drain(c);
        c = next;
    }
}

static void walk_close(uv_handle_t *h, void *arg)
{
    server *srv = arg;

    if (uv_is_closing(h))
        return;
    if (h->type == UV_NAMED_PIPE && h != (uv_handle_t *)&srv->listener)
        conn_abort(h->data);
    else
        uv_close(h, NULL);
}

static int server_finish(server *srv)
{
    int rc, status = 0;

    uv_walk(&srv->loop, walk_close, srv);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    if ((rc = uv_loop_close(&srv->loop)) != 0) {
        log_error("loop close: %s", uv_strerror(rc));
        status = 1;
    }
    socket_unlink(srv);
    trawl_index_release(srv->ix);
    srv->ix = NULL;
    for (size_t i = 0; i < srv->npool; i++)
        trawl_searcher_free(srv->pool[i]);
    free(srv->pool);
    free(srv->last_reload_error);
    pthread_mutex_destroy(&srv->pool_lock);
    return status;
}

static int signal_start(server *srv, uv_signal_t *h, int signum)
{
    int rc;

    if ((rc = uv_signal_init(&srv->loop, h)) < 0 ||
        (rc = uv_signal_start(h, on_signal, signum)) < 0) {
        log_error("signal %d: %s", signum, uv_strerror(rc));
        return -1;
    }
    h->data = srv;
    return 0;
}

int server_init(server *srv, const trawld_config *cfg)
{
    trawl_err err;
    int rc;

    memset(srv, 0, sizeof(*srv));
    srv->cfg = *cfg;
    srv->started_ns = uv_hrtime();
    pthread_mutex_init(&srv->pool_lock, NULL);
    if ((rc = uv_loop_init(&srv->loop)) < 0) {
        log_error("loop: %s", uv_strerror(rc));
        pthread_mutex_destroy(&srv->pool_lock);
        return -1;
    }
    uv_timer_init(&srv->loop, &srv->poll);
    uv_timer_init(&srv->loop, &srv->drain);
    uv_fs_event_init(&srv->loop, &srv->watch);
    srv->poll.data = srv->drain.data = srv->watch.data = srv;

    if (listen_start(srv) < 0 ||
        signal_start(srv, &srv->sig_term, SIGTERM) < 0 ||
        signal_start(srv, &srv->sig_int, SIGINT) < 0 ||
        signal_start(srv, &srv->sig_hup, SIGHUP) < 0) {
        server_finish(srv);
        return -1;
    }

    /* The first generation is opened before serving; without one we still
     * serve ping/stats and the watcher picks the index up when it appears. */
    trawl_index *ix = NULL;
    if (trawl_index_open(&ix, cfg->index_dir, &err) == 0) {
        install(srv, ix);
    } else {
        uint64_t cur;
        if (trawl_index_current(cfg->index_dir, &cur, NULL) == 0)
            srv->failed_gen = cur;
        set_reload_error(srv, err.msg);
        log_warn("no index yet in %s: %s", cfg->index_dir, err.msg);
    }
    watch_start(srv);
    uv_timer_start(&srv->poll, on_poll, POLL_MS, POLL_MS);
    log_info("listening on %s (pid %ld)", cfg->socket_path, (long)getpid());
    return 0;
}

int server_run(server *srv)
{
    int rc = uv_run(&srv->loop, UV_RUN_DEFAULT);

    (void)rc;
    log_info("stopped");
    return server_finish(srv);
}
