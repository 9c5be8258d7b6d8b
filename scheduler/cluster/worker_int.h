/* What the worker daemon's two files share and nothing else may include:
 * the worker's state, the environment block of a child it starts, and the
 * helpers each half calls in the other. worker.c runs the master link,
 * the executors of applications and the block server; worker_drivers.c
 * runs submitted drivers (ember submit). Both run on the worker's loop
 * thread unless a comment says otherwise.
 */
#ifndef EMBER_SCHEDULER_CLUSTER_WORKER_INT_H
#define EMBER_SCHEDULER_CLUSTER_WORKER_INT_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ember.h"
#include "scheduler/cluster/proto.h"
#include "scheduler/cluster/worker.h"
#include "scheduler/net/net.h"

/* Milliseconds to connect to a driver or the master for a file, and to
 * wait for it. */
#define EM__WORKER_FETCH_CONNECT_MS 10000
#define EM__WORKER_FETCH_RECV_MS 120000

/* Variables a worker sets in a child's environment (at most), and the
 * room for each "NAME=value". */
#define EM__WORKER_ENV_VARS 10
#define EM__WORKER_ENV_BYTES (PATH_MAX + 64)

/* A running executor (worker.c). */
typedef struct em__wexec em__wexec;

/* An executable being fetched for executors (worker.c). */
typedef struct em__wfetch em__wfetch;

/* A submitted driver this worker runs (worker_drivers.c). */
typedef struct em__wdriver em__wdriver;

/* A child's environment; large, so allocated. */
typedef struct em__spawn_env {
    char kv[EM__WORKER_ENV_VARS][EM__WORKER_ENV_BYTES]; /* "NAME=value" */
    char **envp;  /* environ without ours, then ours */
    size_t nenvp; /* entries of envp, NULL included */
} em__spawn_env;

struct em__worker {
    const em__worker_opts *o;
    em__loop *loop;
    em__server *blocks;     /* the block server */
    int block_port;
    char id[128];
    char host[256];         /* the block server's host */
    char work[PATH_MAX];    /* the work directory, absolute */
    em_arena *arena;        /* bodies being built */
    em__conn *master;       /* the master link, NULL while down */
    bool is_registered;     /* the master welcomed this connection */
    bool is_down_logged;    /* "master unreachable" was logged */
    em__timer *retry;       /* reconnects to the master */
    em__timer *heartbeat;   /* WORKER_HEARTBEAT while registered */
    em__timer *reaper;      /* waitpid for ended executors */
    em__wexec *execs;
    size_t nexecs, cexecs;
    em__wfetch **fetches;
    size_t nfetches, cfetches;
    char (*appdirs)[128];   /* applications whose folder this worker made */
    size_t nappdirs, cappdirs;
    em__wdriver **drivers;  /* submitted drivers here */
    size_t ndrivers, cdrivers;
    atomic_size_t master_queued; /* bytes queued to the master, for the
                                    drivers' readers */
    bool is_stopping;
};

/* ---- worker.c ---- */

/* Sends one line to the worker's log hook, if it has one. */
void em__worker_log(em__worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sends the fields of msg to c; a failure closes c. Resets w->arena, so
 * msg must not point into it. */
void em__worker_send(em__worker *w, em__conn *c, int type, em__msg *msg);

/* snprintf for paths and messages that may be cut: a cut one is still
 * NUL-terminated (and then fails where it is used). */
void em__worker_pathf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "exit 3", "signal 9" for the wait status st to buf (cap bytes). */
void em__worker_format_status(int st, char *buf, size_t cap);

/* Writes n bytes to a temporary file in the folder bin, checks that their
 * hash is hash and renames the file to bin/<hash> (mode 0755). EM_EIO
 * naming the path; EM_EPROTO when the hash differs. Any thread. */
em_status em__worker_store_binary(const char *bin, const char *hash,
                                  const void *p, size_t n);

/* ---- worker_drivers.c ---- */

/* DRIVER_LAUNCH: starts a submitted driver once its files are fetched
 * from the master (on a thread of its own); a failure to start is
 * reported with DRIVER_EXITED. EM_EPROTO for a bad body (the caller
 * closes the master link); EM_ENOMEM. */
em_status em__worker_on_driver_launch(em__worker *w, em_val body);

/* DRIVER_KILL {id}: SIGTERM to the driver's process group, SIGKILL after
 * EM__WORKER_KILL_GRACE_MS; an unknown driver is answered DRIVER_EXITED
 * at once. EM_EPROTO for a bad body. */
em_status em__worker_on_driver_kill(em__worker *w, em_val body);

/* Whether pid (reaped with wait status st) was a submitted driver's: then
 * whatever is left of its process group is killed, and it is reported to
 * the master once its output is read to the end. */
bool em__worker_reap_driver(em__worker *w, pid_t pid, int st);

/* Writes to out an array of the ids of the drivers here, for
 * WORKER_HELLO; it lives in w->arena until the next reset. EM_ENOMEM. */
em_status em__worker_driver_ids(em__worker *w, em_val *out);

/* At shutdown: kills every driver and joins its thread; the drivers stay
 * for em__worker_free_drivers. */
void em__worker_stop_drivers(em__worker *w);

/* Frees every driver and the list (after em__worker_stop_drivers). */
void em__worker_free_drivers(em__worker *w);

#endif /* EMBER_SCHEDULER_CLUSTER_WORKER_INT_H */
