/* `ember logs`: prints a submitted driver's output as the master keeps
 * it, and follows it while the driver runs with --follow
 * (scheduler/cluster/submit.h). docs/pool.md ("Submitted jobs").
 */
#include <stdio.h>
#include <string.h>

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
    const char *master = NULL, *secret = NULL, *id = NULL, *url;
    bool is_following = false;
    em__submit_info end;
    em__sclient *c;
    em_status st;

    for (int i = 1; i < argc; i++) {
        int r;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0) {
            is_following = true;
            continue;
        }
        if ((r = em__cli_take("ember logs", argc, argv, &i, "--master",
                              &master)) < 0 ||
            (r == 0 && (r = em__cli_take("ember logs", argc, argv, &i,
                                         "--secret-file", &secret)) < 0))
            return 2;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || id != NULL) {
            fprintf(stderr,
                    "ember logs: unexpected argument '%s' (ember logs "
                    "--help)\n",
                    argv[i]);
            return 2;
        }
        id = argv[i];
    }
    if (id == NULL) {
        fprintf(stderr, "ember logs: no submission id given (ember jobs lists "
                        "them)\n");
        return 2;
    }
    if ((url = em__submit_master_url(master)) == NULL) {
        fprintf(stderr, "ember logs: %s\n", em_last_error());
        return 2;
    }
    if ((c = em__submit_connect(url, secret)) == NULL) {
        fprintf(stderr, "ember logs: %s\n", em_last_error());
        return 1;
    }
    st = em__submit_logs(c, id, is_following, print_out, NULL, &end);
    if (st != EM_OK)
        fprintf(stderr, "ember logs: %s\n", em_last_error());
    em__sclient_close(c);
    return st == EM_OK ? 0 : 1;
}
