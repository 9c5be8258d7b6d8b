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

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_ML_H */
