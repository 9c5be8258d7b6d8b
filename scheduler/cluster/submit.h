/* The client side of submitted drivers: what `ember submit`, `ember
 * jobs`, `ember logs` and `ember kill` say to the master, over a blocking
 * client (scheduler/net/client.h). The messages are SUBMIT, JOBS, LOGS and
 * KILL of proto.h; what the master does with them is in docs/pool.md
 * ("Submitted jobs") and docs/protocol.md.
 */
#ifndef EMBER_SCHEDULER_CLUSTER_SUBMIT_H
#define EMBER_SCHEDULER_CLUSTER_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember.h"
#include "scheduler/net/client.h"

/* Milliseconds to connect to the master and for each reply that is not
 * a followed log. */
#define EM__SUBMIT_TIMEOUT_MS 30000

/* A driver to submit. Everything is borrowed for the call. */
typedef struct em__submit_req {
    const char *name;         /* the submission's name (em__daemon_is_name) */
    const char *program_name; /* the driver's argv[0] (the same rule) */
    const void *program;      /* the executable's bytes (for a Lua script,
                                 the `ember` binary's) */
    size_t program_bytes;
    const void *script;       /* a Lua script's bytes, or NULL */
    size_t script_bytes;
    const char *script_name;  /* its file name on the worker */
    const char *const *args;  /* the driver's arguments */
    size_t nargs;
} em__submit_req;

/* A submission's state as the master reports it (JOB_LIST, LOG_END). */
typedef struct em__submit_info {
    char id[128];
    char name[128];
    char state[16];     /* submitted, running, finished, failed, killed */
    char worker[128];   /* "" before it was launched */
    int64_t submitted;  /* Unix seconds */
    int64_t started;    /* Unix seconds; 0: not yet */
    int exit_code;      /* the exit status when finished; -1 otherwise */
    char message[256];  /* "exit 3", "worker w1 lost", ... */
} em__submit_info;

/* Receives output of a driver: n bytes at p (n may be 0); dropped, on the
 * first call only, counts the bytes of earlier output the master no longer
 * keeps. */
typedef void (*em__submit_out_fn)(const void *p, size_t n, uint64_t dropped,
                                  void *ud);

/* The master's URL for a command: given when not NULL, else
 * $EMBER_MASTER when it is an ember:// URL. NULL with em_last_error
 * ("no master: pass --master ember://HOST:PORT or set EMBER_MASTER")
 * otherwise. The string is given's or the environment's. */
const char *em__submit_master_url(const char *given);

/* Connects to the master at url (ember://HOST:PORT or HOST:PORT) with the
 * cluster secret found as everywhere (secret_file, else
 * $EMBER_SECRET_FILE, else ~/.ember/secret). NULL with em_last_error set:
 * a bad URL, a missing or unsafe secret, a refused connection or
 * authentication (the message names the master). Close with
 * em__sclient_close. */
em__sclient *em__submit_connect(const char *url, const char *secret_file);

/* SUBMIT: the master keeps the driver and writes its id to id (cap bytes).
 * EM_ESTATE with the master's message when it refused; the client's
 * errors (EM_EIO, EM_ETIMEOUT, EM_ELIMIT for a program over the frame
 * limit, EM_EPROTO for an unexpected reply). */
em_status em__submit_send(em__sclient *c, const em__submit_req *r, char *id,
                          size_t cap);

/* LOGS: the output the master keeps of driver id goes to out; with
 * follow, also what it writes until it ends. Then *end is its state (at
 * the end, or now). EM_ESTATE with the master's message for an unknown
 * id; the client's errors, as em__submit_send's. */
em_status em__submit_logs(em__sclient *c, const char *id, bool follow,
                          em__submit_out_fn out, void *ud,
                          em__submit_info *end);

/* KILL: returns once driver id has ended (SIGTERM, SIGKILL after 5 s),
 * with its final state in *end. EM_ESTATE with the master's message for
 * an unknown id or one that has ended already. */
em_status em__submit_kill(em__sclient *c, const char *id,
                          em__submit_info *end);

/* JOBS: calls fn for every submission the master remembers, oldest first.
 * The client's errors, as em__submit_send's. */
em_status em__submit_jobs(em__sclient *c,
                          void (*fn)(const em__submit_info *j, void *ud),
                          void *ud);

#endif /* EMBER_SCHEDULER_CLUSTER_SUBMIT_H */
