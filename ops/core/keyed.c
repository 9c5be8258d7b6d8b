/* The *ByKey operators and the others built on one shuffle: partitionBy,
 * combineByKey, reduceByKey, foldByKey, aggregateByKey, groupByKey,
 * groupBy, distinct, repartition, countByKey and lookup.
 */
#include <string.h>

#include "shuffled.h"
#include "runtime/arena.h"
#include "runtime/err.h"

static em__partitioner hash_partitioner(int n)
{
    em__partitioner p;

    memset(&p, 0, sizeof(p));
    p.kind = EM__PART_HASH;
    p.n = n;
    return p;
}

em_rdd *em_rdd_partition_by(em_rdd *rdd, int num_partitions, em_fn fn)
{
    em__partitioner p;

    EM__NEED_RDD(rdd);
    p = hash_partitioner(em__default_partitions(rdd->ctx, &rdd, 1,
                                                num_partitions));
    if (fn.call != NULL) {
        p.kind = EM__PART_USER;
        p.fn = fn;
    }
    if (rdd->partitioner != NULL && em__partitioner_eq(rdd->partitioner, &p))
        return rdd; /* already partitioned so: nothing to move */
    return em__shuffled_new(rdd, &em__plain_shuffled_kind, &p, NULL);
}

static em_rdd *combine(em_rdd *rdd, const em__aggregator *agg, int n)
{
    em__partitioner p;

    EM__NEED_RDD(rdd);
    if (agg->merge_value.call == NULL ||
        agg->merge_combiners.call == NULL) {
        em__err(EM_EINVAL, "combineByKey: a function is missing");
        return NULL;
    }
    p = hash_partitioner(em__default_partitions(rdd->ctx, &rdd, 1, n));
    return em__shuffled_new(rdd, &em__combine_shuffled_kind, &p, agg);
}

em_rdd *em_rdd_combine_by_key(em_rdd *rdd, em_fn create, em_fn merge_value,
                              em_fn merge_combiners, int num_partitions)
{
    em__aggregator agg = {create, em_nil(), merge_value, merge_combiners,
                          true};

    if (create.call == NULL) {
        em__err(EM_EINVAL, "combineByKey: no create function");
        return NULL;
    }

    return combine(rdd, &agg, num_partitions);
}

static em_status identity(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    *out = args[0];
    return EM_OK;
}

em_rdd *em_rdd_reduce_by_key(em_rdd *rdd, em_fn f, int num_partitions)
{
    em__aggregator agg = {EM_FN(identity), em_nil(), f, f, true};

    return combine(rdd, &agg, num_partitions);
}

em_rdd *em_rdd_aggregate_by_key(em_rdd *rdd, em_val zero, em_fn seq,
                                em_fn comb, int num_partitions)
{
    em__aggregator agg = {EM_FN_NONE, zero, seq, comb, true};

    return combine(rdd, &agg, num_partitions);
}

em_rdd *em_rdd_fold_by_key(em_rdd *rdd, em_val zero, em_fn f,
                           int num_partitions)
{
    return em_rdd_aggregate_by_key(rdd, zero, f, f, num_partitions);
}

em_rdd *em_rdd_group_by_key(em_rdd *rdd, int num_partitions)
{
    em__partitioner p;

    EM__NEED_RDD(rdd);
    p = hash_partitioner(em__default_partitions(rdd->ctx, &rdd, 1,
                                                num_partitions));
    return em__shuffled_new(rdd, &em__group_shuffled_kind, &p, NULL);
}

em_rdd *em_rdd_group_by(em_rdd *rdd, em_fn f, int num_partitions)
{
    return em_rdd_group_by_key(em_rdd_key_by(rdd, f), num_partitions);
}

static em_status to_nil_pair(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), args[0], em_nil(), out);
}

static em_status pick_first(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    *out = args[0];
    return EM_OK;
}

em_rdd *em_rdd_distinct(em_rdd *rdd, int num_partitions)
{
    em_rdd *pairs = em_rdd_map(rdd, EM_FN(to_nil_pair));

    return em_rdd_keys(em_rdd_reduce_by_key(pairs, EM_FN(pick_first),
                                            num_partitions));
}

/* x -> (position-spreading key, x): repartition spreads records evenly
 * by numbering them round-robin per map partition, as Spark does. */
static em_status spread(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    const em_val *recs = args[1].u.arr;
    size_t n = args[1].len;
    em_val *items = em_array_make(em_task_arena(t), n, out);

    if (items == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        em_status st = em_pair_make(em_task_arena(t),
                                    em_int(args[0].u.i + (int64_t)i),
                                    recs[i], &items[i]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

static em_status by_int_key(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    *out = args[0];
    return EM_OK;
}

em_rdd *em_rdd_repartition(em_rdd *rdd, int num_partitions)
{
    em_rdd *keyed, *moved;

    EM__NEED_RDD(rdd);
    if (num_partitions < 1) {
        em__err(EM_EINVAL, "repartition: need at least one partition");
        return NULL;
    }
    keyed = em_rdd_map_partitions_with_index(rdd, EM_FN(spread));
    moved = em_rdd_partition_by(keyed, num_partitions, EM_FN(by_int_key));
    return em_rdd_values(moved);
}

em_rdd *em_rdd_coalesce_shuffle(em_rdd *rdd, int num_partitions)
{
    return em_rdd_repartition(rdd, num_partitions);
}

em_status em_rdd_count_by_key(em_rdd *rdd, em_arena *a, em_val *out)
{
    em_rdd *keys = em_rdd_keys(rdd);

    if (keys == NULL)
        return em__err(EM_EINVAL, "countByKey: no RDD");
    return em_rdd_count_by_value(keys, a, out);
}

/* keeps the pairs whose key equals env */
static em_status key_is(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    if (!em_val_is_pair(args[0]))
        return em__err(EM_ETYPE, "lookup: records must be pairs");
    *out = em_bool(em_val_eq(args[0].u.arr[0], *env));
    return EM_OK;
}

static em_status collect_one(em_task *t, em_rdd *rdd, int part, em_val arg,
                             em_arena *res, em_val *out);

em_status em_rdd_lookup(em_rdd *rdd, em_val key, em_arena *a, em_val *out)
{
    em_rdd *vals;
    em_task drv;
    em_status st;
    int part;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "lookup: no RDD");
    vals = em_rdd_values(em_rdd_filter(rdd, em_fn_of(key_is, key)));
    if (vals == NULL)
        return EM_ENOMEM;
    if (rdd->partitioner == NULL)
        return em_rdd_collect(vals, a, out);
    memset(&drv, 0, sizeof(drv));
    drv.ctx = rdd->ctx;
    if ((drv.scratch = em_arena_create()) == NULL)
        return EM_ENOMEM;
    st = em__partitioner_of(rdd->partitioner, &drv, key, &part);
    em_arena_destroy(drv.scratch);
    if (st != EM_OK)
        return st;
    {
        em__job_result r;
        st = em__job_run(rdd->ctx, vals, &part, 1, collect_one, em_nil(), &r);
        if (st != EM_OK)
            return st;
        st = em_val_copy(a, r.vals[0], out);
        em__job_result_fini(&r);
    }
    return st;
}

static em_status collect_one(em_task *t, em_rdd *rdd, int part, em_val arg,
                             em_arena *res, em_val *out)
{
    em__vec_sink vs;
    em_status st;

    em__vec_sink_init(&vs, res, SIZE_MAX);
    st = em__rdd_compute(rdd, part, t, &vs.base);
    if (st != EM_OK) {
        em__vec_sink_fini(&vs);
        return st;
    }
    return em__vec_sink_finish(&vs, out);
}
