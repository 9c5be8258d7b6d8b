/* Partitions: the records of one partition, held in their own arena. A
 * sealed partition is immutable and freed as a whole. */
#ifndef EMBER_RUNTIME_PART_H
#define EMBER_RUNTIME_PART_H

#include <stddef.h>

#include "ember/val.h"

typedef struct em__part {
    em_arena *arena;  /* owns what the records point to */
    em_val *recs;     /* the records, allocated through mem.h */
    size_t n;         /* records held */
    size_t cap;       /* records allocated */
    /* A partition lent by the block store (em__rdd_materialize of a block
     * held in memory): recs are the block's own, read-only, and fini
     * gives them back instead of freeing them. */
    struct em__blocks *lender;
    void *loan;
} em__part;

/* Makes an empty partition with its own arena. */
em_status em__part_init(em__part *p);

/* Deep-copies rec into the partition. */
em_status em__part_push(em__part *p, em_val rec);

/* Appends rec without copying (the caller guarantees it lives in
 * p->arena or longer). */
em_status em__part_push_raw(em__part *p, em_val rec);

/* Bytes the partition holds (arena footprint plus the record array). */
size_t em__part_bytes(const em__part *p);

/* Frees the partition, or gives a lent one back to its block store. */
void em__part_fini(em__part *p);

#endif /* EMBER_RUNTIME_PART_H */
