/* The `ember` command: dispatches to the subcommands of cli/cmds.h. Each
 * subcommand lives in its own file (cli/cmd_<name>.c). Errors are one
 * line on stderr and a non-zero exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ember.h"
#include "lang/lang.h"

typedef struct command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
} command;

static const command commands[] = {
#define EM_CLI_ENTRY(name, summary) {#name, summary, em__cli_##name},
    EM_CLI_COMMANDS(EM_CLI_ENTRY)
#undef EM_CLI_ENTRY
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ember COMMAND [ARGS]  (ember COMMAND --help for "
               "its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-9s %s\n", "help", "this list");
}

int em__cli_common_opt(int argc, char **argv, int *i, em__lang_opts *o)
{
    static const char *const names[] = {"--master", "--memory"};
    const char **dst[] = {&o->master, &o->memory};
    const char *a = argv[*i];

    if (strcmp(a, "--gpu") == 0) {
        /* ember.gpu for every context the script makes (em_conf.gpu) */
        setenv("EMBER_GPU", "1", 1);
        return 1;
    }

    for (int k = 0; k < 2; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0)
            continue;
        if (a[n] == '=') {
            *dst[k] = a + n + 1;
            return 1;
        }
        if (a[n] != '\0')
            continue;
        if (*i + 1 >= argc) {
            fprintf(stderr, "ember %s: %s needs a value\n", argv[0],
                    names[k]);
            return -1;
        }
        *dst[k] = argv[++*i];
        return 1;
    }
    return 0;
}

/* The library's log lines (em_log_set), one per line on stderr. */
static void log_line(em_log_level level, const char *line, void *ud)
{
    fprintf(stderr, "ember: warning: %s\n", line);
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : NULL;

    em_log_set(log_line, NULL);

    if (name == NULL) {
        usage(stderr);
        return 2;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 ||
        strcmp(name, "-h") == 0) {
        if (argc > 2 && name[0] != '-') {
            char *sub[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]);
                 i++)
                if (strcmp(commands[i].name, argv[2]) == 0)
                    return commands[i].main(2, sub);
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "ember: unknown command '%s' (ember help lists them)\n",
            name);
    return 2;
}
