/* sketches: a Bloom filter and a count-min sketch on word lists. The
 * filter holds the lines of MEMBERS; the lines of OTHERS that are not
 * members measure its false-positive rate against the configured one, and
 * every member is checked to be found. The count-min sketch counts the
 * lines of both files; its estimates are compared with exact counts
 * (reduceByKey), and its heavy hitters are printed.
 *
 *   sketches [--master URL] [--fpp P] [--eps E] [--confidence C]
 *            [--phi F] MEMBERS OTHERS
 *
 * docs/ml.md shows a run on Debian's American and British word lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember/ml.h"

/* rec -> (rec, 1) */
static em_status one(em_task *t, const em_val *env, const em_val *args,
                     size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), args[0], em_int(1), out);
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    double fpp = 0.01, eps = 0.0001, conf_level = 0.99, phi = 0.0005;
    int64_t members, queries = 0, fp = 0, fn = 0, over = 0, under = 0;
    int i, rc = 1;
    em_val member_list, others, counts, hh;
    em_bloom *bf = NULL;
    em_cms *cms = NULL;
    em_rdd *a_lines, *b_lines, *all;
    em_arena *a;
    em_ctx *ctx;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0 && i + 1 < argc;
         i += 2) {
        if (strcmp(argv[i], "--master") == 0)
            conf.master = argv[i + 1];
        else if (strcmp(argv[i], "--fpp") == 0)
            fpp = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--eps") == 0)
            eps = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--confidence") == 0)
            conf_level = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--phi") == 0)
            phi = strtod(argv[i + 1], NULL);
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: sketches [--master URL] [--fpp P] [--eps E] "
                "[--confidence C] [--phi F] MEMBERS OTHERS\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL || (a = em_arena_create()) ==
                                                    NULL) {
        fprintf(stderr, "sketches: %s\n", em_last_error());
        return 1;
    }
    a_lines = em_rdd_distinct(em_ctx_text_file(ctx, argv[i], 0), 0);
    b_lines = em_ctx_text_file(ctx, argv[i + 1], 0);
    all = em_ctx_union(ctx, (em_rdd *[]){em_ctx_text_file(ctx, argv[i], 0),
                                         b_lines}, 2);
    if (em_rdd_collect(a_lines, a, &member_list) != EM_OK ||
        em_rdd_count(a_lines, &members) != EM_OK ||
        (bf = em_sketch_bloom_filter(a_lines, members, fpp)) == NULL ||
        em_rdd_collect(em_rdd_distinct(em_rdd_subtract(b_lines, a_lines, 0),
                                       0), a, &others) != EM_OK ||
        (cms = em_sketch_count_min(all, eps, conf_level, 1, false)) ==
            NULL ||
        em_rdd_collect(em_rdd_reduce_by_key(em_rdd_map(all, EM_FN(one)),
                                            EM_FN(em_op_add), 0), a,
                       &counts) != EM_OK ||
        em_sketch_heavy_hitters(all, phi, eps / 2, conf_level, a, &hh) !=
            EM_OK) {
        fprintf(stderr, "sketches: %s\n", em_last_error());
        goto out;
    }
    for (uint32_t k = 0; k < member_list.len; k++)
        fn += !em_bloom_might_contain(bf, member_list.u.arr[k]);
    for (uint32_t k = 0; k < others.len; k++, queries++)
        fp += em_bloom_might_contain(bf, others.u.arr[k]);
    for (uint32_t k = 0; k < counts.len; k++) {
        const em_val *p = counts.u.arr[k].u.arr;
        int64_t est = em_cms_estimate_count(cms, p[0]);
        under += est < p[1].u.i;
        over += (double)(est - p[1].u.i) > eps * em_cms_total_count(cms);
    }
    printf("bloom\tmembers %lld\tbits %lld\thashes %d\n", (long long)members,
           (long long)em_bloom_bit_size(bf), em_bloom_num_hashes(bf));
    printf("bloom\tfalse negatives %lld\n", (long long)fn);
    printf("bloom\tqueries %lld\tfalse positives %lld\trate %.5f\t"
           "configured %.5f\texpected %.5f\n", (long long)queries,
           (long long)fp, queries ? (double)fp / (double)queries : 0.0, fpp,
           em_bloom_expected_fpp(bf));
    printf("count-min\titems %lld\tdistinct %u\twidth %d\tdepth %d\n",
           (long long)em_cms_total_count(cms), counts.len,
           em_cms_width(cms), em_cms_depth(cms));
    printf("count-min\tbelow truth %lld\tover eps*N %lld (%.5f, bound "
           "%.5f)\n", (long long)under, (long long)over,
           counts.len ? (double)over / counts.len : 0.0, 1 - conf_level);
    for (uint32_t k = 0; k < hh.len && k < 10; k++) {
        const em_val *p = hh.u.arr[k].u.arr;
        printf("heavy\t%lld\t%.*s\n", (long long)p[1].u.i, (int)p[0].len,
               p[0].u.s);
    }
    rc = 0;
out:
    em_bloom_destroy(bf);
    em_cms_destroy(cms);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
