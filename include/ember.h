/* Ember: a Spark-style dataflow runtime. The public C API.
 *
 * A driver creates a context, builds a graph of immutable partitioned
 * datasets (RDDs) with lazy transformations, and runs it with actions. The
 * semantics follow PySpark's RDD API; docs/api.md is the tour, and each
 * declaration below carries its contract.
 *
 * Ownership in brief: the context owns every RDD node (they live until
 * em_ctx_destroy); results of actions are placed in an em_arena the caller
 * owns; values passed in are borrowed (copied where they must outlive the
 * call).
 */
#ifndef EMBER_INCLUDE_EMBER_H
#define EMBER_INCLUDE_EMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/status.h"
#include "ember/val.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct em_ctx em_ctx;
typedef struct em_rdd em_rdd;
typedef struct em_task em_task;

/* ------------------------------------------------------------------ */
/* Functions                                                            */
/* ------------------------------------------------------------------ */

/* A user function. It receives the task it runs in (for allocation, errors,
 * broadcasts and accumulators), its environment (the closure's captured
 * data), and its arguments; it writes its result to *out and returns EM_OK,
 * or fails with em_task_fail(). The result may point into the arguments, the
 * environment, static storage or em_task_arena(t): the runtime copies what it
 * keeps. A function must not keep pointers to its arguments after it
 * returns. Functions run concurrently on several threads.
 *
 * Argument conventions per operator are given at each operator; in short:
 * one-record functions get (rec); two-value functions (reduce, fold, merge)
 * get (a, b); partition functions get (records as one array) or
 * (index, array) and return an array. */
typedef em_status (*em_fn_ptr)(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs,
                               em_val *out);

/* A closure: function plus environment. A zero em_fn means "none" where an
 * argument is optional (a key function, for example). */
typedef struct em_fn {
    em_fn_ptr call; /* the code; NULL for none */
    em_val env;     /* captured data, copied by the operator that takes it */
} em_fn;

static inline em_fn em_fn_of(em_fn_ptr call, em_val env)
{
    em_fn f;
    f.call = call;
    f.env = env;
    return f;
}

#define EM_FN(f) em_fn_of((f), em_nil())
#define EM_FN_NONE em_fn_of(NULL, em_nil())

/* Inside a user function: the arena for the function's outputs. It is
 * recycled after the runtime has consumed them. */
EM_API em_arena *em_task_arena(em_task *t);

/* Inside a user function: fail the task with a message (printf format).
 * Returns EM_EUSER for the function to return. */
EM_API em_status em_task_fail(em_task *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The partition index and attempt number of the running task. */
EM_API int em_task_partition(const em_task *t);
EM_API int em_task_attempt(const em_task *t);

/* Built-in functions for common reductions (ints stay ints, a float makes
 * the result float; strings concatenate). */
EM_API em_status em_op_add(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out);
EM_API em_status em_op_mul(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out);
EM_API em_status em_op_min(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out);
EM_API em_status em_op_max(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out);
EM_API em_status em_op_concat(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out);

/* ------------------------------------------------------------------ */
/* Context                                                              */
/* ------------------------------------------------------------------ */

/* Options for em_ctx_create; zero means default for every field. */
typedef struct em_conf {
    const char *master;     /* "local", "local[N]", "local[*]" (default),
                               "local[N,F]" (F attempts per task); NULL:
                               $EMBER_MASTER, else local[*] */
    const char *app_name;   /* shown in progress and errors */
    int64_t memory_bytes;   /* executor memory budget; 0: half of RAM */
    int default_parallelism; /* 0: the number of threads */
    const char *local_dir;  /* scratch files; NULL: $TMPDIR or /tmp */
    int progress;           /* 1 on, 0 auto (stderr is a terminal), -1 off */
    int gpu;                /* ember.gpu: 1 runs the learning library's
                               dense arithmetic on each executor's GPU
                               when it has one, -1 never; 0: $EMBER_GPU
                               ("1" on), else off (include/ember/gpu.h) */
} em_conf;

/* Creates a context. conf may be NULL for all defaults. Returns NULL on
 * failure (a malformed master URL, out of memory) with em_last_error set. */
EM_API em_ctx *em_ctx_create(const em_conf *conf);

/* Stops the context: frees every RDD node, cached partition, broadcast and
 * accumulator. Accepts NULL. */
EM_API void em_ctx_destroy(em_ctx *ctx);

/* Cancels the job running on ctx, if any: no task of it starts any more,
 * and the action returns EM_ECANCELED once the tasks already running have
 * finished (on the pool: at once; the executors' results are dropped). A
 * job started afterwards runs normally. Async-signal-safe: it only sets a
 * flag, so a SIGINT handler may call it (the shell does). */
EM_API void em_ctx_cancel(em_ctx *ctx);

/* The number of partitions operators use when none is given. */
EM_API int em_ctx_default_parallelism(const em_ctx *ctx);

/* The number of task threads of a local master. */
EM_API int em_ctx_threads(const em_ctx *ctx);

/* True when the context runs GPU operators (em_conf.gpu). */
EM_API bool em_ctx_gpu(const em_ctx *ctx);

/* The library's log: lines about trouble it recovered from, such as a GPU
 * kernel that failed and ran on the CPU instead. */
typedef enum em_log_level { EM_LOG_WARN = 1 } em_log_level;
typedef void (*em_log_fn)(em_log_level level, const char *line, void *ud);

/* Sets the process-wide log handler (NULL: lines are dropped, the
 * default); the handler may be called from any thread, one call at a
 * time, and must not call back into the library. */
EM_API void em_log_set(em_log_fn fn, void *ud);

/* What a context has run so far, for monitoring and tests. */
typedef struct em_ctx_stats {
    int64_t jobs;            /* actions run */
    int64_t stages_run;      /* stages whose tasks ran */
    int64_t map_tasks_run;   /* shuffle map tasks run */
    int64_t stages_skipped;  /* shuffle map stages skipped because their
                                output existed (a later action on the same
                                lineage) */
    int64_t task_us;         /* time spent running task attempts, summed
                                over attempts (on the pool: as measured by
                                the executors) */
} em_ctx_stats;

EM_API void em_ctx_get_stats(em_ctx *ctx, em_ctx_stats *out);

/* Parses a size such as "512m", "2g", "1048576" (k, m, g, t suffixes,
 * powers of 1024). Returns EM_EINVAL for anything else. */
EM_API em_status em_parse_size(const char *s, int64_t *out);

/* ------------------------------------------------------------------ */
/* Sources                                                              */
/* ------------------------------------------------------------------ */

/* Distributes n values (deep-copied) over num_slices partitions (<= 0: the
 * default parallelism): slice i holds [floor(i*n/s), floor((i+1)*n/s)). */
EM_API em_rdd *em_ctx_parallelize(em_ctx *ctx, const em_val *vals, size_t n,
                                  int num_slices);

/* Ints start, start+step, ... below end (above end for a negative step),
 * sliced as parallelize. step 0 is EM_EINVAL. */
EM_API em_rdd *em_ctx_range(em_ctx *ctx, int64_t start, int64_t end,
                            int64_t step, int num_slices);

/* An RDD with no partitions. */
EM_API em_rdd *em_ctx_empty(em_ctx *ctx);

/* Lines of text (str records, without the line terminator; "\r\n" loses the
 * "\r") of a file, of every file in a directory, or of the files matching a
 * glob, in path order. Large files are split into byte ranges on line
 * boundaries so that there are at least min_partitions partitions (<= 0:
 * min(2, default parallelism)); a gzip file (by its magic bytes) is read
 * whole as one partition. Missing input is an error at creation. */
EM_API em_rdd *em_ctx_text_file(em_ctx *ctx, const char *path,
                                int min_partitions);

/* (path, content) pairs, one per file (gzip decompressed), for a file, a
 * directory or a glob. */
EM_API em_rdd *em_ctx_whole_text_files(em_ctx *ctx, const char *path,
                                       int min_partitions);

/* The partitions of every RDD in turn. */
EM_API em_rdd *em_ctx_union(em_ctx *ctx, em_rdd *const *rdds, size_t n);

/* ------------------------------------------------------------------ */
/* Narrow transformations                                               */
/* ------------------------------------------------------------------ */
/* Every transformation is lazy and returns a new node owned by the context,
 * or NULL with em_last_error set. Passing NULL as the input RDD returns NULL
 * with the error untouched, so a chain can be checked once at its end. */

EM_API em_rdd *em_rdd_map(em_rdd *rdd, em_fn f);          /* f(rec) */
EM_API em_rdd *em_rdd_filter(em_rdd *rdd, em_fn f);       /* f(rec): truthy */
EM_API em_rdd *em_rdd_flat_map(em_rdd *rdd, em_fn f);     /* f(rec): array */
/* f(records array) -> array */
EM_API em_rdd *em_rdd_map_partitions(em_rdd *rdd, em_fn f);
/* f(index, records array) -> array */
EM_API em_rdd *em_rdd_map_partitions_with_index(em_rdd *rdd, em_fn f);
EM_API em_rdd *em_rdd_glom(em_rdd *rdd); /* one array per partition */
/* On pairs (k, v): */
EM_API em_rdd *em_rdd_map_values(em_rdd *rdd, em_fn f);      /* f(v) */
EM_API em_rdd *em_rdd_flat_map_values(em_rdd *rdd, em_fn f); /* f(v): array */
EM_API em_rdd *em_rdd_key_by(em_rdd *rdd, em_fn f); /* (f(rec), rec) */
EM_API em_rdd *em_rdd_keys(em_rdd *rdd);
EM_API em_rdd *em_rdd_values(em_rdd *rdd);
/* Pairs of the i-th records of a and b; both must have the same number of
 * partitions and the same number of records in each (checked when run). */
EM_API em_rdd *em_rdd_zip(em_rdd *a, em_rdd *b);
/* (rec, index) in partition order; runs a job to count the partitions
 * before the last, as Spark does. */
EM_API em_rdd *em_rdd_zip_with_index(em_rdd *rdd);
/* (rec, i*n + k) for the i-th record of partition k of n: unique, not
 * contiguous, no job. */
EM_API em_rdd *em_rdd_zip_with_unique_id(em_rdd *rdd);
/* A sample: Bernoulli with probability fraction, or Poisson(fraction) copies
 * of each record with replacement. The generator of a partition is seeded
 * from seed and the partition index, so a sample is repeatable. */
EM_API em_rdd *em_rdd_sample(em_rdd *rdd, bool with_replacement,
                             double fraction, uint64_t seed);
/* Merges adjacent partitions into num_partitions (no shuffle; never more
 * partitions than the input has). */
EM_API em_rdd *em_rdd_coalesce(em_rdd *rdd, int num_partitions);
/* Each partition's records, one per line (em_val_format), written to the
 * stdin of `sh -c command`; its stdout lines are the records. A non-zero
 * exit fails the task. */
EM_API em_rdd *em_rdd_pipe(em_rdd *rdd, const char *command);

/* ------------------------------------------------------------------ */
/* Wide transformations (a shuffle)                                     */
/* ------------------------------------------------------------------ */
/* num_partitions <= 0 means the default: the context's default parallelism
 * when it was configured (em_conf.default_parallelism), otherwise the
 * largest partition count among the inputs, as PySpark. Records of *ByKey
 * operators must be (key, value) pairs; keys are compared and hashed with
 * em_val_eq and em_val_hash. The order of records inside a partition, and
 * of values inside a group, is not defined unless the operator sorts. */

/* Redistributes pairs by key: with partition_fn (key -> int, taken modulo
 * num_partitions) or by the hash of the key. */
EM_API em_rdd *em_rdd_partition_by(em_rdd *rdd, int num_partitions,
                                   em_fn partition_fn);
/* Spark's combineByKey: create(v) starts a combiner, merge_value(c, v)
 * adds a value, merge_combiners(c, c) joins two; values are combined on
 * the map side before the shuffle. */
EM_API em_rdd *em_rdd_combine_by_key(em_rdd *rdd, em_fn create,
                                     em_fn merge_value,
                                     em_fn merge_combiners,
                                     int num_partitions);
/* f(v, v) -> v, combined on the map side. */
EM_API em_rdd *em_rdd_reduce_by_key(em_rdd *rdd, em_fn f, int num_partitions);
/* As reduceByKey, starting each key of each map partition from zero. As in
 * Spark, zero must be neutral (0 for addition, [] for concatenation): it
 * is applied once per key per map partition, and again after the map side
 * spills its combining table past the memory budget. */
EM_API em_rdd *em_rdd_fold_by_key(em_rdd *rdd, em_val zero, em_fn f,
                                  int num_partitions);
/* seq(acc, v) from zero per key per map partition; comb(acc, acc). zero
 * must be neutral, as for foldByKey. */
EM_API em_rdd *em_rdd_aggregate_by_key(em_rdd *rdd, em_val zero, em_fn seq,
                                       em_fn comb, int num_partitions);
/* (k, [v...]) per key. A single group larger than the memory budget fails
 * with an error suggesting reduceByKey or aggregateByKey. */
EM_API em_rdd *em_rdd_group_by_key(em_rdd *rdd, int num_partitions);
/* (f(rec), [rec...]) per distinct f(rec). */
EM_API em_rdd *em_rdd_group_by(em_rdd *rdd, em_fn f, int num_partitions);
/* Each distinct record once. */
EM_API em_rdd *em_rdd_distinct(em_rdd *rdd, int num_partitions);
/* Sorted by key (keyfunc(key) when given: it only orders), range-
 * partitioned from a sample so partition i holds keys before partition
 * i+1's. Runs a job to sample the keys, as Spark does. */
EM_API em_rdd *em_rdd_sort_by_key(em_rdd *rdd, bool ascending,
                                  int num_partitions, em_fn keyfunc);
/* Records sorted by keyfunc(rec). */
EM_API em_rdd *em_rdd_sort_by(em_rdd *rdd, em_fn keyfunc, bool ascending,
                              int num_partitions);
/* partitionBy, then each partition sorted by key. */
EM_API em_rdd *em_rdd_repartition_and_sort_within_partitions(
    em_rdd *rdd, int num_partitions, em_fn partition_fn, bool ascending,
    em_fn keyfunc);
/* For n inputs of pairs: (k, [[values of input 0], ..., [values of input
 * n-1]]) for every key of any input. An input already partitioned by the
 * same partitioner is read without a new shuffle. */
EM_API em_rdd *em_rdd_cogroup(em_rdd *const *rdds, size_t n,
                              int num_partitions);
/* (k, (v, w)) for every pair of values with equal keys. The outer joins
 * put nil (ember.null in Lua) where a side has no value. */
EM_API em_rdd *em_rdd_join(em_rdd *a, em_rdd *b, int num_partitions);
EM_API em_rdd *em_rdd_left_outer_join(em_rdd *a, em_rdd *b,
                                      int num_partitions);
EM_API em_rdd *em_rdd_right_outer_join(em_rdd *a, em_rdd *b,
                                       int num_partitions);
EM_API em_rdd *em_rdd_full_outer_join(em_rdd *a, em_rdd *b,
                                      int num_partitions);
/* Records of a not in b (every copy); pairs of a whose key is not in b;
 * distinct records in both. */
EM_API em_rdd *em_rdd_subtract(em_rdd *a, em_rdd *b, int num_partitions);
EM_API em_rdd *em_rdd_subtract_by_key(em_rdd *a, em_rdd *b,
                                      int num_partitions);
EM_API em_rdd *em_rdd_intersection(em_rdd *a, em_rdd *b);
/* Every pair (x, y), x from a and y from b; a.n * b.n partitions. */
EM_API em_rdd *em_rdd_cartesian(em_rdd *a, em_rdd *b);
/* Exactly num_partitions partitions through a shuffle (balanced). */
EM_API em_rdd *em_rdd_repartition(em_rdd *rdd, int num_partitions);
/* coalesce with shuffle = true: the same as repartition. */
EM_API em_rdd *em_rdd_coalesce_shuffle(em_rdd *rdd, int num_partitions);

/* The number of pairs per key, as a map. */
EM_API em_status em_rdd_count_by_key(em_rdd *rdd, em_arena *a, em_val *out);
/* The values of key, as an array; reads only the key's partition when the
 * RDD has a partitioner. */
EM_API em_status em_rdd_lookup(em_rdd *rdd, em_val key, em_arena *a,
                               em_val *out);

/* ------------------------------------------------------------------ */
/* Persistence                                                          */
/* ------------------------------------------------------------------ */

typedef enum em_storage {
    EM_STORAGE_NONE = 0,
    EM_MEMORY_ONLY,
    EM_MEMORY_ONLY_SER,
    EM_MEMORY_AND_DISK,
    EM_MEMORY_AND_DISK_SER,
    EM_DISK_ONLY,
    EM_MEMORY_ONLY_2,
    EM_MEMORY_ONLY_SER_2,
    EM_MEMORY_AND_DISK_2,
    EM_MEMORY_AND_DISK_SER_2,
    EM_DISK_ONLY_2,
} em_storage;

/* Marks the RDD to be kept after it is first computed. Changing the level
 * of an RDD that already has one is EM_ESTATE, as in Spark. */
EM_API em_status em_rdd_persist(em_rdd *rdd, em_storage level);
EM_API em_status em_rdd_cache(em_rdd *rdd); /* MEMORY_ONLY */
/* Drops the kept partitions and the mark. */
EM_API em_status em_rdd_unpersist(em_rdd *rdd);
EM_API em_storage em_rdd_storage(const em_rdd *rdd);
/* How many of the RDD's partitions are held by the block store now. */
EM_API int em_rdd_cached_partitions(const em_rdd *rdd);

/* Sets the directory checkpoints are written to (made if missing; a
 * subdirectory per context is created inside). */
EM_API em_status em_ctx_set_checkpoint_dir(em_ctx *ctx, const char *dir);
/* Marks the RDD to be saved to the checkpoint directory by the next job
 * that computes it; afterwards its lineage is cut and later jobs read the
 * saved partitions. Persist the RDD first, or it is computed twice (once
 * for the job, once to save it), as in Spark. EM_ESTATE without a
 * checkpoint directory. */
EM_API em_status em_rdd_checkpoint(em_rdd *rdd);
/* As checkpoint, but the partitions are kept by the block store at
 * MEMORY_AND_DISK instead of in files: faster, not reliable (a lost block
 * is an error, since the lineage is gone). */
EM_API em_status em_rdd_local_checkpoint(em_rdd *rdd);
EM_API bool em_rdd_is_checkpointed(const em_rdd *rdd);

/* ------------------------------------------------------------------ */
/* Inspection                                                           */
/* ------------------------------------------------------------------ */

EM_API int em_rdd_num_partitions(const em_rdd *rdd);
EM_API int em_rdd_id(const em_rdd *rdd);
EM_API em_ctx *em_rdd_ctx(const em_rdd *rdd);
EM_API em_status em_rdd_set_name(em_rdd *rdd, const char *name);
EM_API const char *em_rdd_name(const em_rdd *rdd);
/* Lineage, one line per node, as Spark's toDebugString. The string is
 * allocated in `a`. */
EM_API em_status em_rdd_debug_string(em_rdd *rdd, em_arena *a,
                                     const char **out);

/* ------------------------------------------------------------------ */
/* Actions                                                              */
/* ------------------------------------------------------------------ */
/* Each action runs a job. Results are allocated in the caller's arena `a`.
 * A failing task fails the job with the task's message; the context stays
 * usable for the next job. Key functions are optional (EM_FN_NONE). */

EM_API em_status em_rdd_collect(em_rdd *rdd, em_arena *a, em_val *out);
EM_API em_status em_rdd_count(em_rdd *rdd, int64_t *out);
/* EM_EEMPTY on an empty RDD. */
EM_API em_status em_rdd_first(em_rdd *rdd, em_arena *a, em_val *out);
/* The first n records in partition order; scans partitions in growing
 * batches, past empty ones. */
EM_API em_status em_rdd_take(em_rdd *rdd, int64_t n, em_arena *a,
                             em_val *out);
/* The n smallest (takeOrdered) or largest (top) records by key(rec), or by
 * the record itself; ascending (takeOrdered) or descending (top). */
EM_API em_status em_rdd_take_ordered(em_rdd *rdd, int64_t n, em_fn key,
                                     em_arena *a, em_val *out);
EM_API em_status em_rdd_top(em_rdd *rdd, int64_t n, em_fn key, em_arena *a,
                            em_val *out);
/* f(a, b) must be commutative and associative. EM_EEMPTY on empty input. */
EM_API em_status em_rdd_reduce(em_rdd *rdd, em_fn f, em_arena *a,
                               em_val *out);
/* f folds each partition starting from zero, then the partition results
 * starting from zero again at the driver (Spark's fold). */
EM_API em_status em_rdd_fold(em_rdd *rdd, em_val zero, em_fn f, em_arena *a,
                             em_val *out);
/* seq(acc, rec) per partition from zero; comb(acc, acc) at the driver. */
EM_API em_status em_rdd_aggregate(em_rdd *rdd, em_val zero, em_fn seq,
                                  em_fn comb, em_arena *a, em_val *out);
/* As reduce/aggregate, combining partition results in a tree of the given
 * depth (>= 1; 2 is Spark's default) through extra stages. */
EM_API em_status em_rdd_tree_reduce(em_rdd *rdd, em_fn f, int depth,
                                    em_arena *a, em_val *out);
EM_API em_status em_rdd_tree_aggregate(em_rdd *rdd, em_val zero, em_fn seq,
                                       em_fn comb, int depth, em_arena *a,
                                       em_val *out);
/* Numbers: sum is 0 for an empty RDD (an int unless a float is seen); mean
 * of an empty RDD is NaN, as Spark. A non-number is EM_ETYPE. */
EM_API em_status em_rdd_sum(em_rdd *rdd, em_val *out);
EM_API em_status em_rdd_mean(em_rdd *rdd, double *out);
/* The largest/smallest record by key(rec) or by the total order; EM_EEMPTY
 * on an empty RDD. */
EM_API em_status em_rdd_max(em_rdd *rdd, em_fn key, em_arena *a,
                            em_val *out);
EM_API em_status em_rdd_min(em_rdd *rdd, em_fn key, em_arena *a,
                            em_val *out);

/* Summary of numbers (Spark's StatCounter). */
typedef struct em_stats {
    int64_t count;
    double mean;
    double sum;
    double min;              /* +inf when empty */
    double max;              /* -inf when empty */
    double variance;         /* population variance; NaN when empty */
    double sample_variance;  /* n-1 denominator; NaN when count < 2 */
    double stdev;
    double sample_stdev;
} em_stats;

EM_API em_status em_rdd_stats(em_rdd *rdd, em_stats *out);

/* Histogram of numbers. With buckets == NULL, nbuckets (>= 1) evenly spaced
 * buckets between the minimum and maximum; otherwise the nbuckets+1 sorted
 * bucket bounds given. Buckets are [lo, hi) except the last, [lo, hi].
 * *out is the array [bounds array, counts array], in `a`. */
EM_API em_status em_rdd_histogram(em_rdd *rdd, int nbuckets,
                                  const double *buckets, em_arena *a,
                                  em_val *out);
/* A map from each distinct record to its number of occurrences. */
EM_API em_status em_rdd_count_by_value(em_rdd *rdd, em_arena *a,
                                       em_val *out);
EM_API em_status em_rdd_is_empty(em_rdd *rdd, bool *out);
/* num records sampled with or without replacement, as Spark's takeSample:
 * repeatable for a seed, no record twice without replacement. */
EM_API em_status em_rdd_take_sample(em_rdd *rdd, bool with_replacement,
                                    int64_t num, uint64_t seed, em_arena *a,
                                    em_val *out);
EM_API em_status em_rdd_foreach(em_rdd *rdd, em_fn f); /* f(rec) */
/* f(records array) once per partition */
EM_API em_status em_rdd_foreach_partition(em_rdd *rdd, em_fn f);
/* One part file per partition (part-00000, ...) in a new directory `path`,
 * each record a line (em_val_format), then an empty _SUCCESS file. A path
 * that exists is EM_EEXIST and nothing is written. */
EM_API em_status em_rdd_save_as_text_file(em_rdd *rdd, const char *path);
/* Pairs to a map; a later pair wins for a repeated key. */
EM_API em_status em_rdd_collect_as_map(em_rdd *rdd, em_arena *a,
                                       em_val *out);

/* ------------------------------------------------------------------ */
/* Broadcast variables                                                  */
/* ------------------------------------------------------------------ */

typedef struct em_broadcast em_broadcast;

/* Encodes v once and makes it available to every task. The context owns
 * the broadcast; em_broadcast_destroy releases it early. */
EM_API em_broadcast *em_ctx_broadcast(em_ctx *ctx, em_val v);
/* The reference to capture in a function's environment. */
EM_API em_val em_broadcast_ref(const em_broadcast *b);
/* Inside a task: the broadcast value for a reference (read-only, valid for
 * the task). EM_ESTATE after the broadcast was destroyed. */
EM_API em_status em_task_broadcast(em_task *t, em_val ref, em_val *out);
/* On the driver: the value (valid until the broadcast is destroyed). */
EM_API em_status em_broadcast_value(const em_broadcast *b, em_val *out);
EM_API void em_broadcast_destroy(em_broadcast *b);

/* ------------------------------------------------------------------ */
/* Accumulators                                                         */
/* ------------------------------------------------------------------ */

typedef struct em_accum em_accum;

typedef enum em_accum_kind {
    EM_ACCUM_SUM, /* numbers, starting from 0 */
    EM_ACCUM_MAX,
    EM_ACCUM_MIN,
    EM_ACCUM_USER, /* merge(a, b) from zero */
} em_accum_kind;

/* Creates an accumulator with initial value `initial` (copied). For
 * EM_ACCUM_USER, merge combines two values and zero is what each task's copy
 * starts from; for the others zero is ignored. Owned by the context. */
EM_API em_accum *em_ctx_accumulator(em_ctx *ctx, em_accum_kind kind,
                                    em_val initial, em_val zero, em_fn merge);
EM_API em_val em_accum_ref(const em_accum *acc);
/* Inside a task: adds v to the task's copy. The copies of tasks that
 * succeed are merged at the driver, once per task even when retried. */
EM_API em_status em_task_accum_add(em_task *t, em_val ref, em_val v);
/* On the driver: the current value, copied into `a`. Inside a task it is an
 * error (EM_ESTATE), as in Spark. */
EM_API em_status em_accum_value(em_accum *acc, em_arena *a, em_val *out);
/* On the driver: replaces the value. */
EM_API em_status em_accum_set(em_accum *acc, em_val v);

/* ------------------------------------------------------------------ */
/* Testing hooks                                                        */
/* ------------------------------------------------------------------ */

/* The allocation wrapper, for code that embeds its own allocations in the
 * process's accounting (the Lua binding gives it to each Lua state, so the
 * Lua heap counts against the memory budget): p NULL allocates n bytes; n
 * 0 frees p (of old_n bytes) and returns NULL; otherwise resizes p from
 * old_n to n bytes. NULL when out of memory (p is then untouched). */
EM_API void *em_mem_realloc(void *p, size_t old_n, size_t n);

/* Makes the allocation wrapper fail every allocation after `n` more have
 * succeeded (n < 0: never fail). Process-wide; for out-of-memory tests. */
EM_API void em_mem_fail_after(int64_t n);
/* Bytes currently allocated through the wrapper (process-wide). */
EM_API int64_t em_mem_outstanding(void);

#ifdef __cplusplus
}
#endif

/* Barrier stages and their collectives (barrier, allGather, allReduce):
 * part of the core API, in a header of their own. */
#include "ember/barrier.h"

#endif /* EMBER_INCLUDE_EMBER_H */
