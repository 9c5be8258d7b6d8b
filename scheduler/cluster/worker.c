/* The worker daemon (worker.h). One loop thread runs everything: the link
 * to the master (reconnected every EM__WORKER_RETRY_MS while it is down),
 * the block server, and timers for heartbeats and for reaping executors.
 * Executables are fetched from drivers on threads of their own, whose
 * results are posted back to the loop. Executors are started with
 * posix_spawn, each in its own process group, so that one kill ends an
 * executor and whatever it started. Submitted drivers are
 * worker_drivers.c's. Work directory layout:
 *
 *   WORK/bin/<exe_hash>            executables, mode 0755
 *   WORK/<app>/exec-<n>/           an executor's EMBER_WORK_DIR
 *   WORK/<app>/exec-<n>/stdout     its output and errors
 *   WORK/<app>/exec-<n>/stderr
 *   WORK/<app>/replicas/rdd-<r>-<p> second copies of cached blocks
 *   WORK/drivers/<id>/             a submitted driver's folder
 *                                  (worker_drivers.c)
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* A LAUNCH: one executor to start. */
typedef struct wlaunch {
    char app[128];         /* application id */
    int64_t exec;          /* executor id within the application */
    char driver_host[256]; /* EMBER_EXECUTOR */
    int driver_port;
    char hash[65];         /* the executable's content hash */
    int64_t memory;        /* EMBER_EXECUTOR_MEMORY */
    int64_t cores;         /* EMBER_EXECUTOR_CORES */
} wlaunch;

/* A running executor. */
struct em__wexec {
    char app[128];
    int64_t exec;
    pid_t pid; /* also its process group */
};

/* An executable being fetched, and the launches waiting for it. */
struct em__wfetch {
    struct em__worker *w;
    pthread_t thread;
    char hash[65];
    char driver_host[256];
    int driver_port;
    em_status st;      /* the thread's outcome */
    char msg[256];     /* its error message */
    size_t bytes;      /* the executable's size */
    wlaunch *pending;  /* launches waiting for it */
    size_t npending, cpending;
};

/* ---- log and small helpers ---- */

void em__worker_log(em__worker *w, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (w->o->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    w->o->log(line, w->o->ud);
}

/* Sends the fields of msg to c; a failure closes c. */
void em__worker_send(em__worker *w, em__conn *c, int type, em__msg *msg)
{
    em_val body;

    if (em__msg_done(msg, w->arena, &body) != EM_OK ||
        em__conn_send(c, type, body) != EM_OK)
        em__conn_close(c, em_last_error());
    em__arena_reset(w->arena);
}

/* snprintf for paths and messages that may be cut: a cut one is still
 * NUL-terminated (and then fails where it is used). */
void em__worker_pathf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* "exit 3", "signal 9" for a wait status. */
void em__worker_format_status(int st, char *buf, size_t cap)
{
    if (WIFEXITED(st))
        snprintf(buf, cap, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, cap, "status %d", st);
}

/* Creates path and its missing parents (mode 0700). */
static em_status mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return em__err(EM_EINVAL, "bad work directory '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (em__daemon_mkdir(buf, 0700) != EM_OK)
            return EM_EIO;
        buf[i] = i < n ? '/' : '\0';
    }
    return EM_OK;
}

/* ---- reporting executors ---- */

/* Reports an executor that ended (or never started) to the master. */
static void report_exit(em__worker *w, const char *app, int64_t exec,
                        const char *status)
{
    em__msg msg;

    em__worker_log(w, "executor %lld of %s: %s", (long long)exec, app, status);
    if (w->master == NULL || !w->is_registered) {
        em__worker_log(w, "the master is not connected: it will not hear "
                          "of it");
        return;
    }
    em__msg_init(&msg);
    em__msg_put(&msg, "app", em_cstr(app));
    em__msg_put(&msg, "exec", em_int(exec));
    em__msg_put(&msg, "status", em_cstr(status));
    em__worker_send(w, w->master, EM__MSG_EXEC_EXITED, &msg);
}

/* Reaps every executor and driver that ended. */
static void on_reap(void *arg)
{
    em__worker *w = arg;
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        char status[64];

        if (em__worker_reap_driver(w, pid, st))
            continue;
        for (size_t i = 0; i < w->nexecs; i++) {
            em__wexec e = w->execs[i];

            if (e.pid != pid)
                continue;
            w->execs[i] = w->execs[--w->nexecs];
            em__worker_format_status(st, status, sizeof(status));
            report_exit(w, e.app, e.exec, status);
            break;
        }
    }
}

/* ---- starting executors ---- */

/* Remembers that this worker made WORK/<app>. */
static void note_appdir(em__worker *w, const char *app)
{
    for (size_t i = 0; i < w->nappdirs; i++)
        if (strcmp(w->appdirs[i], app) == 0)
            return;
    if (em__mem_grow((void **)&w->appdirs, &w->cappdirs, w->nappdirs + 1,
                     sizeof(*w->appdirs)) != 0)
        return; /* then it is not removed at shutdown, only at APP_END */
    snprintf(w->appdirs[w->nappdirs++], sizeof(*w->appdirs), "%s", app);
}

/* True when s ("NAME=value") sets one of the variables in env->kv. */
static bool is_ours(const em__spawn_env *env, const char *s)
{
    for (int i = 0; i < EM__WORKER_ENV_VARS; i++) {
        size_t n = strcspn(env->kv[i], "=") + 1;
        if (strncmp(s, env->kv[i], n) == 0)
            return true;
    }
    return false;
}

/* Builds the executor's environment: all EM__WORKER_ENV_VARS strings of
 * env->kv are set. */
static em_status make_env(em__worker *w, const wlaunch *l, const char *dir,
                          em__spawn_env *env)
{
    const size_t cap = sizeof(env->kv[0]);
    size_t n = 0, k = 0;

    snprintf(env->kv[0], cap, "EMBER_EXECUTOR=%s:%d", l->driver_host,
             l->driver_port);
    snprintf(env->kv[1], cap, "EMBER_APP_ID=%s", l->app);
    snprintf(env->kv[2], cap, "EMBER_EXECUTOR_ID=%lld", (long long)l->exec);
    snprintf(env->kv[3], cap, "EMBER_WORKER_ID=%s", w->id);
    snprintf(env->kv[4], cap, "EMBER_WORK_DIR=%s", dir);
    snprintf(env->kv[5], cap, "EMBER_EXECUTOR_CORES=%lld",
             (long long)l->cores);
    snprintf(env->kv[6], cap, "EMBER_EXECUTOR_MEMORY=%lld",
             (long long)l->memory);
    snprintf(env->kv[7], cap, "EMBER_BLOCK_SERVER=%s:%d", w->host,
             w->block_port);
    snprintf(env->kv[8], cap, "EMBER_SECRET_FILE=%s", w->o->secret_path);
    if (w->o->gpus > 0) /* gpu/gpu.h reads it */
        snprintf(env->kv[9], cap, "EMBER_GPU_DEVICE=%lld",
                 (long long)(l->exec % w->o->gpus));
    else
        snprintf(env->kv[9], cap, "EMBER_GPU_DEVICE=none");
    while (environ[n] != NULL)
        n++;
    env->nenvp = n + EM__WORKER_ENV_VARS + 1;
    if ((env->envp = em__mem_calloc(env->nenvp, sizeof(char *))) == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!is_ours(env, environ[i]))
            env->envp[k++] = environ[i];
    for (int i = 0; i < EM__WORKER_ENV_VARS; i++)
        env->envp[k++] = env->kv[i];
    return EM_OK;
}

/* posix_spawn of path with stdin /dev/null, stdout and stderr into dir,
 * a process group of its own, default signals and an empty mask. Returns
 * 0 or an errno value. */
static int spawn(const char *path, const char *dir, char **envp, pid_t *pid)
{
    char out[PATH_MAX + 16], err[PATH_MAX + 16];
    char *argv[] = {(char *)path, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    int rc;

    em__worker_pathf(out, sizeof(out), "%s/stdout", dir);
    em__worker_pathf(err, sizeof(err), "%s/stderr", dir);
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
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

/* Makes the executor's folder: WORK/<app>/exec-<n>. */
static em_status make_exec_dir(em__worker *w, const wlaunch *l, char *dir,
                               size_t cap)
{
    em__worker_pathf(dir, cap, "%s/%s", w->work, l->app);
    if (em__daemon_mkdir(dir, 0700) != EM_OK)
        return EM_EIO;
    note_appdir(w, l->app);
    em__worker_pathf(dir, cap, "%s/%s/exec-%lld", w->work, l->app,
                     (long long)l->exec);
    return em__daemon_mkdir(dir, 0700);
}

/* Starts the executor of l, whose executable is in WORK/bin. */
static void start_exec(em__worker *w, const wlaunch *l)
{
    char dir[PATH_MAX], path[PATH_MAX], why[512];
    em__spawn_env *env = em__mem_alloc(sizeof(*env));
    pid_t pid;
    int rc;

    em__worker_pathf(path, sizeof(path), "%s/bin/%s", w->work, l->hash);
    if (env == NULL || em__mem_grow((void **)&w->execs, &w->cexecs,
                                    w->nexecs + 1, sizeof(*w->execs)) != 0 ||
        make_exec_dir(w, l, dir, sizeof(dir)) != EM_OK ||
        make_env(w, l, dir, env) != EM_OK) {
        em__worker_pathf(why, sizeof(why), "failed to start: %s",
                         em_last_error());
        goto out_report;
    }
    rc = spawn(path, dir, env->envp, &pid);
    em__mem_free(env->envp, env->nenvp * sizeof(char *));
    if (rc != 0) {
        em__worker_pathf(why, sizeof(why), "failed to start %s: %s", path,
                         strerror(rc));
        goto out_report;
    }
    em__mem_free(env, sizeof(*env));
    w->execs[w->nexecs].pid = pid;
    w->execs[w->nexecs].exec = l->exec;
    snprintf(w->execs[w->nexecs].app, sizeof(w->execs[0].app), "%s", l->app);
    w->nexecs++;
    em__worker_log(w, "started executor %lld of %s (pid %d)",
                   (long long)l->exec, l->app, (int)pid);
    return;

out_report:
    em__mem_free(env, sizeof(*env));
    report_exit(w, l->app, l->exec, why);
}

/* ---- fetching executables ---- */

/* Writes n bytes to a temporary file in bin, checks its hash and renames
 * it to bin/<hash>. */
em_status em__worker_store_binary(const char *bin, const char *hash,
                                  const void *p, size_t n)
{
    char tmp[PATH_MAX], final[PATH_MAX], got[65];
    int fd, e;

    em__worker_pathf(tmp, sizeof(tmp), "%s/.fetch-XXXXXX", bin);
    em__worker_pathf(final, sizeof(final), "%s/%s", bin, hash);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
        return em__err(EM_EIO, "cannot create a file in %s: %s", bin,
                       strerror(errno));
    if (fchmod(fd, 0755) != 0 || write(fd, p, n) != (ssize_t)n) {
        e = errno;
        close(fd);
        unlink(tmp);
        return em__err(EM_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (em__file_hash(tmp, got) != EM_OK) {
        unlink(tmp);
        return EM_EIO;
    }
    if (strcmp(got, hash) != 0) {
        unlink(tmp);
        return em__err(EM_EPROTO, "the driver sent an executable whose hash "
                       "is %.12s..., expected %.12s...", got, hash);
    }
    if (rename(tmp, final) != 0) {
        e = errno;
        unlink(tmp);
        return em__err(EM_EIO, "cannot rename %s: %s", tmp, strerror(e));
    }
    return EM_OK;
}

/* GET_BINARY from the driver, on the fetch's thread. */
static em_status fetch_binary(em__wfetch *f, em_arena *a)
{
    em__msg msg;
    em_val body, data;
    char bin[PATH_MAX + 8];
    em_status st;

    em__msg_init(&msg);
    em__msg_put(&msg, "hash", em_cstr(f->hash));
    if ((st = em__msg_done(&msg, a, &body)) != EM_OK ||
        (st = em__ask(f->driver_host, f->driver_port, &f->w->o->key,
                      EM__WORKER_FETCH_CONNECT_MS, EM__WORKER_FETCH_RECV_MS,
                      "the driver", EM__MSG_GET_BINARY, body,
                      EM__MSG_BINARY, a, &body)) != EM_OK)
        return st;
    data = em__msg_get(body, "data");
    if (data.type != EM_BYTES)
        return em__err(EM_EPROTO, "the driver's BINARY has no data");
    em__worker_pathf(bin, sizeof(bin), "%s/bin", f->w->work);
    f->bytes = data.len;
    return em__worker_store_binary(bin, f->hash, data.u.bytes, data.len);
}

static void fetch_done(void *arg);

/* The fetch's thread. Its result goes back to the loop; when the loop is
 * being destroyed, the worker's shutdown joins the thread and frees f. */
static void *fetch_main(void *arg)
{
    em__wfetch *f = arg;
    em_arena *a = em_arena_create();

    f->st = a != NULL ? fetch_binary(f, a) : EM_ENOMEM;
    if (f->st != EM_OK)
        em__err_save(f->msg, sizeof(f->msg));
    em_arena_destroy(a);
    em__loop_post(f->w->loop, fetch_done, f);
    return NULL;
}

static void free_fetch(em__wfetch *f)
{
    em__mem_free(f->pending, f->cpending * sizeof(*f->pending));
    em__mem_free(f, sizeof(*f));
}

/* A fetch ended: start (or fail) the launches that waited for it. */
static void fetch_done(void *arg)
{
    em__wfetch *f = arg;
    em__worker *w = f->w;
    char why[400];

    if (w->is_stopping)
        return; /* the shutdown joins and frees */
    pthread_join(f->thread, NULL);
    for (size_t i = 0; i < w->nfetches; i++)
        if (w->fetches[i] == f) {
            w->fetches[i] = w->fetches[--w->nfetches];
            break;
        }
    if (f->st == EM_OK)
        em__worker_log(w, "fetched executable %.12s... (%zu bytes) from %s:%d",
                       f->hash, f->bytes, f->driver_host, f->driver_port);
    em__worker_pathf(why, sizeof(why),
                     "failed to start: cannot fetch the "
                     "executable from %s:%d: %s",
                     f->driver_host, f->driver_port, f->msg);
    for (size_t i = 0; i < f->npending; i++) {
        if (f->st == EM_OK)
            start_exec(w, &f->pending[i]);
        else
            report_exit(w, f->pending[i].app, f->pending[i].exec, why);
    }
    free_fetch(f);
}

/* Queues l behind the fetch of its executable, starting one if none runs. */
static em_status queue_fetch(em__worker *w, const wlaunch *l)
{
    em__wfetch *f = NULL;
    int rc;

    for (size_t i = 0; i < w->nfetches && f == NULL; i++)
        if (strcmp(w->fetches[i]->hash, l->hash) == 0)
            f = w->fetches[i];
    if (f == NULL) {
        if (em__mem_grow((void **)&w->fetches, &w->cfetches,
                         w->nfetches + 1, sizeof(*w->fetches)) != 0 ||
            (f = em__mem_calloc(1, sizeof(*f))) == NULL)
            return EM_ENOMEM;
        f->w = w;
        snprintf(f->hash, sizeof(f->hash), "%s", l->hash);
        snprintf(f->driver_host, sizeof(f->driver_host), "%s",
                 l->driver_host);
        f->driver_port = l->driver_port;
        if ((rc = pthread_create(&f->thread, NULL, fetch_main, f)) != 0) {
            em__mem_free(f, sizeof(*f));
            return em__err(EM_EIO, "cannot start a thread: %s",
                           strerror(rc));
        }
        w->fetches[w->nfetches++] = f;
        em__worker_log(w, "fetching executable %.12s... from %s:%d", l->hash,
                       l->driver_host, l->driver_port);
    }
    if (em__mem_grow((void **)&f->pending, &f->cpending, f->npending + 1,
                     sizeof(*f->pending)) != 0)
        return EM_ENOMEM;
    f->pending[f->npending++] = *l;
    return EM_OK;
}

/* ---- messages from the master ---- */

/* True when executor exec of app runs here or waits for its executable. */
static bool has_exec(em__worker *w, const char *app, int64_t exec)
{
    for (size_t i = 0; i < w->nexecs; i++)
        if (w->execs[i].exec == exec && strcmp(w->execs[i].app, app) == 0)
            return true;
    for (size_t i = 0; i < w->nfetches; i++)
        for (size_t k = 0; k < w->fetches[i]->npending; k++) {
            wlaunch *l = &w->fetches[i]->pending[k];
            if (l->exec == exec && strcmp(l->app, app) == 0)
                return true;
        }
    return false;
}

static em_status parse_launch(em_val body, wlaunch *l)
{
    int64_t port;
    em_status st;
    const int t = EM__MSG_LAUNCH;

    if ((st = em__msg_str(t, body, "app", l->app, sizeof(l->app))) != EM_OK ||
        (st = em__msg_int(t, body, "exec", &l->exec)) != EM_OK ||
        (st = em__msg_str(t, body, "driver_host", l->driver_host,
                          sizeof(l->driver_host))) != EM_OK ||
        (st = em__msg_int(t, body, "driver_port", &port)) != EM_OK ||
        (st = em__msg_str(t, body, "exe_hash", l->hash, sizeof(l->hash))) !=
            EM_OK ||
        (st = em__msg_int(t, body, "memory", &l->memory)) != EM_OK ||
        (st = em__msg_int(t, body, "cores", &l->cores)) != EM_OK)
        return st;
    if (!em__daemon_is_name(l->app) || strcmp(l->app, "bin") == 0)
        return em__err(EM_EPROTO, "LAUNCH: bad application id '%s'", l->app);
    if (!em__daemon_is_hash(l->hash))
        return em__err(EM_EPROTO, "LAUNCH: exe_hash is not 64 hex digits");
    if (l->exec < 0 || port < 1 || port > 65535 || l->memory < 0 ||
        l->cores < 1)
        return em__err(EM_EPROTO, "LAUNCH: bad exec, driver_port, memory or "
                       "cores");
    l->driver_port = (int)port;
    return EM_OK;
}

static em_status on_launch(em__worker *w, em_val body)
{
    char path[PATH_MAX];
    wlaunch l;
    em_status st;

    memset(&l, 0, sizeof(l));
    if ((st = parse_launch(body, &l)) != EM_OK)
        return st;
    if (has_exec(w, l.app, l.exec)) {
        em__worker_log(w, "executor %lld of %s runs already", (long long)l.exec,
                       l.app);
        return EM_OK;
    }
    em__worker_pathf(path, sizeof(path), "%s/bin/%s", w->work, l.hash);
    if (access(path, X_OK) == 0)
        start_exec(w, &l);
    else if (queue_fetch(w, &l) != EM_OK) {
        char why[400];

        em__worker_pathf(why, sizeof(why), "failed to start: %s",
                         em_last_error());
        report_exit(w, l.app, l.exec, why);
    }
    return EM_OK;
}

/* APP_END: kills the application's executors, drops its waiting launches
 * and removes its folder. */
static em_status on_app_end(em__worker *w, em_val body)
{
    char app[128], dir[PATH_MAX];
    size_t killed = 0;
    em_status st;

    if ((st = em__msg_str(EM__MSG_APP_END, body, "app", app, sizeof(app))) !=
        EM_OK)
        return st;
    if (!em__daemon_is_name(app) || strcmp(app, "bin") == 0)
        return em__err(EM_EPROTO, "APP_END: bad application id '%s'", app);
    for (size_t i = 0; i < w->nexecs;) {
        if (strcmp(w->execs[i].app, app) != 0) {
            i++;
            continue;
        }
        kill(-w->execs[i].pid, SIGKILL);
        waitpid(w->execs[i].pid, NULL, 0);
        w->execs[i] = w->execs[--w->nexecs];
        killed++;
    }
    for (size_t i = 0; i < w->nfetches; i++) {
        em__wfetch *f = w->fetches[i];
        for (size_t k = 0; k < f->npending;)
            if (strcmp(f->pending[k].app, app) == 0)
                f->pending[k] = f->pending[--f->npending];
            else
                k++;
    }
    em__worker_pathf(dir, sizeof(dir), "%s/%s", w->work, app);
    if (em__daemon_rmtree(dir) != EM_OK)
        em__worker_log(w, "%s", em_last_error());
    for (size_t i = 0; i < w->nappdirs; i++)
        if (strcmp(w->appdirs[i], app) == 0) {
            memcpy(w->appdirs[i], w->appdirs[--w->nappdirs],
                   sizeof(*w->appdirs));
            break;
        }
    em__worker_log(w,
                   "application %s ended: %zu executor(s) stopped, %s removed",
                   app, killed, dir);
    return EM_OK;
}

/* ---- the master link ---- */

/* Adds app (with its executor exec) to the hello's lists, once. */
static void hello_add(em_val *apps, em_val *execs, size_t *n, const char *app,
                      int64_t exec)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(apps[i].u.s, app) == 0) {
            if (exec > execs[2 * i + 1].u.i)
                execs[2 * i + 1] = em_int(exec);
            return;
        }
    apps[*n] = em_cstr(app);
    execs[2 * *n] = apps[*n];
    execs[2 * *n + 1] = em_int(exec);
    (*n)++;
}

/* WORKER_HELLO: what this worker offers, which applications have
 * executors here (execs: the highest executor id of each) and which
 * submitted drivers run here. */
static em_status send_hello(em__worker *w)
{
    size_t cap = w->nexecs, n = 0;
    em_val *apps, *execs, list, map, drivers, body;
    em__msg msg;
    em_status st;

    for (size_t i = 0; i < w->nfetches; i++)
        cap += w->fetches[i]->npending;
    apps = em__arena_alloc(w->arena, (cap + 1) * sizeof(em_val), 8);
    execs = em__arena_alloc(w->arena, (2 * cap + 1) * sizeof(em_val), 8);
    if (apps == NULL || execs == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < w->nexecs; i++)
        hello_add(apps, execs, &n, w->execs[i].app, w->execs[i].exec);
    for (size_t i = 0; i < w->nfetches; i++)
        for (size_t k = 0; k < w->fetches[i]->npending; k++)
            hello_add(apps, execs, &n, w->fetches[i]->pending[k].app,
                      w->fetches[i]->pending[k].exec);
    list = em_array(apps, n);
    if ((st = em_map_make(w->arena, execs, n, &map)) != EM_OK)
        return st;
    if ((st = em__worker_driver_ids(w, &drivers)) != EM_OK)
        return st;
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(w->id));
    em__msg_put(&msg, "host", em_cstr(w->host));
    em__msg_put(&msg, "block_port", em_int(w->block_port));
    em__msg_put(&msg, "cores", em_int(w->o->cores));
    em__msg_put(&msg, "memory", em_int(w->o->memory));
    em__msg_put(&msg, "apps", list);
    em__msg_put(&msg, "execs", map);
    em__msg_put(&msg, "drivers", drivers);
    if ((st = em__msg_done(&msg, w->arena, &body)) == EM_OK)
        st = em__conn_send(w->master, EM__MSG_WORKER_HELLO, body);
    em__arena_reset(w->arena);
    return st;
}

static void on_heartbeat(void *arg)
{
    em__worker *w = arg;
    em__msg msg;

    if (w->master == NULL || !w->is_registered)
        return;
    em__msg_init(&msg);
    em__worker_send(w, w->master, EM__MSG_WORKER_HEARTBEAT, &msg);
}

static void m_open(em__conn *c, void *ud)
{
    em__worker *w = ud;

    if (send_hello(w) != EM_OK)
        em__conn_close(c, em_last_error());
}

/* WORKER_WELCOME: registered; heartbeats start. */
static em_status on_welcome(em__worker *w, em_val body)
{
    int64_t ms = em__heartbeat_timeout_ms() / 4;
    em_val v = em__msg_get(body, "heartbeat_ms");

    if (v.type == EM_INT && v.u.i >= 10 && v.u.i <= 3600 * 1000)
        ms = v.u.i;
    w->is_registered = true;
    if (w->is_down_logged)
        em__worker_log(w, "the master %s:%d is back: registered as %s",
                       w->o->master_host, w->o->master_port, w->id);
    else
        em__worker_log(w, "registered with the master %s:%d as %s",
                       w->o->master_host, w->o->master_port, w->id);
    w->is_down_logged = false;
    if (w->heartbeat == NULL)
        w->heartbeat = em__loop_timer(w->loop, ms, true, on_heartbeat, w);
    else
        em__timer_again(w->heartbeat, ms);
    return w->heartbeat != NULL ? EM_OK : EM_ENOMEM;
}

static em_status m_frame(em__conn *c, int type, em_val body, void *ud)
{
    em__worker *w = ud;

    switch (type) {
    case EM__MSG_WORKER_WELCOME:
        return on_welcome(w, body);
    case EM__MSG_LAUNCH:
        return on_launch(w, body);
    case EM__MSG_APP_END:
        return on_app_end(w, body);
    case EM__MSG_DRIVER_LAUNCH:
        return em__worker_on_driver_launch(w, body);
    case EM__MSG_DRIVER_KILL:
        return em__worker_on_driver_kill(w, body);
    default:
        return em__err(EM_EPROTO, "unexpected %s (type %d) from the master",
                       em__msg_name(type), type);
    }
}

static void m_close(em__conn *c, const char *reason, void *ud)
{
    em__worker *w = ud;

    w->master = NULL;
    if (w->is_stopping)
        return;
    if (w->is_registered)
        em__worker_log(w, "lost the master %s:%d (%s); retrying every %d ms",
                       w->o->master_host, w->o->master_port, reason,
                       EM__WORKER_RETRY_MS);
    else if (!w->is_down_logged)
        em__worker_log(
            w, "cannot reach the master %s:%d (%s); retrying every %d ms",
            w->o->master_host, w->o->master_port, reason, EM__WORKER_RETRY_MS);
    w->is_down_logged = true;
    w->is_registered = false;
    em__timer_again(w->retry, EM__WORKER_RETRY_MS);
}

static const em__conn_handler master_handler = {m_open, m_frame, m_close};

/* The retry timer: connects to the master. */
static void on_retry(void *arg)
{
    em__worker *w = arg;

    if (w->master != NULL)
        return;
    w->master = em__conn_connect(w->loop, w->o->master_host,
                                 w->o->master_port, &w->o->key,
                                 &master_handler, w);
    if (w->master == NULL) {
        em__worker_log(w, "cannot connect to the master: %s", em_last_error());
        em__timer_again(w->retry, EM__WORKER_RETRY_MS);
    }
}

/* ---- the block server ---- */

static void send_error(em__worker *w, em__conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers a request with ERROR {message}. */
static void send_error(em__worker *w, em__conn *c, const char *fmt, ...)
{
    char text[PATH_MAX + 256];
    em__msg msg;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    em__msg_init(&msg);
    em__msg_put(&msg, "message", em_cstr(text));
    em__worker_send(w, c, EM__MSG_ERROR, &msg);
}

/* Opens path for a FETCH: it must resolve to a regular file under the
 * work directory. Returns the descriptor, or -1 after answering c. */
static int open_block(em__worker *w, em__conn *c, const char *path,
                      struct stat *st)
{
    char full[PATH_MAX * 2], real[PATH_MAX];
    size_t n = strlen(w->work);
    int fd;

    if (path[0] == '/')
        em__worker_pathf(full, sizeof(full), "%s", path);
    else
        em__worker_pathf(full, sizeof(full), "%s/%s", w->work, path);
    if (realpath(full, real) == NULL) {
        send_error(w, c, "fetch %s: %s", path, strerror(errno));
        return -1;
    }
    if (strncmp(real, w->work, n) != 0 || real[n] != '/') {
        send_error(w, c, "fetch %s: not under the work directory", path);
        return -1;
    }
    if ((fd = open(real, O_RDONLY | O_CLOEXEC)) < 0) {
        send_error(w, c, "fetch %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        send_error(w, c, "fetch %s: not a regular file", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads len bytes at offset into a new block; NULL after answering c. */
static uint8_t *read_block(em__worker *w, em__conn *c, int fd,
                           const char *path, int64_t offset, size_t len)
{
    uint8_t *buf = em__mem_alloc(len);
    size_t got = 0;

    if (buf == NULL) {
        send_error(w, c, "fetch %s: out of memory", path);
        return NULL;
    }
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)offset + (off_t)got);

        if (r <= 0) {
            send_error(w, c, "fetch %s: %s", path,
                       r == 0 ? "file shrank" : strerror(errno));
            em__mem_free(buf, len);
            return NULL;
        }
        got += (size_t)r;
    }
    return buf;
}

/* FETCH {path, offset, len} -> BLOCK {data} or ERROR {message}. */
static em_status on_fetch(em__worker *w, em__conn *c, em_val body)
{
    char path[PATH_MAX];
    int64_t offset, len;
    struct stat st;
    uint8_t *buf;
    em__msg msg;
    em_status s;
    int fd;

    if ((s = em__msg_str(EM__MSG_FETCH, body, "path", path, sizeof(path))) !=
            EM_OK ||
        (s = em__msg_int(EM__MSG_FETCH, body, "offset", &offset)) != EM_OK ||
        (s = em__msg_int(EM__MSG_FETCH, body, "len", &len)) != EM_OK)
        return s;
    if (offset < 0 || len < 0 || (uint64_t)len > EM__WORKER_MAX_FETCH_BYTES) {
        send_error(w, c, "fetch %s: bad range (offset %lld, len %lld; at most "
                   "%zu bytes a request)", path, (long long)offset,
                   (long long)len, EM__WORKER_MAX_FETCH_BYTES);
        return EM_OK;
    }
    if ((fd = open_block(w, c, path, &st)) < 0)
        return EM_OK;
    if (offset > (int64_t)st.st_size || len > (int64_t)st.st_size - offset) {
        send_error(w, c, "fetch %s: range %lld+%lld is beyond its %lld bytes",
                   path, (long long)offset, (long long)len,
                   (long long)st.st_size);
        close(fd);
        return EM_OK;
    }
    buf = read_block(w, c, fd, path, offset, (size_t)len);
    close(fd);
    if (buf == NULL)
        return EM_OK;
    em__msg_init(&msg);
    em__msg_put(&msg, "data", em_bytes(buf, (size_t)len));
    em__worker_send(w, c, EM__MSG_BLOCK, &msg);
    em__mem_free(buf, (size_t)len);
    return EM_OK;
}

/* Writes n bytes to path through path.tmp and a rename. */
static em_status write_atomic(const char *path, const void *p, size_t n)
{
    char tmp[PATH_MAX + 8];
    int fd, e;

    em__worker_pathf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return em__err(EM_EIO, "cannot write %s: %s", tmp, strerror(errno));
    if (write(fd, p, n) != (ssize_t)n) {
        e = errno;
        close(fd);
        unlink(tmp);
        return em__err(EM_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return em__err(EM_EIO, "cannot rename %s: %s", tmp, strerror(e));
    }
    return EM_OK;
}

/* PUT_BLOCK {app, rdd, part, data} -> STORED or ERROR: a second copy of a
 * cached block, kept as WORK/<app>/replicas/rdd-<rdd>-<part> until the
 * application ends. */
static em_status on_put_block(em__worker *w, em__conn *c, em_val body)
{
    char app[128], path[PATH_MAX];
    int64_t rdd, part;
    em_val data = em__msg_get(body, "data");
    em__msg msg;
    em_status s;

    if ((s = em__msg_str(EM__MSG_PUT_BLOCK, body, "app", app, sizeof(app))) !=
            EM_OK ||
        (s = em__msg_int(EM__MSG_PUT_BLOCK, body, "rdd", &rdd)) != EM_OK ||
        (s = em__msg_int(EM__MSG_PUT_BLOCK, body, "part", &part)) != EM_OK)
        return s;
    if (data.type != EM_BYTES)
        return em__err(EM_EPROTO, "PUT_BLOCK: field data missing or not "
                       "bytes");
    if (!em__daemon_is_name(app) || strcmp(app, "bin") == 0 || rdd < 0 ||
        part < 0) {
        send_error(w, c, "put block: bad application id '%s', rdd or part",
                   app);
        return EM_OK;
    }
    em__worker_pathf(path, sizeof(path), "%s/%s", w->work, app);
    if (em__daemon_mkdir(path, 0700) == EM_OK)
        note_appdir(w, app);
    em__worker_pathf(path, sizeof(path), "%s/%s/replicas", w->work, app);
    if (em__daemon_mkdir(path, 0700) != EM_OK) {
        send_error(w, c, "put block: %s", em_last_error());
        return EM_OK;
    }
    em__worker_pathf(path, sizeof(path), "%s/%s/replicas/rdd-%lld-%lld",
                     w->work, app, (long long)rdd, (long long)part);
    if (write_atomic(path, data.u.bytes, data.len) != EM_OK) {
        send_error(w, c, "put block: %s", em_last_error());
        return EM_OK;
    }
    em__msg_init(&msg);
    em__worker_send(w, c, EM__MSG_STORED, &msg);
    return EM_OK;
}

static em_status b_frame(em__conn *c, int type, em_val body, void *ud)
{
    if (type == EM__MSG_FETCH)
        return on_fetch(ud, c, body);
    if (type == EM__MSG_PUT_BLOCK)
        return on_put_block(ud, c, body);
    return em__err(EM_EPROTO, "unexpected %s (type %d) at the block server",
                   em__msg_name(type), type);
}

static const em__conn_handler block_handler = {NULL, b_frame, NULL};

/* ---- running ---- */

/* Makes the work directory and its bin/ folder; w->work is absolute. */
static em_status make_work_dir(em__worker *w)
{
    char bin[PATH_MAX + 8];
    struct stat st;
    bool is_new = stat(w->o->work_dir, &st) != 0;

    if (mkdir_p(w->o->work_dir) != EM_OK)
        return EM_EIO;
    if (is_new)
        chmod(w->o->work_dir, 0700);
    if (realpath(w->o->work_dir, w->work) == NULL)
        return em__err(EM_EIO, "work directory %s: %s", w->o->work_dir,
                       strerror(errno));
    em__worker_pathf(bin, sizeof(bin), "%s/bin", w->work);
    return em__daemon_mkdir(bin, 0700);
}

/* The block server, the worker's id and the timers. */
static em_status start(em__worker *w)
{
    char name[64];

    snprintf(w->host, sizeof(w->host), "%s",
             w->o->host ? w->o->host : "127.0.0.1");
    w->blocks = em__server_listen(w->loop, w->host, 0, &w->o->key,
                                  &block_handler, w);
    if (w->blocks == NULL)
        return EM_EIO;
    w->block_port = em__server_port(w->blocks);
    if (w->o->id != NULL) {
        snprintf(w->id, sizeof(w->id), "%s", w->o->id);
    } else {
        if (gethostname(name, sizeof(name)) != 0)
            snprintf(name, sizeof(name), "worker");
        name[sizeof(name) - 1] = '\0';
        snprintf(w->id, sizeof(w->id), "%s-%d", name, w->block_port);
    }
    if (!em__daemon_is_name(w->id))
        return em__err(EM_EINVAL, "bad worker id '%s' (use letters, digits, "
                       "'.', '_' and '-')", w->id);
    w->reaper = em__loop_timer(w->loop, EM__WORKER_REAP_MS, true, on_reap, w);
    w->retry = em__loop_timer(w->loop, 0, false, on_retry, w);
    if (w->reaper == NULL || w->retry == NULL)
        return EM_ENOMEM;
    em__worker_log(w,
                   "worker %s: block server on %s:%d, work directory %s, %lld "
                   "cores, %lld bytes",
                   w->id, w->host, w->block_port, w->work,
                   (long long)w->o->cores, (long long)w->o->memory);
    if (w->o->on_ready != NULL)
        w->o->on_ready(w, w->block_port, w->o->ud);
    return EM_OK;
}


/* Kills every executor and driver and removes the application folders it
 * made; joins the fetch threads. */
static void shut_down(em__worker *w)
{
    char dir[PATH_MAX];

    w->is_stopping = true;
    for (size_t i = 0; i < w->nexecs; i++)
        kill(-w->execs[i].pid, SIGKILL);
    for (size_t i = 0; i < w->nexecs; i++)
        waitpid(w->execs[i].pid, NULL, 0);
    if (w->nexecs > 0)
        em__worker_log(w, "stopped %zu executor(s)", w->nexecs);
    w->nexecs = 0;
    for (size_t i = 0; i < w->nappdirs; i++) {
        em__worker_pathf(dir, sizeof(dir), "%s/%s", w->work, w->appdirs[i]);
        if (em__daemon_rmtree(dir) != EM_OK)
            em__worker_log(w, "%s", em_last_error());
    }
    for (size_t i = 0; i < w->nfetches; i++)
        pthread_join(w->fetches[i]->thread, NULL);
    em__worker_stop_drivers(w);
    if (w->master != NULL)
        em__conn_close(w->master, "worker shutting down");
    em__server_close(w->blocks);
    w->blocks = NULL;
}

/* Frees what the loop does not own. */
static void free_worker(em__worker *w)
{
    for (size_t i = 0; i < w->nfetches; i++)
        free_fetch(w->fetches[i]);
    em__mem_free(w->fetches, w->cfetches * sizeof(*w->fetches));
    em__mem_free(w->execs, w->cexecs * sizeof(*w->execs));
    em__mem_free(w->appdirs, w->cappdirs * sizeof(*w->appdirs));
    em__worker_free_drivers(w);
    em_arena_destroy(w->arena);
}

static em_status check_opts(const em__worker_opts *o)
{
    if (o->master_host == NULL || o->master_port < 1 || o->master_port > 65535)
        return em__err(EM_EINVAL, "no master address");
    if (o->work_dir == NULL || o->secret_path == NULL)
        return em__err(EM_EINVAL, "no work directory or secret path");
    if (o->cores < 1 || o->memory < 0)
        return em__err(EM_EINVAL, "cores must be at least 1 and memory not "
                       "negative");
    return EM_OK;
}

em_status em__worker_run(const em__worker_opts *o)
{
    em__worker w;
    em__sigwatch sw;
    em_status st;

    memset(&w, 0, sizeof(w));
    w.o = o;
    if ((st = check_opts(o)) != EM_OK || (st = make_work_dir(&w)) != EM_OK)
        return st;
    if ((w.loop = em__loop_create()) == NULL)
        return EM_ENOMEM;
    if ((w.arena = em_arena_create()) == NULL) {
        em__loop_destroy(w.loop);
        return EM_ENOMEM;
    }
    if (o->handle_signals && (st = em__sigwatch_start(&sw, w.loop)) != EM_OK)
        goto out_free;
    if ((st = start(&w)) == EM_OK) {
        em__loop_run(w.loop);
        if (o->handle_signals && atomic_load(&sw.signal) != 0)
            em__worker_log(&w, "%s received, shutting down",
                           atomic_load(&sw.signal) == SIGINT ? "SIGINT"
                                                             : "SIGTERM");
    }
    shut_down(&w);
    if (o->handle_signals)
        em__sigwatch_stop(&sw);
out_free:
    em__loop_destroy(w.loop);
    free_worker(&w);
    return st;
}

void em__worker_stop(em__worker *w)
{
    em__loop_stop(w->loop);
}
