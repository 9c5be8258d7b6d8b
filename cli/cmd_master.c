/* `ember master`: the worker pool's master daemon
 * (scheduler/cluster/master.h), in the foreground, one line per event on
 * stderr. docs/deploy.md shows how to run a pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "scheduler/cluster/master.h"
#include "scheduler/net/net.h"

static const char help[] =
    "usage: ember master [--host H] [--port P] [--secret-file F]\n"
    "                    [--port-file F]\n"
    "\n"
    "Runs the worker pool's master in the foreground until SIGINT or\n"
    "SIGTERM: workers register with it (ember worker --master\n"
    "ember://H:P) and drivers get executors from it. Events go to stderr.\n"
    "Creates the cluster secret (~/.ember/secret, mode 600) when none\n"
    "exists; copy it to every worker host.\n"
    "\n"
    "  --host H         address to listen on (default 127.0.0.1; 0.0.0.0\n"
    "                   for every interface)\n"
    "  --port P         port (default 7077; 0 picks a free one)\n"
    "  --secret-file F  the cluster secret (default $EMBER_SECRET_FILE,\n"
    "                   else ~/.ember/secret)\n"
    "  --port-file F    write the port to F once listening\n";

static void print_line(const char *line, void *ud)
{
    fprintf(stderr, "ember master: %s\n", line);
}

/* The wire layer's log: its warnings and notices, not its debug lines. */
static void print_net(int level, const char *msg)
{
    if (level >= EM__NET_LOG_INFO)
        fprintf(stderr, "ember master: %s\n", msg);
}

/* Parses the options into o and *port, *secret. 0, or the exit status. */
static int parse(int argc, char **argv, em__master_opts *o, const char **port,
                 const char **secret)
{
    for (int i = 1; i < argc; i++) {
        int r = 0;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return -1;
        }
        if ((r = em__cli_take("ember master", argc, argv, &i, "--host",
                              &o->host)) == 0 &&
            (r = em__cli_take("ember master", argc, argv, &i, "--port",
                              port)) == 0 &&
            (r = em__cli_take("ember master", argc, argv, &i, "--secret-file",
                              secret)) == 0 &&
            (r = em__cli_take("ember master", argc, argv, &i, "--port-file",
                              &o->port_file)) == 0) {
            fprintf(stderr,
                    "ember master: unknown argument '%s' (ember "
                    "master --help)\n",
                    argv[i]);
            return 2;
        }
        if (r < 0)
            return 2;
    }
    return 0;
}

int em__cli_master(int argc, char **argv)
{
    em__master_opts o = {0};
    const char *port = "7077", *secret = NULL;
    char *end;
    long p;
    int rc = parse(argc, argv, &o, &port, &secret);

    if (rc != 0)
        return rc < 0 ? 0 : rc;
    p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535) {
        fprintf(stderr, "ember master: bad port '%s' (0-65535)\n", port);
        return 2;
    }
    o.port = (int)p;
    if (em__secret_load(secret, true, &o.key) != EM_OK) {
        fprintf(stderr, "ember master: %s\n", em_last_error());
        return 1;
    }
    o.handle_signals = true;
    o.log = print_line;
    em__net_set_log(print_net);
    if (em__master_run(&o) != EM_OK) {
        fprintf(stderr, "ember master: %s\n", em_last_error());
        return 1;
    }
    return 0;
}
