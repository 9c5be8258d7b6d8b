/* The peer transport (scheduler/peer.h): direct calls in local mode, calls
 * over loopback to a peer endpoint on an event loop of this process,
 * handler errors carried back, a kept connection the server closed
 * (reconnected once), a silent server (EM_ETIMEOUT), a closed port
 * (EM_ELOST), the bytes counted against the encoded requests, and the
 * members of a local context. */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "scheduler/ctx.h"
#include "scheduler/cluster/proto.h"
#include "scheduler/net/net.h"
#include "scheduler/peer.h"

#define CALL_MS 10000

static em__secret key;

/* Service EM__PEER_COLL for the tests: the sum of a vector's elements;
 * a string request fails with the string as message. */
static em_status sum_handler(void *state, const em_val *req, em_arena *a,
                             em_val *reply)
{
    double s = 0;

    (void)a;
    *(int *)state += 1;
    if (req->type == EM_STR)
        return em__err(EM_EUSER, "asked to fail: %.*s", (int)req->len,
                       req->u.s);
    if (req->type != EM_VEC)
        return em__err(EM_ETYPE, "not a vector");
    for (uint32_t i = 0; i < req->len; i++)
        s += req->u.vec[i];
    *reply = em_float(s);
    return EM_OK;
}

static int served;

static em_val test_vec(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (double)i * 0.5 - 3.0;
    return em_vec(x, n);
}

static double naive_sum(const double *x, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

static size_t encoded_bytes(em_val v)
{
    em__buf b = EM__BUF_INIT;
    size_t n;

    assert_int_equal(em__codec_encode(&b, v), EM_OK);
    n = b.len;
    em__buf_fini(&b);
    return n;
}

static void test_peer_local_calls(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[37];
    em_val req = test_vec(x, 37), reply, members;
    uint64_t before = em__peer_bytes_sent();

    (void)state;
    EM_CHECK(em__peer_register(EM__PEER_COLL, sum_handler, &served));
    assert_string_equal(em__peer_self(ctx), "local");
    EM_CHECK(em__peer_call(ctx, "local", EM__PEER_COLL, req, a, &reply,
                           CALL_MS));
    assert_int_equal(reply.type, EM_FLOAT);
    assert_true(reply.u.f == naive_sum(x, 37));
    assert_int_equal(em__peer_bytes_sent() - before, encoded_bytes(req));
    assert_int_equal(em__peer_call(ctx, "local", EM__PEER_COLL,
                                   em_cstr("no"), a, &reply, CALL_MS),
                     EM_EUSER);
    assert_non_null(strstr(em_last_error(), "asked to fail: no"));
    assert_int_equal(em__peer_call(ctx, "local", EM__PEER_PS, req, a,
                                   &reply, CALL_MS),
                     EM_ENOENT);
    assert_int_equal(em__peer_register(EM__PEER_NSERVICES, sum_handler,
                                       NULL),
                     EM_EINVAL);
    EM_CHECK(em__peer_members(ctx, a, &members));
    assert_int_equal(members.type, EM_ARRAY);
    assert_int_equal(members.len, 1);
    assert_int_equal(members.u.arr[0].len, 5);
    assert_memory_equal(members.u.arr[0].u.s, "local", 5);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_peer_remote_calls(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em__loop *l = em__loop_create();
    em_arena *a = em_arena_create();
    double x[1000];
    em_val req = test_vec(x, 1000), reply;
    char addr[300];
    int before_served;
    uint64_t before;

    (void)state;
    EM_CHECK(em__secret_from_bytes("peer-secret", 11, &key));
    EM_CHECK(em__peer_register(EM__PEER_COLL, sum_handler, &served));
    EM_CHECK(em__peer_listen(l, "127.0.0.1", &key));
    EM_CHECK(em__loop_start(l));
    /* this context is local: its own address stays "local" */
    assert_string_equal(em__peer_self(ctx), "local");
    {
        /* the executor's address, as em__peer_listen formats it */
        em_ctx fake;
        memset(&fake, 0, sizeof(fake));
        fake.is_executor = true;
        snprintf(addr, sizeof(addr), "%s", em__peer_self(&fake));
    }
    assert_memory_equal(addr, "127.0.0.1:", 10);
    before_served = served;
    before = em__peer_bytes_sent();
    for (int i = 0; i < 3; i++) { /* the connection is kept and reused */
        EM_CHECK(em__peer_call(ctx, addr, EM__PEER_COLL, req, a, &reply,
                               CALL_MS));
        assert_true(reply.u.f == naive_sum(x, 1000));
    }
    assert_int_equal(served - before_served, 3);
    /* frames: the request plus a small header and the service */
    assert_true(em__peer_bytes_sent() - before >= 3 * encoded_bytes(req));
    assert_true(em__peer_bytes_sent() - before <
                3 * (encoded_bytes(req) + 64));
    assert_int_equal(em__peer_call(ctx, addr, EM__PEER_COLL,
                                   em_cstr("remote"), a, &reply, CALL_MS),
                     EM_EUSER);
    assert_non_null(strstr(em_last_error(), "asked to fail: remote"));
    /* the endpoint goes away: the kept connection is closed, the one
     * reconnection is refused */
    em__loop_destroy(l);
    assert_int_equal(em__peer_call(ctx, addr, EM__PEER_COLL, req, a, &reply,
                                   CALL_MS),
                     EM_ELOST);
    assert_non_null(strstr(em_last_error(), addr));
    em__peer_drop_idle();
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* A server that answers one PEER request per connection, then closes it:
 * every second call of a client finds its kept connection closed. */
static em_status once_frame(em__conn *c, int type, em_val body, void *ud)
{
    em_arena *a = em_arena_create();
    em__msg m;
    em_val out;

    (void)ud;
    (void)body;
    em__msg_init(&m);
    em__msg_put(&m, "status", em_int(0));
    em__msg_put(&m, "reply", em_int(type));
    if (a != NULL && em__msg_done(&m, a, &out) == EM_OK)
        em__conn_send(c, EM__MSG_PEER_REPLY, out);
    em_arena_destroy(a);
    em__conn_close(c, "one request per connection");
    return EM_OK;
}

static void start_server(em__loop *l, const em__conn_handler *h, char *addr,
                         size_t cap)
{
    em__server *s = em__server_listen(l, "127.0.0.1", 0, &key, h, NULL);

    assert_non_null(s);
    snprintf(addr, cap, "127.0.0.1:%d", em__server_port(s));
    EM_CHECK(em__loop_start(l));
}

static void test_peer_reconnects_and_times_out(void **state)
{
    static const em__conn_handler once = {NULL, once_frame, NULL};
    static const em__conn_handler silent = {NULL, NULL, NULL};
    em_ctx *ctx = em_test_ctx("local[1]");
    em__loop *l1 = em__loop_create(), *l2 = em__loop_create();
    em_arena *a = em_arena_create();
    em_val reply;
    char addr1[64], addr2[64];

    (void)state;
    EM_CHECK(em__secret_from_bytes("peer-secret", 11, &key));
    em__peer_set_key(&key);
    start_server(l1, &once, addr1, sizeof(addr1));
    start_server(l2, &silent, addr2, sizeof(addr2));
    for (int i = 0; i < 4; i++) {
        EM_CHECK(em__peer_call(ctx, addr1, EM__PEER_PS, em_int(i), a, &reply,
                               CALL_MS));
        assert_int_equal(reply.u.i, EM__MSG_PEER);
    }
    assert_int_equal(em__peer_call(ctx, addr2, EM__PEER_PS, em_int(1), a,
                                   &reply, 300),
                     EM_ETIMEOUT);
    assert_non_null(strstr(em_last_error(), addr2));
    em__loop_destroy(l1);
    em__loop_destroy(l2);
    em__peer_drop_idle();
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_peer_local_calls),
        EM_TEST(test_peer_remote_calls),
        EM_TEST(test_peer_reconnects_and_times_out),
    };

    return cmocka_run_group_tests_name("peer", tests, NULL, NULL);
}
