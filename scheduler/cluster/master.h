/* The pool's master daemon (`ember master`): the registry of live workers
 * and of the applications of drivers, which it gives executors by asking
 * workers to launch them. Peers say what they are with their first frame
 * (WORKER_HELLO or APP_HELLO). The design is in DESIGN.md ("The worker
 * pool"); the messages in proto.h and docs/protocol.md ("Messages").
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
