/* Option parsing shared by the subcommands (cli/cmds.h). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

int em__cli_take(const char *cmd, int argc, char **argv, int *i,
                 const char *name, const char **out)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", cmd, name);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}
