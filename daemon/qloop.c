/*
 * A query loop: one thread, one uv_loop, its own searcher, and the
 * connections the main loop handed to it (see server.h for the design).
 *
 * The loop's uv_async "wake" is how the main loop reaches it: new fds,
 * answered reloads and the stop order wait in the mutex-protected fields
 * of qloop and are picked up by on_wake().
 *
 * Shutdown: on stop, every connection finishes what it has queued and
 * closes (aborted after DRAIN_MS). Once no connection struct is left (a
 * closed connection whose reload is still being answered counts), wake is
 * closed, uv_run() returns, and uv_loop_close() must return 0.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "server.h"

static void on_drain_timeout(uv_timer_t *t)
{
    qloop *q = t->data;

    log_warn("shutdown: requests still queued after %d ms; closing their "
             "connections",
             DRAIN_MS);
    conn *c = q->conns;
    while (c != NULL) {
        conn *next = conn_next(c);
        conn_abort(c);
        c = next;
    }
}

/* Close wake (and so end the loop) once stopping and nothing is left. */
static void maybe_end(qloop *q)
{
    if (!q->stopping || q->nalloc > 0)
        return;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return;
    }
    q->closed = true;
    /* Under the lock: the main loop never sends to a closed wake. */
    uv_close((uv_handle_t *)&q->wake, NULL);
    pthread_mutex_unlock(&q->lock);
    uv_close((uv_handle_t *)&q->drain, NULL);
    uv_close((uv_handle_t *)&q->resume, NULL);
    uv_close((uv_handle_t *)&q->idle, NULL);
    uv_close((uv_handle_t *)&q->stall, NULL);
}

static void begin_stop(qloop *q)
{
    q->stopping = true;
    /* The deadline must not keep the loop alive by itself. */
    uv_timer_start(&q->drain, on_drain_timeout, DRAIN_MS, 0);
    uv_unref((uv_handle_t *)&q->drain);
    conn *c = q->conns;
    while (c != NULL) {
        conn *next = conn_next(c);
        conn_drain(c);
        c = next;
    }
    maybe_end(q);
}

static void on_wake(uv_async_t *a)
{
    qloop *q = a->data;
    handoff *fds;
    size_t nfds;
    reload_waiter *answers;
    bool stop, evict;

    pthread_mutex_lock(&q->lock);
    fds = q->fds;
    nfds = q->nfds;
    q->fds = NULL;
    q->nfds = q->cap_fds = 0;
    answers = q->answers;
    q->answers = NULL;
    stop = q->stop;
    evict = q->evict;
    q->evict = false;
    pthread_mutex_unlock(&q->lock);

    if (evict) {
        if (!q->stopping)
            conn_evict_for_fd(q);
        atomic_store(&q->srv->evicting, false);
    }
    for (size_t i = 0; i < nfds; i++)
        conn_open(q, &fds[i]);
    free(fds);
    /* answers were pushed newest first: answer in the order asked */
    reload_waiter *rev = NULL;
    while (answers != NULL) {
        reload_waiter *next = answers->next;
        answers->next = rev;
        rev = answers;
        answers = next;
    }
    while (rev != NULL) {
        reload_waiter *next = rev->next;
        conn_reload_done(rev);
        rev = next;
    }
    if (stop && !q->stopping)
        begin_stop(q);
}

void qloop_conn_freed(qloop *q)
{
    q->nalloc--;
    maybe_end(q);
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->type == UV_NAMED_PIPE)
        conn_abort(h->data);
    else
        uv_close(h, NULL);
}

/*
 * The loop. After serving requests it polls without blocking for up to
 * spin_us before it sleeps: an interactive client sends its next request
 * within microseconds of reading the last answer, and waking a sleeping
 * thread costs about as much as a whole small query on a busy machine.
 * Under load the next request is already there and nothing spins; an
 * idle daemon sleeps. At most half the CPUs poll at once, so that the
 * clients (often on the same machine) keep cores to run on.
 */
static bool spin_enter(server *srv)
{
    unsigned n = atomic_load_explicit(&srv->spinners, memory_order_relaxed);
    while (n < srv->max_spinners)
        if (atomic_compare_exchange_weak(&srv->spinners, &n, n + 1))
            return true;
    return false;
}

static void run_loop(qloop *q)
{
    uint64_t spin_ns = (uint64_t)q->srv->cfg.spin_us * 1000;
    uint64_t mark = q->served;
    for (;;) {
        if (spin_ns > 0 && q->served != mark && !q->stopping &&
            spin_enter(q->srv)) {
            uint64_t t0 = uv_hrtime();
            int alive = 1;
            mark = q->served;
            while (uv_hrtime() - t0 < spin_ns) {
                if ((alive = uv_run(&q->loop, UV_RUN_NOWAIT)) == 0)
                    break;
                if (q->served != mark) {
                    mark = q->served;
                    t0 = uv_hrtime();
                } else {
                    /* Nothing came: let whatever else is runnable on
                     * this CPU go first (a client sharing it would
                     * otherwise wait for the spin to be preempted
                     * before it can read the answer and send the next
                     * request); alone on the CPU this returns at once. */
                    sched_yield();
                }
            }
            atomic_fetch_sub(&q->srv->spinners, 1);
            if (!alive)
                return;
        }
        mark = q->served;
        if (uv_run(&q->loop, UV_RUN_ONCE) == 0)
            return;
    }
}

static void qloop_main(void *arg)
{
    qloop *q = arg;
    int rc;

    run_loop(q);
    /* Normally nothing is left; be sure before closing the loop. */
    uv_walk(&q->loop, walk_close, q);
    uv_run(&q->loop, UV_RUN_DEFAULT);
    if ((rc = uv_loop_close(&q->loop)) != 0) {
        log_error("query loop %u: loop close: %s", q->idx, uv_strerror(rc));
        q->status = 1;
    }
    server_loop_done(q->srv);
}

int qloop_start(qloop *q, server *srv, unsigned idx)
{
    trawl_err err;
    int rc;

    q->srv = srv;
    q->idx = idx;
    atomic_init(&q->load, 0);
    atomic_init(&q->stop_seen, false);
    atomic_init(&q->idle_oldest, UINT64_MAX);
    pthread_mutex_init(&q->lock, NULL);
    if (trawl_searcher_new(&q->searcher, &err) < 0) {
        log_error("searcher: %s", err.msg);
        pthread_mutex_destroy(&q->lock);
        return -1;
    }
    if ((rc = uv_loop_init(&q->loop)) < 0) {
        log_error("query loop: %s", uv_strerror(rc));
        goto fail;
    }
    if ((rc = uv_async_init(&q->loop, &q->wake, on_wake)) < 0) {
        log_error("query loop: %s", uv_strerror(rc));
        uv_loop_close(&q->loop);
        goto fail;
    }
    uv_timer_init(&q->loop, &q->drain);
    uv_idle_init(&q->loop, &q->resume);
    uv_timer_init(&q->loop, &q->idle);
    uv_timer_init(&q->loop, &q->stall);
    q->wake.data = q->drain.data = q->resume.data = q->idle.data = q;
    q->stall.data = q;
    if ((rc = uv_thread_create(&q->thread, qloop_main, q)) < 0) {
        /* EAGAIN: a memory (ulimit -v) or thread limit; each thread
         * takes a stack of the default size. */
        log_error("cannot start query thread %u: %s%s", idx + 1,
                  uv_strerror(rc),
                  rc == UV_EAGAIN ? " (a memory or process limit: try "
                                    "fewer --threads, or raise the limit)"
                                  : "");
        uv_close((uv_handle_t *)&q->wake, NULL);
        uv_close((uv_handle_t *)&q->drain, NULL);
        uv_close((uv_handle_t *)&q->resume, NULL);
        uv_close((uv_handle_t *)&q->idle, NULL);
        uv_close((uv_handle_t *)&q->stall, NULL);
        uv_run(&q->loop, UV_RUN_DEFAULT);
        uv_loop_close(&q->loop);
        goto fail;
    }
    q->started = true;
    return 0;
fail:
    trawl_searcher_free(q->searcher);
    q->searcher = NULL;
    pthread_mutex_destroy(&q->lock);
    return -1;
}

void qloop_join(qloop *q)
{
    if (!q->started)
        return;
    uv_thread_join(&q->thread);
    q->started = false;
    free(q->fds);
    trawl_searcher_free(q->searcher);
    pthread_mutex_destroy(&q->lock);
}

bool qloop_post_fd(qloop *q, const handoff *h)
{
    bool ok = false;

    pthread_mutex_lock(&q->lock);
    if (!q->closed) {
        if (q->nfds == q->cap_fds) {
            size_t cap = q->cap_fds ? 2 * q->cap_fds : 8;
            handoff *p = realloc(q->fds, cap * sizeof(*p));
            if (p == NULL)
                goto out;
            q->fds = p;
            q->cap_fds = cap;
        }
        q->fds[q->nfds++] = *h;
        uv_async_send(&q->wake);
        ok = true;
    }
out:
    pthread_mutex_unlock(&q->lock);
    return ok;
}

void qloop_post_answer(qloop *q, reload_waiter *w)
{
    pthread_mutex_lock(&q->lock);
    /* A waiter keeps its connection, hence the loop, alive: never closed
     * here. */
    w->next = q->answers;
    q->answers = w;
    uv_async_send(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void qloop_post_evict(qloop *q)
{
    pthread_mutex_lock(&q->lock);
    if (!q->closed) {
        q->evict = true;
        uv_async_send(&q->wake);
    } else {
        atomic_store(&q->srv->evicting, false);
    }
    pthread_mutex_unlock(&q->lock);
}

void qloop_post_stop(qloop *q)
{
    atomic_store(&q->stop_seen, true);
    pthread_mutex_lock(&q->lock);
    q->stop = true;
    if (!q->closed)
        uv_async_send(&q->wake);
    pthread_mutex_unlock(&q->lock);
}
