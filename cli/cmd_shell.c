/* `ember shell [--master URL] [--memory SIZE]`: the interactive Lua
 * shell (lang/shell.c). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "lang/lang.h"

static const char help[] =
    "usage: ember shell [--master URL] [--memory SIZE] [--history FILE]\n"
    "\n"
    "The interactive Lua 5.4 shell with `sc` and `ember` ready: line\n"
    "editing, history (default ~/.ember_history), tab completion,\n"
    "multi-line input; :help lists the commands. Ctrl-C cancels the\n"
    "running job, Ctrl-D exits.\n"
    "\n"
    "  --master URL    as for ember run (default $EMBER_MASTER or local[*])\n"
    "  --memory SIZE   the executor memory budget\n"
    "  --history FILE  where the history is kept\n";

int em__cli_shell(int argc, char **argv)
{
    em__lang_opts o = {0};
    const char *history = NULL;

    for (int i = 1; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--history") == 0 && i + 1 < argc) {
            history = argv[++i];
            continue;
        }
        if ((r = em__cli_common_opt(argc, argv, &i, &o)) < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "ember shell: unknown argument '%s' (ember "
                            "shell --help)\n",
                    argv[i]);
            return 2;
        }
    }
    return em__lang_shell(&o, history);
}
