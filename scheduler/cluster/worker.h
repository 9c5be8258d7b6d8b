/* The pool's worker daemon (`ember worker`): registers with the master
 * and heartbeats, starts executor processes of applications on request
 * (fetching the driver's executable once per content hash), reports the
 * ones that end, serves the files under its work directory to executors
 * (a block server, also for executors that died; it also keeps second
 * copies of cached blocks that executors put there), and removes an
 * application's files when it ends. It also runs submitted drivers
 * (ember submit): their files come from the master, their output and
 * exit status go to it. Design: DESIGN.md ("The worker pool"); messages:
 * proto.h and docs/protocol.md ("Messages"); submitted drivers:
 * docs/pool.md ("Submitted jobs").
 */
#ifndef EMBER_SCHEDULER_CLUSTER_WORKER_H
#define EMBER_SCHEDULER_CLUSTER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "ember.h"
#include "scheduler/cluster/daemon.h"
#include "scheduler/net/secret.h"

/* Largest FETCH a block server answers: the reply must fit in one frame
 * of the default limit. */
#define EM__WORKER_MAX_FETCH_BYTES (((size_t)256 << 20) - 4096)

/* Milliseconds between attempts to reach the master. */
#define EM__WORKER_RETRY_MS 1000

/* Milliseconds between checks for executors and drivers that ended. */
#define EM__WORKER_REAP_MS 200

/* Milliseconds a submitted driver has between the SIGTERM of a kill and
 * a SIGKILL. */
#define EM__WORKER_KILL_GRACE_MS 5000

typedef struct em__worker em__worker;

/* How a worker runs. Strings are borrowed for the whole run. */
typedef struct em__worker_opts {
    const char *master_host; /* the master's address */
    int master_port;
    const char *host;        /* where the block server listens; NULL:
                                127.0.0.1 (also what executors are told) */
    int64_t cores;           /* offered cores (>= 1) */
    int64_t memory;          /* offered bytes (>= 0) */
    int gpus;                /* GPUs offered (`--gpu`): executor n is
                                given device n % gpus in its
                                EMBER_GPU_DEVICE; 0: none ("none") */
    const char *work_dir;    /* created (mode 0700) when missing */
    const char *id;          /* NULL: "<hostname>-<block port>" */
    em__secret key;          /* the cluster secret's key */
    const char *secret_path; /* the secret's file, absolute: executors get
                                it as EMBER_SECRET_FILE */
    bool handle_signals;     /* stop on SIGINT or SIGTERM */
    em__daemon_log_fn log;   /* one line per event; NULL: none */
    /* Called once on the worker's thread when its block server listens,
     * with a handle for em__worker_stop (valid until em__worker_run
     * returns); NULL: not called. */
    void (*on_ready)(em__worker *w, int block_port, void *ud);
    void *ud; /* passed to log and on_ready */
} em__worker_opts;

/* Runs a worker on the calling thread until em__worker_stop, or a signal
 * when o->handle_signals; then kills its executors and submitted drivers
 * and removes the application folders it made. EM_EIO (naming the path
 * or address) when the work directory cannot be made or the block server
 * cannot listen; EM_EINVAL for bad options; EM_ENOMEM. Not reaching the
 * master is not an error: the worker keeps trying every
 * EM__WORKER_RETRY_MS. The process's child processes are the worker's: it
 * reaps any that ends. */
em_status em__worker_run(const em__worker_opts *o);

/* Asks a running worker to stop. Any thread. */
void em__worker_stop(em__worker *w);

#endif /* EMBER_SCHEDULER_CLUSTER_WORKER_H */
