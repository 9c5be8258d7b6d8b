/* `ember kill`: stops a submitted driver (scheduler/cluster/submit.h):
 * SIGTERM to its process group, SIGKILL after 5 s. docs/pool.md
 * ("Submitted jobs").
 */
#include <stdio.h>

#include "cmds.h"
#include "scheduler/cluster/submit.h"

static const char help[] =
    "usage: ember kill [--master ember://H:P] [--secret-file F] ID\n"
    "\n"
    "Stops submitted driver ID: SIGTERM to its processes, SIGKILL after\n"
    "5 s; its executors end with it. Returns once it has ended; `ember\n"
    "jobs` then shows it killed.\n"
    "\n"
    "  --master URL     the master (default $EMBER_MASTER when it is an\n"
    "                   ember:// URL)\n"
    "  --secret-file F  the cluster secret (default $EMBER_SECRET_FILE,\n"
    "                   else ~/.ember/secret)\n";

int em__cli_kill(int argc, char **argv)
{
    static const em__cli_master_cmd cmd = {"ember kill", help, NULL, NULL};
    const char *id;
    em__submit_info end;
    em__sclient *c;
    em_status st;
    int status;

    if ((c = em__cli_master_connect(&cmd, argc, argv, &id, NULL, &status)) ==
        NULL)
        return status;
    st = em__submit_kill(c, id, &end);
    if (st != EM_OK)
        fprintf(stderr, "ember kill: %s\n", em_last_error());
    else
        printf("%s %s (%s)\n", id, end.state, end.message);
    em__sclient_close(c);
    return st == EM_OK ? 0 : 1;
}
