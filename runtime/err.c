/* Status names and the thread-local last-error message (see err.h). */
#include "err.h"

#include <stdio.h>
#include <string.h>

/* The one thread-local of the library: the last failure's message, and a
 * count of messages set, so a caller can tell whether a callee set one. */
static _Thread_local struct {
    char msg[1024];
    unsigned gen;
} last __attribute__((tls_model("initial-exec"))) = {"success", 0};


const char *em_status_name(em_status s)
{
    switch (s) {
#define EM_STATUS_NAME(name, code, msg)                                        \
    case EM_##name:                                                            \
        return "EM_" #name;
        EM_STATUS_MAP(EM_STATUS_NAME)
#undef EM_STATUS_NAME
    }
    return "EM_UNKNOWN";
}

const char *em_last_error(void)
{
    return last.msg;
}

em_status em__errv(em_status code, const char *fmt, va_list ap)
{
    char tmp[sizeof(last.msg)];

    /* through a copy: the arguments may point into the message itself
     * (em__err(st, "%s", em_last_error()) keeps a message) */
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    memcpy(last.msg, tmp, sizeof(tmp));
    last.gen++;
    return code;
}

unsigned em__err_gen(void)
{
    return last.gen;
}

em_status em__err(em_status code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    em__errv(code, fmt, ap);
    va_end(ap);
    return code;
}

em_status em__oom(void)
{
    return em__err(EM_ENOMEM, "out of memory");
}

void em__err_save(char *buf, size_t cap)
{
    if (cap == 0)
        return;
    snprintf(buf, cap, "%s", last.msg);
}
