/* The client side of submitted drivers (submit.h): one request, its
 * replies read with the blocking client. */
#include "submit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "scheduler/net/secret.h"

const char *em__submit_master_url(const char *given)
{
    const char *env = getenv("EMBER_MASTER");

    if (given != NULL)
        return given;
    if (env != NULL && strncmp(env, "ember://", 8) == 0)
        return env;
    em__err(EM_EINVAL, "no master: pass --master ember://HOST:PORT or set "
            "EMBER_MASTER%s%s", env != NULL && env[0] ? " (it is " : "",
            env != NULL && env[0] ? "not an ember:// URL)" : "");
    return NULL;
}

em__sclient *em__submit_connect(const char *url, const char *secret_file)
{
    char host[256], path[PATH_MAX];
    em__secret key;
    em__sclient *c;
    int port;

    if (em__net_parse_url(url, host, sizeof(host), &port) != EM_OK ||
        em__secret_path(secret_file, path, sizeof(path)) != EM_OK ||
        em__secret_load(path, false, &key) != EM_OK)
        return NULL;
    c = em__sclient_connect(host, port, &key, EM__SUBMIT_TIMEOUT_MS);
    if (c == NULL)
        em__err(EM_EIO, "cannot reach the master %s: %s", url,
                em_last_error());
    return c;
}

/* The master's ERROR as EM_ESTATE with its message. */
static em_status refused(em_val body)
{
    em_val m = em__msg_get(body, "message");

    return em__err(EM_ESTATE, "%.*s", m.type == EM_STR ? (int)m.len : 0,
                   m.type == EM_STR ? m.u.s : "the master refused");
}

/* Sends the fields of msg and reads the reply. */
static em_status request(em__sclient *c, em_arena *a, int type, em__msg *msg,
                         int *rtype, em_val *rbody)
{
    em_val body;
    em_status st;

    if ((st = em__msg_done(msg, a, &body)) != EM_OK ||
        (st = em__sclient_send(c, type, body)) != EM_OK)
        return st;
    return em__sclient_recv(c, a, rtype, rbody, EM__SUBMIT_TIMEOUT_MS);
}

/* An unexpected reply type. */
static em_status unexpected(int asked, int type, em_val body)
{
    if (type == EM__MSG_ERROR)
        return refused(body);
    return em__err(EM_EPROTO, "the master answered %s with %s",
                   em__msg_name(asked), em__msg_name(type));
}

em_status em__submit_send(em__sclient *c, const em__submit_req *r, char *id,
                          size_t cap)
{
    em_arena *a = em_arena_create();
    em_val *args, body;
    em__msg msg;
    em_status st;
    int type;

    if (a == NULL)
        return EM_ENOMEM;
    if ((args = em__arena_alloc(a, (r->nargs + 1) * sizeof(em_val), 8)) ==
        NULL) {
        st = EM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->nargs; i++)
        args[i] = em_cstr(r->args[i]);
    em__msg_init(&msg);
    em__msg_put(&msg, "name", em_cstr(r->name));
    em__msg_put(&msg, "program_name", em_cstr(r->program_name));
    em__msg_put(&msg, "program", em_bytes(r->program, r->program_bytes));
    em__msg_put(&msg, "script", r->script ? em_bytes(r->script,
                                                    r->script_bytes)
                                          : em_nil());
    em__msg_put(&msg, "script_name",
                em_cstr(r->script_name ? r->script_name : ""));
    em__msg_put(&msg, "args", em_array(args, r->nargs));
    if ((st = request(c, a, EM__MSG_SUBMIT, &msg, &type, &body)) != EM_OK)
        goto out;
    if (type != EM__MSG_SUBMITTED) {
        st = unexpected(EM__MSG_SUBMIT, type, body);
        goto out;
    }
    st = em__msg_str(EM__MSG_SUBMITTED, body, "id", id, cap);
out:
    em_arena_destroy(a);
    return st;
}

/* Reads a submission's fields (JOB_LIST's entries, LOG_END) into *out. */
static em_status read_info(int type, em_val body, em__submit_info *out)
{
    em__submit_info j;
    em_val v;
    em_status st;

    memset(&j, 0, sizeof(j));
    if ((st = em__msg_str(type, body, "id", j.id, sizeof(j.id))) != EM_OK ||
        (st = em__msg_str(type, body, "state", j.state, sizeof(j.state))) !=
            EM_OK ||
        (st = em__msg_str(type, body, "message", j.message,
                          sizeof(j.message))) != EM_OK)
        return st;
    if (em__msg_get(body, "name").type == EM_STR &&
        (st = em__msg_str(type, body, "name", j.name, sizeof(j.name))) !=
            EM_OK)
        return st;
    if (em__msg_get(body, "worker").type == EM_STR &&
        (st = em__msg_str(type, body, "worker", j.worker,
                          sizeof(j.worker))) != EM_OK)
        return st;
    if ((v = em__msg_get(body, "submitted")).type == EM_INT)
        j.submitted = v.u.i;
    if ((v = em__msg_get(body, "started")).type == EM_INT)
        j.started = v.u.i;
    v = em__msg_get(body, "exit");
    j.exit_code = v.type == EM_INT && v.u.i >= 0 && v.u.i <= 255
                      ? (int)v.u.i : -1;
    *out = j;
    return EM_OK;
}

/* Reads LOG frames into out until LOG_END (read into *end). */
static em_status read_log(em__sclient *c, em_arena *a, int timeout_ms,
                          em__submit_out_fn out, void *ud,
                          em__submit_info *end)
{
    for (;;) {
        em_val body, data, dropped;
        em_status st;
        int type;

        em__arena_reset(a);
        if ((st = em__sclient_recv(c, a, &type, &body, timeout_ms)) != EM_OK)
            return st;
        if (type == EM__MSG_LOG_END)
            return read_info(type, body, end);
        if (type != EM__MSG_LOG)
            return unexpected(EM__MSG_LOGS, type, body);
        data = em__msg_get(body, "data");
        dropped = em__msg_get(body, "dropped");
        if (data.type != EM_BYTES)
            return em__err(EM_EPROTO, "LOG: field data missing or not bytes");
        if (out != NULL)
            out(data.u.bytes, data.len,
                dropped.type == EM_INT && dropped.u.i > 0
                    ? (uint64_t)dropped.u.i : 0, ud);
    }
}

em_status em__submit_logs(em__sclient *c, const char *id, bool follow,
                          em__submit_out_fn out, void *ud,
                          em__submit_info *end)
{
    em_arena *a = em_arena_create();
    em_val body;
    em__msg msg;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(id));
    em__msg_put(&msg, "follow", em_bool(follow));
    if ((st = em__msg_done(&msg, a, &body)) == EM_OK &&
        (st = em__sclient_send(c, EM__MSG_LOGS, body)) == EM_OK)
        st = read_log(c, a, follow ? -1 : EM__SUBMIT_TIMEOUT_MS, out, ud,
                      end);
    em_arena_destroy(a);
    return st;
}

em_status em__submit_kill(em__sclient *c, const char *id,
                          em__submit_info *end)
{
    em_arena *a = em_arena_create();
    em_val body;
    em__msg msg;
    em_status st;
    int type;

    if (a == NULL)
        return EM_ENOMEM;
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(id));
    if ((st = em__msg_done(&msg, a, &body)) == EM_OK &&
        (st = em__sclient_send(c, EM__MSG_KILL, body)) == EM_OK &&
        /* the grace of a SIGTERM, and then some */
        (st = em__sclient_recv(c, a, &type, &body,
                               EM__SUBMIT_TIMEOUT_MS)) == EM_OK)
        st = type == EM__MSG_LOG_END ? read_info(type, body, end)
                                     : unexpected(EM__MSG_KILL, type, body);
    em_arena_destroy(a);
    return st;
}

em_status em__submit_jobs(em__sclient *c,
                          void (*fn)(const em__submit_info *j, void *ud),
                          void *ud)
{
    em_arena *a = em_arena_create();
    em_val body, jobs;
    em__msg msg;
    em_status st;
    int type;

    if (a == NULL)
        return EM_ENOMEM;
    em__msg_init(&msg);
    if ((st = request(c, a, EM__MSG_JOBS, &msg, &type, &body)) != EM_OK)
        goto out;
    if (type != EM__MSG_JOB_LIST) {
        st = unexpected(EM__MSG_JOBS, type, body);
        goto out;
    }
    if ((jobs = em__msg_get(body, "jobs")).type != EM_ARRAY) {
        st = em__err(EM_EPROTO, "JOB_LIST: field jobs is not an array");
        goto out;
    }
    for (uint32_t i = 0; i < jobs.len; i++) {
        em__submit_info j;

        if ((st = read_info(EM__MSG_JOB_LIST, jobs.u.arr[i], &j)) != EM_OK)
            goto out;
        fn(&j, ud);
    }
out:
    em_arena_destroy(a);
    return st;
}
