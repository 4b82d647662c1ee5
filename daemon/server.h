/*
 * trawld's server: one libuv loop thread owns the listener, the
 * connections, the signal handlers, the index watcher and the pointer to
 * the index generation being served. Queries run on the libuv thread pool
 * (query.c); everything else happens on the loop thread, so the fields
 * below need no locking except the searcher pool.
 */
#ifndef TRAWLD_SERVER_H
#define TRAWLD_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "trawl/buf.h"
#include "trawl/index.h"
#include "trawl/search.h"

typedef struct trawld_config {
    const char *index_dir;
    const char *socket_path;
    unsigned threads;         /* 0: libuv's default (UV_THREADPOOL_SIZE) */
    size_t max_request;       /* bytes per request line, newline included */
    unsigned max_connections; /* beyond this, new clients get "busy" */
} trawld_config;

#define LATENCY_RING 1024

typedef struct conn conn;
typedef struct reload_waiter reload_waiter;

/* One request's place in its connection's response queue. Responses leave
 * in request order: a slot is written once it and all before it are done. */
typedef struct slot {
    struct slot *next;
    trawl_buf out;   /* the response line, filled by whoever answers */
    char *reload_id; /* reload op: the request's id until it is answered */
    bool done;
} slot;

typedef struct server {
    uv_loop_t loop;
    trawld_config cfg;

    uv_pipe_t listener;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_fs_event_t watch; /* DIR, for CURRENT being replaced */
    uv_timer_t poll;     /* 1 s fallback when inotify misses (or DIR is new) */
    uv_timer_t drain;    /* shutdown deadline for in-flight requests */
    bool listening, watching, watch_failed, stopping;
    dev_t sock_dev; /* the socket file we created, to unlink only it */
    ino_t sock_ino;

    trawl_index *ix; /* generation served; NULL before the first one */
    uint64_t gen;
    uint64_t failed_gen; /* last generation that failed to open, or 0 */
    char *last_reload_error;
    bool reloading;    /* a reload job is running */
    bool reload_again; /* another was asked for meanwhile */
    reload_waiter *waiters, *waiters_next;

    conn *conns;     /* every open connection, doubly linked */
    unsigned nconns; /* counted connections (not the busy rejects) */

    uint64_t started_ns;
    uint64_t queries, errors;
    uint32_t latency[LATENCY_RING];
    uint64_t nlatency;

    pthread_mutex_t pool_lock; /* searchers are not thread-safe: one each */
    trawl_searcher **pool;
    size_t npool, cap_pool;
} server;

/* Set everything up (listen, signals, watcher, first index open). 0 or -1
 * after logging why. */
int server_init(server *srv, const trawld_config *cfg);

/* Run until SIGTERM/SIGINT has drained everything; returns the exit status
 * (0 if the loop closed cleanly). Frees everything server_init made. */
int server_run(server *srv);

/* Start a graceful shutdown (stop accepting, drain, close). */
void server_stop(server *srv);

/*
 * Reload the index. With c == NULL (SIGHUP, watcher) the result is only
 * logged; otherwise conn_reload_done(c, s, ...) answers the "reload" op.
 * force: try even when CURRENT names the generation that failed last time
 * or cannot be read.
 */
void server_reload(server *srv, conn *c, slot *s, bool force);

/* The index to serve a new request with, retained (NULL if none). */
trawl_index *server_index_acquire(server *srv, uint64_t *gen);

/* Record one finished query's latency. */
void server_note_latency(server *srv, uint64_t us);

/* Borrow / return a searcher (thread-safe). NULL on ENOMEM. */
trawl_searcher *server_searcher_take(server *srv);
void server_searcher_give(server *srv, trawl_searcher *s);

/* Fill a stats response. */
void server_put_stats(server *srv, trawl_buf *out, const char *id_json);

/* ---- conn.c ---- */

/* Accept a pending connection on the listener. */
void conn_accept(server *srv);

/* The next connection in the server's list. */
conn *conn_next(conn *c);

/* Ask a connection to finish what it has in flight, then close. */
void conn_drain(conn *c);

/* Close a connection now, dropping pending responses. */
void conn_abort(conn *c);

/* Answer a "reload" op queued in slot s. */
void conn_reload_done(
    conn *c, slot *s, const uint64_t *gen, bool reloaded, const char *error);

/* A query job for slot s has put its response there (loop thread). */
void conn_job_done(conn *c, slot *s, bool error);

/* ---- query.c ---- */

struct proto_request;

/*
 * Answer a search, count or get. The request is moved into the job (the
 * caller's copy is zeroed). Returns 1 if a job was queued (conn_job_done()
 * follows), 0 if s was answered at once without error, -1 if it was
 * answered at once with an error (e.g. no_index).
 */
int query_submit(server *srv, conn *c, slot *s, struct proto_request *req);

#endif
