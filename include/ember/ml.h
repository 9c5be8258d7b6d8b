/* Ember's operator libraries for learning on large data: text statistics
 * (ops/text/) and sketches (ops/sketch/). Every operator is built on the
 * RDD API of ember.h, so it runs the same on local threads and on the
 * worker pool. Models and sketches are ordinary values (maps, arrays,
 * bytes): they encode, broadcast, accumulate and save like any record.
 * docs/ml.md is the tour; each declaration carries its contract.
 */
#ifndef EMBER_INCLUDE_EMBER_ML_H
#define EMBER_INCLUDE_EMBER_ML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Tokenizers (ops/text/tokenize.c)                                     */
/* ------------------------------------------------------------------ */

typedef enum em_tokenizer {
    /* Maximal runs of ASCII letters, lowercased; every other byte
     * separates (the tokenizer of examples/wordcount). */
    EM_TOKENIZER_ASCII = 0,
    /* Maximal runs of Unicode word characters of UTF-8 text: letters (L*),
     * combining marks (M*) and decimal digits (Nd), each token case-folded
     * (full folding: "Straße" gives "strasse"). A byte that is not part of
     * a valid UTF-8 sequence (overlong, surrogate, truncated, above
     * U+10FFFF) separates tokens and is counted. Unicode 14 tables. */
    EM_TOKENIZER_UNICODE = 1,
} em_tokenizer;

/* Splits the n bytes at s into tokens: *out is an array of str values
 * (the lowercased or folded copies) allocated in `a`. When invalid_out is
 * not NULL it receives the number of invalid UTF-8 bytes seen (always 0
 * for the ASCII tokenizer). EM_EINVAL for an unknown tokenizer, EM_ENOMEM
 * when out of memory. */
EM_API em_status em_text_words(const char *s, size_t n, em_tokenizer kind,
                               em_arena *a, em_val *out,
                               int64_t *invalid_out);

/* Options of the text operators; zero means the default for each field. */
typedef struct em_text_opts {
    em_tokenizer tokenizer;  /* default EM_TOKENIZER_ASCII */
    int64_t min_count;       /* drop results counted fewer times; <= 1
                                keeps everything */
    double smoothing;        /* compareCorpora's additive smoothing a;
                                0: 1.0; must not be negative */
    int num_partitions;      /* of the counting shuffles; <= 0: default */
    em_accum *invalid_bytes; /* NULL, or an EM_ACCUM_SUM accumulator that
                                receives the invalid UTF-8 bytes seen */
} em_text_opts;

/* Lines (str records) to arrays of tokens, one array per line. A record
 * that is not a str fails its task with a message naming the type. opts
 * may be NULL. */
EM_API em_rdd *em_text_tokenize(em_rdd *lines, const em_text_opts *opts);

/* ------------------------------------------------------------------ */
/* Counting (ops/text/counts.c)                                         */
/* ------------------------------------------------------------------ */

/* (word, count) pairs of the tokens of all lines (reduceByKey with
 * map-side combining), keeping counts >= opts->min_count. Lazy. */
EM_API em_rdd *em_text_word_count(em_rdd *lines, const em_text_opts *opts);

/* ([w1, ..., wn], count) pairs of the n-grams (n >= 1 consecutive tokens
 * of one line; n-grams never span lines), keeping counts >=
 * opts->min_count. Lazy; n < 1 is EM_EINVAL. */
EM_API em_rdd *em_text_ngrams(em_rdd *lines, int n,
                              const em_text_opts *opts);

/* ------------------------------------------------------------------ */
/* Association and comparison (ops/text/pmi.c)                          */
/* ------------------------------------------------------------------ */

/* Bigram association by pointwise mutual information: records
 * [[w1, w2], pmi, count] with pmi = ln(p(w1,w2) / (p(w1) p(w2))), where
 * p(w1,w2) = count / B, B the number of bigrams (taken within lines),
 * p(w) = c(w) / N, N the number of tokens. Keeps bigrams with count >=
 * opts->min_count. Runs two jobs to count N and B (their shuffles are
 * reused by the jobs on the result); the result itself is lazy. */
EM_API em_rdd *em_text_bigram_pmi(em_rdd *lines, const em_text_opts *opts);

/* Words typical of one corpus against another: records [word, countA,
 * countB, score] for every word of either corpus with countA + countB >=
 * opts->min_count, where score = ln((countA + a) / (NA + a V)) -
 * ln((countB + a) / (NB + a V)), a = opts->smoothing (default 1), NA and NB
 * the token counts of the corpora and V the size of their joint
 * vocabulary. Positive scores lean to A. Runs jobs for NA, NB and V; the
 * result is lazy. */
EM_API em_rdd *em_text_compare_corpora(em_rdd *lines_a, em_rdd *lines_b,
                                       const em_text_opts *opts);

/* ------------------------------------------------------------------ */
/* Multinomial naive Bayes (ops/text/naive_bayes.c)                     */
/* ------------------------------------------------------------------ */

/* A labelled point, as pyspark.mllib's LabeledPoint: the pair [label,
 * features], label a number (the class), features a dense (EM_VEC) or
 * sparse (EM_SPVEC) vector of non-negative term frequencies. Built in `a`
 * (features are stored shallowly). */
EM_API em_status em_ml_labeled_point(em_arena *a, double label,
                                     em_val features, em_val *out);

/* Trains multinomial naive Bayes as pyspark.mllib's NaiveBayes.train:
 * per-label document counts and feature sums by reduceByKey (combined per
 * partition before the shuffle), then with additive smoothing lambda
 * (1.0 is Laplace; >= 0)
 *
 *   pi[i]       = ln(n_i + lambda) - ln(N + L lambda)
 *   theta[i][j] = ln(s_ij + lambda) - ln(sum_j s_ij + D lambda)
 *
 * for L labels, N points, D features. The model is a value (a map, in
 * `a`): {"labels": vec of the labels ascending, "pi": vec, "theta": array
 * of L vecs of D}, so it broadcasts and saves like a record. Fails with
 * EM_EEMPTY on no points; a point that is not [number, vector], a
 * negative or non-finite feature, or vectors of different dimensions
 * fail the job with a message. */
EM_API em_status em_nb_train(em_rdd *points, double lambda, em_arena *a,
                             em_val *model_out);

/* The parts of a model value (views into it). EM_EFORMAT when model is
 * not a naive Bayes model. Any out pointer may be NULL. */
EM_API em_status em_nb_model_parts(em_val model, em_val *labels_out,
                                   em_val *pi_out, em_val *theta_out);

/* The label of highest posterior, argmax_i pi[i] + sum_j x_j theta[i][j]
 * (the first label on ties). EM_EINVAL when the features are not a vector
 * of the model's dimension. */
EM_API em_status em_nb_predict(em_val model, em_val features,
                               double *label_out);

/* The prediction as a user function for map: env is the model or a
 * broadcast reference to it; args[0] the features, or a labelled point
 * (its features are used); the result is the label (float). */
EM_API em_status em_nb_predict_op(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs,
                                  em_val *out);

/* ------------------------------------------------------------------ */
/* Feature hashing (ops/text/hashing_tf.c)                              */
/* ------------------------------------------------------------------ */

/* Flags of the hashing transform. */
#define EM_HASHING_SIGNED 1u /* each term adds its sign, +1 or -1 from a
                                second hash (the hash kernel of Weinberger
                                et al.), so collisions cancel on average */
#define EM_HASHING_BINARY 2u /* each distinct term of a document counts
                                once */

/* The feature index of a term: em_val_hash(term) mod num_features, so
 * equal values (1 and 1.0 too) share an index on every process. -1 when
 * num_features is not in [1, 2^32]. */
EM_API int64_t em_hashing_tf_index(int64_t num_features, em_val term);

/* The sign (+1 or -1) a term adds under EM_HASHING_SIGNED. */
EM_API int em_hashing_tf_sign(em_val term);

/* pyspark.mllib's HashingTF.transform: the term frequencies of `tokens`
 * (an array of any values, usually strs) as a sparse vector of dimension
 * num_features in `a`, entry i the sum over tokens t with index(t) == i
 * of 1 (or sign(t)); entries that cancel to 0 are left out. EM_EINVAL for
 * num_features outside [1, 2^32] or unknown flags, EM_ETYPE when tokens is
 * not an array. */
EM_API em_status em_hashing_tf_transform(int64_t num_features,
                                         unsigned flags, em_val tokens,
                                         em_arena *a, em_val *out);

/* The transform as a user function: env is [num_features, flags], args[0]
 * the tokens. */
EM_API em_status em_hashing_tf_op(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs,
                                  em_val *out);

/* The transform of every record (an array of tokens) of docs. Lazy; NULL
 * with EM_EINVAL for bad parameters. */
EM_API em_rdd *em_hashing_tf(em_rdd *docs, int64_t num_features,
                             unsigned flags);

/* ------------------------------------------------------------------ */
/* Bloom filter (ops/sketch/bloom.c)                                    */
/* ------------------------------------------------------------------ */
/* Spark's org.apache.spark.util.sketch.BloomFilter. Items are any values,
 * hashed with em_val_hash (so 1 and 1.0 are the same item); bit i of
 * the k probes is (h1 + i h2) mod m. As a value the filter is bytes (the
 * layout is in docs/ml.md), so it broadcasts and merges as a record.
 * An em_bloom is library-allocated: create, then em_bloom_destroy. */

typedef struct em_bloom em_bloom;

/* A filter for expected_items (> 0) with false-positive probability fpp
 * (in (0, 1)): m = ceil(-n ln p / (ln 2)^2) bits and k = max(1,
 * round(m / n ln 2)) hashes. NULL with EM_EINVAL for bad parameters or
 * more than 2^34 bits, EM_ENOMEM. */
EM_API em_bloom *em_bloom_create(int64_t expected_items, double fpp);

/* A filter of exactly num_bits (>= 1) bits and num_hashes (1..64)
 * hashes. */
EM_API em_bloom *em_bloom_create_bits(int64_t num_bits, int num_hashes);

EM_API void em_bloom_destroy(em_bloom *bf);

/* Adds x; true when a bit changed (x was not already reported present). */
EM_API bool em_bloom_put(em_bloom *bf, em_val x);

/* False when x was certainly never put; true when it probably was. */
EM_API bool em_bloom_might_contain(const em_bloom *bf, em_val x);

/* Adds every item of other to bf (bitwise or). EM_EINVAL, with both
 * sizes in the message, unless both have the same bits and hashes. */
EM_API em_status em_bloom_merge_in_place(em_bloom *bf,
                                         const em_bloom *other);

/* (set bits / m)^k: the chance that a never-put item is reported. */
EM_API double em_bloom_expected_fpp(const em_bloom *bf);
EM_API int64_t em_bloom_bit_size(const em_bloom *bf);
EM_API int em_bloom_num_hashes(const em_bloom *bf);

/* The filter as a bytes value in `a`. */
EM_API em_status em_bloom_to_val(const em_bloom *bf, em_arena *a,
                                 em_val *out);
/* A filter from a value made by em_bloom_to_val; NULL with EM_EFORMAT when
 * v is not one (wrong type, magic, version or length). */
EM_API em_bloom *em_bloom_from_val(em_val v);
/* mightContain on the value form, without a copy (for tasks reading a
 * broadcast filter). EM_EFORMAT when bf is not a filter value. */
EM_API em_status em_bloom_val_might_contain(em_val bf, em_val x,
                                            bool *out);
/* A user function merging two filter values (for reduce and
 * accumulators); fails its task on incompatible filters. */
EM_API em_status em_bloom_merge_op(em_task *t, const em_val *env,
                                   const em_val *args, size_t nargs,
                                   em_val *out);

/* A filter of every record of rdd: one filter per partition, merged by
 * treeReduce. Runs a job; NULL on failure. */
EM_API em_bloom *em_sketch_bloom_filter(em_rdd *rdd, int64_t expected_items,
                                        double fpp);

/* The two-filter trick: the records of rdd whose value occurs at least
 * twice in rdd, every copy. One job builds, per partition, a filter of
 * values seen once and one of values seen twice; they merge as (A1 | A2,
 * B1 | B2 | (A1 & A2)); the result filters rdd by the second. No repeated
 * value is dropped; a singleton survives with a probability near fpp.
 * expected_items is the number of distinct values. The filter is held by
 * a broadcast of rdd's context. */
EM_API em_rdd *em_sketch_drop_singletons(em_rdd *rdd,
                                         int64_t expected_items, double fpp);

/* ------------------------------------------------------------------ */
/* Count-min sketch (ops/sketch/countmin.c)                             */
/* ------------------------------------------------------------------ */
/* Cormode and Muthukrishnan's sketch, named as Spark's CountMinSketch but
 * sized classically: width ceil(e / eps), depth ceil(ln(1 / (1 -
 * confidence))). An estimate is never below the true count and exceeds it
 * by more than eps * totalCount with probability at most 1 - confidence.
 * Counts are int64; bytes as a value (layout in docs/ml.md). */

typedef struct em_cms em_cms;

/* eps and confidence in (0, 1); the row hashes derive from seed. NULL
 * with EM_EINVAL for bad parameters or a table over 2^31 bytes. */
EM_API em_cms *em_cms_create(double eps, double confidence, uint64_t seed);
EM_API void em_cms_destroy(em_cms *cms);

/* Conservative update (Estan and Varghese): an add raises each row's
 * counter only up to the new minimum estimate. Estimates stay upper
 * bounds and get tighter; sketches so built still merge by addition. */
EM_API void em_cms_set_conservative(em_cms *cms, bool on);

/* Adds count (>= 0) occurrences of x. EM_EINVAL for a negative count,
 * EM_ELIMIT when the total would overflow. */
EM_API em_status em_cms_add(em_cms *cms, em_val x, int64_t count);
EM_API int64_t em_cms_estimate_count(const em_cms *cms, em_val x);
/* Adds other's counts to cms. EM_EINVAL unless depth, width and seed
 * agree. */
EM_API em_status em_cms_merge_in_place(em_cms *cms, const em_cms *other);
EM_API int64_t em_cms_total_count(const em_cms *cms);
EM_API int em_cms_depth(const em_cms *cms);
EM_API int em_cms_width(const em_cms *cms);

EM_API em_status em_cms_to_val(const em_cms *cms, em_arena *a, em_val *out);
EM_API em_cms *em_cms_from_val(em_val v); /* NULL, EM_EFORMAT */
EM_API em_status em_cms_val_estimate_count(em_val cms, em_val x,
                                           int64_t *out);
EM_API em_status em_cms_merge_op(em_task *t, const em_val *env,
                                 const em_val *args, size_t nargs,
                                 em_val *out);

/* A sketch counting every record of rdd once: one sketch per partition,
 * merged by treeReduce. Runs a job; NULL on failure. */
EM_API em_cms *em_sketch_count_min(em_rdd *rdd, double eps,
                                   double confidence, uint64_t seed,
                                   bool conservative);

/* Heavy hitters: *out is an array of [item, estimate] for every item whose
 * estimate is at least phi * N (N records), estimate descending then item
 * ascending, in `a`. Every item occurring at least phi * N times is
 * there; one occurring fewer than (phi - eps) N times is there with
 * probability at most 1 - confidence. Two jobs: the sketch (seed 0), then
 * a pass over the records with the sketch broadcast. phi in (0, 1]. */
EM_API em_status em_sketch_heavy_hitters(em_rdd *rdd, double phi, double eps,
                                         double confidence, em_arena *a,
                                         em_val *out);

/* ------------------------------------------------------------------ */
/* Random-hyperplane LSH for cosine similarity (ops/sketch/lsh.c)       */
/* ------------------------------------------------------------------ */
/* Bit i of a signature is the sign of <r_i, x>, where entry j of the
 * hyperplane r_i is pool[hash(seed, i, j) mod P] from a pool of P = 10000
 * standard normal numbers (Van Durme and Lall's pooling trick: no d x b
 * matrix is stored). For vectors at angle t each bit differs with
 * probability t / pi, so cos t is estimated as cos(pi h / b) from the
 * Hamming distance h of b-bit signatures. A signature is a bytes value of
 * ceil(b / 8) bytes. */

typedef struct em_rplsh em_rplsh;

/* dim >= 1 features, bits in [1, 4096]; bits <= 0 means the default 64.
 * NULL with EM_EINVAL. */
EM_API em_rplsh *em_rplsh_create(int64_t dim, int bits, uint64_t seed);
EM_API void em_rplsh_destroy(em_rplsh *lsh);
EM_API int em_rplsh_bits(const em_rplsh *lsh);

/* The signature of a dense or sparse vector of the sketch's dimension, in
 * `a`. EM_EINVAL for another dimension or type. */
EM_API em_status em_rplsh_signature(const em_rplsh *lsh, em_val vec,
                                    em_arena *a, em_val *out);

/* cos(pi h / b) for two signatures of the same length; EM_EINVAL
 * otherwise. */
EM_API em_status em_rplsh_estimate_cosine(em_val sig_a, em_val sig_b,
                                          int bits, double *out);

/* The exact cosine similarity of two vectors (dense or sparse) of the
 * same dimension; 0 when one is zero. EM_EINVAL otherwise. */
EM_API em_status em_ml_cosine(em_val x, em_val y, double *out);

/* An index for approximate k nearest neighbours: the signatures of an RDD
 * of [id, vector] records, collected to the driver (with the vectors),
 * cut into chunks of chunk_bits bits (multi-index hashing; <= 0: 8). A
 * query's candidates are the records sharing at least one chunk with it
 * exactly; they are ranked by exact cosine. Runs a job. */
typedef struct em_lsh_index em_lsh_index;
EM_API em_lsh_index *em_rplsh_index_create(const em_rplsh *lsh,
                                           em_rdd *id_vectors,
                                           int chunk_bits);
EM_API void em_lsh_index_destroy(em_lsh_index *idx);
/* *out is an array of up to k [id, cosine] pairs, most similar first
 * (ties by id), in `a`. When fewer than k records are candidates, the rest
 * come from the nearest signatures by Hamming distance, so k results are
 * given whenever the index holds k records. */
EM_API em_status em_lsh_index_nearest(const em_lsh_index *idx, em_val query,
                                      int k, em_arena *a, em_val *out);

/* Spark's approxSimilarityJoin: records [idA, idB, cosine] for pairs of
 * [id, vector] records of a and b that share a signature chunk of
 * chunk_bits bits (<= 0: 8) and whose exact cosine is >= threshold, each
 * pair once. Lazy. */
EM_API em_rdd *em_rplsh_similarity_join(const em_rplsh *lsh, em_rdd *a,
                                        em_rdd *b, double threshold,
                                        int chunk_bits);

/* ------------------------------------------------------------------ */
/* MinHash LSH for Jaccard similarity (ops/sketch/minhash.c)            */
/* ------------------------------------------------------------------ */
/* Hash i of a set is the minimum over its elements of a seeded mix of
 * em_val_hash(element); two sets agree on a hash with probability equal
 * to their Jaccard similarity. Signatures are arrays of num_hashes ints;
 * banding groups them in `bands` bands of num_hashes / bands rows. */

typedef struct em_minhash em_minhash;

/* num_hashes >= 1, bands in [1, num_hashes] dividing num_hashes. */
EM_API em_minhash *em_minhash_create(int num_hashes, int bands,
                                     uint64_t seed);
EM_API void em_minhash_destroy(em_minhash *mh);

/* The signature of the set of values in tokens (an array; repeats count
 * once), in `a`. An empty set gives all hashes INT64_MAX. */
EM_API em_status em_minhash_signature(const em_minhash *mh, em_val tokens,
                                      em_arena *a, em_val *out);

/* The fraction of equal hashes of two signatures of the same length. */
EM_API em_status em_minhash_estimate_jaccard(em_val sig_a, em_val sig_b,
                                             double *out);

/* Near-duplicates in an RDD of [id, tokens] records: [idA, idB, jaccard]
 * with idA < idB for pairs sharing at least one band and with exact
 * Jaccard similarity of their token sets >= threshold, each pair once.
 * Lazy. */
EM_API em_rdd *em_minhash_similarity_join(const em_minhash *mh, em_rdd *docs,
                                          double threshold);

#ifdef __cplusplus
}
#endif
#include "ml_cluster.h" /* k-means */
#include "graph.h"      /* PageRank */
#include "ml_linear.h"  /* linear models and optimizers */
#include "ml_mf.h"      /* ALS and DSGD matrix factorization */
#include "ml_ad.h"      /* autodiff and the multilayer perceptron */
#include "ml_grid.h"    /* grid search by cross-validation */
#endif /* EMBER_INCLUDE_EMBER_ML_H */
