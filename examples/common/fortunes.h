/* The fortunes (scripts/fetch-data.sh fortunes: one file per topic, the
 * quotes separated by lines that are exactly "%") as labelled points of
 * hashed words, for the text-classification examples and benchmarks
 * (examples/common/fortunes.c).
 */
#ifndef EMBER_EXAMPLES_FORTUNES_H
#define EMBER_EXAMPLES_FORTUNES_H

#include <stdint.h>

#include "ember/ml.h"

/* Which of a file's records: all, or the split every example uses (the
 * record at index i of its file is held out when i % 5 == 4). */
typedef enum ex_records {
    EX_ALL = 0,
    EX_TRAINING,
    EX_HELD_OUT
} ex_records;

/* The records of one file's content (an EM_STR) as an array of points
 * [label, sparse vector] in the task's arena: each record's words
 * (em_text_words, ASCII) hashed to `features` dimensions
 * (em_hashing_tf_transform). */
em_status ex_fortune_points(em_task *t, em_val content, double label,
                            ex_records which, int64_t features, em_val *out);

#endif /* EMBER_EXAMPLES_FORTUNES_H */
