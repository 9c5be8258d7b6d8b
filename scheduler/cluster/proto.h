/* The worker pool's messages: the frame types every process of the pool
 * speaks (frames and the handshake are scheduler/net/), the fields of each
 * body, and small helpers to build and read bodies. A body is a map with
 * string keys; a reader ignores keys it does not know, so fields can be
 * added within a protocol version. docs/protocol.md describes each
 * message for operators.
 *
 * Processes and links (each link a TCP connection, authenticated):
 *
 *   worker  -> master   WORKER_HELLO, WORKER_HEARTBEAT, EXEC_EXITED
 *   master  -> worker   LAUNCH, APP_END
 *   driver  -> master   APP_HELLO (reply APP_WELCOME), JOBS_LIST, ...
 *   master  -> driver   WORKER_LOST
 *   executor-> driver   EXEC_HELLO, EXEC_HEARTBEAT, RESULT
 *   driver  -> executor STAGE, TASK, STAGE_DONE, BARRIER_ABORT
 *   executor-> executor PEER (reply PEER_REPLY): collectives, parameter
 *                       server shards (also from a driver's threads)
 *   worker  -> driver   GET_BINARY (reply BINARY)
 *   executor-> driver   GET_BROADCAST (reply BROADCAST or ERROR)
 *   executor-> worker   FETCH (reply BLOCK or ERROR): shuffle blocks
 *   client  -> master   SUBMIT, JOBS, LOGS, KILL (ember submit, jobs,
 *                       logs, kill; any number in a row on a connection)
 *   master  -> worker   DRIVER_LAUNCH, DRIVER_KILL (submitted drivers)
 *   worker  -> master   DRIVER_OUTPUT, DRIVER_EXITED
 *   worker  -> master   GET_BINARY (reply BINARY): a submitted program
 */
#ifndef EMBER_SCHEDULER_CLUSTER_PROTO_H
#define EMBER_SCHEDULER_CLUSTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember.h"

/* Frame types. Fields are listed as key: type. */
enum {
    /* any direction */
    EM__MSG_ERROR = 1,          /* message: str */

    /* worker -> master */
    EM__MSG_WORKER_HELLO = 10,  /* id: str (stable across reconnects),
                                   host: str, block_port: int (the block
                                   server), cores: int, memory: int (bytes),
                                   apps: [str] (apps with executors here),
                                   execs: {app: int} (the highest executor
                                   id of each, so that a restarted master
                                   continues the numbering), drivers:
                                   [str] (submitted drivers running
                                   here) */
    EM__MSG_WORKER_HEARTBEAT = 11, /* (empty) */
    EM__MSG_EXEC_EXITED = 12,   /* app: str, exec: int, status: str
                                   ("exit 1", "signal 11") */
    /* master -> worker */
    EM__MSG_LAUNCH = 13,        /* app: str, exec: int, driver_host: str,
                                   driver_port: int, exe_hash: str (hex),
                                   memory: int, cores: int */
    EM__MSG_APP_END = 14,       /* app: str */
    EM__MSG_WORKER_WELCOME = 15, /* heartbeat_ms: int (the interval of
                                    the worker's heartbeats) */

    /* driver -> master */
    EM__MSG_APP_HELLO = 20,     /* app: str or nil (a re-registration
                                   keeps its id), name: str, exe_hash: str,
                                   driver_host: str, driver_port: int,
                                   memory: int (per executor; 0: the
                                   worker's) */
    EM__MSG_APP_WELCOME = 21,   /* app: str, workers: int (live workers,
                                   each of which is asked for an executor
                                   now) */
    /* master -> driver */
    EM__MSG_WORKER_LOST = 22,   /* worker: str, block: str ("host:port") */

    /* executor -> driver */
    EM__MSG_EXEC_HELLO = 30,    /* app: str, exec: int, worker: str,
                                   block: str ("host:port" of its worker's
                                   block server), cores: int, pid: int,
                                   peer: str ("host:port" of its peer
                                   endpoint, scheduler/peer.h; absent when
                                   it has none) */
    EM__MSG_EXEC_HEARTBEAT = 31, /* (empty) */
    EM__MSG_RESULT = 32,        /* stage: int, index: int, attempt: int,
                                   result: the value of scheduler/exec.h,
                                   blocks: [[rdd, part, replica host or
                                   nil]] (blocks the task cached),
                                   run_us: int (the attempt's time in the
                                   executor) */
    /* driver -> executor */
    EM__MSG_STAGE = 33,         /* stage: the value of lineage.h */
    EM__MSG_TASK = 34,          /* stage: int, index: int, part: int,
                                   attempt: int, replica: str or nil (the
                                   block server that keeps second copies
                                   of _2 blocks), barrier: nil or [serial,
                                   peers: [str]] (a task of a barrier
                                   stage: the driver's context serial and
                                   every task's peer address, by index) */
    EM__MSG_STAGE_DONE = 35,    /* stage: int */
    EM__MSG_BARRIER_ABORT = 38, /* serial: int, stage: int, attempt: int:
                                   the attempt of a barrier stage failed;
                                   its tasks' collectives end at once */
    EM__MSG_UNPERSIST = 36,     /* rdd: int (drop its cached blocks) */
    /* executor -> driver */
    EM__MSG_BCAST_HELD = 37,    /* id: int, path: str, len: int, crc: int:
                                   the executor wrote broadcast id's
                                   encoding to path under its worker's
                                   work directory, whose block server now
                                   serves it to other executors */

    /* requests with one reply, on their own connection */
    EM__MSG_GET_BINARY = 40,    /* hash: str -> BINARY */
    EM__MSG_BINARY = 41,        /* data: bytes (the whole file) */
    EM__MSG_GET_BROADCAST = 42, /* id: int, direct: bool (optional) ->
                                   BROADCAST or ERROR */
    EM__MSG_BROADCAST = 43,     /* data: bytes (the codec encoding); or,
                                   when a worker holds it and direct was
                                   not asked: host: str (its block
                                   server), path: str, len: int, crc: int
                                   -- fetch it there with FETCH */
    EM__MSG_FETCH = 44,         /* path: str (under the worker's work
                                   directory), offset: int, len: int ->
                                   BLOCK or ERROR */
    EM__MSG_BLOCK = 45,         /* data: bytes */
    EM__MSG_PUT_BLOCK = 46,     /* app: str, rdd: int, part: int, data:
                                   bytes (the partition's records, each
                                   codec-encoded) -> STORED or ERROR: the
                                   second copy of a block at a _2 level,
                                   kept by the worker as
                                   WORK_DIR/APP/replicas/rdd-RDD-PART */
    EM__MSG_STORED = 47,        /* (empty) */

    /* between an application's processes (scheduler/peer.h): any number
       of requests in a row on a connection, each answered before the
       next is sent */
    EM__MSG_PEER = 70,          /* service: int, req: any value ->
                                   PEER_REPLY */
    EM__MSG_PEER_REPLY = 71,    /* status: int (0 or a negative em_status),
                                   message: str (when status is not 0),
                                   reply: any value */

    /* client -> master: submitted drivers (ember submit, jobs, logs,
       kill). A client connection carries any number of these in a row,
       one at a time (the next after the previous one's reply). */
    EM__MSG_SUBMIT = 50,        /* name: str, program: bytes (the driver's
                                   executable; for a Lua script the `ember`
                                   binary), program_name: str (its argv[0]),
                                   script: bytes or nil (a Lua script, run
                                   as `ember run SCRIPT ARGS`), script_name:
                                   str, args: [str] -> SUBMITTED or ERROR */
    EM__MSG_SUBMITTED = 51,     /* id: str ("driver-20240102030405-0001") */
    EM__MSG_JOBS = 52,          /* (empty) -> JOB_LIST */
    EM__MSG_JOB_LIST = 53,      /* jobs: [{id, name, state, worker: str,
                                   submitted, started: int (Unix seconds;
                                   0: not yet), exit: int or nil, message:
                                   str}], oldest first; state is submitted,
                                   running, finished, failed or killed */
    EM__MSG_LOGS = 54,          /* id: str, follow: bool -> LOG (any number)
                                   then LOG_END (at once, or with follow
                                   when the driver ends); or ERROR */
    EM__MSG_LOG = 55,           /* data: bytes (stdout and stderr, in the
                                   order written), dropped: int (on the
                                   first chunk only: bytes of earlier
                                   output the master no longer keeps) */
    EM__MSG_LOG_END = 56,       /* id, state: str, exit: int or nil,
                                   message: str (as in JOB_LIST) */
    EM__MSG_KILL = 57,          /* id: str -> LOG_END once the driver has
                                   ended, or ERROR */
    /* master -> worker */
    EM__MSG_DRIVER_LAUNCH = 58, /* id: str, exe_hash: str, exe_name: str
                                   (argv[0]), script_hash: str or nil,
                                   script_name: str, args: [str]; the worker
                                   fetches the files from the master with
                                   GET_BINARY */
    EM__MSG_DRIVER_KILL = 59,   /* id: str: SIGTERM, SIGKILL after 5 s */
    /* worker -> master */
    EM__MSG_DRIVER_OUTPUT = 60, /* id: str, data: bytes */
    EM__MSG_DRIVER_EXITED = 61, /* id: str, status: str ("exit 3", "signal
                                   15", "failed to start: ..."), exit: int
                                   (the exit code; absent unless it exited) */
};

/* The name of a message type ("STAGE"), for logs; "unknown" otherwise. */
const char *em__msg_name(int type);

/* Building a body: up to 16 fields, then em__msg_done. */
typedef struct em__msg {
    em_val kv[32];
    size_t n;
} em__msg;

static inline void em__msg_init(em__msg *m)
{
    m->n = 0;
}

void em__msg_put(em__msg *m, const char *key, em_val v);

/* The map of the fields put so far, in a. */
em_status em__msg_done(em__msg *m, em_arena *a, em_val *out);

/* Reading a body: the value of key, or nil when absent (or when body is
 * not a map). */
em_val em__msg_get(em_val body, const char *key);

/* Typed reads: EM_EPROTO ("LAUNCH: field exec missing or not an int")
 * when absent or of the wrong type. */
em_status em__msg_int(int type, em_val body, const char *key, int64_t *out);
em_status em__msg_str(int type, em_val body, const char *key, char *buf,
                      size_t cap);

struct em__secret;

/* One request and its one reply on a connection of their own (blocking;
 * for threads that may wait, never a loop thread): connects to host:port,
 * sends type/body, and writes the reply's body (in a) to *out when its
 * type is want. A reply ERROR becomes EM_EIO with "who: its message"; any
 * other type EM_EPROTO. who names the peer in messages ("the driver"). */
em_status em__ask(const char *host, int port, const struct em__secret *key,
                  int connect_ms, int recv_ms, const char *who, int type,
                  em_val body, int want, em_arena *a, em_val *out);

/* Splits "host:port". */
em_status em__hostport_split(const char *s, char *host, size_t cap,
                             int *port);

/* The content hash of a file (BLAKE2b-256, lowercase hex, 64 chars and a
 * NUL): how executables are named when shipped to workers. */
em_status em__file_hash(const char *path, char hex[65]);

/* The same content hash of n bytes in memory. EM_EIO when libsodium
 * cannot start. */
em_status em__bytes_hash(const void *p, size_t n, char hex[65]);

/* Milliseconds of silence after which a peer that should send heartbeats
 * is declared lost: $EMBER_HEARTBEAT_TIMEOUT_MS, default 10000. The
 * heartbeat interval is a quarter of it. */
int64_t em__heartbeat_timeout_ms(void);

#endif /* EMBER_SCHEDULER_CLUSTER_PROTO_H */
