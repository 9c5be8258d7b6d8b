/* `ember kill`: stops a submitted driver (scheduler/cluster/submit.h):
 * SIGTERM to its process group, SIGKILL after 5 s. docs/pool.md
 * ("Submitted jobs").
 */
#include <stdio.h>
#include <string.h>

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
    const char *master = NULL, *secret = NULL, *id = NULL, *url;
    em__submit_info end;
    em__sclient *c;
    em_status st;

    for (int i = 1; i < argc; i++) {
        int r;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        }
        if ((r = em__cli_take("ember kill", argc, argv, &i, "--master",
                              &master)) < 0 ||
            (r == 0 && (r = em__cli_take("ember kill", argc, argv, &i,
                                         "--secret-file", &secret)) < 0))
            return 2;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || id != NULL) {
            fprintf(stderr,
                    "ember kill: unexpected argument '%s' (ember kill "
                    "--help)\n",
                    argv[i]);
            return 2;
        }
        id = argv[i];
    }
    if (id == NULL) {
        fprintf(stderr, "ember kill: no submission id given (ember jobs lists "
                        "them)\n");
        return 2;
    }
    if ((url = em__submit_master_url(master)) == NULL) {
        fprintf(stderr, "ember kill: %s\n", em_last_error());
        return 2;
    }
    if ((c = em__submit_connect(url, secret)) == NULL) {
        fprintf(stderr, "ember kill: %s\n", em_last_error());
        return 1;
    }
    st = em__submit_kill(c, id, &end);
    if (st != EM_OK)
        fprintf(stderr, "ember kill: %s\n", em_last_error());
    else
        printf("%s %s (%s)\n", id, end.state, end.message);
    em__sclient_close(c);
    return st == EM_OK ? 0 : 1;
}
