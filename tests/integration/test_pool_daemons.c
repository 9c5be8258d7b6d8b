/* The pool's daemons as real processes on loopback: `ember master` and
 * `ember worker` from $EMBER_BUILD/cli/ember. The test plays the driver
 * itself (the one place a test speaks the protocol by hand): its
 * application registers with the blocking client, and a server of
 * scheduler/net/ answers GET_BINARY with a small shell script that stands
 * in for the driver's executable. The script writes its EMBER_*
 * environment to $EMBER_WORK_DIR/env and lives until its worker dies.
 * Every wait has a deadline; every process is killed in teardown.
 */
#include "em_rawsock.h"
#include "em_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/err.h"
#include "scheduler/cluster/proto.h"
#include "scheduler/net/auth.h"
#include "scheduler/net/client.h"
#include "scheduler/net/net.h"

extern char **environ;

#define HB_MS 1000     /* EMBER_HEARTBEAT_TIMEOUT_MS of every process */
#define WAIT_MS 15000  /* the deadline of every wait */
#define MAX_WORKERS 4
#define MAX_APPS 4

/* The executables the driver stand-in serves (distinct contents, so
 * distinct hashes). */
enum { EXE_OK, EXE_CRASH_ONCE, EXE_FAIL, NEXE };

static const char *const exe_text[NEXE] = {
    /* lives until its worker (its parent) is gone */
    "#!/bin/sh\n"
    "# an executor that reports its environment\n"
    "env | grep '^EMBER_' | sort > \"$EMBER_WORK_DIR/env.tmp\"\n"
    "echo \"PID=$$\" >> \"$EMBER_WORK_DIR/env.tmp\"\n"
    "echo started\n"
    "mv \"$EMBER_WORK_DIR/env.tmp\" \"$EMBER_WORK_DIR/env\"\n"
    "while kill -0 $PPID 2>/dev/null; do sleep 0.1; done\n",
    /* the first executor of an application on a worker exits 3 */
    "#!/bin/sh\n"
    "# an executor that crashes once\n"
    "if [ ! -e \"$EMBER_WORK_DIR/../crashed\" ]; then\n"
    "  touch \"$EMBER_WORK_DIR/../crashed\"; exit 3\n"
    "fi\n"
    "env | grep '^EMBER_' | sort > \"$EMBER_WORK_DIR/env.tmp\"\n"
    "echo \"PID=$$\" >> \"$EMBER_WORK_DIR/env.tmp\"\n"
    "mv \"$EMBER_WORK_DIR/env.tmp\" \"$EMBER_WORK_DIR/env\"\n"
    "while kill -0 $PPID 2>/dev/null; do sleep 0.1; done\n",
    /* always fails, with a word on stderr */
    "#!/bin/sh\n"
    "echo boom >&2\n"
    "exit 5\n",
};

/* One test's processes, files and driver stand-in. */
typedef struct fixture {
    char tmp[256];     /* everything lives here */
    char home[300];    /* HOME of every process */
    char ember[PATH_MAX];
    char mlog[300];    /* the master's stderr */
    char port_file[300];
    pid_t master;
    int port;          /* the master's */
    int nmaster;       /* masters started (their logs are mlog, mlog.2) */
    pid_t workers[MAX_WORKERS];
    char wdir[MAX_WORKERS][300];
    char wlog[MAX_WORKERS][300];
    em__secret key;
    em__sclient *apps[MAX_APPS]; /* application links to the master */
    /* the driver stand-in */
    em__loop *dl;
    int dport;
    char exe_path[NEXE][320];
    char exe_hash[NEXE][65];
    atomic_int get_binary; /* GET_BINARY requests served */
    int exit_bad;          /* daemons that did not exit 0 on SIGTERM */
} fixture;

static fixture F;

/* ---- small helpers ---- */

/* snprintf into a path or message buffer (a cut one fails where used). */
static void pathf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pathf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};

    nanosleep(&ts, NULL);
}

/* The whole file (NUL-terminated; malloc'd), or NULL. */
static char *slurp(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (f == NULL)
        return NULL;
    do {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        r = fread(buf + n, 1, 4096, f);
        n += r;
    } while (r > 0);
    fclose(f);
    buf[n] = '\0';
    if (n_out != NULL)
        *n_out = n;
    return buf;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    chmod(path, mode);
}

/* Occurrences of s in the file at path. */
static int count_in(const char *path, const char *s)
{
    char *text = slurp(path, NULL), *p;
    int n = 0;

    if (text == NULL)
        return 0;
    for (p = text; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    free(text);
    return n;
}

/* Waits until the file at path holds s at least n times. */
static void wait_log(const char *path, const char *s, int n)
{
    int64_t end = now_ms() + WAIT_MS;

    while (count_in(path, s) < n) {
        if (now_ms() > end) {
            char *text = slurp(path, NULL);
            fail_msg("no '%s' (x%d) in %s within %d ms; it holds:\n%s", s, n,
                     path, WAIT_MS, text ? text : "(nothing)");
        }
        nap();
    }
}

static void wait_exists(const char *path)
{
    int64_t end = now_ms() + WAIT_MS;
    struct stat st;

    while (stat(path, &st) != 0) {
        if (now_ms() > end)
            fail_msg("%s did not appear within %d ms", path, WAIT_MS);
        nap();
    }
}

static void wait_gone(const char *path)
{
    int64_t end = now_ms() + WAIT_MS;
    struct stat st;

    while (lstat(path, &st) == 0) {
        if (now_ms() > end)
            fail_msg("%s still exists after %d ms", path, WAIT_MS);
        nap();
    }
}

/* Value of NAME in an env file written by the executor script. */
static void env_get(const char *text, const char *name, char *buf, size_t cap)
{
    char key[128];
    const char *p;

    pathf(key, sizeof(key), "\n%s=", name);
    p = strstr(text, key + 1) == text ? text + strlen(key + 1) : NULL;
    if (p == NULL && (p = strstr(text, key)) != NULL)
        p += strlen(key);
    if (p == NULL)
        fail_msg("%s is not in the executor's environment:\n%s", name, text);
    pathf(buf, cap, "%.*s", (int)strcspn(p, "\n"), p);
}

static void assert_env(const char *text, const char *name, const char *want)
{
    char got[PATH_MAX];

    env_get(text, name, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s=%s, expected %s", name, got, want);
}

/* ---- processes ---- */

/* Starts argv with stdout and stderr appended to log. */
static pid_t spawn_logged(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT |
                                     O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(rc));
    return pid;
}

/* Sends sig to pid and reaps it (SIGKILL after WAIT_MS). Returns its wait
 * status. */
static int stop_pid(pid_t pid, int sig)
{
    int64_t end = now_ms() + WAIT_MS;
    int st = 0;

    kill(pid, sig);
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        nap();
    }
    return st;
}

static bool is_alive(pid_t pid)
{
    return kill(pid, 0) == 0;
}

static void wait_dead(pid_t pid)
{
    int64_t end = now_ms() + WAIT_MS;

    while (is_alive(pid)) {
        if (now_ms() > end)
            fail_msg("process %d still runs after %d ms", (int)pid, WAIT_MS);
        nap();
    }
}

/* Starts a master on F.port (0 at first: a free one) and waits for its
 * port file. */
static void start_master(void)
{
    char port[16], *text;
    char *argv[] = {F.ember, "master", "--port", port, "--port-file",
                    F.port_file, NULL};
    int64_t end = now_ms() + WAIT_MS;

    unlink(F.port_file);
    pathf(port, sizeof(port), "%d", F.port);
    F.nmaster++;
    if (F.nmaster > 1)
        pathf(F.mlog, sizeof(F.mlog), "%s/master.%d.log", F.tmp,
                 F.nmaster);
    F.master = spawn_logged(argv, F.mlog);
    while ((text = slurp(F.port_file, NULL)) == NULL) {
        if (now_ms() > end || waitpid(F.master, NULL, WNOHANG) != 0) {
            char *log = slurp(F.mlog, NULL);
            fail_msg("the master wrote no port file; its log:\n%s",
                     log ? log : "");
        }
        nap();
    }
    F.port = atoi(text);
    free(text);
    assert_true(F.port > 0);
}

/* Starts worker i ("w<i>", 1 core, 1 GiB) and waits until the master
 * has it. Returns its block server's port. */
static int start_worker(int i)
{
    char url[64], id[16], want[128], *log, *p;
    char *argv[] = {F.ember, "worker", "--master", url, "--cores", "1",
                    "--memory", "1g", "--work-dir", F.wdir[i], "--id", id,
                    NULL};
    int port;

    pathf(url, sizeof(url), "ember://127.0.0.1:%d", F.port);
    pathf(id, sizeof(id), "w%d", i);
    pathf(F.wdir[i], sizeof(F.wdir[i]), "%s/work%d", F.tmp, i);
    pathf(F.wlog[i], sizeof(F.wlog[i]), "%s/worker%d.log", F.tmp, i);
    F.workers[i] = spawn_logged(argv, F.wlog[i]);
    pathf(want, sizeof(want), "worker %s (127.0.0.1, 1 cores) registered",
             id);
    wait_log(F.mlog, want, 1);
    log = slurp(F.wlog[i], NULL);
    p = strstr(log, "block server on 127.0.0.1:");
    assert_non_null(p);
    port = atoi(p + strlen("block server on 127.0.0.1:"));
    free(log);
    return port;
}

/* Stops worker i: sig SIGTERM must end it with status 0. */
static void stop_worker(int i, int sig)
{
    int st;

    if (F.workers[i] <= 0)
        return;
    st = stop_pid(F.workers[i], sig);
    F.workers[i] = 0;
    if (sig == SIGTERM && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        char *log = slurp(F.wlog[i], NULL);

        fprintf(stderr, "worker %d ended with status %d; its log:\n%s", i, st,
                log ? log : "");
        free(log);
        F.exit_bad++;
    }
}

/* ---- the driver stand-in ---- */

/* GET_BINARY {hash} -> BINARY {data}: the script with that hash. */
static em_status drv_frame(em__conn *c, int type, em_val body, void *ud)
{
    char hash[65];
    em_arena *a;
    em__msg msg;
    em_val reply;
    size_t n;
    char *data = NULL;
    em_status st;

    if (type != EM__MSG_GET_BINARY)
        return em__err(EM_EPROTO, "driver stand-in: unexpected %d", type);
    if ((st = em__msg_str(type, body, "hash", hash, sizeof(hash))) != EM_OK)
        return st;
    for (int i = 0; i < NEXE; i++)
        if (strcmp(hash, F.exe_hash[i]) == 0)
            data = slurp(F.exe_path[i], &n);
    if (data == NULL)
        return em__err(EM_EPROTO, "driver stand-in: unknown hash");
    atomic_fetch_add(&F.get_binary, 1);
    a = em_arena_create();
    em__msg_init(&msg);
    em__msg_put(&msg, "data", em_bytes(data, n));
    if ((st = em__msg_done(&msg, a, &reply)) == EM_OK)
        st = em__conn_send(c, EM__MSG_BINARY, reply);
    em_arena_destroy(a);
    free(data);
    return st;
}

static const em__conn_handler drv_handler = {NULL, drv_frame, NULL};

typedef struct listen_arg {
    em__loop *l;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool is_done;
} listen_arg;

/* Runs on the stand-in's loop: its server. */
static void drv_listen(void *arg)
{
    listen_arg *la = arg;
    em__server *s = em__server_listen(la->l, "127.0.0.1", 0, &F.key,
                                      &drv_handler, NULL);

    pthread_mutex_lock(&la->mu);
    la->port = s ? em__server_port(s) : -1;
    la->is_done = true;
    pthread_cond_signal(&la->cv);
    pthread_mutex_unlock(&la->mu);
}

static void start_driver(void)
{
    listen_arg la = {.mu = PTHREAD_MUTEX_INITIALIZER,
                     .cv = PTHREAD_COND_INITIALIZER};

    F.dl = la.l = em__loop_create();
    assert_non_null(F.dl);
    EM_CHECK(em__loop_start(F.dl));
    EM_CHECK(em__loop_post(F.dl, drv_listen, &la));
    pthread_mutex_lock(&la.mu);
    while (!la.is_done)
        pthread_cond_wait(&la.cv, &la.mu);
    pthread_mutex_unlock(&la.mu);
    assert_true(la.port > 0);
    F.dport = la.port;
}

/* Registers application slot k running executable exe (memory: bytes per
 * executor, 0 for the worker's; id: NULL for a new one). Writes its id. */
static void register_app(int k, int exe, int64_t memory, const char *id,
                         char out[128])
{
    em_arena *a = em_arena_create();
    em__msg msg;
    em_val body;
    int type;

    F.apps[k] = em__sclient_connect("127.0.0.1", F.port, &F.key, WAIT_MS);
    if (F.apps[k] == NULL)
        fail_msg("connect to the master: %s", em_last_error());
    em__msg_init(&msg);
    em__msg_put(&msg, "app", id ? em_cstr(id) : em_nil());
    em__msg_put(&msg, "name", em_cstr("test"));
    em__msg_put(&msg, "exe_hash", em_cstr(F.exe_hash[exe]));
    em__msg_put(&msg, "driver_host", em_cstr("127.0.0.1"));
    em__msg_put(&msg, "driver_port", em_int(F.dport));
    em__msg_put(&msg, "memory", em_int(memory));
    EM_CHECK(em__msg_done(&msg, a, &body));
    EM_CHECK(em__sclient_send(F.apps[k], EM__MSG_APP_HELLO, body));
    EM_CHECK(em__sclient_recv(F.apps[k], a, &type, &body, WAIT_MS));
    assert_int_equal(type, EM__MSG_APP_WELCOME);
    EM_CHECK(em__msg_str(type, body, "app", out, 128));
    if (id != NULL)
        assert_string_equal(out, id);
    em_arena_destroy(a);
}

/* Receives frames on app k's link until one of type want arrives within
 * ms; other types are skipped. The body is in a. */
static em_val recv_type(int k, em_arena *a, int want, int64_t ms)
{
    int64_t end = now_ms() + ms;
    em_val body;
    int type;

    for (;;) {
        int64_t left = end - now_ms();
        em_status st;

        if (left <= 0)
            fail_msg("no %s at the application within %lld ms",
                     em__msg_name(want), (long long)ms);
        st = em__sclient_recv(F.apps[k], a, &type, &body, (int)left);
        if (st == EM_ETIMEOUT)
            continue;
        if (st != EM_OK)
            fail_msg("application link: %s", em_last_error());
        if (type == want)
            return body;
    }
}

static void close_app(int k)
{
    em__sclient_close(F.apps[k]);
    F.apps[k] = NULL;
}

/* The env file of executor exec of app on worker i, once written. */
static char *exec_env(int i, const char *app, int exec)
{
    char path[PATH_MAX];

    pathf(path, sizeof(path), "%s/%s/exec-%d/env", F.wdir[i], app, exec);
    wait_exists(path);
    return slurp(path, NULL);
}

static pid_t env_pid(const char *text)
{
    char buf[32];

    env_get(text, "PID", buf, sizeof(buf));
    return (pid_t)atoi(buf);
}

/* ---- setup and teardown ---- */

static int setup(void **state)
{
    char path[PATH_MAX];
    const char *build = getenv("EMBER_BUILD");
    struct stat st;

    em_test_setup(state);
    memset(&F, 0, sizeof(F));
    if (build == NULL)
        fail_msg("EMBER_BUILD is not set (run through ctest)");
    pathf(F.ember, sizeof(F.ember), "%s/cli/ember", build);
    em_test_tmpdir(F.tmp, sizeof(F.tmp));
    pathf(F.home, sizeof(F.home), "%s/home", F.tmp);
    assert_int_equal(mkdir(F.home, 0700), 0);
    setenv("HOME", F.home, 1);
    unsetenv("EMBER_SECRET_FILE");
    setenv("EMBER_HEARTBEAT_TIMEOUT_MS", "1000", 1);
    pathf(F.mlog, sizeof(F.mlog), "%s/master.log", F.tmp);
    pathf(F.port_file, sizeof(F.port_file), "%s/port", F.tmp);
    start_master();
    /* the master made the secret, mode 0600 */
    pathf(path, sizeof(path), "%s/.ember/secret", F.home);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    EM_CHECK(em__secret_load(path, false, &F.key));
    for (int i = 0; i < NEXE; i++) {
        pathf(F.exe_path[i], sizeof(F.exe_path[i]), "%s/exe%d.sh", F.tmp,
                 i);
        write_text(F.exe_path[i], exe_text[i], 0755);
        EM_CHECK(em__file_hash(F.exe_path[i], F.exe_hash[i]));
    }
    start_driver();
    return 0;
}

static int teardown(void **state)
{
    int st;

    for (int k = 0; k < MAX_APPS; k++)
        em__sclient_close(F.apps[k]);
    for (int i = 0; i < MAX_WORKERS; i++)
        stop_worker(i, SIGTERM);
    if (F.master > 0) {
        st = stop_pid(F.master, SIGTERM);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            char *log = slurp(F.mlog, NULL);

            fprintf(stderr, "the master ended with status %d; its log:\n%s",
                    st, log ? log : "");
            free(log);
            F.exit_bad++;
        }
    }
    em__loop_destroy(F.dl);
    em_test_rmtree(F.tmp);
    if (F.exit_bad > 0)
        return -1;
    return em_test_teardown(state);
}

/* ---- tests ---- */

/* Two applications registered before any worker: the first worker fetches
 * the executable once for both and starts each with the environment of
 * the protocol; a worker that joins later launches both too; a driver
 * that goes away takes its executors and files along. */
static void test_pool_launch_join_and_end(void **state)
{
    char app1[128], app2[128], want[PATH_MAX], home[PATH_MAX], work[PATH_MAX];
    char bin[PATH_MAX], *env, *text;
    pid_t p1[2], p2[2];
    int block0, block1;
    struct stat st;
    size_t n;

    register_app(0, EXE_OK, 64 << 20, NULL, app1);
    register_app(1, EXE_OK, 0, NULL, app2);
    assert_true(strncmp(app1, "app-", 4) == 0 && strlen(app1) == 23);
    assert_string_not_equal(app1, app2);
    block0 = start_worker(0);

    env = exec_env(0, app1, 1);
    assert_non_null(realpath(F.home, home));
    assert_non_null(realpath(F.wdir[0], work));
    assert_env(env, "EMBER_APP_ID", app1);
    pathf(want, sizeof(want), "127.0.0.1:%d", F.dport);
    assert_env(env, "EMBER_EXECUTOR", want);
    assert_env(env, "EMBER_EXECUTOR_ID", "1");
    assert_env(env, "EMBER_WORKER_ID", "w0");
    pathf(want, sizeof(want), "%s/%s/exec-1", work, app1);
    assert_env(env, "EMBER_WORK_DIR", want);
    assert_env(env, "EMBER_EXECUTOR_CORES", "1");
    assert_env(env, "EMBER_EXECUTOR_MEMORY", "67108864");
    pathf(want, sizeof(want), "127.0.0.1:%d", block0);
    assert_env(env, "EMBER_BLOCK_SERVER", want);
    pathf(want, sizeof(want), "%s/.ember/secret", home);
    assert_env(env, "EMBER_SECRET_FILE", want);
    assert_env(env, "EMBER_HEARTBEAT_TIMEOUT_MS", "1000"); /* inherited */
    p1[0] = env_pid(env);
    free(env);
    /* the second application: the worker's memory, the same binary */
    env = exec_env(0, app2, 1);
    assert_env(env, "EMBER_APP_ID", app2);
    assert_env(env, "EMBER_EXECUTOR_MEMORY", "1073741824");
    p2[0] = env_pid(env);
    free(env);
    assert_int_equal(atomic_load(&F.get_binary), 1);
    pathf(bin, sizeof(bin), "%s/bin/%s", F.wdir[0], F.exe_hash[EXE_OK]);
    assert_int_equal(stat(bin, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    text = slurp(bin, &n);
    assert_string_equal(text, exe_text[EXE_OK]);
    free(text);
    pathf(want, sizeof(want), "%s/%s/exec-1/stdout", F.wdir[0], app1);
    assert_int_equal(count_in(want, "started\n"), 1);

    /* a worker joining mid-application gets an executor of each */
    block1 = start_worker(1);
    assert_int_not_equal(block0, block1);
    env = exec_env(1, app1, 2);
    assert_env(env, "EMBER_WORKER_ID", "w1");
    assert_env(env, "EMBER_EXECUTOR_ID", "2");
    p1[1] = env_pid(env);
    free(env);
    env = exec_env(1, app2, 2);
    p2[1] = env_pid(env);
    free(env);
    assert_int_equal(atomic_load(&F.get_binary), 2);

    /* the first driver goes: its executors and folders go, not app2's */
    close_app(0);
    for (int i = 0; i < 2; i++) {
        pathf(want, sizeof(want), "%s/%s", F.wdir[i], app1);
        wait_gone(want);
        wait_dead(p1[i]);
        assert_true(is_alive(p2[i]));
        pathf(want, sizeof(want), "%s/%s/exec-%d/env", F.wdir[i], app2,
                 i + 1);
        assert_int_equal(stat(want, &st), 0);
    }
    pathf(want, sizeof(want), "application %s ended", app1);
    wait_log(F.wlog[0], want, 1);

    /* SIGTERM: a worker kills its executors and removes their folders */
    stop_worker(1, SIGTERM);
    wait_dead(p2[1]);
    pathf(want, sizeof(want), "%s/%s", F.wdir[1], app2);
    assert_int_not_equal(lstat(want, &st), 0);
    assert_int_equal(atomic_load(&F.get_binary), 2);
}

/* A worker killed, and a worker that stops answering: the application
 * hears WORKER_LOST with the worker's block server. */
static void test_pool_worker_lost(void **state)
{
    char app[128], want[64], got[64];
    em_arena *a = em_arena_create();
    int block0, block1;
    em_val body;
    char *env;

    register_app(0, EXE_OK, 0, NULL, app);
    block0 = start_worker(0);
    block1 = start_worker(1);
    env = exec_env(0, app, 1);
    free(env);
    env = exec_env(1, app, 2);
    free(env);

    stop_worker(0, SIGKILL);
    body = recv_type(0, a, EM__MSG_WORKER_LOST, HB_MS);
    EM_CHECK(em__msg_str(EM__MSG_WORKER_LOST, body, "worker", got,
                         sizeof(got)));
    assert_string_equal(got, "w0");
    EM_CHECK(em__msg_str(EM__MSG_WORKER_LOST, body, "block", got,
                         sizeof(got)));
    pathf(want, sizeof(want), "127.0.0.1:%d", block0);
    assert_string_equal(got, want);

    /* a stopped process sends no heartbeat: lost after the timeout */
    kill(F.workers[1], SIGSTOP);
    body = recv_type(0, a, EM__MSG_WORKER_LOST, 3 * HB_MS);
    EM_CHECK(em__msg_str(EM__MSG_WORKER_LOST, body, "worker", got,
                         sizeof(got)));
    assert_string_equal(got, "w1");
    EM_CHECK(em__msg_str(EM__MSG_WORKER_LOST, body, "block", got,
                         sizeof(got)));
    pathf(want, sizeof(want), "127.0.0.1:%d", block1);
    assert_string_equal(got, want);
    wait_log(F.mlog, "worker w1 lost: no heartbeat for 1 s", 1);
    kill(F.workers[1], SIGCONT);
    /* it comes back by itself and is registered again */
    wait_log(F.mlog, "worker w1 (127.0.0.1, 1 cores) registered", 2);
    em_arena_destroy(a);
}

/* An executor that exits: EXEC_EXITED at the driver and a replacement;
 * one that always fails is replaced EM__MASTER_MAX_REPLACEMENTS times. */
static void test_pool_exec_exits(void **state)
{
    char app[128], app2[128], got[64], path[PATH_MAX];
    em_arena *a = em_arena_create();
    int64_t exec;
    em_val body;
    char *env;

    register_app(0, EXE_CRASH_ONCE, 0, NULL, app);
    start_worker(0);
    body = recv_type(0, a, EM__MSG_EXEC_EXITED, WAIT_MS);
    EM_CHECK(em__msg_str(EM__MSG_EXEC_EXITED, body, "app", got, sizeof(got)));
    assert_string_equal(got, app);
    EM_CHECK(em__msg_int(EM__MSG_EXEC_EXITED, body, "exec", &exec));
    assert_int_equal(exec, 1);
    EM_CHECK(em__msg_str(EM__MSG_EXEC_EXITED, body, "status", got,
                         sizeof(got)));
    assert_string_equal(got, "exit 3");
    env = exec_env(0, app, 2); /* the replacement */
    assert_env(env, "EMBER_EXECUTOR_ID", "2");
    assert_env(env, "EMBER_APP_ID", app);
    free(env);

    register_app(1, EXE_FAIL, 0, NULL, app2);
    for (int i = 1; i <= 9; i++) {
        body = recv_type(1, a, EM__MSG_EXEC_EXITED, WAIT_MS);
        EM_CHECK(em__msg_int(EM__MSG_EXEC_EXITED, body, "exec", &exec));
        assert_int_equal(exec, i);
        EM_CHECK(em__msg_str(EM__MSG_EXEC_EXITED, body, "status", got,
                             sizeof(got)));
        assert_string_equal(got, "exit 5");
        pathf(path, sizeof(path), "%s/%s/exec-%d/stderr", F.wdir[0], app2,
                 i);
        assert_int_equal(count_in(path, "boom\n"), 1);
    }
    pathf(path, sizeof(path), "no more executors of %s on worker w0: 8 "
             "replacements exited", app2);
    wait_log(F.mlog, path, 1);
    {
        int type;
        assert_int_equal(em__sclient_recv(F.apps[1], a, &type, &body, 300),
                         EM_ETIMEOUT);
    }
    pathf(path, sizeof(path), "%s/%s/exec-10", F.wdir[0], app2);
    assert_int_not_equal(access(path, F_OK), 0);
    em_arena_destroy(a);
}

/* ---- peers that break the protocol (em_rawsock.h) ---- */

/* An authenticated client sends one frame and must be closed. */
static void send_expect_close(int type, em_val body)
{
    em__sclient *sc = em__sclient_connect("127.0.0.1", F.port, &F.key,
                                          WAIT_MS);
    em_arena *a = em_arena_create();
    em_val got;
    int t;

    assert_non_null(sc);
    EM_CHECK(em__sclient_send(sc, type, body));
    assert_int_equal(em__sclient_recv(sc, a, &t, &got, WAIT_MS), EM_EIO);
    em__sclient_close(sc);
    em_arena_destroy(a);
}

/* Bad peers are refused one by one; a registered worker stays registered
 * and nothing is launched until a real application comes. */
static void test_pool_bad_peers(void **state)
{
    static const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t part[6] = {0, 0, 0, 100, 0x93, 0x01};
    em_test_rng rng = {42};
    em__secret wrong;
    uint8_t junk[256];
    char app[128], dir[PATH_MAX];
    em_arena *a = em_arena_create();
    em__msg msg;
    em_val body;
    char *env;
    int fd;

    start_worker(0);
    /* a wrong secret is refused in the handshake */
    EM_CHECK(em__secret_from_bytes("not the secret", 14, &wrong));
    assert_null(em__sclient_connect("127.0.0.1", F.port, &wrong, WAIT_MS));
    wait_log(F.mlog, "authentication failed", 1);
    /* random bytes */
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)em_test_below(&rng, 256);
    fd = em_raw_connect(F.port, WAIT_MS / 1000);
    em_raw_send(fd, junk, sizeof(junk));
    em_raw_expect_close(fd);
    wait_log(F.mlog, "not an Ember peer (bad magic)", 1);
    /* an oversized length prefix */
    fd = em_raw_connect(F.port, WAIT_MS / 1000);
    em_raw_auth(fd, &F.key);
    em_raw_send(fd, huge, sizeof(huge));
    em_raw_expect_close(fd);
    wait_log(F.mlog, "frame of 4294967295 bytes exceeds the limit", 1);
    /* a truncated frame: 6 of its 104 bytes, then the end */
    fd = em_raw_connect(F.port, WAIT_MS / 1000);
    em_raw_auth(fd, &F.key);
    em_raw_send(fd, part, sizeof(part));
    shutdown(fd, SHUT_WR);
    em_raw_expect_close(fd);
    wait_log(F.mlog, "closed by peer in the middle of a frame", 1);
    /* a frame of an unknown type, a known one out of place, a bad hello */
    send_expect_close(999, em_nil());
    wait_log(F.mlog, "first frame is unknown (type 999)", 1);
    send_expect_close(EM__MSG_WORKER_HEARTBEAT, em_nil());
    wait_log(F.mlog, "first frame is WORKER_HEARTBEAT", 1);
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr("w9"));
    EM_CHECK(em__msg_done(&msg, a, &body));
    send_expect_close(EM__MSG_WORKER_HELLO, body);
    wait_log(F.mlog, "WORKER_HELLO: field host missing", 1);
    em__msg_init(&msg);
    em__msg_put(&msg, "app", em_cstr("../../etc"));
    em__msg_put(&msg, "exe_hash", em_cstr(F.exe_hash[EXE_OK]));
    em__msg_put(&msg, "driver_host", em_cstr("127.0.0.1"));
    em__msg_put(&msg, "driver_port", em_int(F.dport));
    EM_CHECK(em__msg_done(&msg, a, &body));
    send_expect_close(EM__MSG_APP_HELLO, body);
    wait_log(F.mlog, "APP_HELLO: bad application id", 1);

    /* nothing was launched; the worker is still registered */
    assert_int_equal(atomic_load(&F.get_binary), 0);
    assert_int_equal(count_in(F.mlog, "launching"), 0);
    assert_int_equal(count_in(F.mlog, "lost"), 0);
    pathf(dir, sizeof(dir), "%s/etc", F.wdir[0]);
    assert_int_not_equal(access(dir, F_OK), 0);
    register_app(0, EXE_OK, 0, NULL, app);
    env = exec_env(0, app, 1);
    assert_env(env, "EMBER_WORKER_ID", "w0");
    free(env);
    em_arena_destroy(a);
}

/* One FETCH on client sc: the BLOCK's data (copied into a) or, for an
 * ERROR, a nil value. */
static em_val fetch(em__sclient *sc, em_arena *a, const char *path,
                    int64_t offset, int64_t len)
{
    em__msg msg;
    em_val body;
    int type;

    em__msg_init(&msg);
    em__msg_put(&msg, "path", em_cstr(path));
    em__msg_put(&msg, "offset", em_int(offset));
    em__msg_put(&msg, "len", em_int(len));
    EM_CHECK(em__msg_done(&msg, a, &body));
    EM_CHECK(em__sclient_send(sc, EM__MSG_FETCH, body));
    EM_CHECK(em__sclient_recv(sc, a, &type, &body, WAIT_MS));
    if (type == EM__MSG_ERROR) {
        assert_int_equal(em__msg_get(body, "message").type, EM_STR);
        return em_nil();
    }
    assert_int_equal(type, EM__MSG_BLOCK);
    return em__msg_get(body, "data");
}

/* One PUT_BLOCK on client sc; returns the reply's type. */
static int put_block(em__sclient *sc, em_arena *a, const char *app, int rdd,
                     int part, const void *data, size_t n)
{
    em__msg msg;
    em_val body;
    int type;

    em__msg_init(&msg);
    em__msg_put(&msg, "app", em_cstr(app));
    em__msg_put(&msg, "rdd", em_int(rdd));
    em__msg_put(&msg, "part", em_int(part));
    em__msg_put(&msg, "data", em_bytes(data, n));
    EM_CHECK(em__msg_done(&msg, a, &body));
    EM_CHECK(em__sclient_send(sc, EM__MSG_PUT_BLOCK, body));
    EM_CHECK(em__sclient_recv(sc, a, &type, &body, WAIT_MS));
    return type;
}

/* The block server answers inside its work directory only, with exactly
 * the bytes asked for, and keeps second copies of blocks. */
static void test_pool_fetch(void **state)
{
    char dir[PATH_MAX], file[PATH_MAX], link[PATH_MAX], abs[PATH_MAX];
    uint8_t bytes[1000];
    em_test_rng rng = {7};
    em_arena *a = em_arena_create();
    em__sclient *sc;
    em_val v;
    FILE *f;
    int port = start_worker(0);

    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)em_test_below(&rng, 256);
    pathf(dir, sizeof(dir), "%s/app-x/exec-1", F.wdir[0]);
    pathf(file, sizeof(file), "%s/shuffle_0_1.data", dir);
    pathf(link, sizeof(link), "%s/passwd", dir);
    {
        char cmd[PATH_MAX + 16];
        pathf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
    assert_non_null(f = fopen(file, "wb"));
    assert_int_equal(fwrite(bytes, 1, sizeof(bytes), f), sizeof(bytes));
    fclose(f);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    sc = em__sclient_connect("127.0.0.1", port, &F.key, WAIT_MS);
    assert_non_null(sc);

    v = fetch(sc, a, "app-x/exec-1/shuffle_0_1.data", 100, 300);
    assert_int_equal(v.type, EM_BYTES);
    assert_int_equal(v.len, 300);
    assert_memory_equal(v.u.bytes, bytes + 100, 300);
    assert_non_null(realpath(file, abs));
    v = fetch(sc, a, abs, 0, 1000);
    assert_int_equal(v.len, 1000);
    assert_memory_equal(v.u.bytes, bytes, 1000);
    v = fetch(sc, a, abs, 1000, 0);
    assert_int_equal(v.type, EM_BYTES);
    assert_int_equal(v.len, 0);
    /* refused, each with ERROR, on the same connection */
    assert_int_equal(fetch(sc, a, "../../etc/passwd", 0, 10).type, EM_NIL);
    assert_int_equal(fetch(sc, a, "/etc/passwd", 0, 10).type, EM_NIL);
    assert_int_equal(fetch(sc, a, "app-x/exec-1/passwd", 0, 10).type,
                     EM_NIL); /* a link out of the work directory */
    assert_int_equal(fetch(sc, a, "app-x/exec-1", 0, 1).type, EM_NIL);
    assert_int_equal(fetch(sc, a, "app-x/missing", 0, 1).type, EM_NIL);
    assert_int_equal(fetch(sc, a, abs, 900, 101).type, EM_NIL);
    assert_int_equal(fetch(sc, a, abs, -1, 10).type, EM_NIL);
    assert_int_equal(fetch(sc, a, abs, 0, (int64_t)1 << 40).type, EM_NIL);
    v = fetch(sc, a, abs, 999, 1);
    assert_int_equal(v.len, 1);
    assert_int_equal(v.u.bytes[0], bytes[999]);

    /* a second copy of a block: stored under the application's folder,
     * readable with FETCH, refused for a bad application id */
    assert_int_equal(put_block(sc, a, "app-y", 3, 5, bytes, 200),
                     EM__MSG_STORED);
    pathf(file, sizeof(file), "%s/app-y/replicas/rdd-3-5", F.wdir[0]);
    v = fetch(sc, a, "app-y/replicas/rdd-3-5", 0, 200);
    assert_int_equal(v.len, 200);
    assert_memory_equal(v.u.bytes, bytes, 200);
    assert_int_equal(put_block(sc, a, "../app-y", 3, 5, bytes, 1),
                     EM__MSG_ERROR);
    assert_int_equal(put_block(sc, a, "bin", 3, 5, bytes, 1), EM__MSG_ERROR);
    assert_int_equal(put_block(sc, a, "app-y", -1, 5, bytes, 1),
                     EM__MSG_ERROR);
    em__sclient_close(sc);
    em_arena_destroy(a);
    /* SIGTERM: the folders the worker made go, the test's own stays */
    stop_worker(0, SIGTERM);
    assert_int_not_equal(access(file, F_OK), 0);
    assert_int_equal(access(abs, F_OK), 0);
}

/* A master that restarts on its port gets its worker back; the driver
 * re-registers with its id and the worker does not start a second
 * executor; a worker that joins afterwards gets a fresh executor id. */
static void test_pool_master_restart(void **state)
{
    char app[128], again[128], dir[PATH_MAX], *env;
    em_arena *a = em_arena_create();
    em_val body;
    int type;
    pid_t p;

    register_app(0, EXE_OK, 0, NULL, app);
    start_worker(0);
    env = exec_env(0, app, 1);
    p = env_pid(env);
    free(env);

    stop_pid(F.master, SIGKILL);
    F.master = 0;
    assert_int_equal(em__sclient_recv(F.apps[0], a, &type, &body, WAIT_MS),
                     EM_EIO);
    close_app(0);
    wait_log(F.wlog[0], "lost the master", 1);
    start_master(); /* the same port */
    wait_log(F.mlog, "worker w0 (127.0.0.1, 1 cores) registered", 1);
    wait_log(F.wlog[0], "is back", 1);
    assert_int_equal(count_in(F.wlog[0], "lost the master"), 1);
    assert_int_equal(count_in(F.wlog[0], "cannot reach the master"), 0);

    register_app(0, EXE_OK, 0, app, again);
    assert_string_equal(again, app);
    wait_log(F.mlog, "registered again", 1);
    start_worker(1);
    env = exec_env(1, app, 2);
    assert_env(env, "EMBER_EXECUTOR_ID", "2");
    free(env);
    assert_int_equal(count_in(F.mlog, "on worker w0"), 0);
    assert_true(is_alive(p));
    pathf(dir, sizeof(dir), "%s/%s/exec-2", F.wdir[0], app);
    assert_int_not_equal(access(dir, F_OK), 0);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pool_launch_join_and_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pool_worker_lost, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pool_exec_exits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pool_bad_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_master_restart, setup,
                                        teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("pool_daemons", tests, NULL, NULL);
}
