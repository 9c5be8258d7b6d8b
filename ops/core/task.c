/* The task interface user functions see (include/ember.h). */
#include <stdarg.h>

#include "ops.h"
#include "runtime/err.h"

em_arena *em_task_arena(em_task *t)
{
    return t->scratch;
}

em_status em_task_fail(em_task *t, const char *fmt, ...)
{
    va_list ap;

    (void)t;
    va_start(ap, fmt);
    em__errv(EM_EUSER, fmt, ap);
    va_end(ap);
    return EM_EUSER;
}

int em_task_partition(const em_task *t)
{
    return t->partition;
}

int em_task_attempt(const em_task *t)
{
    return t->attempt;
}
