/*
 * Helpers for integration tests that drive the real programs: a temporary
 * directory, trawl-index, a trawld on a short socket path inside it, raw
 * protocol connections, and the trawl client.
 *
 * Binaries are found in $TRAWL_BIN (default "bin"), fixtures in
 * $TRAWL_FIXTURES (default "tests/fixtures"). Functions return 0 / -1 (or
 * an exit status) and print what went wrong to stderr; tests assert.
 *
 * Typical use:
 *     th h;
 *     assert_int_equal(th_init(&h), 0);
 *     assert_int_equal(th_index(&h, (const char *[]){fixture, NULL}), 0);
 *     assert_int_equal(th_daemon_start(&h, NULL), 0);
 *     th_conn c;
 *     assert_int_equal(th_connect(&h, &c), 0);
 *     json_t *r = th_request(&c, "{\"op\":\"ping\"}");
 *     ...
 *     th_close(&c);
 *     assert_int_equal(th_daemon_stop(&h), 0);
 *     th_cleanup(&h);
 */
#ifndef TRAWL_TEST_HARNESS_H
#define TRAWL_TEST_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct th {
    char dir[64];    /* the temporary directory (short, under /tmp) */
    char index[128]; /* dir/index: where th_index builds */
    char sock[128];  /* dir/trawl.sock: where th_daemon_start listens */
    char log[128];   /* dir/trawld.log: the daemon's stderr */
    pid_t pid;       /* the running trawld, or 0 */
} th;

typedef struct th_result {
    int status; /* exit code; 128+N if killed by signal N; -1 if not run */
    char *out;  /* stdout, NUL-terminated (never NULL after th_run) */
    char *err;  /* stderr */
} th_result;

typedef struct th_conn {
    int fd;
    char *buf; /* bytes received and not yet returned as lines */
    size_t len, cap;
} th_conn;

const char *th_bin_dir(void);
const char *th_fixtures_dir(void);

/* Make the temporary directory. 0 or -1. */
int th_init(th *h);

/* Kill a still running daemon (SIGKILL) and remove the directory. */
void th_cleanup(th *h);

/*
 * Run a program and wait for it. argv[0] without a '/' is looked up in
 * th_bin_dir(); argv is NULL-terminated. stdin is /dev/null. Returns
 * r->status.
 */
int th_run(th_result *r, const char *const argv[]);
void th_result_free(th_result *r);

/* trawl-index --index h->index PATH... ; returns its exit status.
 * r may be NULL (output is then discarded). */
int th_index(th *h, const char *const paths[], th_result *r);

/*
 * Start trawld --index h->index --socket h->sock [extra...] and wait
 * (up to 15 s) until connect() succeeds. 0, or -1 if it exited or never
 * listened (its log is printed).
 */
int th_daemon_start(th *h, const char *const extra[]);

/* Send a signal to the daemon. */
int th_daemon_signal(th *h, int sig);

/* SIGTERM, then wait up to 15 s. Returns the exit status as th_result's
 * status (-1 on timeout, after which it is SIGKILLed; before that, the
 * state and kernel wait of each of its threads and its log go to
 * stderr). */
int th_daemon_stop(th *h);

/* The daemon's log so far (malloc'd). */
char *th_daemon_log(th *h);

/* trawl --socket h->sock ARGS... ; returns the exit status. */
int th_client(th *h, th_result *r, const char *const args[]);

/* Connect to h->sock (10 s receive timeout). 0 or -1. */
int th_connect(th *h, th_conn *c);
int th_connect_path(const char *path, th_conn *c);
void th_close(th_conn *c);

/* Send bytes as they are / a line with "\n" appended. 0 or -1. */
int th_send(th_conn *c, const void *p, size_t n);
int th_send_line(th_conn *c, const char *line);

/* The next response line (malloc'd, without "\n"); NULL on EOF, error or
 * timeout. */
char *th_recv_line(th_conn *c);

/* The next response line parsed as JSON; NULL if none or not JSON. */
json_t *th_recv_json(th_conn *c);

/* th_send_line + th_recv_json. */
json_t *th_request(th_conn *c, const char *line);

/* resp.error.code, or NULL if resp is not an error response. */
const char *th_error_code(const json_t *resp);

/* The answer to get of id (a JSON string's contents without escapes);
 * aborts the test unless it is ok. The caller json_decref()s it. */
json_t *th_get_doc(th_conn *c, const char *id);

/* The body of id through get (malloc'd), or NULL when the answer is
 * not_found; aborts on any other answer. */
char *th_get_body(th_conn *c, const char *id);

/* Aborts unless id's body through get is want (want NULL: unless id is
 * not found). */
void th_expect_body(th_conn *c, const char *id, const char *want);

/* A reload request; aborts unless it is answered ok. */
void th_reload(th_conn *c);

/* Member name of the doc of a get answer, as a string (NULL if absent or
 * not a string). */
const char *th_doc_field(const json_t *resp, const char *name);

/* The count of documents q (any query text) matches; aborts
 * the test if the answer has none. */
int th_count(th_conn *c, const char *q);

/* The highlighted bytes of the snippet of hit id for q (a search with
 * snippets), joined by '|' ("" when id is not a hit); aborts on a failed
 * search or a highlight outside its snippet. A static buffer. */
const char *th_highlights(th_conn *c, const char *q, const char *id);

/* The ids of the hits of a search for q (any text: it is JSON-encoded),
 * in order, space separated, in a static buffer; their scores into
 * scores (cap bytes, "%.9f" space separated) unless it is NULL. Aborts if
 * the answer is not ok. */
const char *th_hit_ids(th_conn *c, const char *q, char *scores, size_t cap);

/* ---- added for the reload, crash and corruption tests ---- */

/* Start a program without waiting for it; stdout and stderr go to
 * log_path (appended) or /dev/null when NULL. The pid, or -1. */
pid_t th_spawn(const char *const argv[], const char *log_path);

/* Wait for a th_spawn()ed pid; its status as in th_result. */
int th_wait(pid_t pid);

/* 1 if process pid is stopped (state T in /proc/PID/stat). */
int th_is_stopped(pid_t pid);

/* out = the test's directory h->dir + "/" + name; a name too long for
 * cap fails the test. */
void th_path(char *out, size_t cap, const th *h, const char *name);

/* Write text to path (created or truncated); failing fails the test. */
void th_write_text(const char *path, const char *text);

/* mkdir -p h->dir/name; failing fails the test. */
void th_make_dir(const th *h, const char *name);

/* Write n bytes to path (created or truncated). 0 or -1. */
int th_write_file(const char *path, const void *p, size_t n);

/* A whole file (malloc'd, NUL-terminated; *len without the NUL may be
 * NULL); NULL if it cannot be read. */
char *th_read_file(const char *path, size_t *len);

/* Milliseconds on a monotonic clock / sleep that long. */
long long th_now_ms(void);
void th_sleep_ms(int ms);

#endif
