/* Arithmetic on number values, shared by the built-in operators, sums,
 * statistics and accumulators: ints stay ints (wrapping is an error), a
 * float on either side makes a float. */
#ifndef EMBER_RUNTIME_NUM_H
#define EMBER_RUNTIME_NUM_H

#include "ember/val.h"

/* a + b and a * b for numbers; EM_ETYPE (with a message naming the types)
 * for anything else, EM_ELIMIT on int64 overflow. */
em_status em__num_add(em_val a, em_val b, em_val *out);
em_status em__num_mul(em_val a, em_val b, em_val *out);

#endif /* EMBER_RUNTIME_NUM_H */
