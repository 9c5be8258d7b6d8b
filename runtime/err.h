/* Error reporting inside the library: em__err records the message of a
 * failure where it is born, for em_last_error(), and returns the code.
 * The message buffer is thread-local (the one thread-local of the design).
 */
#ifndef EMBER_RUNTIME_ERR_H
#define EMBER_RUNTIME_ERR_H

#include <stdarg.h>
#include <stddef.h>

#include "ember/status.h"

/* Records a formatted message for em_last_error() and returns code. */
em_status em__err(em_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* As em__err with a va_list. */
em_status em__errv(em_status code, const char *fmt, va_list ap);

/* Records "out of memory" and returns EM_ENOMEM. */
em_status em__oom(void);

/* Copies the current message into buf (cap bytes, NUL-terminated): for
 * carrying a task's message to the thread that reports it. */
void em__err_save(char *buf, size_t cap);

/* Changes whenever a message is set: compare before and after a call to
 * know whether the callee explained its failure. */
unsigned em__err_gen(void);

/* Programmer invariants: on in debug and test builds, compiled out
 * otherwise. Never used for untrusted input. */
#ifdef NDEBUG
#define EM_ASSERT(x) ((void)0)
#else
#include <assert.h>
#define EM_ASSERT(x) assert(x)
#endif

#endif /* EMBER_RUNTIME_ERR_H */
