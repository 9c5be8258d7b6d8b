/* Loops, servers, connections and the blocking client
 * (scheduler/net/net.h, client.h), in one process over loopback: frames
 * both ways with values checked against what was sent; refusal of a wrong
 * secret, a stranger, a truncated frame, an oversized length, another
 * version and a silent peer, each logged with its reason while a good
 * client keeps working; the blocking client; 50 concurrent clients; posts
 * in order; timers; address parsing. Waits are on condition variables
 * (with a generous deadline that fails the test), never sleeps. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "em_rawsock.h"
#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "scheduler/net/auth.h"
#include "scheduler/net/client.h"
#include "scheduler/net/frame.h"
#include "scheduler/net/net.h"

#define WAIT_S 30 /* a wait longer than this fails the test */
#define MAX_LOG 256
#define ECHO_OFFSET 1000 /* the echo server answers type t with t + this */

/* ---- shared state, under mu ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char logs[MAX_LOG][300];
static int nlogs;

typedef struct counts {
    int opens, frames, closes;
    char last_reason[300];
} counts;

static counts srv; /* what the server's handler saw */
static counts cli; /* what the client's handler saw */
static em_arena *cli_arena;
static em_val cli_got[512];
static int cli_types[512];

static em__secret key_a, key_b;

static void reset_state(void)
{
    pthread_mutex_lock(&mu);
    nlogs = 0;
    memset(&srv, 0, sizeof(srv));
    memset(&cli, 0, sizeof(cli));
    pthread_mutex_unlock(&mu);
    EM_CHECK(em__secret_from_bytes("secret-a", 8, &key_a));
    EM_CHECK(em__secret_from_bytes("secret-b", 8, &key_b));
}

static void log_hook(int level, const char *msg)
{
    pthread_mutex_lock(&mu);
    if (nlogs < MAX_LOG)
        snprintf(logs[nlogs++], sizeof(logs[0]), "%d %s", level, msg);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits (mu held) until pred() holds; fails after WAIT_S seconds. */
static void wait_locked(bool (*pred)(void *), void *arg, const char *what)
{
    struct timespec dl;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_S;
    while (!pred(arg)) {
        if (pthread_cond_timedwait(&cv, &mu, &dl) != 0 && !pred(arg)) {
            pthread_mutex_unlock(&mu);
            fail_msg("timed out waiting for %s", what);
        }
    }
}

static void wait_for(bool (*pred)(void *), void *arg, const char *what)
{
    pthread_mutex_lock(&mu);
    wait_locked(pred, arg, what);
    pthread_mutex_unlock(&mu);
}

/* The index of the first log line containing s, or -1 (mu held). */
static int find_log(const char *s)
{
    for (int i = 0; i < nlogs; i++)
        if (strstr(logs[i], s) != NULL)
            return i;
    return -1;
}

static bool has_log(void *s)
{
    return find_log(s) >= 0;
}

static bool int_reaches(void *arg)
{
    int *p = ((int **)arg)[0], *want = ((int **)arg)[1];

    return *p >= *want;
}

/* Waits until *p >= want. */
static void wait_count(int *p, int want, const char *what)
{
    int *args[2] = {p, &want};

    wait_for(int_reaches, args, what);
}

/* ---- the echo server's handler ---- */

static void srv_open(em__conn *c, void *ud)
{
    pthread_mutex_lock(&mu);
    srv.opens++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    /* the server speaks first: a welcome frame */
    EM_CHECK(em__conn_send(c, 1, em_cstr("welcome")));
}

static em_status srv_frame(em__conn *c, int type, em_val body, void *ud)
{
    pthread_mutex_lock(&mu);
    srv.frames++;
    pthread_mutex_unlock(&mu);
    if (type == 666)
        return em__err(EM_EINVAL, "message type 666 is not allowed");
    return em__conn_send(c, type + ECHO_OFFSET, body);
}

static void srv_close(em__conn *c, const char *reason, void *ud)
{
    pthread_mutex_lock(&mu);
    srv.closes++;
    snprintf(srv.last_reason, sizeof(srv.last_reason), "%s", reason);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static const em__conn_handler echo_handler = {srv_open, srv_frame, srv_close};

/* ---- the client's handler (a connection on the loop) ---- */

static int sent_n = 100; /* frames the client sends on open */

/* The i-th test value: an int, a string, a pair, alternately. */
static em_val value_of(em_arena *a, int i)
{
    char s[32];
    em_val v;

    switch (i % 3) {
    case 0:
        return em_int((int64_t)i * 1000003);
    case 1:
        snprintf(s, sizeof(s), "value-%d", i);
        EM_CHECK(em_str_copy(a, s, strlen(s), &v));
        return v;
    default:
        EM_CHECK(em_pair_make(a, em_int(i), em_float(i / 4.0), &v));
        return v;
    }
}

static void cli_open(em__conn *c, void *ud)
{
    em_arena *a = em_arena_create();

    pthread_mutex_lock(&mu);
    cli.opens++;
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < sent_n; i++)
        EM_CHECK(em__conn_send(c, i, value_of(a, i)));
    em_arena_destroy(a);
}

static em_status cli_frame(em__conn *c, int type, em_val body, void *ud)
{
    pthread_mutex_lock(&mu);
    if (cli.frames < 512) {
        cli_types[cli.frames] = type;
        EM_CHECK(em_val_copy(cli_arena, body, &cli_got[cli.frames]));
    }
    cli.frames++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return EM_OK;
}

static void cli_close(em__conn *c, const char *reason, void *ud)
{
    pthread_mutex_lock(&mu);
    cli.closes++;
    snprintf(cli.last_reason, sizeof(cli.last_reason), "%s", reason);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static const em__conn_handler cli_handler = {cli_open, cli_frame, cli_close};

/* Connecting from the loop thread: a post. */
typedef struct connect_arg {
    em__loop *l;
    int port;
    const em__secret *key;
    em__conn *conn;
} connect_arg;

static void do_connect(void *arg)
{
    connect_arg *ca = arg;

    ca->conn = em__conn_connect(ca->l, "127.0.0.1", ca->port, ca->key,
                                &cli_handler, NULL);
    assert_non_null(ca->conn);
}

static void do_close(void *arg)
{
    em__conn_close(arg, "done");
}

/* A loop thread with an echo server on 127.0.0.1; returns the port. */
static em__loop *start_server(int64_t handshake_ms, size_t max_frame, int *port)
{
    em__loop *l = em__loop_create();
    em__server *s;

    assert_non_null(l);
    s = em__server_listen(l, "127.0.0.1", 0, &key_a, &echo_handler, NULL);
    if (s == NULL)
        fail_msg("listen: %s", em_last_error());
    em__server_set_limits(s, max_frame, handshake_ms);
    *port = em__server_port(s);
    assert_true(*port > 0);
    EM_CHECK(em__loop_start(l));
    return l;
}

/* ---- cases: connections on the loop ---- */

static void test_net_echo_both_ways(void **state)
{
    connect_arg ca;
    em_arena *want = em_arena_create();
    int port;
    em__loop *l;

    (void)state;
    reset_state();
    em__net_set_log(log_hook);
    cli_arena = em_arena_create();
    l = start_server(0, 0, &port);
    ca = (connect_arg){l, port, &key_a, NULL};
    EM_CHECK(em__loop_post(l, do_connect, &ca));
    wait_count(&cli.frames, sent_n + 1, "the echoes");
    pthread_mutex_lock(&mu);
    /* first the welcome, then every frame echoed in order */
    assert_int_equal(cli_types[0], 1);
    assert_true(em_val_eq(cli_got[0], em_cstr("welcome")));
    for (int i = 0; i < sent_n; i++) {
        assert_int_equal(cli_types[i + 1], i + ECHO_OFFSET);
        assert_true(em_val_eq(cli_got[i + 1], value_of(want, i)));
    }
    assert_int_equal(srv.opens, 1);
    assert_int_equal(srv.frames, sent_n);
    assert_int_equal(cli.opens, 1);
    pthread_mutex_unlock(&mu);
    EM_CHECK(em__loop_post(l, do_close, ca.conn));
    wait_count(&cli.closes, 1, "the client's close");
    wait_count(&srv.closes, 1, "the server's close");
    pthread_mutex_lock(&mu);
    assert_string_equal(cli.last_reason, "done");
    assert_string_equal(srv.last_reason, "closed by peer");
    assert_true(find_log("authenticated") >= 0);
    pthread_mutex_unlock(&mu);
    em__loop_destroy(l);
    assert_int_equal(cli.closes, 1); /* exactly once */
    assert_int_equal(srv.closes, 1);
    em__net_set_log(NULL);
    em_arena_destroy(cli_arena);
    em_arena_destroy(want);
}

static void test_net_wrong_secret_refused(void **state)
{
    connect_arg ca;
    int port;
    em__loop *l;

    (void)state;
    reset_state();
    em__net_set_log(log_hook);
    cli_arena = em_arena_create();
    l = start_server(0, 0, &port);
    ca = (connect_arg){l, port, &key_b, NULL};
    EM_CHECK(em__loop_post(l, do_connect, &ca));
    wait_count(&cli.closes, 1, "the refusal");
    wait_for(has_log, "authentication failed", "the server's log line");
    pthread_mutex_lock(&mu);
    assert_non_null(strstr(cli.last_reason, "refused authentication"));
    assert_int_equal(cli.opens, 0);
    assert_int_equal(srv.opens, 0);
    assert_int_equal(srv.frames, 0);
    assert_int_equal(srv.closes, 0);
    /* "2 127.0.0.1:PORT: authentication failed" at the warning level */
    assert_true(strncmp(logs[find_log("authentication failed")],
                        "2 127.0.0.1:", 12) == 0);
    pthread_mutex_unlock(&mu);
    em__loop_destroy(l);
    assert_int_equal(cli.closes, 1);
    em__net_set_log(NULL);
    em_arena_destroy(cli_arena);
}

static void test_net_connect_refused_and_destroy(void **state)
{
    connect_arg ca;
    int port;
    em__loop *l;

    (void)state;
    reset_state();
    cli_arena = em_arena_create();
    l = start_server(0, 0, &port);
    /* a port nobody listens on: the listener's port after it closed */
    {
        em__loop *l2 = em__loop_create();
        em__server *s2 =
            em__server_listen(l2, "127.0.0.1", 0, &key_a, &echo_handler, NULL);

        assert_non_null(s2);
        ca = (connect_arg){l, em__server_port(s2), &key_a, NULL};
        em__loop_destroy(l2);
    }
    EM_CHECK(em__loop_post(l, do_connect, &ca));
    wait_count(&cli.closes, 1, "the refused connect");
    pthread_mutex_lock(&mu);
    assert_non_null(strstr(cli.last_reason, "connection refused"));
    assert_non_null(strstr(cli.last_reason, "connect to 127.0.0.1:"));
    pthread_mutex_unlock(&mu);
    /* an open connection is closed by destroying the loop */
    sent_n = 0;
    ca.port = port;
    EM_CHECK(em__loop_post(l, do_connect, &ca));
    wait_count(&cli.frames, 1, "the welcome");
    em__loop_destroy(l);
    sent_n = 100;
    assert_int_equal(cli.closes, 2);
    assert_string_equal(cli.last_reason, "loop destroyed");
    assert_int_equal(srv.closes, 1);
    assert_string_equal(srv.last_reason, "loop destroyed");
    em_arena_destroy(cli_arena);
}

/* ---- peers that break the protocol (em_rawsock.h) ---- */

/* The good client: one round trip through the blocking client. */
static void good_round_trip(em__sclient *sc, int i)
{
    em_arena *a = em_arena_create();
    em_val body;
    int type;

    EM_CHECK(em__sclient_send(sc, i, em_int(i * 7)));
    EM_CHECK(em__sclient_recv(sc, a, &type, &body, WAIT_S * 1000));
    assert_int_equal(type, i + ECHO_OFFSET);
    assert_true(em_val_eq(body, em_int(i * 7)));
    em_arena_destroy(a);
}

static void test_net_bad_peers_logged(void **state)
{
    static const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t v7[8] = {0, 0, 0, 4, 0x93, 0x07, 0x05, 0xc0};
    static const uint8_t part[6] = {0, 0, 0, 9, 0x93, 0x01};
    em_test_rng rng = {7};
    uint8_t junk[100], welcome[32];
    em__sclient *good;
    em_val body;
    int port, fd, type;
    em__loop *l;
    em_arena *a = em_arena_create();

    (void)state;
    reset_state();
    em__net_set_log(log_hook);
    l = start_server(300, 0, &port); /* short handshake deadline */
    good = em__sclient_connect("127.0.0.1", port, &key_a, WAIT_S * 1000);
    if (good == NULL)
        fail_msg("connect: %s", em_last_error());
    EM_CHECK(em__sclient_recv(good, a, &type, &body, WAIT_S * 1000));
    assert_int_equal(type, 1); /* the welcome */
    good_round_trip(good, 1);

    /* random bytes: refused at the magic */
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)em_test_below(&rng, 256);
    junk[0] = 'X';
    fd = em_raw_connect(port, WAIT_S);
    em_raw_send(fd, junk, sizeof(junk));
    em_raw_expect_close(fd);
    wait_for(has_log, "not an Ember peer (bad magic)", "the magic refusal");
    good_round_trip(good, 2);

    /* an oversized length, after authenticating */
    fd = em_raw_connect(port, WAIT_S);
    em_raw_auth(fd, &key_a);
    em_raw_recv_exact(fd, welcome, 4 + 11); /* 00 00 00 0b 93 01 01 a7 ... */
    em_raw_send(fd, huge, sizeof(huge));
    em_raw_expect_close(fd);
    wait_for(has_log, "frame of 4294967295 bytes exceeds the limit",
             "the oversized frame");
    good_round_trip(good, 3);

    /* another protocol version */
    fd = em_raw_connect(port, WAIT_S);
    em_raw_auth(fd, &key_a);
    em_raw_send(fd, v7, sizeof(v7));
    em_raw_expect_close(fd);
    wait_for(has_log, "protocol version 7, expected 1", "the version");
    good_round_trip(good, 4);

    /* a truncated frame, then the peer closes */
    fd = em_raw_connect(port, WAIT_S);
    em_raw_auth(fd, &key_a);
    em_raw_send(fd, part, sizeof(part));
    shutdown(fd, SHUT_WR);
    em_raw_expect_close(fd);
    wait_for(has_log, "closed by peer in the middle of a frame (6 bytes",
             "the truncated frame");
    good_round_trip(good, 5);

    /* a peer that never speaks */
    fd = em_raw_connect(port, WAIT_S);
    em_raw_expect_close(fd);
    wait_for(has_log, "handshake timed out", "the silent peer");
    good_round_trip(good, 6);

    /* a handler error closes with its message */
    EM_CHECK(em__sclient_send(good, 666, em_nil()));
    assert_int_equal(em__sclient_recv(good, a, &type, &body, WAIT_S * 1000),
                     EM_EIO);
    assert_non_null(strstr(em_last_error(), "closed by peer"));
    wait_for(has_log, "message type 666 is not allowed", "the handler error");

    pthread_mutex_lock(&mu);
    /* every line names the peer, and problems are warnings */
    assert_true(
        strncmp(logs[find_log("not an Ember peer")], "2 127.0.0.1:", 12) == 0);
    assert_true(
        strncmp(logs[find_log("protocol version 7")], "2 127.0.0.1:", 12) == 0);
    /* the stranger and the silent peer never reached the handler; the good
     * client and three authenticated raw peers did */
    assert_int_equal(srv.opens, 4);
    pthread_mutex_unlock(&mu);
    wait_count(&srv.closes, 4, "the server's closes");
    em__sclient_close(good);
    em__loop_destroy(l);
    em__net_set_log(NULL);
    em_arena_destroy(a);
}

/* ---- the blocking client ---- */

static void test_net_blocking_client(void **state)
{
    em_arena *a = em_arena_create(), *want = em_arena_create();
    em__sclient *sc;
    em_val body;
    int port, type;
    em__loop *l;

    (void)state;
    reset_state();
    l = start_server(0, 0, &port);
    sc = em__sclient_connect("127.0.0.1", port, &key_a, WAIT_S * 1000);
    if (sc == NULL)
        fail_msg("connect: %s", em_last_error());
    assert_non_null(strstr(em__sclient_peer(sc), "127.0.0.1:"));
    EM_CHECK(em__sclient_recv(sc, a, &type, &body, WAIT_S * 1000));
    assert_int_equal(type, 1);
    assert_true(em_val_eq(body, em_cstr("welcome")));
    /* nothing more has arrived: a poll times out, the client stays usable */
    assert_int_equal(em__sclient_recv(sc, a, &type, &body, 0), EM_ETIMEOUT);
    /* a burst, then the answers */
    for (int i = 0; i < 60; i++)
        EM_CHECK(em__sclient_send(sc, i, value_of(want, i)));
    for (int i = 0; i < 60; i++) {
        EM_CHECK(em__sclient_recv(sc, a, &type, &body, WAIT_S * 1000));
        assert_int_equal(type, i + ECHO_OFFSET);
        assert_true(em_val_eq(body, value_of(want, i)));
    }
    em__arena_reset(a);
    em__sclient_close(sc);
    /* a wrong secret */
    assert_null(em__sclient_connect("127.0.0.1", port, &key_b, 5000));
    assert_non_null(strstr(em_last_error(), "refused authentication"));
    /* the server goes away: recv reports it */
    sc = em__sclient_connect("127.0.0.1", port, &key_a, WAIT_S * 1000);
    assert_non_null(sc);
    em__loop_destroy(l);
    EM_CHECK(em__sclient_recv(sc, a, &type, &body, WAIT_S * 1000));
    assert_int_equal(em__sclient_recv(sc, a, &type, &body, WAIT_S * 1000),
                     EM_EIO);
    assert_non_null(strstr(em_last_error(), "closed by peer"));
    assert_int_equal(em__sclient_send(sc, 1, em_nil()), EM_ESTATE);
    em__sclient_close(sc);
    /* nobody listens there now */
    assert_null(em__sclient_connect("127.0.0.1", port, &key_a, 5000));
    assert_non_null(strstr(em_last_error(), "connection refused"));
    assert_null(em__sclient_connect("127.0.0.1", 0, &key_a, 5000));
    assert_non_null(strstr(em_last_error(), "bad address"));
    em_arena_destroy(a);
    em_arena_destroy(want);
}

/* ---- 50 concurrent clients ---- */

#define NCLIENTS 50
#define PER_CLIENT 20

typedef struct client_job {
    int port, id;
    int ok; /* frames answered correctly */
} client_job;

static void *client_thread(void *arg)
{
    client_job *j = arg;
    em_arena *a = em_arena_create();
    em__sclient *sc =
        em__sclient_connect("127.0.0.1", j->port, &key_a, WAIT_S * 1000);
    em_val body;
    int type;

    if (sc == NULL || em__sclient_recv(sc, a, &type, &body, WAIT_S * 1000))
        goto out;
    for (int i = 0; i < PER_CLIENT; i++) {
        int64_t x = (int64_t)j->id * 1000 + i;

        if (em__sclient_send(sc, j->id, em_int(x)) != EM_OK ||
            em__sclient_recv(sc, a, &type, &body, WAIT_S * 1000) != EM_OK)
            break;
        if (type == j->id + ECHO_OFFSET && em_val_eq(body, em_int(x)))
            j->ok++;
    }
out:
    em__sclient_close(sc);
    em_arena_destroy(a);
    return NULL;
}

static void test_net_concurrent_clients(void **state)
{
    pthread_t th[NCLIENTS];
    client_job jobs[NCLIENTS];
    int port;
    em__loop *l;

    (void)state;
    reset_state();
    l = start_server(0, 0, &port);
    for (int i = 0; i < NCLIENTS; i++) {
        jobs[i] = (client_job){port, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, client_thread, &jobs[i]),
                         0);
    }
    for (int i = 0; i < NCLIENTS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].ok, PER_CLIENT);
    }
    wait_count(&srv.closes, NCLIENTS, "every server-side close");
    assert_int_equal(srv.opens, NCLIENTS);
    assert_int_equal(srv.frames, NCLIENTS * PER_CLIENT);
    em__loop_destroy(l);
}

/* ---- posts and timers ---- */

#define POSTERS 4
#define POSTS 2000

typedef struct post_log {
    int seq[POSTERS * POSTS]; /* poster * POSTS + i, in the order run */
    int n;                    /* only the loop thread writes */
    em__loop *l;
} post_log;

typedef struct post_arg {
    post_log *pl;
    int code;
} post_arg;

static post_arg post_args[POSTERS * POSTS];

static void record(void *arg)
{
    post_arg *p = arg;

    p->pl->seq[p->pl->n++] = p->code;
    if (p->pl->n == POSTERS * POSTS)
        em__loop_stop(p->pl->l);
}

typedef struct poster {
    post_log *pl;
    int id;
} poster;

static void *post_thread(void *arg)
{
    poster *p = arg;

    for (int i = 0; i < POSTS; i++) {
        post_arg *a = &post_args[p->id * POSTS + i];

        a->pl = p->pl;
        a->code = p->id * POSTS + i;
        EM_CHECK(em__loop_post(p->pl->l, record, a));
    }
    return NULL;
}

static void test_net_posts_in_order(void **state)
{
    static post_log pl;
    pthread_t th[POSTERS];
    poster ps[POSTERS];
    int last[POSTERS];

    (void)state;
    memset(&pl, 0, sizeof(pl));
    pl.l = em__loop_create();
    assert_non_null(pl.l);
    for (int i = 0; i < POSTERS; i++) {
        ps[i] = (poster){&pl, i};
        assert_int_equal(pthread_create(&th[i], NULL, post_thread, &ps[i]), 0);
    }
    /* the loop runs on this thread until the last post stops it */
    EM_CHECK(em__loop_run(pl.l));
    for (int i = 0; i < POSTERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(pl.n, POSTERS * POSTS);
    /* each poster's functions ran in the order it posted them */
    for (int i = 0; i < POSTERS; i++)
        last[i] = -1;
    for (int k = 0; k < pl.n; k++) {
        int who = pl.seq[k] / POSTS, i = pl.seq[k] % POSTS;

        assert_int_equal(i, last[who] + 1);
        last[who] = i;
    }
    em__loop_destroy(pl.l);
}

typedef struct tick_state {
    em__loop *l;
    em__timer *repeating, *once;
    int ticks, once_fired;
    bool was_on_thread;
} tick_state;

static void on_once(void *arg)
{
    tick_state *t = arg;

    t->once_fired++;
}

static void on_tick(void *arg)
{
    tick_state *t = arg;

    t->was_on_thread = em__loop_on_thread(t->l);
    if (++t->ticks == 3) {
        em__timer_cancel(t->repeating); /* inside its own callback */
        em__loop_stop(t->l);
    }
}

static void start_timers(void *arg)
{
    tick_state *t = arg;

    t->repeating = em__loop_timer(t->l, 1, true, on_tick, t);
    t->once = em__loop_timer(t->l, 0, false, on_once, t);
    assert_non_null(t->repeating);
    assert_non_null(t->once);
}

static void test_net_timers(void **state)
{
    tick_state t = {0};

    (void)state;
    t.l = em__loop_create();
    assert_non_null(t.l);
    assert_false(em__loop_on_thread(t.l));
    EM_CHECK(em__loop_post(t.l, start_timers, &t));
    EM_CHECK(em__loop_run(t.l));
    assert_int_equal(t.ticks, 3);
    assert_int_equal(t.once_fired, 1);
    assert_true(t.was_on_thread);
    assert_null(em__loop_timer(t.l, -1, false, on_once, &t));
    /* the fired one-shot timer is released by destroy */
    em__loop_destroy(t.l);
    /* posts after destruction began are refused; start twice is refused */
    t.l = em__loop_create();
    EM_CHECK(em__loop_start(t.l));
    assert_int_equal(em__loop_start(t.l), EM_ESTATE);
    assert_int_equal(em__loop_run(t.l), EM_ESTATE);
    em__loop_destroy(t.l);
}

/* ---- addresses ---- */

static void test_net_parse_url(void **state)
{
    static const struct {
        const char *url, *host;
        int port;
    } good[] = {
        {"ember://10.0.0.5:7077", "10.0.0.5", 7077},
        {"ember://master.example:1", "master.example", 1},
        {"localhost:65535", "localhost", 65535},
        {"ember://[::1]:7077", "::1", 7077},
        {"[fe80::1%eth0]:80", "fe80::1%eth0", 80},
    };
    static const struct {
        const char *url, *msg;
    } bad[] = {
        {"http://h:80", "unsupported scheme"},
        {"ember://h", "missing port"},
        {"ember://:80", "missing host"},
        {"ember://h:0", "bad port '0'"},
        {"ember://h:65536", "bad port '65536'"},
        {"ember://h:80/x", "bad port '80/x'"},
        {"ember://h:", "bad port ''"},
        {"ember://h:-5", "bad port '-5'"},
        {"::1:80", "in brackets"},
        {"ember://[::1]80", "expected [ADDRESS]:PORT"},
        {"", "missing port"},
    };
    char host[64];
    int port;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        EM_CHECK(em__net_parse_url(good[i].url, host, sizeof(host), &port));
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        port = -7;
        assert_int_equal(
            em__net_parse_url(bad[i].url, host, sizeof(host), &port),
            EM_EINVAL);
        if (strstr(em_last_error(), bad[i].msg) == NULL ||
            strstr(em_last_error(), bad[i].url) == NULL)
            fail_msg("%s: %s", bad[i].url, em_last_error());
        assert_int_equal(port, -7);
    }
    assert_int_equal(em__net_parse_url("ember://abcdefgh:1", host, 4, &port),
                     EM_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_net_echo_both_ways),
        EM_TEST(test_net_wrong_secret_refused),
        EM_TEST(test_net_connect_refused_and_destroy),
        EM_TEST(test_net_bad_peers_logged),
        EM_TEST(test_net_blocking_client),
        EM_TEST(test_net_concurrent_clients),
        EM_TEST(test_net_posts_in_order),
        EM_TEST(test_net_timers),
        EM_TEST(test_net_parse_url),
    };

    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
