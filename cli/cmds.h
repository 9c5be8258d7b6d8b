/* The subcommands of the `ember` command. Each is one file,
 * cli/cmd_<name>.c, defining em__cli_<name>(argc, argv) (argv[0] is the
 * subcommand's name; returns the exit status). To add one: a line in
 * EM_CLI_COMMANDS and its file; main.c dispatches and lists them.
 */
#ifndef EMBER_CLI_CMDS_H
#define EMBER_CLI_CMDS_H

#include <stdbool.h>

/* name, one-line summary for `ember help` */
#define EM_CLI_COMMANDS(X)                                                     \
    X(info, "the build and the GPU devices seen: ember info")                 \
    X(jobs, "the submitted drivers: ember jobs [--master URL]")                \
    X(kill, "stop a submitted driver: ember kill [--master URL] ID")           \
    X(logs, "a submitted driver's output: ember logs [--follow] ID")           \
    X(master, "the worker pool's master: ember master [--port P]")             \
    X(run, "run a Lua script: ember run [--master URL] FILE.lua [ARGS]")       \
    X(shell, "the interactive Lua shell, with sc ready")                       \
    X(submit, "run a driver on the pool: ember submit PROGRAM [ARGS]")         \
    X(version, "print the version")                                            \
    X(worker, "a worker of the pool: ember worker --master ember://H:P")

#define EM_CLI_DECLARE(name, summary) int em__cli_##name(int argc, char **argv);
EM_CLI_COMMANDS(EM_CLI_DECLARE)
#undef EM_CLI_DECLARE

/* Parses the options run and shell share: --master URL (or
 * --master=URL), --memory SIZE, --gpu (ember.gpu on). Consumes what it recognises from
 * argv[*i], advancing *i; returns 1 when argv[*i] was one of them, 0 when
 * not, -1 after printing an error (a missing value). */
struct em__lang_opts;
int em__cli_common_opt(int argc, char **argv, int *i, struct em__lang_opts *o);

/* Takes the value of option `name` at argv[*i], given as "--x V" or
 * "--x=V", into *out, advancing *i past it. Returns 1 when taken, 0 when
 * argv[*i] is another option, -1 (after printing "CMD: --x needs a
 * value") when the value is missing. cmd names the command in messages
 * ("ember worker"). */
int em__cli_take(const char *cmd, int argc, char **argv, int *i,
                 const char *name, const char **out);

/* What `ember jobs`, `logs` and `kill` are given: the master and secret
 * options, an optional flag (flag_out != NULL: `--follow`/`-f` style) and,
 * when id_out != NULL, one submission id (required). */
typedef struct em__cli_master_cmd {
    const char *cmd;          /* "ember logs", for messages */
    const char *help;         /* printed for --help/-h */
    const char *flag, *short_flag; /* the flag's spellings, or NULL */
} em__cli_master_cmd;

/* Parses argv for c, prints c->help or what is wrong, and connects to the
 * master. Returns the connection, or NULL with *status set to the exit
 * status (0 after --help, 2 for bad usage, 1 when the master cannot be
 * reached, with the reason printed). */
struct em__sclient;
struct em__sclient *em__cli_master_connect(const em__cli_master_cmd *c,
                                           int argc, char **argv,
                                           const char **id_out,
                                           bool *flag_out, int *status);

#endif /* EMBER_CLI_CMDS_H */
