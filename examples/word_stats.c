/* word_stats: word statistics of text files: the N most frequent words,
 * the N most frequent bigrams, and the N bigrams of highest pointwise
 * mutual information among those seen at least --min-count times
 * (em_text_word_count, em_text_ngrams, em_text_bigram_pmi). Output lines
 * are "count<TAB>word", "count<TAB>w1 w2" and "pmi<TAB>count<TAB>w1 w2";
 * ties are broken by the words. docs/ml.md shows a run on GCIDE.
 *
 *   word_stats [--master URL] [--min-count N] [--top N] [--unicode] PATH...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember/ml.h"

/* (key, count) -> [-count, key]: takeOrdered gives count descending,
 * then key ascending */
static em_status by_count(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr;
    em_val *k = em_array_make(em_task_arena(t), 2, out);

    if (k == NULL)
        return EM_ENOMEM;
    k[0] = em_int(-p[1].u.i);
    k[1] = p[0];
    return EM_OK;
}

/* [[w1, w2], pmi, count] -> [-pmi, [w1, w2]] */
static em_status by_pmi(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    const em_val *r = args[0].u.arr;
    em_val *k = em_array_make(em_task_arena(t), 2, out);

    if (k == NULL)
        return EM_ENOMEM;
    k[0] = em_float(-r[1].u.f);
    k[1] = r[0];
    return EM_OK;
}

/* Prints a token or an array of tokens, space-separated. */
static void print_key(em_val k)
{
    if (k.type == EM_STR) {
        printf("%.*s", (int)k.len, k.u.s);
        return;
    }
    for (uint32_t i = 0; i < k.len; i++)
        printf("%s%.*s", i ? " " : "", (int)k.u.arr[i].len, k.u.arr[i].u.s);
}

static void print_counts(const char *title, em_val recs)
{
    printf("# %s\n", title);
    for (uint32_t i = 0; i < recs.len; i++) {
        printf("%lld\t", (long long)recs.u.arr[i].u.arr[1].u.i);
        print_key(recs.u.arr[i].u.arr[0]);
        printf("\n");
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: word_stats [--master URL] [--min-count N] "
                    "[--top N] [--unicode] PATH...\n");
    return 2;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_text_opts opts = {0}, all = {0};
    long top = 10;
    int i, rc = 1;
    em_rdd *lines, *inputs[64], *pmi;
    em_val words, bigrams, assoc;
    em_arena *a;
    em_ctx *ctx;

    opts.min_count = 10;
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            conf.master = argv[++i];
        else if (strcmp(argv[i], "--min-count") == 0 && i + 1 < argc)
            opts.min_count = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc)
            top = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--unicode") == 0)
            opts.tokenizer = all.tokenizer = EM_TOKENIZER_UNICODE;
        else
            return usage();
    }
    if (i >= argc || argc - i > 64)
        return usage();
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "word_stats: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    for (int k = i; k < argc; k++)
        inputs[k - i] = em_ctx_text_file(ctx, argv[k], 0);
    lines = em_ctx_union(ctx, inputs, (size_t)(argc - i));
    pmi = em_text_bigram_pmi(lines, &opts);
    if (a == NULL || pmi == NULL ||
        em_rdd_take_ordered(em_text_word_count(lines, &all), top,
                            EM_FN(by_count), a, &words) != EM_OK ||
        em_rdd_take_ordered(em_text_ngrams(lines, 2, &all), top,
                            EM_FN(by_count), a, &bigrams) != EM_OK ||
        em_rdd_take_ordered(pmi, top, EM_FN(by_pmi), a, &assoc) != EM_OK) {
        fprintf(stderr, "word_stats: %s\n", em_last_error());
        goto out;
    }
    print_counts("most frequent words", words);
    print_counts("most frequent bigrams", bigrams);
    printf("# highest PMI among bigrams seen at least %lld times\n",
           (long long)opts.min_count);
    for (uint32_t k = 0; k < assoc.len; k++) {
        const em_val *r = assoc.u.arr[k].u.arr;
        printf("%.4f\t%lld\t", r[1].u.f, (long long)r[2].u.i);
        print_key(r[0]);
        printf("\n");
    }
    rc = 0;
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
