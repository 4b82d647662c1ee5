/*
 * Integration tests from the ninth acceptance sweep: the environment a
 * user runs trawl in (TERM, XDG_RUNTIME_DIR, an index trawld's user may
 * not read, stdout on a full device) and text people write (Chinese and
 * Japanese snippets, which have no spaces to wrap at).
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* An environment variable set (value) or unset (NULL) for a test, and put
 * back afterwards. */
typedef struct saved_env {
    const char *name;
    char *old; /* malloc'd, or NULL when it was unset */
} saved_env;

static void env_set(saved_env *s, const char *name, const char *value)
{
    const char *old = getenv(name);
    s->name = name;
    s->old = old ? strdup(old) : NULL;
    if (value != NULL)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static void env_restore(saved_env *s)
{
    if (s->old != NULL)
        setenv(s->name, s->old, 1);
    else
        unsetenv(s->name);
    free(s->old);
}

/* Index a small JSON Lines corpus into h->index. */
static void index_text(th *h, const char *jsonl)
{
    char path[256];
    th_path(path, sizeof(path), h, "corpus.jsonl");
    th_write_text(path, jsonl);
    assert_int_equal(th_index(h, (const char *[]){path, NULL}, NULL), 0);
}

/*
 * Run `trawl --socket h->sock args...` with its stdout and stderr on a
 * pseudo-terminal (as in an interactive shell); the bytes it wrote
 * (malloc'd) and its exit status.
 */
static char *run_on_terminal(th *h, const char *const args[], int *status)
{
    int master, slave;
    char prog[512];
    const char *argv[16];
    size_t n = 0;

    assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
    snprintf(prog, sizeof(prog), "%s/trawl", th_bin_dir());
    argv[n++] = prog;
    argv[n++] = "--socket";
    argv[n++] = h->sock;
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(master);
        setsid();
        dup2(slave, 1);
        dup2(slave, 2);
        if (slave > 2)
            close(slave);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(slave);
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    assert_non_null(out);
    for (;;) {
        if (len + 1024 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        ssize_t k = read(master, out + len, cap - len - 1);
        if (k > 0)
            len += (size_t)k;
        else if (k < 0 && errno == EINTR)
            continue;
        else
            break; /* EIO once the child closed its side */
    }
    out[len] = '\0';
    close(master);
    *status = th_wait(pid);
    return out;
}

/*
 * On a terminal whose TERM is "dumb" (Emacs' shell and compilation
 * buffers, some CI consoles and editors' terminals) or unset, trawl
 * wrote color escapes that show as "^[[1;31m" garbage; grep and others
 * use no colors there. An ordinary terminal still gets them.
 */
static void test_dumb_terminal_has_no_colors(void **state)
{
    (void)state;
    th h;
    saved_env term, nc;

    assert_int_equal(th_init(&h), 0);
    index_text(&h, "{\"id\":\"a\",\"title\":\"Storm warning\","
                   "\"body\":\"A storm reached the harbor.\"}\n");
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    env_set(&nc, "NO_COLOR", NULL);

    static const struct {
        const char *term;
        int colored;
    } cases[] = {{"xterm-256color", 1}, {"dumb", 0}, {NULL, 0}, {"", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        env_set(&term, "TERM", cases[i].term);
        int st;
        char *out = run_on_terminal(&h, (const char *[]){"storm", NULL}, &st);
        env_restore(&term);
        if (st != 0 || strstr(out, "harbor") == NULL)
            fail_msg("TERM=%s: exit %d: %s", cases[i].term, st, out);
        if ((strchr(out, '\033') != NULL) != cases[i].colored)
            fail_msg("TERM=%s: %s escapes: %s",
                     cases[i].term ? cases[i].term : "(unset)",
                     cases[i].colored ? "no" : "color", out);
        free(out);
    }
    env_restore(&nc);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* Terminal columns of one line of UTF-8 (East Asian wide = 2). */
static int line_columns(const char *s, size_t n)
{
    int cols = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        long cp;
        size_t k;
        if (c < 0x80) {
            cp = c;
            k = 1;
        } else if (c >= 0xF0) {
            cp = c & 0x07;
            k = 4;
        } else if (c >= 0xE0) {
            cp = c & 0x0F;
            k = 3;
        } else {
            cp = c & 0x1F;
            k = 2;
        }
        for (size_t j = 1; j < k && i + j < n; j++)
            cp = (cp << 6) | ((unsigned char)s[i + j] & 0x3F);
        cols += cp >= 0x2E80 && cp <= 0xFFDC ? 2 : 1;
        i += k;
    }
    return cols;
}

/*
 * A Chinese or Japanese snippet has no spaces, and trawl wrapped only at
 * spaces: the whole snippet (about 66 characters, 132 columns) went out
 * as one line, which the terminal folded past the indentation. Such
 * text is now broken between characters: no line is wider than the 80
 * columns of a pipe, and every snippet line keeps the indentation. A
 * long URL stays whole (copied from the terminal, it stays one piece).
 */
static void test_wide_words_are_wrapped(void **state)
{
    (void)state;
    th h;
    th_result r;
    char jsonl[4096];

    assert_int_equal(th_init(&h), 0);
    snprintf(jsonl, sizeof(jsonl),
             "{\"id\":\"zh\",\"title\":\"zh\",\"body\":\"%s\"}\n"
             "{\"id\":\"ja\",\"title\":\"ja\",\"body\":\"%s\"}\n"
             "{\"id\":\"url\",\"title\":\"url\",\"body\":\"see "
             "https://example.org/%s and the harbor\"}\n",
             "北京时间今天上午，中国国家主席习近平在人民大会堂会见了来访的"
             "美国总统。双方就两国关系和共同关心的国际地区问题深入交换了"
             "意见。会谈在友好气氛中进行。",
             "東京都は新型コロナウイルスの感染者を確認したと発表しました。"
             "東京都内の病院では医療体制が逼迫しています。",
             "harbor-report-on-the-storm-of-the-century-and-what-came-"
             "after-it-for-the-fishing-fleet-and-the-ferries-2024-03-05");
    index_text(&h, jsonl);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_client(&h, &r, (const char *[]){"harbor", NULL});
    if (r.status != 0 ||
        strstr(r.out, " https://example.org/harbor-report-on-the-storm-of-"
                      "the-century-and-what-came-after-it-for-the-fishing-"
                      "fleet-and-the-ferries-2024-03-05\n") == NULL)
        fail_msg("the URL was broken: %s", r.out);
    th_result_free(&r);
    const char *queries[] = {"北京", "東京都"};
    for (size_t q = 0; q < 2; q++) {
        th_client(&h, &r, (const char *[]){queries[q], NULL});
        if (r.status != 0)
            fail_msg("%s: exit %d: %s", queries[q], r.status, r.err);
        int snippet_lines = 0;
        for (const char *p = r.out; *p != '\0';) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (line_columns(p, n) > 80)
                fail_msg("%s: a line of %d columns: %.*s\n(all: %s)",
                         queries[q], line_columns(p, n), (int)n, p, r.out);
            if (n > 4 && strncmp(p, "    ", 4) == 0 && p[4] != ' ')
                snippet_lines++;
            p += n + (e != NULL);
        }
        /* the id line and at least two lines of snippet */
        if (snippet_lines < 3)
            fail_msg("%s: snippet not wrapped: %s", queries[q], r.out);
        th_result_free(&r);
    }
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* chmod every entry of dir (not recursive) and dir itself. */
static void chmod_dir(const char *dir, mode_t dmode, mode_t fmode)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        assert_int_equal(chmod(p, fmode), 0);
    }
    closedir(d);
    assert_int_equal(chmod(dir, dmode), 0);
}

/*
 * trawld running as another user than trawl-index (a service account;
 * the index written under umask 077) cannot read the index. trawld
 * logged "no index yet", `trawl --stats` said "no index loaded yet" and
 * the client advised to rebuild the index, which would not help. Now
 * trawld says it cannot serve the index (and why), the client says to
 * make it readable, and once it is, trawld serves it without a restart.
 */
static void test_unreadable_index_is_not_missing(void **state)
{
    (void)state;
    th h;
    th_result r;
    char path[256];
    int root = geteuid() == 0;

    assert_int_equal(th_init(&h), 0);
    th_path(path, sizeof(path), &h, "corpus.jsonl");
    th_write_text(path, "{\"id\":\"a\",\"title\":\"Storm\","
                        "\"body\":\"A storm reached the harbor.\"}\n");
    mode_t old = umask(077);
    int rc = th_index(&h, (const char *[]){path, NULL}, NULL);
    umask(old);
    assert_int_equal(rc, 0);

    if (root) {
        /* trawld as nobody, its socket in a directory of its own */
        char sockdir[256], prog[512];
        th_path(sockdir, sizeof(sockdir), &h, "nb");
        th_make_dir(&h, "nb");
        assert_int_equal(chmod(h.dir, 0755), 0);
        assert_int_equal(chown(sockdir, 65534, 65534), 0);
        th_path(h.sock, sizeof(h.sock), &h, "nb/s.sock");
        snprintf(prog, sizeof(prog), "%s/trawld", th_bin_dir());
        int log = open(h.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(log >= 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            dup2(log, 2);
            int fd = open("/dev/null", O_RDWR);
            dup2(fd, 0);
            dup2(fd, 1);
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
                setuid(65534) != 0)
                _exit(126);
            execl(prog, prog, "--index", h.index, "--socket", h.sock,
                  (char *)NULL);
            _exit(127);
        }
        close(log);
        h.pid = pid;
        th_conn c;
        int up = -1;
        for (int ms = 0; ms < 15000 && up != 0; ms += 20) {
            if ((up = th_connect_path(h.sock, &c)) != 0)
                th_sleep_ms(20);
        }
        if (up != 0)
            fail_msg("trawld as nobody never listened: %s", th_daemon_log(&h));
        th_close(&c);
    } else {
        char cur[256];
        th_path(cur, sizeof(cur), &h, "index/CURRENT");
        assert_int_equal(chmod(cur, 0), 0);
        assert_int_equal(th_daemon_start(&h, NULL), 0);
    }

    th_client(&h, &r, (const char *[]){"-c", "storm", NULL});
    if (r.status != 2 || strstr(r.err, "Permission denied") == NULL ||
        strstr(r.err, "cannot read the index") == NULL ||
        strstr(r.err, "rebuild") != NULL)
        fail_msg("exit %d: %s", r.status, r.err);
    th_result_free(&r);
    th_client(&h, &r, (const char *[]){"--stats", NULL});
    if (r.status != 0 || strstr(r.out, "none served") == NULL ||
        strstr(r.out, "Permission denied") == NULL)
        fail_msg("--stats: exit %d: %s", r.status, r.out);
    th_result_free(&r);
    char *log = th_daemon_log(&h);
    if (strstr(log, "cannot serve the index") == NULL ||
        strstr(log, "no index yet") != NULL)
        fail_msg("log: %s", log);
    free(log);

    /* made readable: served without a restart */
    chmod_dir(h.index, 0755, 0644);
    int served = 0;
    for (int ms = 0; ms < 10000 && !served; ms += 100) {
        th_client(&h, &r, (const char *[]){"-c", "storm", NULL});
        served = r.status == 0 && strcmp(r.out, "1\n") == 0;
        th_result_free(&r);
        if (!served)
            th_sleep_ms(100);
    }
    assert_true(served);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * A relative $XDG_RUNTIME_DIR is invalid (the XDG Base Directory
 * specification says to ignore it); trawld failed to start (bind
 * "rel/trawl.sock": no such directory) and trawl looked there. Both now
 * fall back to ./trawl.sock.
 */
static void test_relative_xdg_runtime_dir_is_ignored(void **state)
{
    (void)state;
    th h;
    th_result r;
    saved_env xdg, ts;
    char cwd[1024];

    assert_int_equal(th_init(&h), 0);
    index_text(&h, "{\"id\":\"a\",\"title\":\"Storm\","
                   "\"body\":\"A storm reached the harbor.\"}\n");
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(h.dir), 0);
    env_set(&xdg, "XDG_RUNTIME_DIR", "run-not-there");
    env_set(&ts, "TRAWL_SOCKET", NULL);

    const char *argv[] = {"trawld", "--index", h.index, NULL};
    h.pid = th_spawn(argv, h.log);
    assert_true(h.pid > 0);
    th_conn c;
    int up = -1;
    for (int ms = 0; ms < 15000 && up != 0; ms += 20) {
        int w;
        if (waitpid(h.pid, &w, WNOHANG) == h.pid) {
            h.pid = 0;
            break;
        }
        if ((up = th_connect(&h, &c)) != 0) /* h.sock is DIR/trawl.sock */
            th_sleep_ms(20);
    }
    char *log = th_daemon_log(&h);
    if (up != 0)
        fail_msg("trawld did not listen on ./trawl.sock: %s", log);
    th_close(&c);
    free(log);

    th_run(&r, (const char *[]){"trawl", "--ping", NULL});
    if (r.status != 0 || strstr(r.out, "./trawl.sock") == NULL)
        fail_msg("trawl --ping: exit %d: %s%s", r.status, r.out, r.err);
    th_result_free(&r);

    env_restore(&ts);
    env_restore(&xdg);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * `trawl --help > /dev/full` and `trawl --version > /dev/full` exited 0
 * with nothing written; like a search whose results cannot be written
 * they now exit 2.
 */
static void test_help_to_a_full_device(void **state)
{
    (void)state;
    const char *opts[] = {"--help", "--version"};
    for (size_t i = 0; i < 2; i++) {
        const char *argv[] = {"trawl", opts[i], NULL};
        pid_t pid = th_spawn(argv, "/dev/full");
        assert_true(pid > 0);
        int st = th_wait(pid);
        if (st != 2)
            fail_msg("trawl %s > /dev/full: exit %d", opts[i], st);
    }
}

/*
 * `trawl -s INDEX_DIR` (the index directory given for the socket) or a
 * regular file there said "Connection refused (is trawld running?...)"
 * while trawld ran fine on its socket. The client now says the path is
 * not a socket.
 */
static void test_socket_path_that_is_not_a_socket(void **state)
{
    (void)state;
    th h;
    th_result r;
    char file[256];

    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "index");
    th_path(file, sizeof(file), &h, "notes.txt");
    th_write_text(file, "not a socket\n");
    const struct {
        const char *path, *want;
    } cases[] = {{h.index, "is a directory, not a socket"},
                 {file, "is a file, not a socket"}};
    for (size_t i = 0; i < 2; i++) {
        th_run(&r, (const char *[]){"trawl", "--socket", cases[i].path,
                                    "--ping", NULL});
        if (r.status != 2 || strstr(r.err, cases[i].want) == NULL)
            fail_msg("trawl -s %s: exit %d: %s", cases[i].path, r.status,
                     r.err);
        th_result_free(&r);
    }
    th_cleanup(&h);
}

/* A socket file at path that nobody listens on (a killed trawld's). */
static void make_stale_socket(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
}

/*
 * Two trawlds started at once on one socket path (a stale socket file
 * there, or none) could both run: each found no listener (the other had
 * bound but not listened yet, or the file was stale), the second removed
 * the first's socket and bound its own, and the first served nothing
 * from then on, silently (1 start in 20 here). The check, the bind and
 * the listen now hold a lock on the socket's directory: trawld waits
 * for it, and of two, one serves and the other says another trawld
 * listens and exits 1.
 */
static void test_two_daemons_started_at_once(void **state)
{
    (void)state;
    th h;

    assert_int_equal(th_init(&h), 0);
    index_text(&h, "{\"id\":\"a\",\"title\":\"Storm\","
                   "\"body\":\"A storm reached the harbor.\"}\n");
    const char *argv[] = {"trawld", "--index", h.index, "--socket", h.sock,
                          NULL};

    /* the lock is honoured: no socket while someone holds it */
    int dfd = open(h.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    assert_int_equal(flock(dfd, LOCK_EX), 0);
    make_stale_socket(h.sock);
    h.pid = th_spawn(argv, h.log);
    assert_true(h.pid > 0);
    th_sleep_ms(300);
    th_conn c;
    if (th_connect(&h, &c) == 0)
        fail_msg("trawld listened while its socket's directory was locked");
    close(dfd);
    int up = -1;
    for (int ms = 0; ms < 15000 && up != 0; ms += 20)
        if ((up = th_connect(&h, &c)) != 0)
            th_sleep_ms(20);
    assert_int_equal(up, 0);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* two at once, over a stale socket: one serves, the other exits 1 */
    for (int round = 0; round < 8; round++) {
        make_stale_socket(h.sock);
        pid_t p[2];
        for (int k = 0; k < 2; k++) {
            p[k] = th_spawn(argv, h.log);
            assert_true(p[k] > 0);
        }
        int gone = -1, st = -1;
        for (int ms = 0; ms < 10000 && gone < 0; ms += 10) {
            for (int k = 0; k < 2 && gone < 0; k++) {
                int w;
                if (waitpid(p[k], &w, WNOHANG) == p[k]) {
                    gone = k;
                    st = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
                }
            }
            if (gone < 0)
                th_sleep_ms(10);
        }
        if (gone < 0) {
            kill(p[0], SIGKILL);
            kill(p[1], SIGKILL);
            waitpid(p[0], NULL, 0);
            waitpid(p[1], NULL, 0);
            fail_msg("round %d: both trawlds still run after 10 s", round);
        }
        h.pid = p[1 - gone];
        assert_int_equal(st, 1);
        assert_int_equal(th_connect(&h, &c), 0);
        json_t *resp = th_request(&c, "{\"op\":\"ping\"}");
        assert_non_null(resp);
        json_decref(resp);
        th_close(&c);
        assert_int_equal(th_daemon_stop(&h), 0);
    }
    th_cleanup(&h);
}

/*
 * Dates do not move with the user's time zone or locale (checked by the
 * ninth sweep, kept as a guard: nothing may start using localtime or
 * setlocale): the same articles indexed under TZ=Asia/Kolkata (+05:30)
 * and TZ=UTC-14 (+14) with LC_ALL=tr_TR.UTF-8 give byte-identical
 * segments, and trawl under TZ=America/St_Johns (-03:30) shows an
 * article dated 2024-03-05T23:30Z (by its header, and one by its file's
 * modification time) on 2024-03-05, and date:2024-03-05 finds both.
 */
static void test_time_zone_and_locale_do_not_move_dates(void **state)
{
    (void)state;
    th h;
    th_result r;
    char dir[256], text[256], seg[2][1 << 14];
    size_t seglen[2];
    saved_env tz, lc;
    static const char *const zones[] = {"Asia/Kolkata", "UTC-14"};

    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "news");
    th_path(dir, sizeof(dir), &h, "news");
    th_path(text, sizeof(text), &h, "news/header.txt");
    th_write_text(text, "Title: Late storm\nDate: 2024-03-05 23:30\n\n"
                        "A storm at night.\n");
    th_path(text, sizeof(text), &h, "news/mtime.txt");
    th_write_text(text, "Late storm two\n\nAnother storm at night.\n");
    struct timespec ts[2] = {{1709681400, 0}, {1709681400, 0}};
    assert_int_equal(utimensat(AT_FDCWD, text, ts, 0), 0);

    env_set(&lc, "LC_ALL", "tr_TR.UTF-8");
    for (int z = 0; z < 2; z++) {
        char idx[256], name[64];
        snprintf(name, sizeof(name), "idx%d", z);
        th_path(idx, sizeof(idx), &h, name);
        env_set(&tz, "TZ", zones[z]);
        th_run(&r, (const char *[]){"trawl-index", "--quiet", "--index", idx,
                                    dir, NULL});
        env_restore(&tz);
        assert_int_equal(r.status, 0);
        th_result_free(&r);
        char segp[300];
        snprintf(segp, sizeof(segp), "%s/seg-000001-00.trs", idx);
        char *b = th_read_file(segp, &seglen[z]);
        assert_non_null(b);
        assert_true(seglen[z] <= sizeof(seg[z]));
        memcpy(seg[z], b, seglen[z]);
        free(b);
    }
    if (seglen[0] != seglen[1] || memcmp(seg[0], seg[1], seglen[0]) != 0)
        fail_msg("segments differ between TZ=%s and TZ=%s", zones[0],
                 zones[1]);

    th_run(&r, (const char *[]){"trawl-index", "--quiet", "--index", h.index,
                                dir, NULL});
    assert_int_equal(r.status, 0);
    th_result_free(&r);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    env_set(&tz, "TZ", "America/St_Johns");
    th_client(&h, &r, (const char *[]){"-l", "storm date:2024-03-05", NULL});
    if (r.status != 0 || strcmp(r.out, "header.txt\nmtime.txt\n") != 0)
        fail_msg("date:2024-03-05: exit %d: %s%s", r.status, r.out, r.err);
    th_result_free(&r);
    th_client(&h, &r, (const char *[]){"--no-snippet", "storm", NULL});
    const char *p = r.out;
    int dated = 0;
    while ((p = strstr(p, "  2024-03-05  ")) != NULL) {
        dated++;
        p++;
    }
    if (r.status != 0 || dated != 2)
        fail_msg("trawl storm: exit %d: %s", r.status, r.out);
    th_result_free(&r);
    env_restore(&tz);
    env_restore(&lc);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dumb_terminal_has_no_colors),
        cmocka_unit_test(test_wide_words_are_wrapped),
        cmocka_unit_test(test_unreadable_index_is_not_missing),
        cmocka_unit_test(test_relative_xdg_runtime_dir_is_ignored),
        cmocka_unit_test(test_help_to_a_full_device),
        cmocka_unit_test(test_socket_path_that_is_not_a_socket),
        cmocka_unit_test(test_two_daemons_started_at_once),
        cmocka_unit_test(test_time_zone_and_locale_do_not_move_dates),
    };
    return cmocka_run_group_tests_name("sweep9", tests, NULL, NULL);
}
