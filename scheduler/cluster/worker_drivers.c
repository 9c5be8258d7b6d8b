/* The worker's submitted drivers (ember submit; worker_int.h). The master
 * sends DRIVER_LAUNCH; a thread of the driver's own fetches its files from
 * the master (GET_BINARY) into WORK/bin, then the loop starts it with
 * posix_spawn in its own process group, in its folder:
 *
 *   WORK/drivers/<id>/             its working directory (kept after it
 *                                  ends), holding a Lua driver's script
 *   WORK/drivers/<id>/output       its stdout and stderr, interleaved
 *
 * Its output goes through a pipe that the same thread then reads and
 * posts to the loop, which writes it to the output file and sends it to
 * the master (DRIVER_OUTPUT); once the driver is reaped and its output
 * read to the end, its end goes to the master (DRIVER_EXITED).
 * DRIVER_KILL is a SIGTERM, then a SIGKILL after EM__WORKER_KILL_GRACE_MS.
 * Submitted drivers: docs/pool.md ("Submitted jobs").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "scheduler/net/client.h"
#include "scheduler/net/net.h"
#include "worker_int.h"

extern char **environ;

/* Bytes of a driver's output read at once, and most bytes of it read but
 * not yet sent to the master (beyond them the reader waits, and so, once
 * its pipe is full, does the driver). */
#define DRIVER_CHUNK 65536
#define DRIVER_MAX_INFLIGHT ((size_t)8 << 20)

/* A submitted driver this worker runs, or fetches the files of. */
struct em__wdriver {
    struct em__worker *w;
    char id[128];
    char exe_hash[65];      /* its executable (or the `ember` binary) */
    char script_hash[65];   /* its Lua script; "" for a C driver */
    char exe_name[128];     /* argv[0] of a C driver */
    char script_name[128];  /* the script's file name in its folder */
    char *args;             /* nargs NUL-terminated strings in a row */
    size_t args_bytes;
    uint32_t nargs;
    pthread_t thread;       /* the fetch, then the output reader */
    bool has_thread;        /* thread is to be joined */
    em_status fetch_st;     /* the fetch's outcome */
    char msg[256];          /* its error message */
    pid_t pid;              /* also its process group; 0 until started */
    int out_fd;             /* the read end of its output pipe, or -1 */
    int log_fd;             /* WORK/drivers/ID/output, or -1 */
    atomic_bool is_exited;  /* reaped: the reader stops when it is quiet */
    atomic_bool is_abandoned; /* the worker stops: the reader ends now */
    atomic_size_t inflight; /* output read and not yet sent */
    bool is_reaped;         /* wait_status is its exit */
    bool is_drained;        /* its output was read to the end */
    bool is_kill_asked;     /* DRIVER_KILL came */
    int wait_status;
    em__timer *kill_timer;  /* SIGKILL after the grace of a SIGTERM */
};

/* ---- ending ---- */

static void free_driver(em__wdriver *d)
{
    if (d->out_fd >= 0)
        close(d->out_fd);
    if (d->log_fd >= 0)
        close(d->log_fd);
    em__mem_free(d->args, d->args_bytes);
    em__mem_free(d, sizeof(*d));
}

/* Reports a driver that ended (or never started) to the master and
 * forgets it: DRIVER_EXITED {id, status, exit}; exit_code < 0: none. */
static void driver_done(em__worker *w, em__wdriver *d, const char *status,
                        int exit_code)
{
    em__msg msg;

    em__worker_log(w, "driver %s: %s", d->id, status);
    if (w->master != NULL && w->is_registered) {
        em__msg_init(&msg);
        em__msg_put(&msg, "id", em_cstr(d->id));
        em__msg_put(&msg, "status", em_cstr(status));
        if (exit_code >= 0)
            em__msg_put(&msg, "exit", em_int(exit_code));
        em__worker_send(w, w->master, EM__MSG_DRIVER_EXITED, &msg);
    } else {
        em__worker_log(w,
                       "the master is not connected: it will not hear of it");
    }
    em__timer_cancel(d->kill_timer);
    for (size_t i = 0; i < w->ndrivers; i++)
        if (w->drivers[i] == d) {
            w->drivers[i] = w->drivers[--w->ndrivers];
            break;
        }
    free_driver(d);
}

/* The driver's process ended and its output was read to the end. */
static void driver_finish(em__worker *w, em__wdriver *d)
{
    char status[64];

    em__worker_format_status(d->wait_status, status, sizeof(status));
    driver_done(w, d, status,
                WIFEXITED(d->wait_status) ? WEXITSTATUS(d->wait_status) : -1);
}

/* ---- output ---- */

/* A chunk of a driver's output, read on its reader thread. */
typedef struct wchunk {
    em__wdriver *d;
    size_t n;
    uint8_t data[];
} wchunk;

/* On the loop: the chunk goes to the driver's output file and the
 * master. */
static void driver_chunk(void *arg)
{
    wchunk *ch = arg;
    em__wdriver *d = ch->d;
    em__worker *w = d->w;
    em__msg msg;

    if (!w->is_stopping) {
        if (d->log_fd >= 0 && write(d->log_fd, ch->data, ch->n) < 0) {
            em__worker_log(w, "driver %s: cannot write its output file: %s",
                           d->id, strerror(errno));
            close(d->log_fd);
            d->log_fd = -1;
        }
        if (w->master != NULL && w->is_registered) {
            em__msg_init(&msg);
            em__msg_put(&msg, "id", em_cstr(d->id));
            em__msg_put(&msg, "data", em_bytes(ch->data, ch->n));
            em__worker_send(w, w->master, EM__MSG_DRIVER_OUTPUT, &msg);
        }
    }
    atomic_fetch_sub(&d->inflight, ch->n);
    atomic_store(&w->master_queued, w->master != NULL
                                        ? em__conn_queued_bytes(w->master)
                                        : 0);
    em__mem_free(ch, sizeof(*ch) + ch->n);
}

/* On the loop: the reader thread reached the end of the output. */
static void driver_drained(void *arg)
{
    em__wdriver *d = arg;
    em__worker *w = d->w;

    if (w->is_stopping)
        return; /* the shutdown joins and frees */
    pthread_join(d->thread, NULL);
    d->has_thread = false;
    close(d->out_fd);
    d->out_fd = -1;
    d->is_drained = true;
    if (d->is_reaped)
        driver_finish(w, d);
}

/* The reader thread: the pipe of the driver's stdout and stderr, in
 * chunks posted to the loop, until its end (or, once the driver was
 * reaped, until it is quiet for a poll: a leftover child may hold it). */
static void *driver_reader(void *arg)
{
    em__wdriver *d = arg;
    em__worker *w = d->w;
    uint8_t buf[DRIVER_CHUNK];

    while (!atomic_load(&d->is_abandoned)) {
        struct pollfd pfd = {d->out_fd, POLLIN, 0};
        wchunk *ch;
        ssize_t n;
        int r;

        if (atomic_load(&d->inflight) + atomic_load(&w->master_queued) >
            DRIVER_MAX_INFLIGHT) {
            usleep(10000); /* the master link is slow: so is the driver */
            continue;
        }
        if ((r = poll(&pfd, 1, 200)) == 0 && atomic_load(&d->is_exited))
            break;
        if (r <= 0)
            continue;
        n = read(d->out_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        while ((ch = em__mem_alloc(sizeof(*ch) + (size_t)n)) == NULL &&
               !atomic_load(&d->is_abandoned))
            usleep(10000);
        if (ch == NULL)
            break;
        memcpy(ch->data, buf, (size_t)n);
        ch->d = d;
        ch->n = (size_t)n;
        atomic_fetch_add(&d->inflight, ch->n);
        if (em__loop_post(w->loop, driver_chunk, ch) != EM_OK) {
            em__mem_free(ch, sizeof(*ch) + ch->n);
            break;
        }
    }
    em__loop_post(w->loop, driver_drained, d);
    return NULL;
}

/* ---- fetching and starting ---- */

/* GET_BINARY of hash from the master into WORK/bin, unless it is there. */
static em_status fetch_from_master(em__worker *w, const char *hash,
                                   em_arena *a)
{
    char bin[PATH_MAX + 8], path[PATH_MAX * 2];
    em__msg msg;
    em_val body, data;
    em_status st;

    em__worker_pathf(bin, sizeof(bin), "%s/bin", w->work);
    em__worker_pathf(path, sizeof(path), "%s/%s", bin, hash);
    if (access(path, R_OK) == 0)
        return EM_OK;
    em__msg_init(&msg);
    em__msg_put(&msg, "hash", em_cstr(hash));
    if ((st = em__msg_done(&msg, a, &body)) != EM_OK ||
        (st = em__ask(w->o->master_host, w->o->master_port, &w->o->key,
                      EM__WORKER_FETCH_CONNECT_MS, EM__WORKER_FETCH_RECV_MS,
                      "the master", EM__MSG_GET_BINARY, body, EM__MSG_BINARY,
                      a, &body)) != EM_OK)
        return st;
    data = em__msg_get(body, "data");
    if (data.type != EM_BYTES)
        return em__err(EM_EPROTO, "the master's BINARY has no data");
    return em__worker_store_binary(bin, hash, data.u.bytes, data.len);
}

static void driver_fetched(void *arg);

/* The fetch thread of a driver: its executable and script. */
static void *driver_fetch_main(void *arg)
{
    em__wdriver *d = arg;
    em_arena *a = em_arena_create();

    d->fetch_st = a == NULL ? EM_ENOMEM
                            : fetch_from_master(d->w, d->exe_hash, a);
    if (d->fetch_st == EM_OK && d->script_hash[0] != '\0') {
        em__arena_reset(a);
        d->fetch_st = fetch_from_master(d->w, d->script_hash, a);
    }
    if (d->fetch_st != EM_OK)
        em__err_save(d->msg, sizeof(d->msg));
    em_arena_destroy(a);
    em__loop_post(d->w->loop, driver_fetched, d);
    return NULL;
}

/* Variables a driver does not inherit from the worker: an executor's, and
 * the ones set for it. */
static const char *const driver_unset[] = {
    "EMBER_EXECUTOR", "EMBER_APP_ID", "EMBER_EXECUTOR_ID",
    "EMBER_WORKER_ID", "EMBER_WORK_DIR", "EMBER_EXECUTOR_CORES",
    "EMBER_EXECUTOR_MEMORY", "EMBER_BLOCK_SERVER", "EMBER_MASTER",
    "EMBER_SECRET_FILE", "EMBER_SUBMISSION_ID",
};

static bool is_driver_unset(const char *s)
{
    for (size_t i = 0; i < sizeof(driver_unset) / sizeof(*driver_unset);
         i++) {
        size_t n = strlen(driver_unset[i]);
        if (strncmp(s, driver_unset[i], n) == 0 && s[n] == '=')
            return true;
    }
    return false;
}

/* The driver's environment: the worker's, without executor variables,
 * with EMBER_MASTER (this pool), EMBER_SECRET_FILE, EMBER_SUBMISSION_ID
 * and, unless the worker has one, EMBER_DRIVER_HOST (the worker's host,
 * where its executors reach it). */
static em_status make_driver_env(em__worker *w, const em__wdriver *d,
                                 em__spawn_env *env)
{
    const char *mh = w->o->master_host;
    const size_t cap = sizeof(env->kv[0]);
    size_t n = 0, k = 0, nkv = 3;

    snprintf(env->kv[0], cap, "EMBER_MASTER=ember://%s%s%s:%d",
             strchr(mh, ':') ? "[" : "", mh, strchr(mh, ':') ? "]" : "",
             w->o->master_port);
    snprintf(env->kv[1], cap, "EMBER_SECRET_FILE=%s", w->o->secret_path);
    snprintf(env->kv[2], cap, "EMBER_SUBMISSION_ID=%s", d->id);
    if (getenv("EMBER_DRIVER_HOST") == NULL)
        snprintf(env->kv[nkv++], cap, "EMBER_DRIVER_HOST=%s", w->host);
    while (environ[n] != NULL)
        n++;
    env->nenvp = n + nkv + 1;
    if ((env->envp = em__mem_calloc(env->nenvp, sizeof(char *))) == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!is_driver_unset(environ[i]))
            env->envp[k++] = environ[i];
    for (size_t i = 0; i < nkv; i++)
        env->envp[k++] = env->kv[i];
    return EM_OK;
}

/* The driver's argv, allocated (nargv pointers): PROGRAM ARGS, or for a
 * script `ember run SCRIPT ARGS`. Strings are d's. */
static char **driver_argv(em__wdriver *d, size_t *nargv)
{
    size_t n = d->nargs + 4, k = 0;
    char **argv = em__mem_calloc(n, sizeof(char *));
    char *a = d->args;

    if (argv == NULL)
        return NULL;
    if (d->script_hash[0] != '\0') {
        argv[k++] = "ember";
        argv[k++] = "run";
        argv[k++] = d->script_name;
    } else {
        argv[k++] = d->exe_name;
    }
    for (uint32_t i = 0; i < d->nargs; i++, a += strlen(a) + 1)
        argv[k++] = a;
    *nargv = n;
    return argv;
}

/* posix_spawn of a driver in dir: stdin /dev/null, stdout and stderr into
 * out_fd, its own process group. Returns 0 or an errno value. */
static int spawn_driver(const char *path, char **argv, const char *dir,
                        char **envp, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    int rc;

    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    rc = posix_spawn(pid, path, &fa, &at, argv, envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Copies the file src to dst (mode 0600). */
static em_status copy_file(const char *src, const char *dst)
{
    char buf[65536];
    int in = open(src, O_RDONLY | O_CLOEXEC), out, e = 0;
    ssize_t n;

    if (in < 0)
        return em__err(EM_EIO, "cannot read %s: %s", src, strerror(errno));
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        e = errno;
        close(in);
        return em__err(EM_EIO, "cannot create %s: %s", dst, strerror(e));
    }
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            e = errno ? errno : EIO;
            break;
        }
    if (n < 0)
        e = errno;
    close(in);
    if (close(out) != 0 && e == 0)
        e = errno;
    if (e != 0)
        return em__err(EM_EIO, "cannot copy %s to %s: %s", src, dst,
                       strerror(e));
    return EM_OK;
}

/* Makes WORK/drivers/ID with the script (for a Lua driver) and the output
 * file, and the pipe of the driver's output. */
static em_status prepare_driver(em__worker *w, em__wdriver *d, char *dir,
                                size_t cap, int *pipe_w)
{
    char path[PATH_MAX * 2], src[PATH_MAX * 2];
    int fds[2];

    em__worker_pathf(dir, cap, "%s/drivers", w->work);
    if (em__daemon_mkdir(dir, 0700) != EM_OK)
        return EM_EIO;
    em__worker_pathf(dir, cap, "%s/drivers/%s", w->work, d->id);
    if (em__daemon_mkdir(dir, 0700) != EM_OK)
        return EM_EIO;
    if (d->script_hash[0] != '\0') {
        em__worker_pathf(src, sizeof(src), "%s/bin/%s", w->work,
                         d->script_hash);
        em__worker_pathf(path, sizeof(path), "%s/%s", dir, d->script_name);
        if (copy_file(src, path) != EM_OK)
            return EM_EIO;
    }
    em__worker_pathf(path, sizeof(path), "%s/output", dir);
    d->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (d->log_fd < 0)
        return em__err(EM_EIO, "cannot create %s: %s", path, strerror(errno));
    if (pipe2(fds, O_CLOEXEC) != 0)
        return em__err(EM_EIO, "cannot make a pipe: %s", strerror(errno));
    d->out_fd = fds[0];
    *pipe_w = fds[1];
    return EM_OK;
}

/* Starts d, whose files are in WORK/bin, and its reader thread. */
static void start_driver(em__worker *w, em__wdriver *d)
{
    char dir[PATH_MAX], path[PATH_MAX], why[PATH_MAX + 256];
    em__spawn_env *env = em__mem_alloc(sizeof(*env));
    size_t nargv = 0;
    char **argv = NULL;
    int pipe_w = -1, rc;

    em__worker_pathf(path, sizeof(path), "%s/bin/%s", w->work, d->exe_hash);
    if (env == NULL || prepare_driver(w, d, dir, sizeof(dir), &pipe_w) !=
            EM_OK ||
        (argv = driver_argv(d, &nargv)) == NULL ||
        make_driver_env(w, d, env) != EM_OK) {
        em__worker_pathf(why, sizeof(why), "failed to start: %s",
                         em_last_error());
        goto out_fail;
    }
    rc = spawn_driver(path, argv, dir, env->envp, pipe_w, &d->pid);
    em__mem_free(env->envp, env->nenvp * sizeof(char *));
    close(pipe_w);
    pipe_w = -1;
    if (rc != 0) {
        em__worker_pathf(why, sizeof(why), "failed to start %s: %s", path,
                         strerror(rc));
        goto out_fail;
    }
    em__worker_log(w, "started driver %s (pid %d) in %s", d->id, (int)d->pid,
                   dir);
    if ((rc = pthread_create(&d->thread, NULL, driver_reader, d)) != 0) {
        /* nobody would read its output: it cannot run */
        kill(-d->pid, SIGKILL);
        em__worker_log(w, "driver %s: cannot start a thread: %s", d->id,
                       strerror(rc));
        d->is_drained = true;
    } else {
        d->has_thread = true;
    }
    em__mem_free(argv, nargv * sizeof(char *));
    em__mem_free(env, sizeof(*env));
    return;

out_fail:
    if (pipe_w >= 0)
        close(pipe_w);
    em__mem_free(argv, nargv * sizeof(char *));
    em__mem_free(env, sizeof(*env));
    driver_done(w, d, why, -1);
}

/* On the loop: a driver's files were fetched (or not). */
static void driver_fetched(void *arg)
{
    em__wdriver *d = arg;
    em__worker *w = d->w;
    char why[400];

    if (w->is_stopping)
        return; /* the shutdown joins and frees */
    pthread_join(d->thread, NULL);
    d->has_thread = false;
    if (d->fetch_st != EM_OK) {
        em__worker_pathf(why, sizeof(why),
                         "failed to start: cannot fetch its files "
                         "from the master: %s",
                         d->msg);
        driver_done(w, d, why, -1);
    } else if (d->is_kill_asked) {
        driver_done(w, d, "killed before it started", -1);
    } else {
        start_driver(w, d);
    }
}

/* Whether pid was a driver's: then it was reaped with wait status st.
 * Whatever is left of its process group is killed. */
bool em__worker_reap_driver(em__worker *w, pid_t pid, int st)
{
    for (size_t i = 0; i < w->ndrivers; i++) {
        em__wdriver *d = w->drivers[i];

        if (d->pid != pid || d->is_reaped)
            continue;
        d->is_reaped = true;
        d->wait_status = st;
        atomic_store(&d->is_exited, true);
        kill(-pid, SIGKILL);
        em__timer_cancel(d->kill_timer);
        d->kill_timer = NULL;
        if (d->is_drained)
            driver_finish(w, d);
        return true;
    }
    return false;
}

/* ---- messages from the master ---- */

static em__wdriver *find_driver(em__worker *w, const char *id)
{
    for (size_t i = 0; i < w->ndrivers; i++)
        if (strcmp(w->drivers[i]->id, id) == 0)
            return w->drivers[i];
    return NULL;
}

/* Copies DRIVER_LAUNCH's args into d (NUL-separated). */
static em_status driver_args(em__wdriver *d, em_val args)
{
    size_t bytes = 0;
    char *p;

    if (args.type != EM_ARRAY || args.len > 65536)
        return em__err(EM_EPROTO, "DRIVER_LAUNCH: field args is not an "
                       "array");
    for (uint32_t i = 0; i < args.len; i++) {
        em_val v = args.u.arr[i];
        if (v.type != EM_STR || memchr(v.u.s, 0, v.len) != NULL)
            return em__err(EM_EPROTO, "DRIVER_LAUNCH: args holds a %s or a "
                           "NUL", em_type_name((em_type)v.type));
        bytes += v.len + 1;
    }
    if ((d->args = p = em__mem_alloc(bytes)) == NULL)
        return EM_ENOMEM;
    d->args_bytes = bytes;
    d->nargs = args.len;
    for (uint32_t i = 0; i < args.len; i++) {
        memcpy(p, args.u.arr[i].u.s, args.u.arr[i].len);
        p += args.u.arr[i].len;
        *p++ = '\0';
    }
    return EM_OK;
}

static em_status parse_driver(em_val body, em__wdriver *d)
{
    const int t = EM__MSG_DRIVER_LAUNCH;
    em_status st;

    if ((st = em__msg_str(t, body, "id", d->id, sizeof(d->id))) != EM_OK ||
        (st = em__msg_str(t, body, "exe_hash", d->exe_hash,
                          sizeof(d->exe_hash))) != EM_OK ||
        (st = em__msg_str(t, body, "exe_name", d->exe_name,
                          sizeof(d->exe_name))) != EM_OK)
        return st;
    if (em__msg_get(body, "script_hash").type != EM_NIL &&
        ((st = em__msg_str(t, body, "script_hash", d->script_hash,
                           sizeof(d->script_hash))) != EM_OK ||
         (st = em__msg_str(t, body, "script_name", d->script_name,
                           sizeof(d->script_name))) != EM_OK))
        return st;
    if (!em__daemon_is_name(d->id) || !em__daemon_is_name(d->exe_name) ||
        !em__daemon_is_hash(d->exe_hash) ||
        (d->script_hash[0] != '\0' &&
         (!em__daemon_is_hash(d->script_hash) ||
          !em__daemon_is_name(d->script_name) ||
          strcmp(d->script_name, "output") == 0)))
        return em__err(EM_EPROTO, "DRIVER_LAUNCH: bad id, names or hashes");
    return driver_args(d, em__msg_get(body, "args"));
}

/* DRIVER_LAUNCH: the driver's files are fetched on a thread, then it
 * starts. */
em_status em__worker_on_driver_launch(em__worker *w, em_val body)
{
    em__wdriver *d = em__mem_calloc(1, sizeof(*d));
    em_status st;
    int rc;

    if (d == NULL)
        return EM_ENOMEM;
    d->w = w;
    d->out_fd = d->log_fd = -1;
    if ((st = parse_driver(body, d)) != EM_OK)
        goto out_free;
    if (find_driver(w, d->id) != NULL) {
        em__worker_log(w, "driver %s runs already", d->id);
        free_driver(d);
        return EM_OK;
    }
    if (em__mem_grow((void **)&w->drivers, &w->cdrivers, w->ndrivers + 1,
                     sizeof(*w->drivers)) != 0) {
        st = EM_ENOMEM;
        goto out_free;
    }
    w->drivers[w->ndrivers++] = d;
    if ((rc = pthread_create(&d->thread, NULL, driver_fetch_main, d)) != 0) {
        char why[200];
        em__worker_pathf(why, sizeof(why),
                         "failed to start: cannot start a thread: %s",
                         strerror(rc));
        driver_done(w, d, why, -1);
        return EM_OK;
    }
    d->has_thread = true;
    em__worker_log(w, "driver %s: fetching its files from the master", d->id);
    return EM_OK;

out_free:
    free_driver(d);
    return st;
}

/* The kill's grace ended: SIGKILL to the driver's process group. */
static void on_kill_timer(void *arg)
{
    em__wdriver *d = arg;

    em__worker_log(d->w,
                   "driver %s did not end within %d ms of SIGTERM: SIGKILL",
                   d->id, EM__WORKER_KILL_GRACE_MS);
    kill(-d->pid, SIGKILL);
}

/* DRIVER_KILL {id}: SIGTERM to the driver's process group, SIGKILL after
 * EM__WORKER_KILL_GRACE_MS. An unknown driver is reported as not running
 * here, so the master does not wait for it. */
em_status em__worker_on_driver_kill(em__worker *w, em_val body)
{
    char id[128], why[256];
    em__msg msg;
    em__wdriver *d;
    em_status st;

    if ((st = em__msg_str(EM__MSG_DRIVER_KILL, body, "id", id, sizeof(id))) !=
        EM_OK)
        return st;
    if ((d = find_driver(w, id)) == NULL) {
        em__worker_pathf(why, sizeof(why), "not running on worker %s", w->id);
        em__msg_init(&msg);
        em__msg_put(&msg, "id", em_cstr(id));
        em__msg_put(&msg, "status", em_cstr(why));
        em__worker_send(w, w->master, EM__MSG_DRIVER_EXITED, &msg);
        return EM_OK;
    }
    d->is_kill_asked = true;
    if (d->pid <= 0 || d->is_reaped || d->kill_timer != NULL)
        return EM_OK; /* not started yet, or ending */
    em__worker_log(w, "driver %s: SIGTERM", id);
    kill(-d->pid, SIGTERM);
    d->kill_timer = em__loop_timer(w->loop, EM__WORKER_KILL_GRACE_MS, false,
                                   on_kill_timer, d);
    if (d->kill_timer == NULL)
        kill(-d->pid, SIGKILL);
    return EM_OK;
}

/* ---- the worker's other half ---- */

em_status em__worker_driver_ids(em__worker *w, em_val *out)
{
    em_val *ids = em__arena_alloc(w->arena, (w->ndrivers + 1) * sizeof(em_val),
                                  8);

    if (ids == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < w->ndrivers; i++)
        ids[i] = em_cstr(w->drivers[i]->id);
    *out = em_array(ids, w->ndrivers);
    return EM_OK;
}

/* Kills every driver and joins its thread (freed with the worker). */
void em__worker_stop_drivers(em__worker *w)
{
    for (size_t i = 0; i < w->ndrivers; i++) {
        em__wdriver *d = w->drivers[i];

        atomic_store(&d->is_abandoned, true);
        atomic_store(&d->is_exited, true);
        if (d->pid > 0 && !d->is_reaped) {
            kill(-d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
        if (d->has_thread)
            pthread_join(d->thread, NULL);
        d->has_thread = false;
    }
    if (w->ndrivers > 0)
        em__worker_log(w, "stopped %zu driver(s)", w->ndrivers);
}

void em__worker_free_drivers(em__worker *w)
{
    for (size_t i = 0; i < w->ndrivers; i++)
        free_driver(w->drivers[i]);
    em__mem_free(w->drivers, w->cdrivers * sizeof(*w->drivers));
}
