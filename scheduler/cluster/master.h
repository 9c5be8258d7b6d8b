/* The pool's master daemon (`ember master`): the registry of live workers
 * and of the applications of drivers, which it gives executors by asking
 * workers to launch them, and the submitted drivers (`ember submit`),
 * which it starts on workers and whose state and log it keeps. Peers say
 * what they are with their first frame (WORKER_HELLO, APP_HELLO, or a
 * client's request). The design is in DESIGN.md ("The worker pool"); the
 * messages in proto.h and docs/protocol.md ("Messages"); submitted
 * drivers in docs/pool.md ("Submitted jobs").
 */
#ifndef EMBER_SCHEDULER_CLUSTER_MASTER_H
#define EMBER_SCHEDULER_CLUSTER_MASTER_H

#include <stdbool.h>

#include "ember.h"
#include "scheduler/cluster/daemon.h"
#include "scheduler/net/secret.h"

/* Most executors the master launches to replace ones that exited, per
 * application and worker. */
#define EM__MASTER_MAX_REPLACEMENTS 8

/* Bytes of each submitted driver's output the master keeps (the last
 * ones); $EMBER_DRIVER_LOG_BYTES changes it. */
#define EM__MASTER_LOG_BYTES ((size_t)16 << 20)

/* Ended submissions the master remembers; older ones are forgotten. */
#define EM__MASTER_MAX_ENDED 100

/* Most arguments of a submitted driver. */
#define EM__MASTER_MAX_ARGS 4096

/* Bytes queued to a client following a log beyond which it is dropped. */
#define EM__MASTER_MAX_CLIENT_QUEUE ((size_t)64 << 20)

typedef struct em__master em__master;

/* How a master runs. Strings are borrowed for the whole run. */
typedef struct em__master_opts {
    const char *host;      /* address to listen on; NULL: 127.0.0.1 */
    int port;              /* 0: a free port */
    em__secret key;        /* the cluster secret's key */
    const char *port_file; /* NULL, or a file that receives the bound port
                              (written atomically) once listening */
    bool handle_signals;   /* stop on SIGINT or SIGTERM */
    em__daemon_log_fn log; /* one line per event; NULL: none */
    /* Called once on the master's thread when it listens, with a handle
     * for em__master_stop (valid until em__master_run returns); NULL:
     * not called. */
    void (*on_ready)(em__master *m, int port, void *ud);
    void *ud; /* passed to log and on_ready */
} em__master_opts;

/* Runs a master on the calling thread until em__master_stop, or a signal
 * when o->handle_signals. Returns EM_OK after a stop; EM_EIO (the message
 * names the address) when it cannot listen or write the port file;
 * EM_ENOMEM. Every connection is closed on return. */
em_status em__master_run(const em__master_opts *o);

/* Asks a running master to stop: em__master_run returns soon after. Any
 * thread; m is the handle given to on_ready. */
void em__master_stop(em__master *m);

#endif /* EMBER_SCHEDULER_CLUSTER_MASTER_H */
