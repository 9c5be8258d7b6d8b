/* What the `ember` command (cli/) uses of the Lua binding: running a
 * script and the interactive shell. No Lua type appears here, so cli/
 * stays free of Lua headers. docs/shell.md is the user's guide.
 */
#ifndef EMBER_LANG_LANG_H
#define EMBER_LANG_LANG_H

/* Options of `ember run` and `ember shell`. */
typedef struct em__lang_opts {
    const char *master;    /* NULL: $EMBER_MASTER, else local[*] */
    const char *memory;    /* executor memory ("2g"), NULL for default */
} em__lang_opts;

/* Runs the Lua script at path (path "-" reads stdin) with `sc` and
 * `ember` defined; arg[0] is the path and arg[1..argc] the arguments,
 * which are also the chunk's `...`. An uncaught error is printed to
 * stderr with its traceback. Returns the process exit status: 0, or 1
 * after an error. */
int em__lang_run(const em__lang_opts *o, const char *path, int argc,
                 char **argv);

/* The interactive shell: line editing, history in history_path (NULL:
 * ~/.ember_history), completion, multi-line input, Ctrl-C cancels the
 * running job. Returns the exit status. */
int em__lang_shell(const em__lang_opts *o, const char *history_path);

#endif /* EMBER_LANG_LANG_H */
