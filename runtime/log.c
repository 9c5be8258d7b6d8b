/* The process-wide log handler (runtime/log.h, em_log_set in ember.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static em_log_fn log_fn;  /* NULL: warnings are dropped */
static void *log_ud;

void em_log_set(em_log_fn fn, void *ud)
{
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_ud = ud;
    pthread_mutex_unlock(&log_lock);
}

void em__log_warn(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* the handler runs under the lock so that em_log_set never races it */
    pthread_mutex_lock(&log_lock);
    if (log_fn != NULL)
        log_fn(EM_LOG_WARN, line, log_ud);
    pthread_mutex_unlock(&log_lock);
}
