/* Tests of the MLP's ps mode (ops/ml/mlp_ps.c). On one task it is
 * sequential mini-batch SGD with a per-key optimizer (a key: a feature's
 * row of the first matrix, or a block of the first hidden layer's width of
 * the rest), so its weights and losses equal a naive one written here on
 * the whole network within 1e-9. On several tasks at once it fits XOR-like
 * blobs above the 3/4 any linear classifier is bounded by; on hashed-text
 * points of dimension 2^16 it separates two topics, and the rows of
 * features no point has keep their initial weights. Bad options and
 * points fail with their reasons.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"
#include "ember/ml_ad.h"
#include "ember/ml_linear.h"

#define D 40    /* features of the sequential case */
#define NNZ 4   /* non-zeros per point */
#define NSEQ 120
#define NXOR 400

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* A field of a model map. */
static em_val get(em_val m, const char *k)
{
    for (uint32_t i = 0; i < m.len; i++)
        if (strcmp(m.u.map[2 * i].u.s, k) == 0)
            return m.u.map[2 * i + 1];
    return em_nil();
}

/* nnz distinct sorted indices below dim into idx. */
static void draw_indices(em_test_rng *r, uint32_t dim, uint32_t *idx, int nnz)
{
    for (int n = 0; n < nnz;) {
        uint32_t j = (uint32_t)em_test_below(r, dim);
        int k = n;
        for (int q = 0; q < n; q++)
            k = idx[q] == j ? -1 : k;
        if (k < 0)
            continue;
        for (; k > 0 && idx[k - 1] > j; k--)
            idx[k] = idx[k - 1];
        idx[k] = j;
        n++;
    }
}

/* Sparse points of D features, classes 0..2 by the sign of two sums. */
static em_val *seq_points(em_arena *a)
{
    em_test_rng r = {5};
    em_val *pts = em_arena_alloc(a, NSEQ * sizeof(em_val));

    for (int i = 0; i < NSEQ; i++) {
        uint32_t idx[NNZ];
        double val[NNZ], s = 0, t = 0;
        em_val f;
        draw_indices(&r, D, idx, NNZ);
        for (int k = 0; k < NNZ; k++) {
            val[k] = uniform(&r);
            s += idx[k] % 2 ? val[k] : -val[k];
            t += idx[k] % 3 ? val[k] : 0;
        }
        EM_CHECK(em_spvec_make(a, D, idx, val, NNZ, &f));
        EM_CHECK(em_ml_labeled_point(a, s > 0 ? 0 : t > 0 ? 1 : 2, f,
                                     &pts[i]));
    }
    return pts;
}

/* The network's mean loss on the dense batch x (n x layers[0]) at w, its
 * gradient into g: the forward pass of the model, on a tape. */
static double full_grad(const int *layers, size_t nl, const double *w,
                        const double *x, const int64_t *y, size_t n,
                        double *g)
{
    em_ad *t = em_ad_create();
    em_ad_node h = em_ad_const(t, n, (size_t)layers[0], x);
    size_t wo = 0, bo = em_mlp_num_weights(layers, nl);
    double loss;

    for (size_t l = 0; l + 1 < nl; l++)
        bo -= (size_t)layers[l + 1];
    for (size_t l = 0; l + 1 < nl; l++) {
        size_t in = (size_t)layers[l], out = (size_t)layers[l + 1];
        em_ad_node wl = em_ad_param(t, in, out, w + wo, g + wo);
        em_ad_node bl = em_ad_param(t, 1, out, w + bo, g + bo);
        h = em_ad_add_rows(t, em_ad_matmul(t, h, wl), bl);
        if (l + 2 < nl)
            h = em_ad_tanh(t, h);
        wo += in * out;
        bo += out;
    }
    h = em_ad_softmax_xent(t, h, y, n);
    EM_CHECK(em_ad_backward(t, h));
    loss = em_ad_value(t, h)[0];
    em_ad_destroy(t);
    return loss;
}

/* Naive sequential ps mode on the whole network: batches of b points in
 * order; each batch's mean gradient at the weights before it, L2 on the
 * matrices; every key the batch touches (the rows of its non-zero
 * features, every block of h weights after the first matrix) takes one
 * step of its own optimizer: sgd with step / sqrt(its steps) or adagrad
 * with a constant step. w in place; each epoch's mean loss into hist. */
static void naive_ps(const em_val *pts, const int *layers, size_t nl,
                     int epochs, size_t b, bool adagrad, double step,
                     double l2, double *w, double *hist)
{
    size_t h = (size_t)layers[1], dim = em_mlp_num_weights(layers, nl);
    size_t reg = dim, nkeys = D + (dim - D * h + h - 1) / h;
    double *g = calloc(dim, sizeof(double)), *s = calloc(dim, sizeof(double));
    double *x = calloc(b * D, sizeof(double));
    int *steps = calloc(nkeys, sizeof(int));
    bool *touched = calloc(nkeys, sizeof(bool));
    int64_t y[NSEQ];

    for (size_t l = 1; l < nl; l++)
        reg -= (size_t)layers[l];
    for (int ep = 0; ep < epochs; ep++) {
        hist[ep] = 0;
        for (size_t at = 0; at < NSEQ; at += b) {
            size_t n = NSEQ - at < b ? NSEQ - at : b;
            memset(x, 0, b * D * sizeof(double));
            memset(touched, 0, nkeys * sizeof(bool));
            for (size_t k = D; k < nkeys; k++)
                touched[k] = true;
            for (size_t p = 0; p < n; p++) {
                em_val f = pts[at + p].u.arr[1];
                y[p] = (int64_t)pts[at + p].u.arr[0].u.f;
                for (uint32_t j = 0; j < f.len; j++) {
                    x[p * D + f.u.sp->idx[j]] = f.u.sp->val[j];
                    touched[f.u.sp->idx[j]] = true;
                }
            }
            hist[ep] += full_grad(layers, nl, w, x, y, n, g) * (double)n;
            for (size_t i = 0; i < reg; i++)
                g[i] += l2 * w[i];
            for (size_t k = 0; k < nkeys; k++)
                steps[k] += touched[k];
            for (size_t i = 0; i < dim; i++) {
                size_t k = i < D * h ? i / h : D + (i - D * h) / h;
                double eta = adagrad ? step : step / sqrt(steps[k]);
                if (!touched[k])
                    continue;
                s[i] += g[i] * g[i];
                w[i] -= adagrad ? eta * g[i] / (sqrt(s[i]) + 1e-8)
                                : eta * g[i];
            }
        }
        hist[ep] /= NSEQ;
    }
    free(g);
    free(s);
    free(x);
    free(steps);
    free(touched);
}

static void test_mlp_ps_one_task_is_sequential(void **state)
{
    static const int layers[4] = {D, 5, 4, 3};
    em_ctx *ctx = em_test_ctx("local[1]");
    em_arena *a = em_arena_create();
    em_val *pts = seq_points(a), model, w, loss;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NSEQ, 1);
    size_t dim = em_mlp_num_weights(layers, 4);
    double w0[D * 5 + 5 * 4 + 4 * 3 + 5 + 4 + 3], want[sizeof(w0) / 8];
    double hist[3];
    em_test_rng r = {17};

    assert_int_equal(dim, sizeof(w0) / sizeof(double));
    for (size_t i = 0; i < dim; i++)
        w0[i] = 0.5 * uniform(&r);
    for (int c = 0; c < 2; c++) {
        em_mlp_opts o = {.layers = layers, .num_layers = 4, .epochs = 3,
                         .batch_size = 7, .initial_weights = w0,
                         .mode = EM_MLP_PS,
                         .optim = {.kind = c ? EM_OPTIM_ADAGRAD
                                             : EM_OPTIM_SGD,
                                   .step = c ? 0.1 : 0.5,
                                   .schedule = c ? EM_SCHEDULE_CONSTANT
                                                 : EM_SCHEDULE_INV_SQRT,
                                   .reg = c ? EM_REG_NONE : EM_REG_L2,
                                   .reg_param = c ? 0 : 0.01}};
        EM_CHECK(em_mlp_train(rdd, &o, a, &model));
        memcpy(want, w0, sizeof(w0));
        naive_ps(pts, layers, 4, 3, 7, c == 1, c ? 0.1 : 0.5, c ? 0 : 0.01,
                 want, hist);
        w = get(model, "weights");
        loss = get(model, "loss");
        assert_int_equal(w.len, dim);
        assert_int_equal(loss.len, 3);
        for (size_t i = 0; i < dim; i++)
            if (fabs(w.u.vec[i] - want[i]) > 1e-9)
                fail_msg("case %d weight %zu: ps %.17g, naive %.17g", c, i,
                         w.u.vec[i], want[i]);
        for (int ep = 0; ep < 3; ep++)
            assert_true(fabs(loss.u.vec[ep] - hist[ep]) <= 1e-9);
        /* the steps moved the weights: the comparison is not vacuous */
        assert_true(fabs(want[dim - 1] - w0[dim - 1]) > 1e-3);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Four blobs around (+-1, +-1), class 1 where the signs differ (XOR):
 * each blob stays in its quadrant, so a network can be exact, while a
 * line leaves one blob of four on its wrong side. */
static em_val *xor_points(em_arena *a, int *y)
{
    em_test_rng r = {99};
    em_val *pts = em_arena_alloc(a, NXOR * sizeof(em_val));

    for (int i = 0; i < NXOR; i++) {
        int sx = i % 2 ? 1 : -1, sy = (i / 2) % 2 ? 1 : -1;
        em_val f;
        double *v = em_vec_make(a, 2, &f);
        v[0] = sx + 0.35 * (uniform(&r) + uniform(&r));
        v[1] = sy + 0.35 * (uniform(&r) + uniform(&r));
        y[i] = sx != sy;
        EM_CHECK(em_ml_labeled_point(a, y[i], f, &pts[i]));
    }
    return pts;
}

static void test_mlp_ps_xor_on_several_tasks(void **state)
{
    static const char *masters[2] = {"local[2]", "local[4]"};
    static const int layers[3] = {2, 8, 2}, slots[2] = {2, 4};
    int y[NXOR];

    for (int m = 0; m < 2; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_arena *a = em_arena_create();
        em_val *pts = xor_points(a, y), model, loss;
        em_rdd *rdd = em_ctx_parallelize(ctx, pts, NXOR, slots[m]);
        /* reads of every change on local[2], staleness 4 on local[4] */
        em_mlp_opts o = {.layers = layers, .num_layers = 3, .epochs = 20,
                         .batch_size = 8, .seed = 3, .mode = EM_MLP_PS,
                         .staleness = m ? 4 : 0,
                         .optim = {.kind = EM_OPTIM_ADAGRAD, .step = 0.1,
                                   .schedule = EM_SCHEDULE_CONSTANT}};
        double acc = 0, p;

        EM_CHECK(em_mlp_train(rdd, &o, a, &model));
        for (int i = 0; i < NXOR; i++) {
            EM_CHECK(em_mlp_predict(model, pts[i].u.arr[1], &p));
            acc += (p == y[i]) / (double)NXOR;
        }
        loss = get(model, "loss");
        print_message("ps %s: accuracy %.4f, loss %.4f -> %.4f\n",
                      masters[m], acc, loss.u.vec[0], loss.u.vec[19]);
        assert_true(acc >= 0.95);
        assert_true(loss.u.vec[19] < 0.5 * loss.u.vec[0]);
        em_arena_destroy(a);
        em_ctx_destroy(ctx);
    }
}

#define HD ((uint32_t)1 << 16) /* hashed features */
#define HWORDS 40              /* words per topic */
#define HDOCS 600
#define HTEST 200

/* Documents of hashed words: three of their topic's, one of a shared
 * vocabulary, counts of 1; the class is the topic. Word w of topic c is
 * feature vocab[c][w]; vocab[2] is shared. */
static em_val *text_points(em_arena *a, em_test_rng *r,
                           uint32_t (*vocab)[HWORDS], int n, int *y)
{
    em_val *pts = em_arena_alloc(a, (size_t)n * sizeof(em_val));

    for (int i = 0; i < n; i++) {
        uint32_t idx[4];
        double val[4] = {1, 1, 1, 1};
        em_val f;
        int k = 0;
        y[i] = i % 2;
        while (k < 4) {
            uint32_t j = vocab[k < 3 ? y[i] : 2][em_test_below(r, HWORDS)];
            int q = 0;
            while (q < k && idx[q] != j)
                q++;
            if (q == k)
                idx[k++] = j;
        }
        for (int p = 1; p < 4; p++) /* sorted */
            for (int q = p; q > 0 && idx[q - 1] > idx[q]; q--) {
                uint32_t s = idx[q];
                idx[q] = idx[q - 1];
                idx[q - 1] = s;
            }
        EM_CHECK(em_spvec_make(a, HD, idx, val, 4, &f));
        EM_CHECK(em_ml_labeled_point(a, y[i], f, &pts[i]));
    }
    return pts;
}

static void test_mlp_ps_hashed_text(void **state)
{
    static const int layers[3] = {(int)HD, 8, 2};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_test_rng r = {23};
    uint32_t vocab[3][HWORDS];
    bool *seen = calloc(HD, sizeof(bool));
    int y[HDOCS], ty[HTEST];
    em_val *pts, *test, model, w;
    size_t dim = em_mlp_num_weights(layers, 3), moved = 0;
    double *w0 = malloc(dim * sizeof(double)), acc = 0, p;

    /* the words' hashes: distinct features */
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < HWORDS;) {
            uint32_t j = (uint32_t)em_test_below(&r, HD);
            if (!seen[j]) {
                seen[j] = true;
                vocab[c][k++] = j;
            }
        }
    pts = text_points(a, &r, vocab, HDOCS, y);
    test = text_points(a, &r, vocab, HTEST, ty);
    for (size_t i = 0; i < dim; i++)
        w0[i] = 0.1 * uniform(&r);
    {
        em_mlp_opts o = {.layers = layers, .num_layers = 3, .epochs = 4,
                         .batch_size = 16, .initial_weights = w0,
                         .mode = EM_MLP_PS,
                         .optim = {.kind = EM_OPTIM_ADAGRAD, .step = 0.1,
                                   .schedule = EM_SCHEDULE_CONSTANT}};
        EM_CHECK(em_mlp_train(em_ctx_parallelize(ctx, pts, HDOCS, 2), &o, a,
                              &model));
    }
    for (int i = 0; i < HTEST; i++) {
        EM_CHECK(em_mlp_predict(model, test[i].u.arr[1], &p));
        acc += (p == ty[i]) / (double)HTEST;
    }
    print_message("hashed text: held-out accuracy %.4f\n", acc);
    /* three of a document's four words name its topic */
    assert_true(acc >= 0.95);
    /* a feature's row moves only when a point has it */
    w = get(model, "weights");
    assert_int_equal(w.len, dim);
    for (uint32_t j = 0; j < HD; j++)
        for (size_t c = 0; c < 8; c++) {
            bool same = w.u.vec[j * 8 + c] == w0[j * 8 + c];
            if (!seen[j] && !same)
                fail_msg("feature %u of no point moved", j);
            moved += !same;
        }
    assert_true(moved > 0);
    free(w0);
    free(seen);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_mlp_ps_bad_options(void **state)
{
    static const int layers[3] = {2, 4, 2};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    int y[NXOR];
    em_val *pts = xor_points(a, y), model, f;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NXOR, 2);
    em_mlp_opts o = {.layers = layers, .num_layers = 3, .epochs = 1,
                     .mode = EM_MLP_PS,
                     .optim = {.reg = EM_REG_L1, .reg_param = 0.1}};

    assert_int_equal(em_mlp_train(rdd, &o, a, &model), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "L2"));
    o.optim.reg = EM_REG_NONE;
    o.mode = (em_mlp_mode)(EM_MLP_PS + 1);
    assert_int_equal(em_mlp_train(rdd, &o, a, &model), EM_EINVAL);
    /* a class out of range fails the job with the record */
    o.mode = EM_MLP_PS;
    f = em_vec((double[]){1, 1}, 2);
    EM_CHECK(em_ml_labeled_point(a, 2, f, &pts[NXOR - 1]));
    assert_int_not_equal(
        em_mlp_train(em_ctx_parallelize(ctx, pts, NXOR, 2), &o, a, &model),
        EM_OK);
    assert_non_null(strstr(em_last_error(), "class in 0..1"));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_mlp_ps_one_task_is_sequential),
        EM_TEST(test_mlp_ps_xor_on_several_tasks),
        EM_TEST(test_mlp_ps_hashed_text),
        EM_TEST(test_mlp_ps_bad_options),
    };
    return cmocka_run_group_tests_name("mlp_ps", tests, NULL, NULL);
}
