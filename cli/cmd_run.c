/* `ember run [--master URL] [--memory SIZE] [--gpu] FILE.lua [ARGS]`: runs a Lua
 * script with `sc` defined (lang/lang.h). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "lang/lang.h"

static const char help[] =
    "usage: ember run [--master URL] [--memory SIZE] [--gpu] FILE.lua "
    "[ARGS]\n"
    "\n"
    "Runs a Lua script with `sc` (the SparkContext) and the `ember` module\n"
    "defined; its arguments are in `arg` (arg[0] is FILE) and `...`.\n"
    "FILE - reads the script from stdin. An uncaught error prints the\n"
    "message with a traceback and exits 1.\n"
    "\n"
    "  --master URL   local, local[N], local[*] (default; also read from\n"
    "                 $EMBER_MASTER), local[N,F] for F attempts per task\n"
    "  --memory SIZE  the executor memory budget (512m, 2g; default half\n"
    "                 of RAM)\n"
    "  --gpu          run the learning library's dense arithmetic on the\n"
    "                 GPUs of the executors (ember.gpu; docs/gpu.md)\n";

int em__cli_run(int argc, char **argv)
{
    em__lang_opts o = {0};
    int i;

    for (i = 1; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if ((r = em__cli_common_opt(argc, argv, &i, &o)) < 0)
            return 2;
        if (r == 0)
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "ember run: no script given (ember run --help)\n");
        return 2;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
        fprintf(stderr, "ember run: unknown option '%s' (ember run --help)\n",
                argv[i]);
        return 2;
    }
    return em__lang_run(&o, argv[i], argc - i - 1, argv + i + 1);
}
