/* `ember version`: the version of the command and library. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

int em__cli_version(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: ember version\n\nPrints the version.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "ember version: unexpected argument '%s'\n",
                argv[1]);
        return 2;
    }
    printf("ember %s\n", EMBER_VERSION_STRING);
    return 0;
}
