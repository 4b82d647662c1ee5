/*
 * Integration test harness: see harness.h.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define START_TIMEOUT_MS 15000
/* trawld says "stopped" and exits at once; the kernel's teardown of the
 * exiting process was seen to hold it in uninterruptible sleep
 * (__flush_work) for more than 15 s on a busy shared VM. A daemon that
 * never exits still fails, a minute later. */
#define STOP_TIMEOUT_MS  60000

const char *th_bin_dir(void)
{
    const char *b = getenv("TRAWL_BIN");
    return b && b[0] ? b : "bin";
}

const char *th_fixtures_dir(void)
{
    const char *f = getenv("TRAWL_FIXTURES");
    return f && f[0] ? f : "tests/fixtures";
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int th_init(th *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/trawl-it-XXXXXX");
    if (mkdtemp(h->dir) == NULL) {
        fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(h->index, sizeof(h->index), "%s/index", h->dir);
    snprintf(h->sock, sizeof(h->sock), "%s/trawl.sock", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/trawld.log", h->dir);
    return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void th_cleanup(th *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
    if (h->dir[0] != '\0')
        nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    h->dir[0] = '\0';
}

/* ---- processes --------------------------------------------------------- */

static char *program_path(const char *name)
{
    size_t n;
    char *p;

    if (strchr(name, '/') != NULL)
        return strdup(name);
    n = strlen(th_bin_dir()) + strlen(name) + 2;
    if ((p = malloc(n)) != NULL)
        snprintf(p, n, "%s/%s", th_bin_dir(), name);
    return p;
}

static char *slurp_fd(int fd)
{
    size_t len = 0, cap = 4096;
    char *s = malloc(cap);

    if (s == NULL)
        return NULL;
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (cap - len < 2048) {
            char *t = realloc(s, cap *= 2);
            if (t == NULL)
                break;
            s = t;
        }
        ssize_t k = read(fd, s + len, cap - len - 1);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    s[len] = '\0';
    return s;
}

static int tmp_fd(void)
{
    char path[] = "/tmp/trawl-it-out-XXXXXX";
    int fd = mkstemp(path);

    if (fd >= 0)
        unlink(path);
    return fd;
}

static int decode_status(int ws)
{
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws);
    if (WIFSIGNALED(ws))
        return 128 + WTERMSIG(ws);
    return -1;
}

/* Spawn argv with stdout/stderr to the given fds (-1: /dev/null). */
static pid_t spawn(const char *const argv[], int out_fd, int err_fd)
{
    posix_spawn_file_actions_t fa;
    char *path = program_path(argv[0]);
    pid_t pid = -1;
    int rc;

    if (path == NULL)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (err_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "harness: spawn %s: %s\n", path, strerror(rc));
        pid = -1;
    }
    free(path);
    return pid;
}

int th_run(th_result *r, const char *const argv[])
{
    int out = tmp_fd(), err = tmp_fd(), ws;
    pid_t pid;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (out >= 0 && err >= 0 && (pid = spawn(argv, out, err)) > 0) {
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        r->status = decode_status(ws);
    }
    r->out = out >= 0 ? slurp_fd(out) : strdup("");
    r->err = err >= 0 ? slurp_fd(err) : strdup("");
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    return r->status;
}

void th_result_free(th_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* argv = prefix..., rest... (NULL-terminated), malloc'd */
static const char **
join_args(const char *const prefix[], size_t np, const char *const rest[])
{
    size_t nr = 0;
    while (rest != NULL && rest[nr] != NULL)
        nr++;
    const char **argv = calloc(np + nr + 1, sizeof(*argv));
    if (argv == NULL)
        return NULL;
    memcpy(argv, prefix, np * sizeof(*argv));
    for (size_t i = 0; i < nr; i++)
        argv[np + i] = rest[i];
    return argv;
}

int th_index(th *h, const char *const paths[], th_result *r)
{
    const char *prefix[] = {"trawl-index", "--index", h->index};
    const char **argv = join_args(prefix, 3, paths);
    th_result tmp;
    int status;

    if (argv == NULL)
        return -1;
    status = th_run(r ? r : &tmp, argv);
    if (status != 0)
        fprintf(stderr, "harness: trawl-index exited %d:\n%s", status,
                (r ? r : &tmp)->err);
    if (r == NULL)
        th_result_free(&tmp);
    free(argv);
    return status;
}

int th_client(th *h, th_result *r, const char *const args[])
{
    const char *prefix[] = {"trawl", "--socket", h->sock};
    const char **argv = join_args(prefix, 3, args);
    int status;

    if (argv == NULL)
        return -1;
    status = th_run(r, argv);
    free(argv);
    return status;
}

/* ---- the daemon -------------------------------------------------------- */

char *th_daemon_log(th *h)
{
    int fd = open(h->log, O_RDONLY);
    char *s;

    if (fd < 0)
        return strdup("");
    s = slurp_fd(fd);
    close(fd);
    return s;
}

static void print_log(th *h)
{
    char *s = th_daemon_log(h);
    fprintf(stderr, "---- trawld log ----\n%s--------------------\n",
            s ? s : "");
    free(s);
}

static int can_connect(const char *path)
{
    th_conn c;

    if (th_connect_path(path, &c) < 0)
        return 0;
    th_close(&c);
    return 1;
}

/* Daemons started, so that a test that fails before stopping its own
 * (cmocka goes on with the next test) does not leave it running after
 * the test program exits. */
#define MAX_STARTED 256
static pid_t started[MAX_STARTED];
static int nstarted;

static void kill_started(void)
{
    for (int i = 0; i < nstarted; i++) {
        /* 0: still our running child (a reaped one is not waited for,
         * so a pid reused by someone else is never killed) */
        if (started[i] > 0 && waitpid(started[i], NULL, WNOHANG) == 0) {
            kill(started[i], SIGKILL);
            waitpid(started[i], NULL, 0);
        }
    }
}

static void note_started(pid_t pid)
{
    if (nstarted == 0)
        atexit(kill_started);
    if (nstarted < MAX_STARTED)
        started[nstarted++] = pid;
}

int th_daemon_start(th *h, const char *const extra[])
{
    const char *prefix[] = {"trawld", "--index", h->index, "--socket", h->sock};
    const char **argv = join_args(prefix, 5, extra);
    long long deadline = now_ms() + START_TIMEOUT_MS;
    int fd, ws;

    if (argv == NULL)
        return -1;
    fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(argv);
        return -1;
    }
    h->pid = spawn(argv, fd, fd);
    close(fd);
    free(argv);
    if (h->pid < 0) {
        h->pid = 0;
        return -1;
    }
    note_started(h->pid);
    while (now_ms() < deadline) {
        if (waitpid(h->pid, &ws, WNOHANG) == h->pid) {
            fprintf(stderr, "harness: trawld exited early (%d)\n",
                    decode_status(ws));
            h->pid = 0;
            print_log(h);
            return -1;
        }
        if (can_connect(h->sock))
            return 0;
        sleep_ms(10);
    }
    fprintf(stderr, "harness: trawld did not listen on %s\n", h->sock);
    print_log(h);
    return -1;
}

int th_daemon_signal(th *h, int sig)
{
    return h->pid > 0 ? kill(h->pid, sig) : -1;
}

/* A process that does not exit: what each of its threads is doing (from
 * /proc, where there is one), for the failure message. */
static void print_threads(pid_t pid)
{
    char path[64], line[512];
    DIR *d;
    struct dirent *e;

    snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
    if ((d = opendir(path)) == NULL)
        return;
    fprintf(stderr,
            "harness: threads of pid %ld (tid, name, state, "
            "kernel wait):\n",
            (long)pid);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat[512] = "", wchan[128] = "";
        const char *names[2] = {"stat", "wchan"};
        char *outs[2] = {stat, wchan};
        size_t caps[2] = {sizeof(stat), sizeof(wchan)};
        for (int i = 0; i < 2; i++) {
            snprintf(line, sizeof(line), "/proc/%ld/task/%.32s/%s", (long)pid,
                     e->d_name, names[i]);
            FILE *f = fopen(line, "r");
            if (f == NULL)
                continue;
            if (fgets(outs[i], (int)caps[i], f) == NULL)
                outs[i][0] = '\0';
            outs[i][strcspn(outs[i], "\n")] = '\0';
            fclose(f);
        }
        /* stat: "tid (name) state ...": the first three fields */
        char *close = strrchr(stat, ')');
        if (close != NULL && close[1] == ' ')
            close[3] = '\0';
        fprintf(stderr, "  %s  %s\n", stat, wchan);
    }
    closedir(d);
}

/* 1 if pid is in the kernel's uninterruptible sleep (state D) and its
 * log says it stopped: trawld is done, the kernel's teardown is not. */
static int exiting_in_kernel(th *h)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)h->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int d = 0;
    if (fgets(buf, sizeof(buf), f) != NULL) {
        char *close = strrchr(buf, ')');
        d = close != NULL && close[1] == ' ' && close[2] == 'D';
    }
    fclose(f);
    if (!d)
        return 0;
    char *log = th_daemon_log(h);
    int stopped = log != NULL && strstr(log, "info  stopped") != NULL;
    free(log);
    return stopped;
}

int th_daemon_stop(th *h)
{
    long long deadline = now_ms() + STOP_TIMEOUT_MS;
    int ws, extended = 0;

    if (h->pid <= 0)
        return -1;
    kill(h->pid, SIGTERM);
    for (;;) {
        /* looked at once more after the deadline: this process may have
         * stood still past it while trawld exited */
        bool last = now_ms() >= deadline;
        if (last && !extended && exiting_in_kernel(h)) {
            /* seen on a busy shared VM: more than a minute in
             * __flush_work after "stopped"; not trawld's to shorten */
            fprintf(stderr, "harness: trawld stopped; the kernel is still "
                            "tearing the process down, waiting longer\n");
            deadline = now_ms() + 3 * STOP_TIMEOUT_MS;
            extended = 1;
            last = false;
        }
        pid_t p = waitpid(h->pid, &ws, WNOHANG);
        if (p == h->pid) {
            int status = decode_status(ws);
            h->pid = 0;
            if (status != 0)
                print_log(h);
            return status;
        }
        if (last)
            break;
        sleep_ms(10);
    }
    fprintf(stderr, "harness: trawld did not exit after SIGTERM\n");
    print_threads(h->pid);
    print_log(h);
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = 0;
    return -1;
}

/* ---- raw connections --------------------------------------------------- */

int th_connect_path(const char *path, th_conn *c)
{
    struct sockaddr_un sa;
    struct timeval tv = {10, 0};

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return 0;
}

int th_connect(th *h, th_conn *c)
{
    return th_connect_path(h->sock, c);
}

void th_close(th_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

int th_send(th_conn *c, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

int th_send_line(th_conn *c, const char *line)
{
    size_t n = strlen(line);
    char *s = malloc(n + 1);
    int rc;

    if (s == NULL)
        return -1;
    memcpy(s, line, n);
    s[n] = '\n';
    rc = th_send(c, s, n + 1);
    free(s);
    return rc;
}

char *th_recv_line(th_conn *c)
{
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->buf);
            char *line = malloc(n + 1);
            if (line == NULL)
                return NULL;
            memcpy(line, c->buf, n);
            line[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        if (c->cap - c->len < 4096) {
            size_t cap = c->cap ? 2 * c->cap : 65536;
            char *b = realloc(c->buf, cap);
            if (b == NULL)
                return NULL;
            c->buf = b;
            c->cap = cap;
        }
        ssize_t k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return NULL;
        c->len += (size_t)k;
    }
}

json_t *th_recv_json(th_conn *c)
{
    char *line = th_recv_line(c);
    json_error_t err;
    json_t *v;

    if (line == NULL)
        return NULL;
    v = json_loads(line, 0, &err);
    if (v == NULL)
        fprintf(stderr, "harness: response is not JSON (%s): %s\n", err.text,
                line);
    free(line);
    return v;
}

json_t *th_request(th_conn *c, const char *line)
{
    if (th_send_line(c, line) < 0)
        return NULL;
    return th_recv_json(c);
}

const char *th_error_code(const json_t *resp)
{
    json_t *e = json_object_get(resp, "error");
    return json_string_value(json_object_get(e, "code"));
}

/* ---- added for the reload, crash and corruption tests ------------------ */

pid_t th_spawn(const char *const argv[], const char *log_path)
{
    int fd = -1;
    pid_t pid;

    if (log_path != NULL) {
        fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
    }
    pid = spawn(argv, fd, fd);
    if (fd >= 0)
        close(fd);
    return pid;
}

int th_wait(pid_t pid)
{
    int ws;

    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return -1;
    return decode_status(ws);
}

void th_path(char *out, size_t cap, const th *h, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", h->dir, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "harness: path %s/%s too long\n", h->dir, name);
        abort();
    }
}

void th_write_text(const char *path, const char *text)
{
    if (th_write_file(path, text, strlen(text)) != 0) {
        fprintf(stderr, "harness: cannot write %s: %s\n", path,
                strerror(errno));
        abort();
    }
}

void th_make_dir(const th *h, const char *name)
{
    char path[4096];
    th_path(path, sizeof(path), h, name);
    const char *argv[] = {"/bin/mkdir", "-p", path, NULL};
    th_result r;
    int status = th_run(&r, argv);
    th_result_free(&r);
    if (status != 0) {
        fprintf(stderr, "harness: mkdir -p %s failed\n", path);
        abort();
    }
}

int th_write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const char *s = p;

    if (fd < 0)
        return -1;
    while (n > 0) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            close(fd);
            return -1;
        }
        s += k;
        n -= (size_t)k;
    }
    return close(fd);
}

char *th_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *s;
    size_t done = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || (s = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return NULL;
    }
    while (done < (size_t)st.st_size) {
        ssize_t k = read(fd, s + done, (size_t)st.st_size - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    close(fd);
    s[done] = '\0';
    if (len != NULL)
        *len = done;
    return s;
}

long long th_now_ms(void)
{
    return now_ms();
}

void th_sleep_ms(int ms)
{
    sleep_ms(ms);
}

json_t *th_get_doc(th_conn *c, const char *id)
{
    char req[512];
    snprintf(req, sizeof(req), "{\"op\":\"get\",\"doc\":\"%s\"}", id);
    json_t *r = th_request(c, req);
    if (r == NULL || !json_is_true(json_object_get(r, "ok"))) {
        fprintf(stderr, "harness: get %s: %s\n", id,
                r != NULL ? "not ok" : "no answer");
        abort();
    }
    return r;
}

char *th_get_body(th_conn *c, const char *id)
{
    char req[512];
    snprintf(req, sizeof(req), "{\"op\":\"get\",\"doc\":\"%s\"}", id);
    json_t *r = th_request(c, req);
    char *out = NULL;
    if (r != NULL && json_is_true(json_object_get(r, "ok"))) {
        const char *b = th_doc_field(r, "body");
        out = strdup(b != NULL ? b : "");
    } else if (r == NULL || th_error_code(r) == NULL ||
               strcmp(th_error_code(r), "not_found") != 0) {
        fprintf(stderr, "harness: get %s: %s\n", id,
                r != NULL ? "neither ok nor not_found" : "no answer");
        abort();
    }
    json_decref(r);
    return out;
}

void th_expect_body(th_conn *c, const char *id, const char *want)
{
    char *got = th_get_body(c, id);
    if ((want == NULL) != (got == NULL) ||
        (want != NULL && strcmp(got, want) != 0)) {
        fprintf(stderr, "harness: body of %s: got %s%s%s, want %s%s%s\n", id,
                got ? "\"" : "", got ? got : "not found", got ? "\"" : "",
                want ? "\"" : "", want ? want : "not found", want ? "\"" : "");
        abort();
    }
    free(got);
}

void th_reload(th_conn *c)
{
    json_t *r = th_request(c, "{\"op\":\"reload\"}");
    if (r == NULL || !json_is_true(json_object_get(r, "ok"))) {
        fprintf(stderr, "harness: reload: %s\n", r != NULL ? "not ok" : "no answer");
        abort();
    }
    json_decref(r);
}

const char *th_doc_field(const json_t *resp, const char *name)
{
    return json_string_value(
        json_object_get(json_object_get(resp, "doc"), name));
}

/* The ok answer to {"op":OP,"q":Q<extra>} (q JSON-encoded, extra
 * members as written); aborts if q is not UTF-8 or the answer not ok. */
static json_t *query_ok(th_conn *c, const char *op, const char *q,
                        const char *extra)
{
    char req[1024];
    json_t *qs = json_string(q);
    char *enc = qs != NULL ? json_dumps(qs, JSON_ENCODE_ANY) : NULL;
    json_decref(qs);
    if (enc == NULL) {
        fprintf(stderr, "harness: %s %s: not UTF-8\n", op, q);
        abort();
    }
    snprintf(req, sizeof(req), "{\"op\":\"%s\",\"q\":%s%s}", op, enc,
             extra);
    free(enc);
    json_t *r = th_request(c, req);
    if (r == NULL || !json_is_true(json_object_get(r, "ok"))) {
        fprintf(stderr, "harness: %s %s: not ok\n", op, q);
        abort();
    }
    return r;
}

int th_count(th_conn *c, const char *q)
{
    json_t *r = query_ok(c, "count", q, "");
    if (!json_is_integer(json_object_get(r, "count"))) {
        fprintf(stderr, "harness: count %s: no count in the answer\n", q);
        abort();
    }
    int n = (int)json_integer_value(json_object_get(r, "count"));
    json_decref(r);
    return n;
}

const char *th_hit_ids(th_conn *c, const char *q, char *scores, size_t cap)
{
    static char out[1024];
    json_t *r = query_ok(c, "search", q, "");
    size_t o = 0, so = 0, i;
    json_t *h;
    out[0] = '\0';
    if (scores != NULL && cap > 0)
        scores[0] = '\0';
    json_array_foreach(json_object_get(r, "hits"), i, h) {
        if (o < sizeof(out))
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
                                  i ? " " : "",
                                  json_string_value(json_object_get(h, "id")));
        if (scores != NULL && so < cap)
            so += (size_t)snprintf(
                scores + so, cap - so, "%s%.9f", i ? " " : "",
                json_real_value(json_object_get(h, "score")));
    }
    json_decref(r);
    return out;
}

const char *th_highlights(th_conn *c, const char *q, const char *id)
{
    static char out[512];
    json_t *r = query_ok(c, "search", q, ",\"snippet\":true");
    json_t *hits = json_object_get(r, "hits"), *h;
    size_t i, o = 0;
    out[0] = '\0';
    json_array_foreach(hits, i, h) {
        if (strcmp(json_string_value(json_object_get(h, "id")), id) != 0)
            continue;
        const char *s = json_string_value(json_object_get(h, "snippet"));
        json_t *rg;
        size_t k;
        json_array_foreach(json_object_get(h, "highlights"), k, rg) {
            size_t a = (size_t)json_integer_value(json_array_get(rg, 0));
            size_t b = (size_t)json_integer_value(json_array_get(rg, 1));
            if (s == NULL || a >= b || b > strlen(s)) {
                fprintf(stderr, "harness: %s: bad highlight [%zu, %zu)\n",
                        q, a, b);
                abort();
            }
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s",
                                  k ? "|" : "", (int)(b - a), s + a);
        }
    }
    json_decref(r);
    return out;
}

int th_is_stopped(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp != NULL && rp[1] == ' ' && rp[2] == 'T';
}
