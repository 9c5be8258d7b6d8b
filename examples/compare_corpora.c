/* compare_corpora: the words most typical of each of two corpora. Counts
 * the words of both (em_text_compare_corpora) and prints, for each side,
 * the N words with the most extreme smoothed log-ratio
 *
 *   score(w) = ln((cA + a) / (NA + a V)) - ln((cB + a) / (NB + a V))
 *
 * as "score<TAB>countA<TAB>countB<TAB>word" lines, most typical first
 * (ties by word). docs/ml.md shows it on two English Bible translations.
 *
 *   compare_corpora [--master URL] [--min-count N] [--smoothing A]
 *                   [--top N] [--unicode] PATH_A PATH_B
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember/ml.h"

/* [word, countA, countB, score] -> [-score * env, word] (env: 1 or -1):
 * takeOrdered gives the most typical first, ties by word */
static em_status signed_score(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    em_val *k = em_array_make(em_task_arena(t), 2, out);

    if (k == NULL)
        return EM_ENOMEM;
    k[0] = em_float(-env->u.f * args[0].u.arr[3].u.f);
    k[1] = args[0].u.arr[0];
    return EM_OK;
}

/* Prints the records in the order takeOrdered gave. */
static void print_side(const char *title, em_val recs)
{
    printf("%s\n", title);
    for (uint32_t i = 0; i < recs.len; i++) {
        const em_val *r = recs.u.arr[i].u.arr;
        printf("%.4f\t%lld\t%lld\t%.*s\n", r[3].u.f, (long long)r[1].u.i,
               (long long)r[2].u.i, (int)r[0].len, r[0].u.s);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: compare_corpora [--master URL] [--min-count N] "
                    "[--smoothing A] [--top N] [--unicode] PATH_A PATH_B\n");
    return 2;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_text_opts opts = {.min_count = 1};
    long top = 20;
    int i, rc = 1;
    em_arena *a = NULL;
    em_rdd *scores;
    em_val side_a, side_b;
    em_ctx *ctx;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            conf.master = argv[++i];
        else if (strcmp(argv[i], "--min-count") == 0 && i + 1 < argc)
            opts.min_count = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--smoothing") == 0 && i + 1 < argc)
            opts.smoothing = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc)
            top = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--unicode") == 0)
            opts.tokenizer = EM_TOKENIZER_UNICODE;
        else
            return usage();
    }
    if (argc - i != 2)
        return usage();
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "compare_corpora: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    scores = em_text_compare_corpora(em_ctx_text_file(ctx, argv[i], 0),
                                     em_ctx_text_file(ctx, argv[i + 1], 0),
                                     &opts);
    if (a == NULL || scores == NULL || em_rdd_cache(scores) != EM_OK ||
        em_rdd_take_ordered(scores, top,
                            em_fn_of(signed_score, em_float(1)), a,
                            &side_a) != EM_OK ||
        em_rdd_take_ordered(scores, top,
                            em_fn_of(signed_score, em_float(-1)), a,
                            &side_b) != EM_OK) {
        fprintf(stderr, "compare_corpora: %s\n", em_last_error());
        goto out;
    }
    printf("# most typical of %s\n", argv[i]);
    print_side("score\tcountA\tcountB\tword", side_a);
    printf("\n# most typical of %s\n", argv[i + 1]);
    print_side("score\tcountA\tcountB\tword", side_b);
    rc = 0;
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
