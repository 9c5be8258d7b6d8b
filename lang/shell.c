/* The interactive shell (to come: line editing, history, completion). */
#include <stdio.h>

#include "lint.h"

int em__lang_shell(const em__lang_opts *o, const char *history_path)
{
    (void)o;
    (void)history_path;
    fprintf(stderr, "ember shell: not built yet\n");
    return 1;
}
