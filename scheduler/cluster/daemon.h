/* What the pool's two daemons (master.c, worker.c) share: stopping on
 * SIGINT/SIGTERM without a process-wide handler, their event log, and the
 * file operations of a work directory (atomic writes, recursive removal).
 * The daemons are described in DESIGN.md ("The worker pool") and
 * docs/deploy.md.
 */
#ifndef EMBER_SCHEDULER_CLUSTER_DAEMON_H
#define EMBER_SCHEDULER_CLUSTER_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "ember.h"
#include "scheduler/net/net.h"

/* A daemon's log: one line per event, without a newline. NULL: nothing. */
typedef void (*em__daemon_log_fn)(const char *line, void *ud);

/* Stops a loop when SIGINT or SIGTERM arrives: the signals are blocked on
 * the calling thread (and so on every thread it starts later) and a
 * thread of the watcher waits for them. Caller storage. */
typedef struct em__sigwatch {
    pthread_t thread;  /* waits for the signals */
    sigset_t old_mask; /* the calling thread's mask before start */
    em__loop *loop;    /* stopped on a signal */
    atomic_bool is_done; /* asks the thread to end */
    atomic_int signal;   /* the signal received, 0 while none */
} em__sigwatch;

/* Blocks SIGINT and SIGTERM on the calling thread and starts watching for
 * them: the first one stops l (em__loop_stop). EM_EIO when the thread
 * cannot start (the mask is then restored). */
em_status em__sigwatch_start(em__sigwatch *w, em__loop *l);

/* Ends the watcher (within about 100 ms) and restores the mask. */
void em__sigwatch_stop(em__sigwatch *w);

/* Writes text to path atomically: path.tmp is written, then renamed.
 * EM_EIO with the path on failure (nothing is left behind). */
em_status em__daemon_write_file(const char *path, const char *text);

/* Creates a folder with mode (EEXIST is fine). EM_EIO on failure. */
em_status em__daemon_mkdir(const char *path, unsigned mode);

/* Removes path and everything under it, never following symbolic links.
 * A path that does not exist is fine. EM_EIO naming the first entry that
 * could not be removed. */
em_status em__daemon_rmtree(const char *path);

/* True for a name safe as one path component and a log word: 1-127 bytes
 * of [A-Za-z0-9._-], not starting with '.'. */
bool em__daemon_is_name(const char *s);

/* True for 64 lowercase hex digits (an executable's content hash). */
bool em__daemon_is_hash(const char *s);

#endif /* EMBER_SCHEDULER_CLUSTER_DAEMON_H */
