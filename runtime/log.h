/* The library's log: warnings about things it recovered from (a GPU
 * kernel that failed and ran on the CPU instead) go to the handler set
 * with em_log_set, never to a terminal. One process-wide handler, set
 * under a lock (STYLE.md section 5: a registry set at start-up).
 */
#ifndef EMBER_RUNTIME_LOG_H
#define EMBER_RUNTIME_LOG_H

#include "ember.h"

/* Sends one formatted warning line (no newline) to the handler, if one is
 * set. Thread-safe. */
void em__log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* EMBER_RUNTIME_LOG_H */
