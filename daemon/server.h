/*
 * trawld's server: run to completion on a few event loops.
 *
 * The main loop (server.c, the process's main thread) owns the listening
 * socket, the signal handlers, the index watcher, reloads, and the pointer
 * to the index generation being served. N query loops (qloop.c, one thread
 * and one uv_loop each; N = --threads, default the number of online CPUs)
 * own the client connections. The main loop accepts a connection and hands
 * its fd to the query loop with the fewest connections (a mutex-protected
 * queue plus one uv_async_send per connection, not per request); from then
 * on that loop alone reads the connection's requests and runs each one
 * inline: parse, search with the loop's own searcher, encode, write. A
 * request costs no thread hand-off at all.
 *
 * The price: a long query blocks the other connections of its own loop
 * (never those of the other loops) until it ends.
 *
 * What the threads share, and how:
 *   - ix, gen, failed_gen, last_reload_error: written only by the main
 *     loop, always under ix_lock; query loops read them under ix_lock
 *     (server_index_acquire() retains the index: refcounts are atomic, so
 *     a query keeps its generation alive across a reload).
 *   - queries, errors, nconns, the latency ring: atomics.
 *   - each query loop's idle_oldest (since when its connection idle
 *     longest has been idle): an atomic, written by the loop, read by
 *     the main loop at --max-connections to pick the loop that makes room
 *     for a new client (conn.c, "Idleness").
 *   - a "reload" op: the query loop queues a reload_waiter to the main
 *     loop (server_post_reload()); the main loop answers it by queueing
 *     it back to that query loop (qloop_post_answer()) once the reload job
 *     has finished. Both queues are under a mutex and wake the other loop
 *     with its uv_async.
 */
#ifndef TRAWLD_SERVER_H
#define TRAWLD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
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
    unsigned threads;         /* query loops; 0: one per online CPU */
    size_t max_request;       /* bytes per request line, newline included */
    unsigned max_connections; /* beyond this, new clients get "busy" */
    unsigned spin_us;         /* after a request, poll this long for the
                                 next before sleeping; 0: never */
    unsigned idle_timeout_s;  /* close a connection idle this long; 0:
                                 never */
    unsigned evict_idle_s;    /* at max_connections, a new client replaces
                                 the connection idle longest if idle this
                                 long; 0: never (the new one gets busy) */
    unsigned write_timeout_s; /* close a connection whose client reads
                                 nothing of its waiting answers this long;
                                 0: never */
    unsigned socket_mode;     /* permissions of the socket file (0600) */
} trawld_config;

#define LATENCY_RING 1024
#define DRAIN_MS     5000

/* A manifest file's identity: device, inode and modification time (an
 * inode number freed by a deleted index can come back at once). */
typedef struct man_id {
    dev_t dev;
    ino_t ino;
    int64_t mtime_ns;
} man_id;

typedef struct server server;
typedef struct qloop qloop;
typedef struct conn conn;
typedef struct reload_waiter reload_waiter;

/* One request's place in its connection's response queue. Responses leave
 * in request order: a slot is written once it and all before it are done. */
typedef struct slot {
    struct slot *next;
    trawl_buf out;   /* the response line */
    char *reload_id; /* reload op: the request's id until it is answered */
    bool done;
} slot;

/* A "reload" op on its way to the main loop and back. */
struct reload_waiter {
    reload_waiter *next;
    qloop *q; /* the loop that owns c */
    conn *c;
    slot *s;
    /* the answer, filled by the main loop */
    bool has_gen, reloaded;
    uint64_t gen;
    char *error; /* malloc'd, or NULL */
};

/* An accepted connection on its way to its query loop. */
typedef struct handoff {
    int fd;
    unsigned long num; /* connection number, for log lines */
    const char *reject; /* non-NULL: answer "busy" with this, then close */
    bool evict; /* at the limit: take the place of the loop's connection
                   idle longest (not counted in nconns yet), or get busy */
} handoff;

/* A query loop (qloop.c). */
struct qloop {
    server *srv;
    unsigned idx;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wake;  /* new fds, reload answers, stop */
    uv_timer_t drain; /* shutdown deadline */
    uv_timer_t idle;  /* the idle timeout of idle_head */
    uv_timer_t stall; /* runs while a connection has writes in flight:
                         closes those whose client reads nothing */
    bool started;     /* thread created */
    int status;       /* 0 if its uv_loop_close() succeeded */

    /* under lock, written by the main loop */
    pthread_mutex_t lock;
    handoff *fds;
    size_t nfds, cap_fds;
    reload_waiter *answers;
    bool evict; /* out of descriptors: close the connection idle longest */
    bool stop;
    bool closed; /* wake is closed: post nothing more */

    /* the loop thread's own */
    uv_idle_t resume;    /* runs the next round of resume_list */
    conn *resume_list;   /* connections with requests left after a round */
    trawl_searcher *searcher;
    conn *conns;   /* its open connections, doubly linked */
    conn *idle_head, *idle_tail; /* its idle connections, idle longest
                                    first (conn.c) */
    uint64_t served; /* requests dispatched: the spin's progress mark */
    size_t nalloc; /* conn structs not yet freed */
    bool stopping;

    atomic_uint load;      /* open connections, for the least-loaded choice */
    atomic_bool stop_seen; /* stop asked: run no more buffered requests */
    /* since when (uv_now(), ms) idle_head has been idle; UINT64_MAX if no
     * connection is idle: read by the main loop to pick whom to evict */
    atomic_uint_fast64_t idle_oldest;
};

struct server {
    uv_loop_t loop;
    trawld_config cfg;

    int listen_fd;
    uv_poll_t listener;
    uv_timer_t accept_pause; /* out of fds: accept again a bit later */
    /* accept() failing (EMFILE...): logged when it starts, at most once a
     * minute while it lasts, and when it ends */
    int accept_errno;          /* 0 while accept() works */
    uint64_t accept_fail_ms;   /* when it started failing (uv_now) */
    uint64_t accept_fails;     /* failed calls since then */
    uint64_t accept_logged_ms; /* last log line about it */
    uint64_t accept_fails_logged; /* accept_fails at that line */
    atomic_bool evicting; /* a loop was asked to close an idle connection
                             to free a descriptor, and has not yet */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_fs_event_t watch; /* DIR, for CURRENT being replaced */
    uv_timer_t poll;     /* 1 s fallback when inotify misses (or DIR is new) */
    uv_async_t wake;     /* reload requests from query loops, loops ending */
    bool listening, watching, watch_failed, stopping;
    dev_t sock_dev; /* the socket file we created, to unlink only it */
    ino_t sock_ino;
    /* the socket file removed under us (tmpfiles cleaning, an operator):
     * a new listener is made on the path; the old one is being closed */
    bool relistening, sock_lost_logged;
    char sock_why[512]; /* why it could not be made again (said once) */
    int relisten_fd;

    /* written by the main loop under ix_lock, read by anyone under it */
    pthread_mutex_t ix_lock;
    trawl_index *ix; /* generation served; NULL before the first one */
    uint64_t gen;
    char *last_reload_error;

    /* the main loop's own */
    man_id man;          /* the served generation's manifest file: the
                            number alone is not enough (a rebuilt DIR
                            starts over at generation 1) */
    uint64_t failed_gen; /* last generation that failed to open, or 0 */
    bool reloading;      /* a reload job is running */
    bool check_failed;   /* last_reload_error says why CURRENT could not
                            be read by the watcher or the poll */
    bool reload_again;   /* another was asked for meanwhile */
    reload_waiter *waiters; /* for the next reload job */
    unsigned long conn_counter;
    unsigned next_loop; /* round-robin start of the least-loaded search */

    /* under lock: from the query loops to the main loop */
    pthread_mutex_t lock;
    reload_waiter *requests;
    unsigned loops_done;
    bool wake_closed;

    qloop *loops;
    unsigned nloops;

    uint64_t started_ns;
    atomic_uint_fast64_t queries, errors;
    atomic_uint nconns; /* counted connections (not the busy rejects) */
    atomic_uint spinners;  /* query threads polling after an answer */
    unsigned max_spinners; /* at most half the CPUs, at least one */
    _Atomic uint32_t latency[LATENCY_RING];
    atomic_uint_fast64_t nlatency;
};

/* ---- server.c (main loop) ---- */

/* Set everything up (listen, signals, watcher, first index open, query
 * loops). 0 or -1 after logging why. */
int server_init(server *srv, const trawld_config *cfg);

/* Run until SIGTERM/SIGINT has drained everything; returns the exit status
 * (0 if every loop closed cleanly). Frees everything server_init made. */
int server_run(server *srv);

/* Any thread: the index to serve a new request with, retained (NULL if
 * none). */
trawl_index *server_index_acquire(server *srv, uint64_t *gen);

/* Any thread: a copy of the last reload error (malloc'd), NULL if none. */
char *server_reload_error(server *srv);

/* Any thread: ask the main loop for a reload that answers w. */
void server_post_reload(server *srv, reload_waiter *w);

/* Any thread: a query loop has ended (its last call into the server). */
void server_loop_done(server *srv);

/* Any thread: record one finished query / one error response. */
void server_note_query(server *srv, uint64_t us);
void server_note_error(server *srv);

/* Any thread: fill a stats response. */
void server_put_stats(server *srv, trawl_buf *out, const char *id_json);

/* ---- qloop.c (query loops) ---- */

/* Start / join the thread of q. 0 or -1. */
int qloop_start(qloop *q, server *srv, unsigned idx);
void qloop_join(qloop *q);

/* Main loop: hand an accepted connection to q. false if q takes nothing
 * more (then the caller closes fd). */
bool qloop_post_fd(qloop *q, const handoff *h);

/* Main loop: an answered reload waiter back to its loop. */
void qloop_post_answer(qloop *q, reload_waiter *w);

/* Main loop: out of descriptors: ask q to close its connection idle
 * longest (if idle for --evict-idle); q clears srv->evicting when done. */
void qloop_post_evict(qloop *q);

/* Main loop: tell q to drain and end. */
void qloop_post_stop(qloop *q);

/* Loop thread: a connection struct was freed. */
void qloop_conn_freed(qloop *q);

/* ---- conn.c (on the query loop that owns the connection) ---- */

/* Open a handed-over connection on q. */
void conn_open(qloop *q, const handoff *h);

/* The next connection in the loop's list. */
conn *conn_next(conn *c);

/* Ask a connection to finish what it has queued, then close. */
void conn_drain(conn *c);

/* Close a connection now, dropping pending responses. */
void conn_abort(conn *c);

/* The resume idle handle's callback: next round for connections that
 * stopped with requests left (conn.c's process()). */
void conn_resume_all(uv_idle_t *h);

/* The idle timer's callback: close the loop's connections idle for
 * --idle-timeout. */
void conn_idle_timer(uv_timer_t *t);

/* The stall timer's callback: close the loop's connections whose client
 * has not read any of the responses waiting for it for --write-timeout. */
void conn_stall_timer(uv_timer_t *t);

/* Out of descriptors: close the loop's connection idle longest if it has
 * been idle for --evict-idle. */
void conn_evict_for_fd(qloop *q);

/* Answer a "reload" op (w comes back from the main loop; freed here). */
void conn_reload_done(reload_waiter *w);

/* ---- query.c ---- */

struct proto_request;

/*
 * Answer a search, count or get into s->out, inline on the calling loop
 * with its searcher. Returns 0, or -1 if the answer is an error response.
 */
int query_run(qloop *q, slot *s, struct proto_request *req);

/*
 * Run fn(arg, err) so that a SIGBUS raised by reading the mapped index (a
 * segment truncated under the daemon, an I/O error) ends it with
 * TRAWL_ECORRUPT in err instead of killing the daemon. Whatever fn had
 * allocated outside arenas at that moment is lost. guard_install() sets
 * the handler up once, at start; 0 or -1 (errno).
 */
int guard_install(void);
int guarded(int (*fn)(void *arg, trawl_err *err), void *arg, trawl_err *err);

#endif
