/* `ember submit`: sends a driver program (a C executable or a Lua script)
 * to the pool's master, which runs it on a worker (scheduler/cluster/
 * submit.h); follows its output unless --detach. docs/pool.md
 * ("Submitted jobs").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "runtime/mem.h"
#include "scheduler/cluster/daemon.h"
#include "scheduler/cluster/submit.h"

static const char help[] =
    "usage: ember submit [--master ember://H:P] [--detach] [--name NAME]\n"
    "                    [--secret-file F] PROGRAM [ARGS]\n"
    "\n"
    "Runs a driver program on the worker pool: the master starts it on a\n"
    "worker, with EMBER_MASTER set to the pool, and keeps its state, its\n"
    "output and its exit status. PROGRAM is a C driver (an executable) or\n"
    "a Lua script (FILE.lua, run as `ember run FILE.lua ARGS`). Without\n"
    "--detach, prints the driver's output (stdout and stderr) as it comes\n"
    "and exits with its exit status (1 when it was killed, failed or could\n"
    "not start); stopping this command does not stop the driver.\n"
    "\n"
    "  --master URL     the master (default $EMBER_MASTER when it is an\n"
    "                   ember:// URL)\n"
    "  --detach         print the submission's id and exit at once\n"
    "  --name NAME      the name `ember jobs` shows (default PROGRAM's file\n"
    "                   name)\n"
    "  --secret-file F  the cluster secret (default $EMBER_SECRET_FILE,\n"
    "                   else ~/.ember/secret)\n";

/* The options as given. */
typedef struct args {
    const char *master, *name, *secret;
    bool is_detached;
    int first; /* argv index of PROGRAM */
} args;

/* 0, -1 after --help, or the exit status of a usage error. */
static int parse(int argc, char **argv, args *a)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        int r;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return -1;
        }
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--detach") == 0) {
            a->is_detached = true;
            continue;
        }
        if ((r = em__cli_take("ember submit", argc, argv, &i, "--master",
                              &a->master)) == 0 &&
            (r = em__cli_take("ember submit", argc, argv, &i, "--name",
                              &a->name)) == 0 &&
            (r = em__cli_take("ember submit", argc, argv, &i, "--secret-file",
                              &a->secret)) == 0) {
            fprintf(stderr,
                    "ember submit: unknown option '%s' (ember submit "
                    "--help)\n",
                    argv[i]);
            return 2;
        }
        if (r < 0)
            return 2;
    }
    if (i >= argc) {
        fprintf(stderr, "ember submit: no program given (ember submit "
                        "--help)\n");
        return 2;
    }
    a->first = i;
    return 0;
}

/* A file's bytes, allocated (*n bytes; free with em__mem_free(p, *n)).
 * NULL after printing why. */
static void *read_all(const char *path, const char *what, size_t *n)
{
    struct stat st;
    void *p = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "ember submit: cannot read %s %s: %s\n", what, path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        fprintf(stderr, "ember submit: %s %s is %s\n", what, path,
                S_ISREG(st.st_mode) ? "empty" : "not a file");
        close(fd);
        return NULL;
    }
    if ((p = em__mem_alloc((size_t)st.st_size)) == NULL) {
        fprintf(stderr, "ember submit: %s\n", em_last_error());
        close(fd);
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, (char *)p + got, (size_t)st.st_size - got);
        if (r <= 0) {
            fprintf(stderr, "ember submit: cannot read %s: %s\n", path,
                    r < 0 ? strerror(errno) : "it shrank");
            em__mem_free(p, (size_t)st.st_size);
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    *n = got;
    return p;
}

/* A name safe on the wire and on a worker's disk from a path's last
 * component: other characters become '_'. */
static void safe_name(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    size_t k = 0;

    base = base != NULL ? base + 1 : path;
    for (; *base != '\0' && k + 1 < cap && k < 127; base++) {
        char ch = *base;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
                  ch == '-';
        buf[k++] = ok ? ch : '_';
    }
    buf[k] = '\0';
    if (k == 0 || buf[0] == '.')
        snprintf(buf, cap, "driver");
}

/* What to send: the program's (or script's and ember's) bytes. 0 or 1. */
static int load_program(const char *path, em__submit_req *r, char *pname,
                        char *sname, size_t cap)
{
    size_t n = strlen(path);

    if (n > 4 && strcmp(path + n - 4, ".lua") == 0) {
        safe_name(path, sname, cap);
        r->script = read_all(path, "script", &r->script_bytes);
        if (r->script == NULL)
            return 1;
        r->script_name = sname;
        r->program_name = "ember";
        r->program =
            read_all("/proc/self/exe", "the ember binary", &r->program_bytes);
        return r->program != NULL ? 0 : 1;
    }
    safe_name(path, pname, cap);
    r->program_name = pname;
    if ((r->program = read_all(path, "program", &r->program_bytes)) == NULL)
        return 1;
    if (r->program_bytes < 4 || memcmp(r->program, "\177ELF", 4) != 0) {
        fprintf(stderr,
                "ember submit: %s is neither an executable (ELF) nor "
                "a Lua script (FILE.lua)\n",
                path);
        return 1;
    }
    return 0;
}

/* Prints output as it comes. */
static void print_out(const void *p, size_t n, uint64_t dropped, void *ud)
{
    if (dropped > 0)
        fprintf(stderr,
                "ember submit: (the first %llu bytes of the output "
                "are no longer kept)\n",
                (unsigned long long)dropped);
    fwrite(p, 1, n, stdout);
    fflush(stdout);
}

/* Follows the driver to its end: its exit status, or 1. */
static int follow(em__sclient *c, const char *id)
{
    em__submit_info end;

    if (em__submit_logs(c, id, true, print_out, NULL, &end) != EM_OK) {
        fprintf(stderr,
                "ember submit: lost the master while following %s: "
                "%s (the driver may still run: ember logs --follow %s)\n",
                id, em_last_error(), id);
        return 1;
    }
    if (strcmp(end.state, "finished") == 0 && end.exit_code >= 0)
        return end.exit_code;
    fprintf(stderr, "ember submit: driver %s %s: %s\n", id,
            strcmp(end.state, "killed") == 0 ? "was killed" : "failed",
            end.message);
    return 1;
}

int em__cli_submit(int argc, char **argv)
{
    em__submit_req r = {0};
    char pname[128], sname[128], id[128];
    const char *url;
    em__sclient *c = NULL;
    args a = {0};
    int rc = parse(argc, argv, &a);

    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if ((url = em__submit_master_url(a.master)) == NULL) {
        fprintf(stderr, "ember submit: %s\n", em_last_error());
        return 2;
    }
    if (a.name != NULL && !em__daemon_is_name(a.name)) {
        fprintf(stderr,
                "ember submit: bad --name '%s' (1-127 letters, "
                "digits, '.', '_' or '-', not starting with '.')\n",
                a.name);
        return 2;
    }
    if ((rc = load_program(argv[a.first], &r, pname, sname, sizeof(pname))) !=
        0)
        goto out;
    r.name = a.name != NULL ? a.name : r.script != NULL ? r.script_name : pname;
    r.args = (const char *const *)argv + a.first + 1;
    r.nargs = (size_t)(argc - a.first - 1);
    rc = 1;
    if ((c = em__submit_connect(url, a.secret)) == NULL ||
        em__submit_send(c, &r, id, sizeof(id)) != EM_OK) {
        fprintf(stderr, "ember submit: %s\n", em_last_error());
        goto out;
    }
    if (a.is_detached) {
        printf("%s\n", id);
        rc = 0;
    } else {
        fprintf(stderr, "ember submit: submitted %s (%s)\n", id, r.name);
        rc = follow(c, id);
    }
out:
    em__sclient_close(c);
    em__mem_free((void *)r.program, r.program_bytes);
    em__mem_free((void *)r.script, r.script_bytes);
    return rc;
}
