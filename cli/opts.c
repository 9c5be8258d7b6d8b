/* Option parsing shared by the subcommands (cli/cmds.h). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "scheduler/cluster/submit.h"

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

static bool is_flag(const em__cli_master_cmd *c, const char *arg)
{
    return c->flag != NULL && (strcmp(arg, c->flag) == 0 ||
                               (c->short_flag != NULL &&
                                strcmp(arg, c->short_flag) == 0));
}

/* Parses argv for c; returns -1 to go on, else the exit status. */
static int parse_master_args(const em__cli_master_cmd *c, int argc,
                             char **argv, const char **master,
                             const char **secret, const char **id_out,
                             bool *flag_out)
{
    for (int i = 1; i < argc; i++) {
        int r;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->help, stdout);
            return 0;
        }
        if (is_flag(c, argv[i]) && flag_out != NULL) {
            *flag_out = true;
            continue;
        }
        if ((r = em__cli_take(c->cmd, argc, argv, &i, "--master", master)) <
                0 ||
            (r == 0 && (r = em__cli_take(c->cmd, argc, argv, &i,
                                         "--secret-file", secret)) < 0))
            return 2;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || id_out == NULL || *id_out != NULL) {
            fprintf(stderr, "%s: unexpected argument '%s' (%s --help)\n",
                    c->cmd, argv[i], c->cmd);
            return 2;
        }
        *id_out = argv[i];
    }
    if (id_out != NULL && *id_out == NULL) {
        fprintf(stderr, "%s: no submission id given (ember jobs lists "
                        "them)\n", c->cmd);
        return 2;
    }
    return -1;
}

struct em__sclient *em__cli_master_connect(const em__cli_master_cmd *c,
                                           int argc, char **argv,
                                           const char **id_out,
                                           bool *flag_out, int *status)
{
    const char *master = NULL, *secret = NULL, *url;
    em__sclient *conn;

    if (id_out != NULL)
        *id_out = NULL;
    if (flag_out != NULL)
        *flag_out = false;
    *status = parse_master_args(c, argc, argv, &master, &secret, id_out,
                                flag_out);
    if (*status >= 0)
        return NULL;
    if ((url = em__submit_master_url(master)) == NULL) {
        fprintf(stderr, "%s: %s\n", c->cmd, em_last_error());
        *status = 2;
        return NULL;
    }
    if ((conn = em__submit_connect(url, secret)) == NULL) {
        fprintf(stderr, "%s: %s\n", c->cmd, em_last_error());
        *status = 1;
    }
    return conn;
}
