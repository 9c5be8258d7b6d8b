/* Status codes and the last-error message. Every fallible call returns an
 * em_status (or NULL) and leaves a message for em_last_error(). Part of the
 * public API; included by ember.h.
 */
#ifndef EMBER_INCLUDE_STATUS_H
#define EMBER_INCLUDE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EMBER_BUILDING)
#define EM_API __attribute__((visibility("default")))
#else
#define EM_API
#endif

/* name, code, default message */
#define EM_STATUS_MAP(X)                                                       \
    X(OK, 0, "success")                                                        \
    X(ENOMEM, -1, "out of memory")                                             \
    X(EINVAL, -2, "invalid argument")                                          \
    X(EIO, -3, "input/output error")                                           \
    X(EFORMAT, -4, "malformed data")                                           \
    X(ELIMIT, -5, "limit exceeded")                                            \
    X(EEMPTY, -6, "empty collection")                                          \
    X(EUSER, -7, "user function failed")                                       \
    X(EEXIST, -8, "already exists")                                            \
    X(ENOENT, -9, "not found")                                                 \
    X(ESTATE, -10, "invalid state")                                            \
    X(ETYPE, -11, "wrong type")                                                \
    X(ECANCELED, -12, "canceled")                                              \
    X(EFETCH, -13, "shuffle output lost or corrupt")                          \
    X(EPROTO, -14, "protocol error")                                           \
    X(ETIMEOUT, -15, "timed out")                                              \
    X(ELOST, -16, "executor lost")

typedef enum em_status {
#define EM_STATUS_ENUM(name, code, msg) EM_##name = code,
    EM_STATUS_MAP(EM_STATUS_ENUM)
#undef EM_STATUS_ENUM
} em_status;

/* The symbolic name of a status ("EM_ENOMEM"); "EM_UNKNOWN" for others. */
EM_API const char *em_status_name(em_status s);

/* The message of the last failure on this thread: what failed and why. Valid
 * until the next failing call on the same thread. Never NULL. */
EM_API const char *em_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_STATUS_H */
