/* The driver's side of the worker pool: a context whose master is
 * ember://HOST:PORT registers its application with the master, serves its
 * executors (they connect back: registration, results, heartbeats; and
 * one-shot requests for the program's binary and for broadcasts), and
 * runs each stage by sending its tasks to free executor cores, retrying
 * failed ones elsewhere (DESIGN.md, "Failure").
 */
#ifndef EMBER_SCHEDULER_CLUSTER_DRIVER_H
#define EMBER_SCHEDULER_CLUSTER_DRIVER_H

#include <stdbool.h>

#include "ember.h"

/* Connects ctx to the pool at url (ember://HOST:PORT) and sets its stage
 * runner. Waits up to $EMBER_EXECUTOR_WAIT_MS (default 10000) for the
 * executors of the workers live at registration, so that the default
 * parallelism is the pool's cores.
 * EM_EINVAL for a malformed URL, EM_ENOENT without a secret, EM_EIO when
 * the master cannot be reached. */
em_status em__driver_start(em_ctx *ctx, const char *url);

/* Disconnects from the pool (executors end with the connection). */
void em__driver_stop(em_ctx *ctx);

/* How many partitions of RDD rdd the executors (or the workers' second
 * copies) hold, as they reported. 0 without a pool. */
int em__driver_cached_parts(em_ctx *ctx, int rdd);

/* Tells the executors to drop RDD rdd's blocks. Nothing without a pool. */
void em__driver_unpersist(em_ctx *ctx, int rdd);

/* Cores of the executors registered now. */
int em__driver_cores(em_ctx *ctx);

/* The peer addresses of the live executors that have one, in the order
 * of their executor ids, as an array of strings in a (em__peer_members).
 * Any thread. */
em_status em__driver_peers(em_ctx *ctx, em_arena *a, em_val *out);

/* Adds (or removes) fn(arg, addr), called on the driver's loop thread
 * when the executor whose peer address is addr is lost
 * (em__peer_on_lost). At most 8 callbacks; more are ignored. Any
 * thread. */
void em__driver_on_lost(em_ctx *ctx, void (*fn)(void *arg, const char *addr),
                        void *arg, bool add);

#endif /* EMBER_SCHEDULER_CLUSTER_DRIVER_H */
