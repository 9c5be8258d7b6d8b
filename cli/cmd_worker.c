/* `ember worker`: the worker pool's worker daemon
 * (scheduler/cluster/worker.h), in the foreground, one line per event on
 * stderr. docs/deploy.md shows how to run a pool.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "ember/gpu.h"
#include "scheduler/cluster/worker.h"
#include "scheduler/net/client.h"
#include "scheduler/net/net.h"

static const char help[] =
    "usage: ember worker --master ember://H:P [--host H] [--cores N]\n"
    "                    [--memory SIZE] [--work-dir D] [--secret-file F]\n"
    "                    [--id ID] [--gpu]\n"
    "\n"
    "Runs a worker of the pool in the foreground until SIGINT or SIGTERM:\n"
    "it registers with the master (and again whenever the master comes\n"
    "back), starts executors of applications, serves their shuffle files\n"
    "and removes an application's files when it ends. Events go to stderr.\n"
    "\n"
    "  --master URL     the master, ember://HOST:PORT (required)\n"
    "  --host H         address of this worker's block server, as the\n"
    "                   other hosts reach it (default 127.0.0.1)\n"
    "  --cores N        cores offered (default: the online CPUs)\n"
    "  --memory SIZE    memory offered, 512m, 4g (default half of RAM)\n"
    "  --work-dir D     executables and executors' files (default ./work;\n"
    "                   created, mode 700)\n"
    "  --secret-file F  the cluster secret (default $EMBER_SECRET_FILE,\n"
    "                   else ~/.ember/secret)\n"
    "  --id ID          the worker's name (default HOSTNAME-PORT)\n"
    "  --gpu            offer this machine's GPUs to the executors, one\n"
    "                   device each in turn (docs/gpu.md); without it\n"
    "                   executors run GPU operators on the CPU\n";

static void print_line(const char *line, void *ud)
{
    fprintf(stderr, "ember worker: %s\n", line);
}

/* The wire layer's log: its warnings and notices, not its debug lines. */
static void print_net(int level, const char *msg)
{
    if (level >= EM__NET_LOG_INFO)
        fprintf(stderr, "ember worker: %s\n", msg);
}

/* The options as given. */
typedef struct args {
    const char *master, *host, *cores, *memory, *work_dir, *secret, *id;
    bool is_gpu; /* --gpu */
} args;

/* 0, -1 after --help, or the exit status of a usage error. */
static int parse(int argc, char **argv, args *a)
{
    static const char *const names[] = {
        "--master",   "--host",        "--cores", "--memory",
        "--work-dir", "--secret-file", "--id"};
    const char **dst[] = {&a->master,   &a->host,   &a->cores, &a->memory,
                          &a->work_dir, &a->secret, &a->id};

    for (int i = 1; i < argc; i++) {
        int r = 0;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return -1;
        }
        if (strcmp(argv[i], "--gpu") == 0) {
            a->is_gpu = true;
            continue;
        }
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && r == 0; k++)
            r = em__cli_take("ember worker", argc, argv, &i, names[k], dst[k]);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr,
                    "ember worker: unknown argument '%s' (ember "
                    "worker --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (a->master == NULL) {
        fprintf(stderr, "ember worker: --master ember://HOST:PORT is "
                        "required\n");
        return 2;
    }
    return 0;
}

/* Cores and memory: given, or the machine's. 0 or an exit status. */
static int resources(const args *a, em__worker_opts *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    char *end;

    o->cores = cpus > 0 ? cpus : 1;
    o->memory = pages > 0 && psize > 0 ? (int64_t)pages * psize / 2 : 0;
    if (a->cores != NULL) {
        long n = strtol(a->cores, &end, 10);
        if (*a->cores == '\0' || *end != '\0' || n < 1 || n > 65536) {
            fprintf(stderr,
                    "ember worker: bad --cores '%s' (a number from "
                    "1)\n",
                    a->cores);
            return 2;
        }
        o->cores = n;
    }
    if (a->memory != NULL &&
        (em_parse_size(a->memory, &o->memory) != EM_OK || o->memory < 0)) {
        fprintf(stderr, "ember worker: bad --memory '%s' (512m, 4g, ...)\n",
                a->memory);
        return 2;
    }
    return 0;
}

/* Loads the secret; its absolute path goes to executors. 0 or 1. */
static int secret(const args *a, em__worker_opts *o, char *path, size_t cap)
{
    char given[PATH_MAX];
    em_status st = em__secret_path(a->secret, given, sizeof(given));

    if (st == EM_OK)
        st = em__secret_load(given, false, &o->key);
    if (st == EM_ENOENT) {
        fprintf(stderr,
                "ember worker: no cluster secret at %s: start `ember "
                "master` first on this host, or copy its ~/.ember/secret "
                "here (mode 600), or pass --secret-file\n",
                given);
        return 1;
    }
    if (st != EM_OK) {
        fprintf(stderr, "ember worker: %s\n", em_last_error());
        return 1;
    }
    if (realpath(given, path) == NULL) {
        fprintf(stderr, "ember worker: %s: %s\n", given, strerror(errno));
        return 1;
    }
    o->secret_path = path;
    return 0;
}

int em__cli_worker(int argc, char **argv)
{
    em__worker_opts o = {0};
    char host[256], spath[PATH_MAX];
    args a = {0};
    int rc = parse(argc, argv, &a);

    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (em__net_parse_url(a.master, host, sizeof(host), &o.master_port) !=
        EM_OK) {
        fprintf(stderr, "ember worker: %s\n", em_last_error());
        return 2;
    }
    if ((rc = resources(&a, &o)) != 0 ||
        (rc = secret(&a, &o, spath, sizeof(spath))) != 0)
        return rc;
    o.master_host = host;
    o.host = a.host;
    o.work_dir = a.work_dir != NULL ? a.work_dir : "work";
    o.id = a.id;
    o.gpus = a.is_gpu ? em_gpu_count() : 0;
    if (a.is_gpu)
        fprintf(stderr, "ember worker: offering %d GPU%s%s\n", o.gpus,
                o.gpus == 1 ? "" : "s",
                o.gpus > 0 ? "" : " (no GPU device found)");
    o.handle_signals = true;
    o.log = print_line;
    em__net_set_log(print_net);
    if (em__worker_run(&o) != EM_OK) {
        fprintf(stderr, "ember worker: %s\n", em_last_error());
        return 1;
    }
    return 0;
}
