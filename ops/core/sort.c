/* Sorting: sortByKey and sortBy through a range partitioner whose bounds
 * come from a sample of the keys (as Spark's RangePartitioner: a
 * reservoir sample per partition, weighted by partition size), and
 * repartitionAndSortWithinPartitions.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shuffled.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/fnref.h"
#include "runtime/mem.h"

typedef struct sample_args {
    size_t per_part;   /* reservoir size */
    em_fn keyfn;       /* ordering key of a pair's key, optional */
} sample_args;

typedef struct reservoir {
    em__sink base;
    const sample_args *args;
    em_arena *arena;   /* the res arena of the task */
    em_val *keys;      /* mem.h, per_part slots */
    size_t n;          /* filled */
    int64_t seen;      /* records seen */
    uint64_t rng;
} reservoir;

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static em_status reservoir_push(em__sink *base, em_task *t, em_val rec)
{
    reservoir *r = (reservoir *)base;
    em_val key;
    size_t slot;
    em_status st;

    if (!em_val_is_pair(rec))
        return em__err(EM_ETYPE, "sortByKey: records must be (key, value) "
                       "pairs, got %s", em_type_name((em_type)rec.type));
    r->seen++;
    if (r->n < r->args->per_part)
        slot = r->n++;
    else if ((slot = (size_t)(next_rand(&r->rng) % (uint64_t)r->seen)) >=
             r->args->per_part)
        return EM_OK;
    key = rec.u.arr[0];
    if (r->args->keyfn.call != NULL &&
        (st = em__fn_call(t, &r->args->keyfn, &rec.u.arr[0], 1, &key)))
        return st;
    return em_val_copy(r->arena, key, &r->keys[slot]);
}

/* Task: [records seen, [sampled keys]]. */
static em_status sample_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                             em_arena *res, em_val *out)
{
    sample_args args, *sa = &args;
    reservoir r = {{reservoir_push}, sa, res, NULL, 0, 0, 0};
    em_val *items, *ks;
    em_status st;

    /* [per_part, packed key function] */
    if (arg.type != EM_ARRAY || arg.len != 2 || arg.u.arr[0].type != EM_INT ||
        arg.u.arr[0].u.i < 1)
        return em__err(EM_EPROTO, "sortByKey: malformed task parameters");
    args.per_part = (size_t)arg.u.arr[0].u.i;
    if ((st = em__fn_unpack(arg.u.arr[1], &args.keyfn)) != EM_OK)
        return st;

    r.rng = 0x5851f42d4c957f2dull ^ (uint64_t)part;
    r.keys = em__mem_calloc(sa->per_part, sizeof(em_val));
    if (r.keys == NULL)
        return EM_ENOMEM;
    st = em__rdd_compute(rdd, part, t, &r.base);
    if (st == EM_OK && (items = em_array_make(res, 2, out)) == NULL)
        st = EM_ENOMEM;
    if (st == EM_OK) {
        items[0] = em_int(r.seen);
        if ((ks = em_array_make(res, r.n, &items[1])) == NULL)
            st = EM_ENOMEM;
        else
            memcpy(ks, r.keys, r.n * sizeof(em_val));
    }
    em__mem_free(r.keys, sa->per_part * sizeof(em_val));
    return st;
}

typedef struct weighted {
    em_val key;
    double weight;
} weighted;

static int weighted_cmp(const void *a, const void *b)
{
    return em_val_cmp(((const weighted *)a)->key, ((const weighted *)b)->key);
}

/* Picks n-1 increasing bounds so that each range holds about the same
 * weight of the sample. */
static em_status pick_bounds(const em__job_result *r, int n, em_arena *a,
                             em_val *out)
{
    size_t total = 0, k = 0, nb = 0;
    double sum = 0, step, target;
    weighted *w;
    em_val *bounds;
    em_status st = EM_OK;

    for (int i = 0; i < r->n; i++)
        total += r->vals[i].u.arr[1].len;
    if ((bounds = em_array_make(a, (size_t)n, out)) == NULL)
        return EM_ENOMEM;
    out->len = 0;
    if (total == 0 || n < 2)
        return EM_OK;
    if ((w = em__mem_calloc(total, sizeof(*w))) == NULL)
        return EM_ENOMEM;
    for (int i = 0; i < r->n; i++) {
        em_val s = r->vals[i].u.arr[1];
        double wt = s.len ? (double)r->vals[i].u.arr[0].u.i / s.len : 0;
        for (size_t j = 0; j < s.len; j++) {
            w[k].key = s.u.arr[j];
            w[k++].weight = wt;
            sum += wt;
        }
    }
    qsort(w, total, sizeof(*w), weighted_cmp);
    step = sum / n;
    target = step;
    sum = 0;
    for (size_t i = 0; i < total && nb < (size_t)n - 1 && st == EM_OK; i++) {
        sum += w[i].weight;
        if (sum < target)
            continue;
        if (nb == 0 || em_val_cmp(w[i].key, bounds[nb - 1]) > 0)
            st = em_val_copy(a, w[i].key, &bounds[nb++]);
        target += step;
    }
    out->len = (uint32_t)nb;
    em__mem_free(w, total * sizeof(*w));
    return st;
}

static em_rdd *sorted_node(em_rdd *rdd, const em__partitioner *p,
                           bool ascending, em_fn keyfn)
{
    em_rdd *r = em__shuffled_new(rdd, &em__sort_shuffled_kind, p, NULL);
    em_val arg = em_bool(!ascending);

    if (r == NULL || em__rdd_set_arg(r, em_array(&arg, 1)) != EM_OK ||
        em__rdd_set_fn(r, keyfn, &r->fn) != EM_OK)
        return NULL;
    return r;
}

em_rdd *em_rdd_sort_by_key(em_rdd *rdd, bool ascending, int num_partitions,
                           em_fn keyfunc)
{
    em__partitioner p;
    em__job_result res;
    sample_args sa;
    em_arena *a;
    em_rdd *r = NULL;

    EM__NEED_RDD(rdd);
    memset(&p, 0, sizeof(p));
    p.kind = EM__PART_RANGE;
    p.n = em__default_partitions(rdd->ctx, &rdd, 1, num_partitions);
    p.is_desc = !ascending;
    p.fn = keyfunc;
    if ((a = em_arena_create()) == NULL)
        return NULL;
    p.bounds = em_array(NULL, 0);
    if (p.n > 1 && rdd->nparts > 0) {
        sa.per_part = (size_t)ceil(3.0 * fmin(20.0 * p.n, 1e6) /
                                   rdd->nparts);
        sa.keyfn = keyfunc;
        em_val sv[2];
        sv[0] = em_int((int64_t)sa.per_part);
        if (em__fn_pack(a, sa.keyfn, &sv[1]) != EM_OK ||
            em__job_run(rdd->ctx, rdd, NULL, 0, sample_task, em_array(sv, 2),
                        &res) != EM_OK)
            goto out;
        if (pick_bounds(&res, p.n, a, &p.bounds) != EM_OK) {
            em__job_result_fini(&res);
            goto out;
        }
        em__job_result_fini(&res);
    }
    r = sorted_node(rdd, &p, ascending, keyfunc);
out:
    em_arena_destroy(a);
    return r;
}

em_rdd *em_rdd_sort_by(em_rdd *rdd, em_fn keyfunc, bool ascending,
                       int num_partitions)
{
    if (rdd != NULL && keyfunc.call == NULL) {
        em__err(EM_EINVAL, "sortBy: no key function given");
        return NULL;
    }
    return em_rdd_values(em_rdd_sort_by_key(em_rdd_key_by(rdd, keyfunc),
                                            ascending, num_partitions,
                                            EM_FN_NONE));
}

em_rdd *em_rdd_repartition_and_sort_within_partitions(
    em_rdd *rdd, int num_partitions, em_fn partition_fn, bool ascending,
    em_fn keyfunc)
{
    em__partitioner p;

    EM__NEED_RDD(rdd);
    memset(&p, 0, sizeof(p));
    p.kind = partition_fn.call ? EM__PART_USER : EM__PART_HASH;
    p.fn = partition_fn;
    p.n = em__default_partitions(rdd->ctx, &rdd, 1, num_partitions);
    return sorted_node(rdd, &p, ascending, keyfunc);
}
