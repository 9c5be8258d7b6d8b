/* Record files: values written one after another, each as a u32
 * little-endian length then its msgpack encoding. Spilled runs and
 * checkpoints use them. */
#ifndef EMBER_RUNTIME_RECFILE_H
#define EMBER_RUNTIME_RECFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "ember/val.h"

/* Appends v to f, encoding through the scratch buffer b. EM_EIO on a write
 * error (the caller names the file), EM_ELIMIT for a record over 4 GiB. */
em_status em__recfile_write(FILE *f, em__buf *b, em_val v);

/* Reads the next record of f into a (through the scratch buffer b).
 * *has_out is false at the end of the file. A truncated or malformed
 * record is EM_EIO naming path. */
em_status em__recfile_read(FILE *f, const char *path, em__buf *b,
                           em_arena *a, em_val *out, bool *has_out);

#endif /* EMBER_RUNTIME_RECFILE_H */
