// Harness implementation: fork/exec with logs under the build tree,
// SIGTERM-then-wait shutdown, libpq helpers. RR_IT_WRAPPER (e.g.
// "valgrind --error-exitcode=99 --leak-check=full") prefixes server commands.
#include "it_harness.h"

#include "cli_center.h"
#include "rr_natid.h"

#include <pthread.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Every process the harness started and has not reaped: killed at exit,
// so that a failed assertion never leaves servers running (or holding
// ctest's output pipe open).
#define MAX_SPAWNED 64
static pid_t spawned[MAX_SPAWNED];

static void
kill_leftovers(void)
{
    for (int i = 0; i < MAX_SPAWNED; i++) {
        if (spawned[i] > 0) {
            kill(spawned[i], SIGKILL);
            waitpid(spawned[i], NULL, 0);
            spawned[i] = 0;
        }
    }
}

static void
track(pid_t pid, bool add)
{
    static bool registered = false;
    if (!registered) {
        atexit(kill_leftovers);
        registered = true;
    }
    for (int i = 0; i < MAX_SPAWNED; i++) {
        if (add ? spawned[i] == 0 : spawned[i] == pid) {
            spawned[i] = add ? pid : 0;
            return;
        }
    }
}

static void
die(const char *what, const char *detail)
{
    fprintf(stderr, "harness: %s: %s\n", what, detail ? detail : "");
    exit(99);
}

// mkdir -p: creates path and its missing parents.
static void
make_dirs(const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                die("cannot create folder", buf);
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        die("cannot create folder", buf);
    }
}

static const char *
env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        die("missing environment variable", name);
    }
    return v;
}

long long
it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
it_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

long
it_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "it_cpu_ms: cannot read %s\n", path);
        abort();
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    // Fields after "(comm) ": state is the 3rd, utime the 14th, stime the 15th.
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
        fprintf(stderr, "it_cpu_ms: cannot parse %s\n", path);
        abort();
    }
    return (long) ((ut + st) * 1000 / (unsigned long long) sysconf(_SC_CLK_TCK));
}

int
it_cmp_long(const void *a, const void *b)
{
    long x = *(const long *) a, y = *(const long *) b;
    return (x > y) - (x < y);
}

void
it_db_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "harness: %s\n", sql);
        die("query failed", PQresultErrorMessage(res));
    }
    PQclear(res);
}

void
it_stack_init(it_stack *s, const char *name, int slot)
{
    memset(s, 0, sizeof *s);
    int base = atoi(env_or_die("RR_IT_PORT_BASE"));
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->pghost, sizeof s->pghost, "%s", env_or_die("RR_IT_PGHOST"));
    snprintf(s->frontend, sizeof s->frontend, "tcp://127.0.0.1:%d", base + 2 * slot);
    snprintf(s->backend, sizeof s->backend, "tcp://127.0.0.1:%d", base + 2 * slot + 1);
    snprintf(s->http, sizeof s->http, "127.0.0.1:%d", base + 200 + slot);
    snprintf(s->logdir, sizeof s->logdir, "%s/%s", env_or_die("RR_IT_LOGDIR"), name);
    make_dirs(s->logdir);

    char admin[700];
    snprintf(admin, sizeof admin, "host=%s user=postgres dbname=postgres", s->pghost);
    PGconn *conn = PQconnectdb(admin);
    if (PQstatus(conn) != CONNECTION_OK) {
        die("cannot connect to the fixture cluster", PQerrorMessage(conn));
    }
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"it_%s\" WITH (FORCE)", name);
    it_db_exec(conn, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"it_%s\" TEMPLATE referral_template", name);
    it_db_exec(conn, sql);
    PQfinish(conn);
    snprintf(s->conninfo, sizeof s->conninfo, "host=%s user=postgres dbname=it_%s", s->pghost,
             name);
}

PGconn *
it_db(const it_stack *s)
{
    PGconn *conn = PQconnectdb(s->conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        die("cannot connect to the test database", PQerrorMessage(conn));
    }
    it_db_exec(conn, "SET search_path = referral");
    return conn;
}

long long
it_db_scalar(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "harness: %s\n", sql);
        die("scalar query failed", PQresultErrorMessage(res));
    }
    long long v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

long long
it_db_referrals_without_history(PGconn *conn)
{
    return it_db_scalar(conn,
                        "SELECT count(*) FROM referral r WHERE NOT EXISTS (SELECT 1"
                        " FROM referral_event e WHERE e.referral_id = r.id)",
                        0, NULL);
}

// Starts argv with output to log, after the prefix words (NULL: none; a
// command that runs the rest, as "ip netns exec NAME" does) and the
// wrapper's, if any.
static void
spawn(it_proc *p, const char *name, const char *log, const char *const *prefix, char *const *argv)
{
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log, sizeof p->log, "%s", log);
    char *words[64];
    int n = 0;
    for (int i = 0; prefix && prefix[i] && n < 8; i++) {
        words[n++] = (char *) prefix[i];
    }
    char wrapper[512] = "";
    const char *w = getenv("RR_IT_WRAPPER");
    if (w != NULL && w[0] != '\0') {
        snprintf(wrapper, sizeof wrapper, "%s", w);
        char *save = NULL;
        for (char *tok = strtok_r(wrapper, " ", &save); tok && n < 40;
             tok = strtok_r(NULL, " ", &save)) {
            words[n++] = tok;
        }
    }
    for (int i = 0; argv[i] && n < 63; i++) {
        words[n++] = argv[i];
    }
    words[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        die("fork failed", strerror(errno));
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0) {
            fprintf(stderr, "cannot open log %s: %s\n", log, strerror(errno));
            _exit(126);
        }
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        execvp(words[0], words);
        fprintf(stderr, "exec %s failed: %s\n", words[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    track(pid, true);
}

void
it_broker_start(it_stack *s, const char *const *extra)
{
    char *argv[40];
    int n = 0;
    argv[n++] = (char *) env_or_die("RR_BROKER_BIN");
    argv[n++] = "--frontend";
    argv[n++] = s->frontend;
    argv[n++] = "--backend";
    argv[n++] = s->backend;
    argv[n++] = "--http";
    argv[n++] = s->http;
    bool secure = false;
    for (int i = 0; extra && extra[i] && n < 37; i++) {
        argv[n++] = (char *) extra[i];
        secure |= strcmp(extra[i], "--curve-key-file") == 0;
    }
    if (!secure) {
        argv[n++] = "--insecure"; // the tests of authentication say otherwise
    }
    argv[n] = NULL;
    char log[600];
    snprintf(log, sizeof log, "%s/broker.log", s->logdir);
    unlink(log);
    spawn(&s->broker, "broker", log, NULL, argv);
    if (secure) {
        // Only registered keys may ping: wait for the monitor instead.
        if (!it_wait_http(s, "/healthz", 200, "", 30000)) {
            die("broker did not come up", log);
        }
        return;
    }
    // Ready when it answers a ping.
    const char *eps[] = {s->frontend};
    cli_center *c = cli_center_new(eps, 1);
    long long deadline = it_now_ms() + 30000;
    bool up = false;
    while (c && !up && it_now_ms() < deadline) {
        rr_wire_call answer;
        if (cli_center_call_raw(c, RR_CMD_PING, "ping", "", 0, 500, &answer) == RR_OK) {
            up = answer.command == RR_CMD_PING;
            rr_wire_call_close(&answer);
        }
    }
    cli_center_destroy(&c);
    if (!up) {
        die("broker did not come up", log);
    }
}

int
it_worker_start(it_stack *s, const char *domain, const char *const *extra)
{
    return it_worker_start_in(s, NULL, domain, NULL, extra);
}

int
it_worker_start_in(it_stack *s, const char *netns, const char *domain, const char *conninfo,
                   const char *const *extra)
{
    if (s->nworkers >= IT_MAX_WORKERS) {
        die("too many workers", domain);
    }
    char *argv[40];
    int n = 0;
    argv[n++] = (char *) env_or_die("RR_WORKER_BIN");
    argv[n++] = "--domain";
    argv[n++] = (char *) domain;
    argv[n++] = "--broker";
    argv[n++] = s->backend;
    argv[n++] = "--db";
    argv[n++] = conninfo != NULL ? (char *) conninfo : s->conninfo;
    for (int i = 0; extra && extra[i] && n < 38; i++) {
        argv[n++] = (char *) extra[i];
    }
    argv[n] = NULL;
    int idx = s->nworkers++;
    char log[600], name[64];
    snprintf(log, sizeof log, "%s/worker-%d-%s.log", s->logdir, idx, domain);
    snprintf(name, sizeof name, "worker-%d-%s", idx, domain);
    unlink(log);
    const char *const in_netns[] = {"ip", "netns", "exec", netns, NULL};
    spawn(&s->workers[idx], name, log, netns != NULL ? in_netns : NULL, argv);
    return idx;
}

bool
it_stack_start(it_stack *s, const char *name, int slot, const char *const *broker_extra,
               const char *const *worker_extra)
{
    it_stack_init(s, name, slot);
    it_broker_start(s, broker_extra);
    static const char *const domains[] = {"prevention", "rehabilitation", "social"};
    for (int i = 0; i < 3; i++) {
        it_worker_start(s, domains[i], worker_extra);
    }
    return it_wait_workers(s, 3, 30000);
}

bool
it_file_count(const char *path, const char *needle, int min)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return min <= 0;
    }
    int count = 0;
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, needle) != NULL) {
            count++;
        }
    }
    fclose(f);
    return count >= min;
}

bool
it_wait_workers(it_stack *s, int n, int timeout_ms)
{
    // A bare name sums the series of every domain.
    return it_wait_metric(s, "referral_workers_registered", n, timeout_ms);
}

int
it_proc_stop(it_proc *p, int sig, int timeout_ms)
{
    if (p->pid <= 0) {
        return 0;
    }
    kill(p->pid, sig);
    long long deadline = it_now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            break;
        }
        if (it_now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            fprintf(stderr, "harness: %s did not stop in %d ms\n", p->name, timeout_ms);
            track(p->pid, false);
            p->pid = 0;
            return -1;
        }
        it_sleep_ms(20);
    }
    track(p->pid, false);
    p->pid = 0;
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + WTERMSIG(status);
}

bool
it_stack_stop(it_stack *s)
{
    bool clean = true;
    for (int i = 0; i < s->nworkers; i++) {
        if (s->workers[i].pid > 0) {
            int rc = it_proc_stop(&s->workers[i], SIGTERM, 30000);
            if (rc != 0) {
                fprintf(stderr, "harness: %s exited with %d (log %s)\n", s->workers[i].name, rc,
                        s->workers[i].log);
                clean = false;
            }
        }
    }
    if (s->broker.pid > 0) {
        int rc = it_proc_stop(&s->broker, SIGTERM, 30000);
        if (rc != 0) {
            fprintf(stderr, "harness: broker exited with %d (log %s)\n", rc, s->broker.log);
            clean = false;
        }
    }
    return clean;
}

#include "rr_uuid.h"

static uint32_t natid_base; // set once (choose_natid_base), then read only

static void
choose_natid_base(void)
{
    char idtext[RR_UUID_TEXT_LEN + 1];
    rr_uuid_generate(idtext);
    natid_base = (uint32_t) (strtoul(idtext, NULL, 16) % 1000000000u); // its first 8 hex digits
}

void
it_request_init(it_request *r, unsigned center, const char *service, const char *tag)
{
    memset(r, 0, sizeof *r);
    rr__v1__submit_request__init(&r->req);
    rr_uuid_generate(r->request_id);
    snprintf(r->household, sizeof r->household, "H-%u-%s", center, tag);
    r->req.request_id = r->request_id;
    r->req.center_code = center;
    // A national id with a correct check digit, never the same twice in a
    // process (per-person services would call a second request of the same
    // person a duplicate): a random base, then one after the other.
    static atomic_uint next;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int rc = pthread_once(&once, choose_natid_base);
    assert(rc == 0);
    (void) rc;
    for (;;) {
        unsigned n = atomic_fetch_add(&next, 1);
        snprintf(r->national_id, sizeof r->national_id, "%09u",
                 (unsigned) ((natid_base + (uint64_t) n) % 1000000000u));
        r->national_id[9] = rr_natid_check_digit(r->national_id);
        r->national_id[10] = '\0';
        bool same = true;
        for (int i = 1; i < 10; i++) {
            same &= r->national_id[i] == r->national_id[0];
        }
        if (!same) {
            break; // ten identical digits are refused
        }
    }
    r->req.national_id = r->national_id;
    r->req.household_id = r->household;
    r->req.service_code = (char *) service;
    r->req.priority = RR__V1__PRIORITY__PRIORITY_ROUTINE;
    r->req.note = "";
    r->req.consent = true;
}

// pg_ctl on the fixture's cluster: stop, or start with its own options
// (a unix socket only) and the extra server options given.
static bool
pg_ctl(const char *action, const char *extra)
{
    char cmd[2048];
    const char *dir = env_or_die("RR_IT_PGHOST");
    const char *bin = env_or_die("RR_IT_PGBIN");
    const char *as = getuid() == 0 ? "runuser -u postgres -- " : "";
    int n;
    if (strcmp(action, "stop") == 0) {
        n = snprintf(cmd, sizeof cmd, "%s%s/pg_ctl -D %s/data -m fast -w stop >/dev/null", as, bin,
                     dir);
    } else {
        n = snprintf(cmd, sizeof cmd,
                     "%s%s/pg_ctl -D %s/data -l %s/server.log -w -o \"-k %s -c listen_addresses='' "
                     "-c max_connections=200 %s\" start >/dev/null",
                     as, bin, dir, dir, dir, extra);
    }
    return n > 0 && (size_t) n < sizeof cmd && system(cmd) == 0;
}

bool
it_pg_ctl(const char *action)
{
    return pg_ctl(action, "");
}

bool
it_pg_listen(const char *addresses, const char *hba_file)
{
    char extra[1024] = "";
    if (addresses != NULL) {
        int n = snprintf(extra, sizeof extra, "-c listen_addresses='%s' -c hba_file='%s'",
                         addresses, hba_file);
        if (n < 0 || (size_t) n >= sizeof extra) {
            return false;
        }
    }
    return pg_ctl("stop", NULL) && pg_ctl("start", extra);
}

// Reads f to its end into buf (cap bytes, NUL-terminated; the rest is
// dropped).
static void
read_all(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        if (got == 0) {
            break;
        }
        n += got;
    }
    buf[n] = '\0';
}

void
it_ctl(const it_stack *s, const char *conninfo, const char *args, it_ctl_run *run)
{
    const char *bin = getenv("RR_CTL_BIN");
    char errpath[600], cmd[2048];
    int e = snprintf(errpath, sizeof errpath, "%s/ctl.stderr", s->logdir);
    int n = snprintf(cmd, sizeof cmd, "'%s' %s --db '%s' 2>'%s'", bin ? bin : "", args, conninfo,
                     errpath);
    if (bin == NULL || e < 0 || (size_t) e >= sizeof errpath || n < 0 || (size_t) n >= sizeof cmd) {
        fprintf(stderr, "it_ctl: RR_CTL_BIN unset or command too long\n");
        abort();
    }
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        fprintf(stderr, "it_ctl: cannot run %s: %s\n", bin, strerror(errno));
        abort();
    }
    read_all(p, run->out, sizeof run->out);
    int ws = pclose(p);
    run->status = ws != -1 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    FILE *f = fopen(errpath, "r");
    if (f == NULL) {
        fprintf(stderr, "it_ctl: cannot read %s: %s\n", errpath, strerror(errno));
        abort();
    }
    read_all(f, run->err, sizeof run->err);
    (void) fclose(f); // read only
}

int
it_run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096], full[4200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof cmd) {
        fprintf(stderr, "it_run: command too long\n");
        abort();
    }
    snprintf(full, sizeof full, "( %s ) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (p == NULL) {
        return -1;
    }
    size_t got = fread(out, 1, cap - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
