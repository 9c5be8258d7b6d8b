/* Shared pieces of the text operators: the tokenizer's scanner, the
 * environment of the tokenizing functions, and small record helpers.
 * Internal to ops/text/; the public API is include/ember/ml.h.
 */
#ifndef EMBER_OPS_TEXT_TEXT_H
#define EMBER_OPS_TEXT_TEXT_H

#include "ember.h"
#include "ember/ml.h"

/* Tokenizes one line inside a task: the tokens of args[0] into *out (an
 * array in the task's arena). env is em__text_env's value: [tokenizer,
 * invalid-bytes accumulator ref or nil, ...]; invalid bytes are added to
 * the accumulator. Fails the task on a record that is not a str. */
em_status em__text_line_tokens(em_task *t, const em_val *env, em_val line,
                               em_val *out);

/* The environment of the tokenizing functions, with `extra` (an int, or
 * nil) as its third element; built in `a`. EM_EINVAL for a bad option. */
em_status em__text_env(const em_text_opts *opts, em_val extra, em_arena *a,
                       em_val *out);

/* A filter keeping pairs whose value (an int) is >= env (an int). */
em_status em__text_min_count(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out);

/* Fails the task with the current em_last_error() message (copied first:
 * em_task_fail writes the same buffer). */
em_status em__text_fail_last(em_task *t);

/* rdd filtered by em__text_min_count when min_count > 1, else rdd. */
em_rdd *em__text_keep_min(em_rdd *rdd, int64_t min_count);

#endif /* EMBER_OPS_TEXT_TEXT_H */
