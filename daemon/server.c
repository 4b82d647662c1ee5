/*
 * The main loop (see server.h): the listening socket, signals, the index
 * watcher and reloads, stats, the query loops' start and the orderly
 * shutdown.
 *
 * Shutdown (SIGTERM/SIGINT): close the listener, the signal handlers and
 * the watcher, and tell every query loop to stop: each lets its
 * connections answer what they have queued, then close (aborting them
 * after DRAIN_MS), and ends. The main loop keeps its wake handle open
 * (query loops may still ask for a reload) until the last query loop is
 * done; then uv_run() returns, the threads are joined, whatever remains
 * is closed with uv_walk(), and uv_loop_close() must be 0.
 */
#define _GNU_SOURCE /* accept4() */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "proto.h"

#define POLL_MS         1000
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_EVICT_MS 5 /* retry sooner when an idle connection is being
                             closed to free a descriptor */
#define ACCEPT_BATCH    64
#define ACCEPT_LOG_MS   60000 /* accept() still failing: a line a minute */

typedef struct reload_job {
    uv_work_t work;
    server *srv;
    reload_waiter *waiters;
    trawl_index *prev; /* the generation served when it started, or NULL */
    trawl_index *ix;  /* the newly opened generation, or NULL */
    man_id man;       /* its manifest file */
    uint64_t current; /* what CURRENT named when the job ran, 0 if unknown */
    int rc;
    trawl_err err;
} reload_job;

/* ---- index and reload -------------------------------------------------- */

trawl_index *server_index_acquire(server *srv, uint64_t *gen)
{
    trawl_index *ix;

    pthread_mutex_lock(&srv->ix_lock);
    ix = srv->ix;
    if (ix != NULL) {
        trawl_index_retain(ix);
        *gen = srv->gen;
    }
    pthread_mutex_unlock(&srv->ix_lock);
    return ix;
}

char *server_reload_error(server *srv)
{
    char *msg = NULL;

    pthread_mutex_lock(&srv->ix_lock);
    if (srv->last_reload_error != NULL)
        msg = strdup(srv->last_reload_error);
    pthread_mutex_unlock(&srv->ix_lock);
    return msg;
}

/* Main loop. */
static void set_reload_error(server *srv, const char *msg)
{
    char *copy = msg ? strdup(msg) : NULL;

    pthread_mutex_lock(&srv->ix_lock);
    free(srv->last_reload_error);
    srv->last_reload_error = copy;
    pthread_mutex_unlock(&srv->ix_lock);
}

/* The file identity of generation gen's manifest in dir; -1 if none. A
 * generation is its number and this: DIR deleted and built again starts
 * over at generation 1. */
static int manifest_id(const char *dir, uint64_t gen, man_id *id)
{
    char path[4096];
    struct stat st;

    snprintf(path, sizeof(path), "%s/gen-%06llu.man", dir,
             (unsigned long long)gen);
    if (stat(path, &st) < 0)
        return -1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

static bool same_manifest(const man_id *a, const man_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->mtime_ns == b->mtime_ns;
}

/* Is generation gen of DIR the one served? */
static bool is_served(const server *srv, uint64_t gen)
{
    man_id id;

    return srv->ix != NULL && gen == srv->gen &&
           manifest_id(srv->cfg.index_dir, gen, &id) == 0 &&
           same_manifest(&id, &srv->man);
}

/* Swap in ix (which we own, its manifest's identity id) unless it is the
 * generation already served. */
static bool install(server *srv, trawl_index *ix, const man_id *id)
{
    trawl_index_info info;
    trawl_index *old;

    trawl_index_info_get(ix, &info);
    if (srv->ix != NULL && info.generation == srv->gen &&
        same_manifest(id, &srv->man)) {
        trawl_index_release(ix);
        return false;
    }
    pthread_mutex_lock(&srv->ix_lock);
    old = srv->ix;
    srv->ix = ix;
    srv->gen = info.generation;
    pthread_mutex_unlock(&srv->ix_lock);
    srv->man = *id;
    trawl_index_release(old); /* queries in flight keep their own refs */
    srv->failed_gen = 0;
    set_reload_error(srv, NULL);
    log_info("serving generation %llu: %llu docs, %u segments, %llu bytes",
             (unsigned long long)info.generation, (unsigned long long)info.docs,
             info.segments, (unsigned long long)info.bytes);
    return true;
}

/* Send every waiter its answer, back on the loop that owns its
 * connection. */
static void
answer_waiters(server *srv, reload_waiter *w, bool reloaded, const char *error)
{
    while (w != NULL) {
        reload_waiter *next = w->next;
        w->has_gen = srv->ix != NULL;
        w->gen = srv->gen;
        w->reloaded = reloaded;
        w->error = error ? strdup(error) : NULL;
        qloop_post_answer(w->q, w);
        w = next;
    }
}

static int reload_open(void *arg, trawl_err *err)
{
    reload_job *j = arg;

    /* the segment files it already serves are not read again */
    return trawl_index_reopen(&j->ix, j->srv->cfg.index_dir, j->prev, err);
}

static void reload_run(uv_work_t *w)
{
    reload_job *j = w->data;
    const char *dir = j->srv->cfg.index_dir;

    if (trawl_index_current(dir, &j->current, NULL) < 0)
        j->current = 0;
    /* Verifying reads every page: a file truncated meanwhile must fail
     * the reload, not kill the daemon (what was opened so far is lost). */
    j->rc = guarded(reload_open, j, &j->err);
    if (j->rc < 0) {
        j->ix = NULL;
        return;
    }
    trawl_index_info info;
    trawl_index_info_get(j->ix, &info);
    if (manifest_id(dir, info.generation, &j->man) < 0)
        memset(&j->man, 0, sizeof(j->man)); /* replaced already: next poll */
}

static void reload(server *srv, bool force);
static void maybe_close_wake(server *srv);

static void reload_after(uv_work_t *w, int status)
{
    reload_job *j = w->data;
    server *srv = j->srv;
    bool reloaded = false;

    (void)status;
    srv->reloading = false;
    trawl_index_release(j->prev);
    if (j->rc == 0) {
        reloaded = install(srv, j->ix, &j->man);
    } else {
        const char *msg = j->err.msg[0] ? j->err.msg : trawl_strerror(j->rc);
        srv->failed_gen = j->current;
        set_reload_error(srv, msg);
        if (srv->ix != NULL)
            log_warn("reload failed, still serving generation %llu: %s",
                     (unsigned long long)srv->gen, msg);
        else
            log_warn("reload failed, no index to serve: %s", msg);
    }
    answer_waiters(srv, j->waiters, reloaded,
                   j->rc < 0 ? srv->last_reload_error : NULL);
    free(j);
    if (srv->reload_again || srv->waiters != NULL) {
        srv->reload_again = false;
        if (!srv->stopping || srv->waiters != NULL)
            reload(srv, true);
    }
    maybe_close_wake(srv);
}

/*
 * Reload the index for srv->waiters (the "reload" ops asked for so far) or
 * for nobody (SIGHUP, watcher: the result is only logged). force: try even
 * when CURRENT names the generation that failed last time or cannot be
 * read.
 */
static void reload(server *srv, bool force)
{
    uint64_t cur = 0;
    int rc;

    if (srv->reloading) {
        srv->reload_again = true;
        return;
    }
    /* Cheap check first: CURRENT is a few bytes. */
    trawl_err cerr;
    trawl_err_clear(&cerr);
    rc = trawl_index_current(srv->cfg.index_dir, &cur, &cerr);
    if (rc == 0 && srv->check_failed) {
        srv->check_failed = false;
        log_info("%s/CURRENT can be read again", srv->cfg.index_dir);
        if (is_served(srv, cur))
            set_reload_error(srv, NULL);
    }
    if (rc == 0 && is_served(srv, cur)) {
        reload_waiter *ws = srv->waiters;
        srv->waiters = NULL;
        answer_waiters(srv, ws, false, NULL);
        return;
    }
    if (!force && rc < 0 && rc != TRAWL_ENOTFOUND && !srv->check_failed) {
        /* Out of file descriptors, say: the watcher's and the poll's
         * checks failed without a word, and a new generation was not
         * served until one worked. Said once; stats shows it meanwhile.
         * (No CURRENT is a directory being built again: not an error.) */
        const char *msg = cerr.msg[0] ? cerr.msg : trawl_strerror(rc);
        char *last = server_reload_error(srv);
        srv->check_failed = true;
        if (last == NULL || strcmp(last, msg) != 0) { /* not said at start */
            set_reload_error(srv, msg);
            log_warn("cannot check %s for a new generation (retried every "
                     "second): %s",
                     srv->cfg.index_dir, msg);
        }
        free(last);
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
    uint64_t served;
    j->prev = server_index_acquire(srv, &served);
    j->waiters = srv->waiters;
    srv->waiters = NULL;
    if ((rc = uv_queue_work(&srv->loop, &j->work, reload_run, reload_after)) <
        0) {
        log_error("reload: %s", uv_strerror(rc));
        answer_waiters(srv, j->waiters, false, uv_strerror(rc));
        trawl_index_release(j->prev);
        free(j);
        return;
    }
    srv->reloading = true;
}

void server_post_reload(server *srv, reload_waiter *w)
{
    pthread_mutex_lock(&srv->lock);
    /* A waiter keeps its query loop alive, hence wake open. */
    w->next = srv->requests;
    srv->requests = w;
    uv_async_send(&srv->wake);
    pthread_mutex_unlock(&srv->lock);
}

void server_loop_done(server *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->loops_done++;
    if (!srv->wake_closed)
        uv_async_send(&srv->wake);
    pthread_mutex_unlock(&srv->lock);
}

/* Once stopping, every query loop has ended and no reload runs: close wake,
 * the last handle that keeps the main loop alive. */
static void maybe_close_wake(server *srv)
{
    if (!srv->stopping || srv->reloading)
        return;
    pthread_mutex_lock(&srv->lock);
    if (srv->loops_done == srv->nloops && !srv->wake_closed) {
        srv->wake_closed = true;
        uv_close((uv_handle_t *)&srv->wake, NULL);
    }
    pthread_mutex_unlock(&srv->lock);
}

static void on_wake(uv_async_t *a)
{
    server *srv = a->data;
    reload_waiter *ws, *rev = NULL;

    pthread_mutex_lock(&srv->lock);
    ws = srv->requests;
    srv->requests = NULL;
    pthread_mutex_unlock(&srv->lock);
    /* pushed newest first: keep the order asked in */
    while (ws != NULL) {
        reload_waiter *next = ws->next;
        ws->next = rev;
        rev = ws;
        ws = next;
    }
    if (rev != NULL) {
        reload_waiter **tail = &srv->waiters;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = rev;
        reload(srv, true);
    }
    maybe_close_wake(srv);
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
        reload(srv, false);
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

static void socket_check(server *srv);

static void on_poll(uv_timer_t *t)
{
    server *srv = t->data;

    if (!srv->watching)
        watch_start(srv);
    socket_check(srv);
    reload(srv, false);
}

/* ---- stats ------------------------------------------------------------- */

void server_note_query(server *srv, uint64_t us)
{
    uint64_t i = atomic_fetch_add_explicit(&srv->nlatency, 1,
                                           memory_order_relaxed);
    atomic_store_explicit(&srv->latency[i % LATENCY_RING],
                          us > UINT32_MAX ? UINT32_MAX : (uint32_t)us,
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&srv->queries, 1, memory_order_relaxed);
}

void server_note_error(server *srv)
{
    atomic_fetch_add_explicit(&srv->errors, 1, memory_order_relaxed);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void server_put_stats(server *srv, trawl_buf *out, const char *id_json)
{
    uint32_t sorted[LATENCY_RING];
    uint64_t nl = atomic_load_explicit(&srv->nlatency, memory_order_relaxed);
    size_t n = nl < LATENCY_RING ? (size_t)nl : LATENCY_RING;
    trawl_index_info info;
    proto_stats st = {0};
    char *reload_error = NULL;

    pthread_mutex_lock(&srv->ix_lock);
    if (srv->ix != NULL) {
        trawl_index_info_get(srv->ix, &info);
        st.info = &info;
    }
    if (srv->last_reload_error != NULL)
        reload_error = strdup(srv->last_reload_error);
    pthread_mutex_unlock(&srv->ix_lock);
    st.uptime_s = (double)(uv_hrtime() - srv->started_ns) / 1e9;
    st.queries = atomic_load_explicit(&srv->queries, memory_order_relaxed);
    st.errors = atomic_load_explicit(&srv->errors, memory_order_relaxed);
    st.connections = atomic_load(&srv->nconns);
    st.last_reload_error = reload_error;
    if (n > 0) {
        /* A slot being written meanwhile may be the old or the new value:
         * good enough for percentiles. */
        for (size_t i = 0; i < n; i++)
            sorted[i] = atomic_load_explicit(&srv->latency[i],
                                             memory_order_relaxed);
        qsort(sorted, n, sizeof(sorted[0]), cmp_u32);
        /* nearest rank: the smallest value with at least p% at or below */
        st.p50 = sorted[(n * 50 + 99) / 100 - 1];
        st.p95 = sorted[(n * 95 + 99) / 100 - 1];
        st.p99 = sorted[(n * 99 + 99) / 100 - 1];
    }
    proto_put_stats(out, id_json, &st);
    free(reload_error);
}

/* ---- the socket -------------------------------------------------------- */

/*
 * Make sure path can be bound: short enough for sun_path, and not a live
 * daemon's socket. A socket file nobody accepts on is stale: remove it.
 * On failure, -1 and what went wrong in why[0..cap).
 */
static int socket_prepare(const char *path, char *why, size_t cap)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, rc;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(why, cap, "socket path is %zu bytes, longer than the %zu a "
                           "Unix socket allows: %s",
                 strlen(path), sizeof(sa.sun_path) - 1, path);
        return -1;
    }
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, cap, "socket %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(why, cap, "%s exists and is not a socket; not touching it",
                 path);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        return -1;
    }
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int saved = errno;
    close(fd);
    if (rc == 0) {
        snprintf(why, cap, "another trawld is already listening on %s",
                 path);
        return -1;
    }
    if (saved != ECONNREFUSED) {
        snprintf(why, cap, "socket %s: %s", path, strerror(saved));
        return -1;
    }
    log_info("removing stale socket %s", path);
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(why, cap, "unlink %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Lock the directory that holds the socket path (flock, exclusive) for
 * the check for a live daemon, the bind and the listen: two trawlds
 * started at once on one path otherwise both found no listener (the
 * first had bound but not listened yet, or the stale file of a dead one
 * was there), the second removed the first's socket and bound its own,
 * and the first served nothing from then on, silently. The descriptor to
 * close to unlock, or -1 when the directory cannot be locked (then the
 * start goes on without it, as before).
 */
static int socket_dir_lock(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

    if (n >= sizeof(dir))
        return -1;
    if (slash == NULL)
        memcpy(dir, ".", 2);
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Held for milliseconds by a starting trawld; a directory locked
     * longer by something else does not stop the start (5 s). */
    for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || tries == 500) {
            if (tries == 500)
                log_warn("%s stayed locked for 5 s; starting anyway", dir);
            close(fd);
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return fd;
}

/* The query loop for a new connection: the one with the fewest, the next
 * in turn on a tie. */
static qloop *pick_loop(server *srv)
{
    qloop *best = NULL;
    unsigned best_load = 0;

    for (unsigned k = 0; k < srv->nloops; k++) {
        qloop *q = &srv->loops[(srv->next_loop + k) % srv->nloops];
        unsigned load = atomic_load(&q->load);
        if (best == NULL || load < best_load) {
            best = q;
            best_load = load;
        }
    }
    srv->next_loop = (srv->next_loop + 1) % srv->nloops;
    return best;
}

/*
 * At the connection limit: the query loop whose connection idle longest
 * has been idle for --evict-idle, or NULL. That loop checks again when the
 * newcomer arrives (the connection may have sent a request meanwhile).
 */
static qloop *pick_evicting_loop(server *srv)
{
    uint64_t min = (uint64_t)srv->cfg.evict_idle_s * 1000, now, best_since;
    qloop *best = NULL;

    if (min == 0)
        return NULL;
    uv_update_time(&srv->loop);
    now = uv_now(&srv->loop);
    best_since = UINT64_MAX;
    for (unsigned k = 0; k < srv->nloops; k++) {
        qloop *q = &srv->loops[k];
        uint64_t since = atomic_load_explicit(&q->idle_oldest,
                                              memory_order_relaxed);
        if (since < best_since) {
            best = q;
            best_since = since;
        }
    }
    if (best == NULL || best_since > now || now - best_since < min)
        return NULL;
    return best;
}

static void hand_off(server *srv, int fd)
{
    handoff h = {.fd = fd, .num = ++srv->conn_counter};
    unsigned n = atomic_load(&srv->nconns);
    qloop *q = NULL;

    /* Only this thread adds to nconns: no race between check and add. */
    if (n >= srv->cfg.max_connections) {
        if ((q = pick_evicting_loop(srv)) != NULL)
            h.evict = true; /* takes the evicted one's place in nconns */
        else
            h.reject = "too many connections";
    } else {
        atomic_fetch_add(&srv->nconns, 1);
    }
    if (!h.evict)
        q = pick_loop(srv);
    atomic_fetch_add(&q->load, 1);
    if (!qloop_post_fd(q, &h)) {
        close(fd);
        if (h.reject == NULL && !h.evict)
            atomic_fetch_sub(&srv->nconns, 1);
        atomic_fetch_sub(&q->load, 1);
    }
}

static void on_listener(uv_poll_t *p, int status, int events);

static void on_accept_pause(uv_timer_t *t)
{
    server *srv = t->data;

    if (srv->listening && !srv->stopping && !srv->relistening)
        uv_poll_start(&srv->listener, UV_READABLE, on_listener);
}

/*
 * accept() failed with err (EMFILE...). Retried every ACCEPT_PAUSE_MS
 * while it lasts, but logged only when it starts (or the error changes)
 * and then at most once every ACCEPT_LOG_MS, with a count. It lasts until
 * every waiting client has been accepted (EAGAIN): at the limit, accepts
 * that work (a descriptor freed) and accepts that fail alternate.
 */
static void accept_failed(server *srv, int err)
{
    uint64_t now;

    uv_update_time(&srv->loop);
    now = uv_now(&srv->loop);
    if (srv->accept_errno == 0) {
        srv->accept_fail_ms = now;
        srv->accept_fails = 0;
    }
    srv->accept_fails++;
    if (srv->accept_errno != err) {
        srv->accept_errno = err;
        srv->accept_logged_ms = now;
        srv->accept_fails_logged = srv->accept_fails;
        log_warn("accept: %s (new clients wait; retrying every %d ms, "
                 "logged again once a minute while it lasts)",
                 strerror(err), ACCEPT_PAUSE_MS);
    } else if (now - srv->accept_logged_ms >= ACCEPT_LOG_MS) {
        log_warn("accept: still failing (%s): %llu failed attempts in the "
                 "last %llu s, %llu s in all",
                 strerror(err),
                 (unsigned long long)(srv->accept_fails -
                                      srv->accept_fails_logged),
                 (unsigned long long)((now - srv->accept_logged_ms) / 1000),
                 (unsigned long long)((now - srv->accept_fail_ms) / 1000));
        srv->accept_logged_ms = now;
        srv->accept_fails_logged = srv->accept_fails;
    }
}

/* accept() has taken every waiting client: the end of a failure, if
 * there was one. */
static void accept_recovered(server *srv)
{
    if (srv->accept_errno == 0)
        return;
    uv_update_time(&srv->loop);
    log_info("accept: works again after %.1f s (%llu failed attempts: %s); "
             "every waiting client accepted",
             (double)(uv_now(&srv->loop) - srv->accept_fail_ms) / 1000,
             (unsigned long long)srv->accept_fails,
             strerror(srv->accept_errno));
    srv->accept_errno = 0;
}

/*
 * Out of descriptors: like a new client at --max-connections, the clients
 * waiting to be accepted may take the place of a connection idle for
 * --evict-idle, one at a time (the next only once that one is closed).
 * true if one is being closed.
 */
static bool evict_for_fd(server *srv, int err)
{
    qloop *q;

    if (err != EMFILE && err != ENFILE)
        return false;
    if (atomic_load(&srv->evicting))
        return true;
    if ((q = pick_evicting_loop(srv)) == NULL)
        return false;
    atomic_store(&srv->evicting, true);
    qloop_post_evict(q);
    return true;
}

static void accept_some(server *srv)
{
    for (int k = 0; k < ACCEPT_BATCH; k++) {
        int fd = accept4(srv->listen_fd, NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            hand_off(srv, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            accept_recovered(srv);
            return;
        }
        /* EMFILE, ENFILE, ENOBUFS...: the listener stays readable, so
         * pause rather than spin. */
        int err = errno;
        accept_failed(srv, err);
        uv_poll_stop(&srv->listener);
        uv_timer_start(&srv->accept_pause, on_accept_pause,
                       evict_for_fd(srv, err) ? ACCEPT_EVICT_MS
                                              : ACCEPT_PAUSE_MS,
                       0);
        return;
    }
}

static void on_listener(uv_poll_t *p, int status, int events)
{
    server *srv = p->data;

    (void)events;
    if (status < 0) {
        log_warn("listen: %s", uv_strerror(status));
        return;
    }
    accept_some(srv);
}

/*
 * Check, bind and listen on the socket path, under socket_dir_lock: the
 * listening descriptor in *out, or -1 and what went wrong in why[0..cap)
 * (logged by the caller: a socket made again each second while its
 * directory is gone says so once, not each second). The file is trawld's
 * (sock_dev, sock_ino) only once it listens: a file bound but not
 * listened on is removed, not left at the path for the next check to
 * take for a live socket.
 */
static int socket_bind_listen(server *srv, int *out, char *why, size_t cap)
{
    const char *path = srv->cfg.socket_path;
    struct sockaddr_un sa;
    struct stat st;
    mode_t old;
    int fd, rc;

    *out = -1;
    if (socket_prepare(path, why, cap) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* born with --socket-mode (0600: trawld's user only), never wider */
    old = umask(~(mode_t)srv->cfg.socket_mode & 0777);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0) {
        snprintf(why, cap, "bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int have_st = stat(path, &st) == 0;
    if (listen(fd, 128) < 0) {
        snprintf(why, cap, "listen %s: %s", path, strerror(errno));
        close(fd);
        struct stat now;
        if (have_st && stat(path, &now) == 0 && now.st_dev == st.st_dev &&
            now.st_ino == st.st_ino)
            unlink(path);
        return -1;
    }
    if (chmod(path, (mode_t)srv->cfg.socket_mode) < 0)
        log_warn("chmod %s: %s", path, strerror(errno));
    if (have_st) {
        srv->sock_dev = st.st_dev;
        srv->sock_ino = st.st_ino;
    }
    *out = fd;
    return 0;
}

static int listen_start(server *srv)
{
    const char *path = srv->cfg.socket_path;
    int rc;

    char why[512];
    int lock = socket_dir_lock(path);
    rc = socket_bind_listen(srv, &srv->listen_fd, why, sizeof(why));
    if (lock >= 0)
        close(lock);
    if (rc < 0) {
        log_error("%s", why);
        return -1;
    }
    rc = uv_poll_init(&srv->loop, &srv->listener, srv->listen_fd);
    if (rc < 0) {
        log_error("poll: %s", uv_strerror(rc));
        return -1;
    }
    srv->listener.data = srv;
    srv->listening = true;
    if ((rc = uv_poll_start(&srv->listener, UV_READABLE, on_listener)) < 0) {
        log_error("poll %s: %s", path, uv_strerror(rc));
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

/* The old listener is closed: serve on the new one (socket_check). */
static void on_relisten(uv_handle_t *h)
{
    server *srv = h->data;
    int rc;

    close(srv->listen_fd);
    srv->listen_fd = srv->relisten_fd;
    srv->relisten_fd = -1;
    srv->relistening = false;
    if (srv->stopping) {
        srv->listening = false;
        return;
    }
    if ((rc = uv_poll_init(&srv->loop, &srv->listener, srv->listen_fd)) < 0 ||
        (rc = uv_poll_start(&srv->listener, UV_READABLE, on_listener)) < 0) {
        log_error("poll %s: %s", srv->cfg.socket_path, uv_strerror(rc));
        srv->listening = false;
        return;
    }
    srv->listener.data = srv;
    log_info("listening on %s again", srv->cfg.socket_path);
}

/*
 * Once a second: is the socket file still there? Removed (a tmpfiles
 * cleaner, an operator, a script's rm -rf), trawld went on running where
 * no client could reach it. It makes the socket again; a file someone
 * else put at the path is left alone and named in the log.
 */
static void socket_check(server *srv)
{
    const char *path = srv->cfg.socket_path;
    struct stat st;

    if (!srv->listening || srv->stopping || srv->relistening ||
        srv->sock_ino == 0)
        return;
    if (stat(path, &st) == 0) {
        if (st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino) {
            srv->sock_lost_logged = false;
            return;
        }
        if (!srv->sock_lost_logged)
            log_warn("%s is no longer trawld's socket (another file or "
                     "socket is there): clients cannot reach this trawld; "
                     "remove that file and it makes its socket again",
                     path);
        srv->sock_lost_logged = true;
        return;
    }
    if (errno != ENOENT)
        return;
    char why[512];
    int lock = socket_dir_lock(path), fd;
    int rc = socket_bind_listen(srv, &fd, why, sizeof(why));
    if (lock >= 0)
        close(lock);
    if (rc < 0) {
        /* said once, and again only when the reason changes */
        if (!srv->sock_lost_logged || strcmp(why, srv->sock_why) != 0)
            log_warn("%s was removed and cannot be made again (retrying "
                     "each second): %s",
                     path, why);
        snprintf(srv->sock_why, sizeof(srv->sock_why), "%s", why);
        srv->sock_lost_logged = true;
        return;
    }
    log_warn("%s was removed: making it again", path);
    srv->sock_lost_logged = false;
    srv->relisten_fd = fd;
    srv->relistening = true;
    uv_timer_stop(&srv->accept_pause);
    uv_close((uv_handle_t *)&srv->listener, on_relisten);
}

/* ---- signals, startup, shutdown ---------------------------------------- */

static void server_stop(server *srv);

static void on_signal(uv_signal_t *h, int signum)
{
    server *srv = h->data;

    if (signum == SIGHUP) {
        log_info("SIGHUP: reloading");
        reload(srv, true);
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

static void close_listener(uv_handle_t *h)
{
    server *srv = h->data;

    close(srv->listen_fd);
    srv->listen_fd = -1;
}

static void server_stop(server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    if (srv->listening && !srv->relistening &&
        !uv_is_closing((uv_handle_t *)&srv->listener))
        uv_close((uv_handle_t *)&srv->listener, close_listener);
    close_if_open((uv_handle_t *)&srv->accept_pause);
    close_if_open((uv_handle_t *)&srv->sig_term);
    close_if_open((uv_handle_t *)&srv->sig_int);
    close_if_open((uv_handle_t *)&srv->sig_hup);
    close_if_open((uv_handle_t *)&srv->watch);
    close_if_open((uv_handle_t *)&srv->poll);
    for (unsigned k = 0; k < srv->nloops; k++)
        qloop_post_stop(&srv->loops[k]);
    maybe_close_wake(srv);
}

static void walk_close(uv_handle_t *h, void *arg)
{
    server *srv = arg;

    if (uv_is_closing(h))
        return;
    if (h == (uv_handle_t *)&srv->listener)
        uv_close(h, close_listener);
    else
        uv_close(h, NULL);
}

static int server_finish(server *srv)
{
    int rc, status = 0;

    /* Normally every loop has ended already (that is what let uv_run()
     * return); on a failed start, stop them now. */
    for (unsigned k = 0; k < srv->nloops; k++) {
        qloop_post_stop(&srv->loops[k]);
        qloop_join(&srv->loops[k]);
        if (srv->loops[k].status != 0)
            status = 1;
    }
    free(srv->loops);
    srv->loops = NULL;
    uv_walk(&srv->loop, walk_close, srv);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    if ((rc = uv_loop_close(&srv->loop)) != 0) {
        log_error("loop close: %s", uv_strerror(rc));
        status = 1;
    }
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->relisten_fd >= 0)
        close(srv->relisten_fd);
    socket_unlink(srv);
    trawl_index_release(srv->ix);
    srv->ix = NULL;
    free(srv->last_reload_error);
    pthread_mutex_destroy(&srv->ix_lock);
    pthread_mutex_destroy(&srv->lock);
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

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

int server_init(server *srv, const trawld_config *cfg)
{
    trawl_err err;
    int rc;

    memset(srv, 0, sizeof(*srv));
    srv->cfg = *cfg;
    srv->listen_fd = -1;
    srv->relisten_fd = -1;
    atomic_init(&srv->spinners, 0);
    atomic_init(&srv->evicting, false);
    srv->max_spinners = default_threads() / 2;
    if (srv->max_spinners == 0)
        srv->max_spinners = 1;
    srv->started_ns = uv_hrtime();
    pthread_mutex_init(&srv->ix_lock, NULL);
    pthread_mutex_init(&srv->lock, NULL);
    if ((rc = uv_loop_init(&srv->loop)) < 0) {
        log_error("loop: %s", uv_strerror(rc));
        pthread_mutex_destroy(&srv->ix_lock);
        pthread_mutex_destroy(&srv->lock);
        return -1;
    }
    uv_timer_init(&srv->loop, &srv->poll);
    uv_timer_init(&srv->loop, &srv->accept_pause);
    uv_fs_event_init(&srv->loop, &srv->watch);
    uv_async_init(&srv->loop, &srv->wake, on_wake);
    srv->poll.data = srv->accept_pause.data = srv->watch.data = srv;
    srv->wake.data = srv;

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
        trawl_index_info info;
        man_id id;
        memset(&id, 0, sizeof(id));
        trawl_index_info_get(ix, &info);
        manifest_id(cfg->index_dir, info.generation, &id);
        install(srv, ix, &id);
    } else {
        uint64_t cur;
        if (trawl_index_current(cfg->index_dir, &cur, NULL) == 0)
            srv->failed_gen = cur;
        set_reload_error(srv, err.msg);
        /* "no index yet" only when there is none: an index that cannot
         * be read (permissions, damage) is named as such. */
        if (strstr(err.msg, "no CURRENT") != NULL)
            log_warn("no index yet in %s: %s", cfg->index_dir, err.msg);
        else
            log_warn("cannot serve the index in %s (serving none until "
                     "it can be read): %s", cfg->index_dir, err.msg);
    }

    unsigned n = cfg->threads ? cfg->threads : default_threads();
    if ((srv->loops = calloc(n, sizeof(*srv->loops))) == NULL) {
        log_error("out of memory");
        server_finish(srv);
        return -1;
    }
    for (unsigned k = 0; k < n; k++) {
        if (qloop_start(&srv->loops[k], srv, k) < 0) {
            server_finish(srv);
            return -1;
        }
        srv->nloops = k + 1;
    }
    watch_start(srv);
    uv_timer_start(&srv->poll, on_poll, POLL_MS, POLL_MS);
    log_info("listening on %s (pid %ld, %u query threads)", cfg->socket_path,
             (long)getpid(), n);
    return 0;
}

int server_run(server *srv)
{
    int rc = uv_run(&srv->loop, UV_RUN_DEFAULT);

    (void)rc;
    log_info("stopped");
    return server_finish(srv);
}
