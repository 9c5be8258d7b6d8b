/* What the master daemon's two files share and nothing else may include:
 * the master's state, its workers and connections, and the helpers each
 * half calls in the other. master.c keeps the registries of workers and
 * applications and the connections; master_drivers.c keeps submitted
 * drivers (ember submit, jobs, logs, kill). Everything runs on the
 * master's one loop thread, so nothing here needs a lock.
 */
#ifndef EMBER_SCHEDULER_CLUSTER_MASTER_INT_H
#define EMBER_SCHEDULER_CLUSTER_MASTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember.h"
#include "scheduler/cluster/master.h"
#include "scheduler/cluster/proto.h"
#include "scheduler/net/net.h"

/* An application's executors on a worker (master.c). */
typedef struct em__wapp em__wapp;

/* A live application (master.c). */
typedef struct em__mapp em__mapp;

/* A submitted driver (master_drivers.c). */
typedef struct em__msub em__msub;

/* A submitted file kept for workers to fetch (master_drivers.c). */
typedef struct em__mprog em__mprog;

/* A live worker. */
typedef struct em__mworker {
    char id[128];        /* stable across reconnects */
    char host[256];      /* where its block server listens */
    int block_port;      /* the block server's port */
    int64_t cores;       /* cores it offers */
    int64_t memory;      /* bytes it offers */
    em__conn *conn;      /* its connection */
    em__timer *deadline; /* fires after a heartbeat timeout of silence */
    struct em__master *m;
    em__wapp *apps;      /* applications with executors there */
    size_t napps, capps;
} em__mworker;

/* What a connection is, once its first frame said so. */
enum { EM__PEER_NEW, EM__PEER_WORKER, EM__PEER_APP, EM__PEER_CLIENT };

/* A connection's data (em__conn_get_data). */
typedef struct em__mpeer {
    int kind;          /* EM__PEER_* */
    void *obj;         /* the em__mworker or em__mapp; NULL once detached;
                          for a client, the em__msub it waits on (or
                          NULL) */
    bool is_following; /* a client waiting on obj receives its LOG */
} em__mpeer;

struct em__master {
    const em__master_opts *o;
    em__loop *loop;
    em__server *srv;
    em_arena *arena;         /* bodies being built */
    em__mworker **workers;
    size_t nworkers, cworkers;
    em__mapp **apps;
    size_t napps, capps;
    unsigned app_counter;    /* for generated application ids */
    em__msub **subs;         /* submitted drivers, oldest first */
    size_t nsubs, csubs;
    unsigned sub_counter;    /* for submission ids */
    em__mprog **progs;       /* files of submissions not yet ended */
    size_t nprogs, cprogs;
    size_t log_bytes;        /* the log kept per driver */
    int64_t timeout_ms;      /* heartbeat timeout */
    bool is_stopping;        /* closes are the shutdown's, not losses */
};

/* ---- master.c ---- */

/* Sends one line to the master's log hook, if it has one. */
void em__master_log(em__master *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sends the fields of msg to c; a failure closes c (and is logged there).
 * Resets m->arena, so msg must not point into it. */
void em__master_send(em__master *m, em__conn *c, int type, em__msg *msg);

/* The live worker with that id; NULL when none. */
em__mworker *em__master_find_worker(em__master *m, const char *id);

/* Removes p from arr (of *n pointers), keeping the order; nothing when p
 * is not there. */
void em__master_remove_ptr(void **arr, size_t *n, const void *p);

/* Detaches c from the object it stood for, so its close changes nothing,
 * and closes it. */
void em__master_detach_and_close(em__conn *c, const char *reason);

/* ---- master_drivers.c ---- */

/* The log kept per driver: $EMBER_DRIVER_LOG_BYTES (at least 1024), else
 * EM__MASTER_LOG_BYTES. */
size_t em__master_driver_log_bytes(void);

/* Whether type is a request of ember submit, jobs, logs or kill, or a
 * worker's GET_BINARY: a connection that starts with one is a client. */
bool em__master_is_client_request(int type);

/* Answers a client's request (SUBMIT, JOBS, LOGS, KILL, GET_BINARY); p is
 * c's data. A LOGS that follows and a KILL make c wait on the driver
 * (p->obj) until it ends. EM_EPROTO for a bad or unexpected frame (the
 * caller closes c); EM_ENOMEM. */
em_status em__master_client_frame(em__master *m, em__conn *c, em__mpeer *p,
                                  int type, em_val body);

/* Stops the client c from waiting on s (its connection closed). */
void em__master_drop_waiter(em__msub *s, em__conn *c);

/* Launches every waiting submission, each on the live worker with the
 * fewest running drivers. */
void em__master_launch_waiting(em__master *m);

/* The drivers in a WORKER_HELLO of w: one the master knows as not running
 * there (ended, or declared failed when the worker was lost) is killed;
 * one it does not know (a restarted master) runs on. */
void em__master_check_worker_drivers(em__master *m, em__mworker *w,
                                     em_val body);

/* w is gone: the drivers it ran failed (or were killed, when a kill was
 * asked). */
void em__master_fail_drivers_of(em__master *m, const em__mworker *w);

/* DRIVER_OUTPUT {id, data} from w: kept in the driver's log and sent to
 * the clients following it. EM_EPROTO for a bad body. */
em_status em__master_driver_output(em__master *m, em__mworker *w,
                                   em_val body);

/* DRIVER_EXITED {id, status, exit} from w: the submission ends. EM_EPROTO
 * for a bad body. */
em_status em__master_driver_exited(em__master *m, em__mworker *w,
                                   em_val body);

/* At shutdown: closes the clients waiting on drivers and frees every
 * submission (the lists themselves stay for em__master_run to free). */
void em__master_close_subs(em__master *m);

#endif /* EMBER_SCHEDULER_CLUSTER_MASTER_INT_H */
