/* Partitions (see part.h). */
#include "part.h"

#include <string.h>

#include "arena.h"
#include "blocks.h"
#include "err.h"
#include "mem.h"

em_status em__part_init(em__part *p)
{
    memset(p, 0, sizeof(*p));
    p->arena = em__arena_create(0);
    return p->arena ? EM_OK : EM_ENOMEM;
}

em_status em__part_push_raw(em__part *p, em_val rec)
{
    void *recs = p->recs;

    EM_ASSERT(p->lender == NULL); /* a lent partition is read-only */

    if (p->n == p->cap &&
        em__mem_grow(&recs, &p->cap, p->n + 1, sizeof(em_val)) != 0)
        return EM_ENOMEM;
    p->recs = recs;
    p->recs[p->n++] = rec;
    return EM_OK;
}

em_status em__part_push(em__part *p, em_val rec)
{
    em_val c;
    em_status st = em_val_copy(p->arena, rec, &c);

    return st != EM_OK ? st : em__part_push_raw(p, c);
}

size_t em__part_bytes(const em__part *p)
{
    return (p->arena ? em__arena_footprint(p->arena) : 0) +
           p->cap * sizeof(em_val);
}

void em__part_fini(em__part *p)
{
    em__arena_destroy(p->arena);
    if (p->lender != NULL)
        em__blocks_give_back(p->lender, p->loan);
    else
        em__mem_free(p->recs, p->cap * sizeof(em_val));
    memset(p, 0, sizeof(*p));
}
