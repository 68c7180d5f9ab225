// Fault test: a worker host cut off from the network under 500 requests/s,
// then plugged back; ends with the reconciliation (fault_load.h).
//
// Design (docs/OPERATIONS.md, "Workers on other hosts"). Two network
// namespaces stand for two worker machines, rr-<pid>-w1 and rr-<pid>-w2
// (tests/fault/netns.sh): each has its own lo and an eth0, NET.2 and NET.3
// /24, whose veth peer is a port of a bridge in the root namespace holding
// NET.1, the address of the machine with the broker and PostgreSQL. The
// broker binds its back end to NET.1 (one address, as on a real LAN: no
// broker change needed) and the fixture's PostgreSQL, restarted for the
// test, listens there too, so that a cut takes a worker's broker and its
// database together, as a real partition does. Centers stay on loopback.
// NET is 10.213.X with X from the build's port base (one range per build
// tree), refused by netns.sh if the machine already uses it.
//
// The cut unplugs w1's bridge port: w1's eth0 loses carrier and packets stop
// both ways with no reset and no error on either side (a cable pulled at the
// switch); nothing is killed. Inserts are held (LOCK TABLE) until a w1
// worker's statement waits inside PostgreSQL, then the link is cut (the
// fault's mark) and the lock released: that statement commits with its
// answer stuck behind the cut, the in-doubt COMMIT. The broker expires w1's
// workers after 3 missed heartbeats of 200 ms and redelivers their requests
// to w2's, whose write under the same request_id returns the row w1
// committed. The cut lasts CUT_MS, past the worker's 10 s statement deadline,
// so w1's worker gives its connection up as in doubt; healed, w1's workers
// register again. Everything made (namespaces, links, bridge, PostgreSQL's
// listening address, processes) is removed in the teardown, pass or fail.
#include "fault_load.h"
#include "it_harness.h"
#include "rr_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    SLOT = 49,
    HOSTS = 2,
    CLIENTS = 24, // 8 per domain: those waiting on w1 do not stop the rate
    RATE = 500,
    BUDGET_MS = 40000,
    CUT_MS = 12000, // past the worker's statement deadline (10 s)
};

static const char *const domains[] = {"prevention", "rehabilitation", "social"};

// Broker and workers notice a lost peer within 3 × 200 ms.
static const char *const fast[] = {"--heartbeat-ms", "200", NULL};

// What the test made, for the teardown to undo.
static struct {
    char run[16];  // names the namespaces and links: the test's pid
    char net[16];  // the first three octets of the hosts' network
    char hba[600]; // the client rules PostgreSQL reads while listening on NET.1
    bool hosts, listening, stack;
    it_stack s;
    PGconn *lock; // holds inserts while open
} made;

// Runs netns.sh with arguments args; true when it succeeded (its output on
// stderr otherwise).
static bool
netns(const char *args)
{
    char out[4096];
    int rc = it_run(out, sizeof out, "%s %s", RR_NETNS_SH, args);
    if (rc != 0) {
        fprintf(stderr, "# netns.sh %s: exit %d\n%s", args, rc, out);
    }
    return rc == 0;
}

// PostgreSQL backends of host h's workers (by their address) in state
// "waiting on a lock" (lock true) or not idle (lock false).
static long long
backends_of_host(PGconn *db, int h, bool lock)
{
    char addr[32];
    snprintf(addr, sizeof addr, "%s.%d", made.net, h + 1);
    const char *params[] = {addr};
    return it_db_scalar(db,
                        lock ? "SELECT count(*) FROM pg_stat_activity WHERE client_addr = $1::inet"
                               " AND wait_event_type = 'Lock'"
                             : "SELECT count(*) FROM pg_stat_activity WHERE client_addr = $1::inet"
                               " AND state <> 'idle'",
                        1, params);
}

// The transaction ids of host h's statements waiting on a lock, as
// "xid,xid,..." in out (cap bytes); fails the test when it cannot be read.
static void
waiting_xids(PGconn *db, int h, char *out, size_t cap)
{
    char addr[32];
    snprintf(addr, sizeof addr, "%s.%d", made.net, h + 1);
    const char *params[] = {addr};
    PGresult *res = PQexecParams(db,
                                 "SELECT coalesce(string_agg(backend_xid::text, ','), '') FROM"
                                 " pg_stat_activity WHERE client_addr = $1::inet"
                                 " AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL",
                                 1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
              strlen(PQgetvalue(res, 0, 0)) < cap;
    if (ok) {
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    } else {
        fprintf(stderr, "# waiting_xids: %s", PQerrorMessage(db));
    }
    PQclear(res);
    assert_true(ok);
}

// Waits until host h has a statement waiting on a lock (lock true), or none
// running (lock false); true when it happened within timeout_ms.
static bool
wait_backends(PGconn *db, int h, bool lock, int timeout_ms)
{
    long long deadline = it_now_ms() + timeout_ms;
    for (;;) {
        long long n = backends_of_host(db, h, lock);
        if (lock ? n > 0 : n == 0) {
            return true;
        }
        if (it_now_ms() > deadline) {
            return false;
        }
        it_sleep_ms(10);
    }
}

// The sum of a counter of the broker's view (/api/v1/workers, as the
// workers' heartbeats report it) over s->workers[first..first+count), or -1
// when the view cannot be read.
static long
worker_counter(const it_stack *s, int first, int count, const char *name)
{
    static char body[65536];
    int port = atoi(strrchr(s->http, ':') + 1);
    if (it_http_get(port, "/api/v1/workers", body, sizeof body) != 200) {
        return -1;
    }
    json_t *doc = json_loads(body, 0, NULL);
    long sum = 0;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(doc, "workers"), i, w)
    {
        json_int_t pid = json_integer_value(json_object_get(w, "pid"));
        for (int k = first; k < first + count; k++) {
            if (s->workers[k].pid == (pid_t) pid) {
                sum += (long) json_integer_value(json_object_get(w, name));
            }
        }
    }
    json_decref(doc);
    return doc != NULL ? sum : -1;
}

// The hosts, PostgreSQL listening on NET.1 for them, the broker's back end
// on NET.1, and three workers (one per domain) on each host.
static void
bring_up(it_stack *s)
{
    assert_int_equal(getuid(), 0); // namespaces and links need root
    it_stack_init(s, "f_partition", SLOT);
    made.stack = true;
    const char *port_base = getenv("RR_IT_PORT_BASE"); // it_stack_init checked it
    int base = port_base != NULL ? atoi(port_base) : 0;
    assert_true(base > 0);
    snprintf(made.run, sizeof made.run, "%d", (int) getpid());
    snprintf(made.net, sizeof made.net, "10.213.%d", base / 100 % 256);

    char args[128];
    snprintf(args, sizeof args, "up %s %s %d", made.run, made.net, HOSTS);
    made.hosts = true; // half made is still to be removed
    assert_true(netns(args));

    // The fixture's client rules, and the hosts' network trusted as its
    // unix socket is.
    char out[256];
    snprintf(made.hba, sizeof made.hba, "%s/hba-partition-%s.conf", s->pghost, made.run);
    assert_int_equal(it_run(out, sizeof out,
                            "cp %s/data/pg_hba.conf %s && echo 'host all all %s.0/24 trust' >> %s"
                            " && chmod 644 %s",
                            s->pghost, made.hba, made.net, made.hba, made.hba),
                     0);
    char server[32];
    snprintf(server, sizeof server, "%s.1", made.net);
    made.listening = true;
    assert_true(it_pg_listen(server, made.hba));

    snprintf(s->backend, sizeof s->backend, "tcp://%s:%d", server, base + 2 * SLOT + 1);
    it_broker_start(s, fast);
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "host=%s user=postgres dbname=it_%s", server, s->name);
    for (int h = 1; h <= HOSTS; h++) {
        char ns[32];
        snprintf(ns, sizeof ns, "rr-%s-w%d", made.run, h);
        for (int d = 0; d < 3; d++) {
            (void) it_worker_start_in(s, ns, domains[d], conninfo, fast);
        }
    }
    assert_true(it_wait_workers(s, 3 * HOSTS, 30000));
}

static void
test_worker_host_partitioned(void **state)
{
    (void) state;
    it_stack *s = &made.s;
    bring_up(s);
    fault_load_opts o = {.clients = CLIENTS, .rate = RATE, .budget_ms = BUDGET_MS, .tag = "NP"};
    fault_load *load = fault_load_start_with(s, &o);
    assert_non_null(load);
    fault_load_wait_acked(load, 1000, 20000);

    // Catch a statement of host 1 inside PostgreSQL, then cut host 1 off
    // and let the statement commit: its answer cannot reach the worker.
    PGconn *db = it_db(s);
    made.lock = it_db(s);
    it_db_exec(made.lock, "BEGIN; LOCK TABLE referral IN SHARE ROW EXCLUSIVE MODE");
    assert_true(wait_backends(db, 1, true, 5000));
    char args[64];
    snprintf(args, sizeof args, "cut %s 1", made.run);
    assert_true(netns(args));
    long long cut = it_now_ms();
    fault_load_mark(load);
    long long waiting = backends_of_host(db, 1, true);
    char xids[2048];
    waiting_xids(db, 1, xids, sizeof xids);
    it_db_exec(made.lock, "ROLLBACK");
    PQfinish(made.lock);
    made.lock = NULL;
    // Committed (nothing of host 1 still runs) with nobody to tell: the rows
    // those transactions wrote (counted now, before the broker gives up on
    // host 1, so before host 2's writes of the same requests).
    assert_true(wait_backends(db, 1, false, 5000));
    const char *xid_param[] = {xids};
    long long in_doubt = it_db_scalar(
        db, "SELECT count(*) FROM referral WHERE xmin::text = ANY (string_to_array($1, ','))", 1,
        xid_param);
    assert_true(in_doubt > 0);

    // The broker gives host 1's workers up and host 2's take their requests.
    assert_true(it_wait_metric(s, "referral_workers_expired_total", 3, 5000));
    assert_true(it_wait_metric_equal(s, "referral_workers_registered", 3, 2000));
    assert_true(it_wait_metric(s, "referral_redelivered_total", 1, 2000));
    long at = fault_load_acked(load);
    fault_load_wait_acked(load, at + 1000, 10000);
    while (it_now_ms() < cut + CUT_MS) {
        it_sleep_ms(100);
    }
    assert_true(it_metric(s, "referral_workers_registered") == 3); // still cut off

    // Plugged back: host 1's workers register again and serve.
    snprintf(args, sizeof args, "heal %s 1", made.run);
    assert_true(netns(args));
    long long healed = it_now_ms();
    assert_true(it_wait_workers(s, 3 * HOSTS, 20000));
    long long back = it_now_ms() - healed;
    for (int d = 0; d < 3; d++) {
        char series[96];
        snprintf(series, sizeof series, "referral_workers_registered{domain=\"%s\"}", domains[d]);
        assert_true(it_metric(s, series) == HOSTS);
    }
    // The worker whose statement was cut off gave its connection up (in
    // doubt) and made a new one: its heartbeats say so.
    long long until = it_now_ms() + 5000;
    long reconnects = worker_counter(s, 0, 3, "db_reconnects_total");
    while (reconnects < 1 && it_now_ms() < until) {
        it_sleep_ms(100);
        reconnects = worker_counter(s, 0, 3, "db_reconnects_total");
    }
    long processed = worker_counter(s, 0, 3, "processed_total");
    at = fault_load_acked(load);
    fault_load_wait_acked(load, at + 1000, 20000);
    // Host 1's workers take their share again (their next heartbeats).
    until = it_now_ms() + 2000;
    long processed_after = worker_counter(s, 0, 3, "processed_total");
    while (processed_after <= processed && it_now_ms() < until) {
        it_sleep_ms(100);
        processed_after = worker_counter(s, 0, 3, "processed_total");
    }

    PQfinish(db);
    printf("# partition: %lld statement(s) of host 1 waiting in PostgreSQL at the cut, then"
           " committed with their answers cut off: %lld referrals (the reconciliation checks each"
           " was acknowledged with its row's id); host 1's workers registered again %lld ms after"
           " the heal, %ld database reconnection(s) among them, and processed %ld requests"
           " while the next 1,000 were acknowledged\n",
           waiting, in_doubt, back, reconnects, processed_after - processed);
    assert_true(reconnects >= 1);
    assert_true(processed >= 0 && processed_after > processed);
    fault_report r;
    fault_load_settle(&load, s, "worker host partitioned for 12 s (link cut, not killed)", &r);
    made.stack = false;
    assert_true(it_stack_stop(s));
}

// Undoes what bring_up made, whatever happened: the processes first (a
// namespace lives on while a process is in it), then PostgreSQL's own
// settings, then the hosts.
static int
tear_down(void **state)
{
    (void) state;
    bool ok = true;
    PQfinish(made.lock); // the workers' statements must not wait on it
    made.lock = NULL;
    if (made.stack) {
        // The test has failed already: no clean exits to wait for (a worker
        // cut off mid-statement would take its 10 s deadline to stop).
        for (int k = 0; k < made.s.nworkers; k++) {
            (void) it_proc_stop(&made.s.workers[k], SIGKILL, 5000);
        }
        (void) it_proc_stop(&made.s.broker, SIGKILL, 5000);
        made.stack = false;
    }
    if (made.listening) {
        ok &= it_pg_listen(NULL, NULL);
        made.listening = false;
    }
    if (made.hba[0] != '\0') {
        (void) unlink(made.hba); // absent when the copy failed
        made.hba[0] = '\0';
    }
    if (made.hosts) {
        char args[64];
        snprintf(args, sizeof args, "down %s", made.run);
        ok &= netns(args);
        made.hosts = false;
    }
    return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_worker_host_partitioned, tear_down),
    };
    if (argc > 1) {
        cmocka_set_test_filter(argv[1]);
    }
    rr_log_init("fault", RR_LOG_ERROR, false); // the clients' retries are expected here
    return cmocka_run_group_tests_name("fault_partition", tests, NULL, NULL);
}
