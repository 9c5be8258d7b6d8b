/* `ember logs`: prints a submitted driver's output as the master keeps
 * it, and follows it while the driver runs with --follow
 * (scheduler/cluster/submit.h). docs/pool.md ("Submitted jobs").
 */
#include <stdio.h>

#include "cmds.h"
#include "scheduler/cluster/submit.h"

static const char help[] =
    "usage: ember logs [--master ember://H:P] [--follow] [--secret-file F]\n"
    "                  ID\n"
    "\n"
    "Prints the output (stdout and stderr, interleaved) of submitted driver\n"
    "ID as the master keeps it (its last 16 MiB). With --follow, goes on\n"
    "printing while the driver runs and returns when it ends.\n"
    "\n"
    "  --master URL     the master (default $EMBER_MASTER when it is an\n"
    "                   ember:// URL)\n"
    "  --follow         print what the driver writes until it ends\n"
    "  --secret-file F  the cluster secret (default $EMBER_SECRET_FILE,\n"
    "                   else ~/.ember/secret)\n";

static void print_out(const void *p, size_t n, uint64_t dropped, void *ud)
{
    if (dropped > 0)
        fprintf(stderr,
                "ember logs: (the first %llu bytes of the output are "
                "no longer kept)\n",
                (unsigned long long)dropped);
    fwrite(p, 1, n, stdout);
    fflush(stdout);
}

int em__cli_logs(int argc, char **argv)
{
    static const em__cli_master_cmd cmd = {"ember logs", help, "--follow",
                                           "-f"};
    const char *id;
    bool is_following;
    em__submit_info end;
    em__sclient *c;
    em_status st;
    int status;

    if ((c = em__cli_master_connect(&cmd, argc, argv, &id, &is_following,
                                    &status)) == NULL)
        return status;
    st = em__submit_logs(c, id, is_following, print_out, NULL, &end);
    if (st != EM_OK)
        fprintf(stderr, "ember logs: %s\n", em_last_error());
    em__sclient_close(c);
    return st == EM_OK ? 0 : 1;
}
