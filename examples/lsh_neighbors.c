/* lsh_neighbors: approximate nearest neighbours by cosine similarity with
 * random-hyperplane LSH (em_rplsh_index_create, em_lsh_index_nearest) on a
 * CSV of numbers a row, the last column a label that is not used (the
 * layout of scikit-learn's digits.csv: 64 pixels, then the digit). Every
 * fifth row (rows 0, 5, 10, ...) is a query; the others are indexed. For
 * each signature length the program prints the recall at k against exact
 * neighbours found by brute force here: the fraction of the k neighbours
 * returned whose cosine is at least that of the k-th exact neighbour (so
 * that ties count either way).
 *
 *   lsh_neighbors [--master URL] [--bits B,...] [--k K] [--chunk-bits C]
 *                 [--print] PATH
 *
 * --print adds, for each length and query, a line "nn<TAB>bits<TAB>query
 * row<TAB>row,row,..." (the neighbours, most similar first). docs/ml.md
 * shows a run on the digits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember/ml.h"

/* (line, index) -> [] or [[index, vector of all columns but the last]]:
 * the queries (env true: index % 5 == 0) or the indexed rows */
static em_status parse_row(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr;
    em_arena *a = em_task_arena(t);
    int64_t row = p[1].u.i;
    size_t cols = 1;
    em_val *rec, vec;
    double *x;
    char *s, *end;

    if ((row % 5 == 0) != env->u.b) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    for (uint32_t i = 0; i < p[0].len; i++)
        cols += p[0].u.s[i] == ',';
    if (cols < 2)
        return em_task_fail(t, "row %lld: fewer than two columns",
                            (long long)row);
    if ((s = em_arena_alloc(a, p[0].len + 1)) == NULL ||
        (x = em_vec_make(a, cols - 1, &vec)) == NULL ||
        (rec = em_array_make(a, 1, out)) == NULL)
        return EM_ENOMEM;
    memcpy(s, p[0].u.s, p[0].len);
    s[p[0].len] = 0;
    for (size_t j = 0; j + 1 < cols; j++, s = end + 1) {
        x[j] = strtod(s, &end);
        if (end == s || *end != ',')
            return em_task_fail(t, "row %lld: column %zu is not a number",
                                (long long)row, j + 1);
    }
    return em_pair_make(a, em_int(row), vec, &rec[0]);
}

static int desc_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return (a < b) - (a > b);
}

/* The cosine of the k-th most similar row of base to q (brute force). */
static double kth_cosine(em_val base, em_val q, int k, double *scratch)
{
    for (uint32_t i = 0; i < base.len; i++)
        if (em_ml_cosine(base.u.arr[i].u.arr[1], q, &scratch[i]) != EM_OK)
            scratch[i] = -2;
    qsort(scratch, base.len, sizeof(double), desc_double);
    return scratch[k - 1];
}

/* Queries the index with every query; prints the recall (and with
 * print_nn the neighbours). */
static em_status run_bits(em_rdd *base_rdd, em_val base, em_val queries,
                          int bits, int k, int chunk_bits, bool print_nn,
                          em_arena *a)
{
    em_rplsh *lsh = em_rplsh_create(base.u.arr[0].u.arr[1].len, bits, 1);
    em_lsh_index *idx = lsh ? em_rplsh_index_create(lsh, base_rdd,
                                                    chunk_bits)
                            : NULL;
    double *scratch = malloc((base.len + 1) * sizeof(double));
    int64_t hits = 0, total = 0;
    em_status st = EM_OK;

    if (idx == NULL || scratch == NULL) {
        st = EM_ENOMEM; /* or what the create function reported */
        if (scratch == NULL)
            fprintf(stderr, "lsh_neighbors: out of memory\n");
        goto out;
    }
    for (uint32_t q = 0; q < queries.len && st == EM_OK; q++) {
        const em_val *rec = queries.u.arr[q].u.arr;
        double kth = kth_cosine(base, rec[1], k, scratch);
        em_val nn;
        if ((st = em_lsh_index_nearest(idx, rec[1], k, a, &nn)) != EM_OK)
            break;
        if (print_nn)
            printf("nn\t%d\t%lld\t", bits, (long long)rec[0].u.i);
        for (uint32_t j = 0; j < nn.len; j++) {
            const em_val *r = nn.u.arr[j].u.arr;
            hits += r[1].u.f >= kth - 1e-12;
            if (print_nn)
                printf("%s%lld", j ? "," : "", (long long)r[0].u.i);
        }
        if (print_nn)
            printf("\n");
        total += k;
    }
    if (st == EM_OK)
        printf("%d\t%.4f\n", bits, total ? (double)hits / (double)total : 0);
out:
    free(scratch);
    em_lsh_index_destroy(idx);
    em_rplsh_destroy(lsh);
    return st;
}

static int usage(void)
{
    fprintf(stderr, "usage: lsh_neighbors [--master URL] [--bits B,B,...] "
                    "[--k K] [--chunk-bits C] [--print] PATH\n");
    return 2;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    const char *bits_list = "16,32,64,128,256";
    int i, k = 10, chunk_bits = 0, rc = 1, bits[16], nbits = 0;
    bool print_nn = false;
    em_rdd *rows, *base_rdd;
    em_val base, queries;
    em_arena *a;
    em_ctx *ctx;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            conf.master = argv[++i];
        else if (strcmp(argv[i], "--bits") == 0 && i + 1 < argc)
            bits_list = argv[++i];
        else if (strcmp(argv[i], "--k") == 0 && i + 1 < argc)
            k = atoi(argv[++i]);
        else if (strcmp(argv[i], "--chunk-bits") == 0 && i + 1 < argc)
            chunk_bits = atoi(argv[++i]);
        else if (strcmp(argv[i], "--print") == 0)
            print_nn = true;
        else
            return usage();
    }
    for (char *b = (char *)bits_list, *end;; b = end + 1) {
        bits[nbits++] = (int)strtol(b, &end, 10);
        if (end == b || (*end != ',' && *end != 0) || nbits == 16)
            return usage();
        if (*end == 0)
            break;
    }
    if (argc - i != 1 || k < 1)
        return usage();
    if ((ctx = em_ctx_create(&conf)) == NULL || (a = em_arena_create()) ==
                                                    NULL) {
        fprintf(stderr, "lsh_neighbors: %s\n", em_last_error());
        return 1;
    }
    rows = em_rdd_zip_with_index(em_ctx_text_file(ctx, argv[i], 0));
    base_rdd = em_rdd_flat_map(rows, em_fn_of(parse_row, em_bool(false)));
    if (em_rdd_cache(base_rdd) != EM_OK ||
        em_rdd_collect(base_rdd, a, &base) != EM_OK ||
        em_rdd_collect(em_rdd_flat_map(rows, em_fn_of(parse_row,
                                                      em_bool(true))),
                       a, &queries) != EM_OK)
        goto fail;
    if (base.len < (uint32_t)k) {
        fprintf(stderr, "lsh_neighbors: %u rows indexed, fewer than k\n",
                base.len);
        goto out;
    }
    printf("# %u rows indexed, %u queries, recall at %d\n", base.len,
           queries.len, k);
    printf("bits\trecall\n");
    for (int j = 0; j < nbits; j++)
        if (run_bits(base_rdd, base, queries, bits[j], k, chunk_bits,
                     print_nn, a) != EM_OK)
            goto fail;
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "lsh_neighbors: %s\n", em_last_error());
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
