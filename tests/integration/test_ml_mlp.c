/* The multilayer perceptron against logistic regression on real data:
 * scikit-learn's digits (1,797 8 x 8 images, 10 classes), fetched by
 * scripts/fetch-data.sh, pixels scaled to [0, 1], every fifth image held
 * out. Logistic regression is one-vs-rest (ten binary models, the class of
 * the largest margin), trained on the same split. It must be a fair
 * opponent (held-out accuracy above 0.9) and the MLP must beat it, and
 * also scikit-learn's multinomial LogisticRegression on this split:
 * 0.9639 (0.9528 one-vs-rest), from
 *
 *   X = np.loadtxt(digits.csv, delimiter=",")[:, :64] / 16; y = the 65th
 *   column; test = arange(1797) % 5 == 0;
 *   LogisticRegression(max_iter=2000).fit(X[~test], y[~test])
 *
 * Skips, saying why, when the data cannot be fetched.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

#define CLASSES 10
#define PIXELS 64
#define SKLEARN_LOGREG 0.9639 /* held-out accuracy, see above */

typedef struct split {
    em_val *train, *test;
    uint32_t ntrain, ntest;
} split;

/* The digits with pixels / 16, every fifth (by position) in test. */
static void load_digits(em_ctx *ctx, const char *csv, em_arena *a,
                        split *s)
{
    em_ml_load_opts lo = {.label_col = -1};
    em_val raw;

    EM_CHECK(em_rdd_collect(em_ml_load_csv(em_ctx_text_file(ctx, csv, 2),
                                           &lo),
                            a, &raw));
    assert_int_equal(raw.len, 1797);
    s->train = em_arena_alloc(a, raw.len * sizeof(em_val));
    s->test = em_arena_alloc(a, raw.len * sizeof(em_val));
    s->ntrain = s->ntest = 0;
    for (uint32_t i = 0; i < raw.len; i++) {
        em_val p = raw.u.arr[i];
        double *x = (double *)p.u.arr[1].u.vec;

        assert_int_equal(p.u.arr[1].len, PIXELS);
        for (int j = 0; j < PIXELS; j++)
            x[j] /= 16;
        if (i % 5 == 0)
            s->test[s->ntest++] = p;
        else
            s->train[s->ntrain++] = p;
    }
}

/* The training points relabelled 1 for class c, else 0. */
static em_val *one_vs_rest(const split *s, int c, em_arena *a)
{
    em_val *pts = em_arena_alloc(a, s->ntrain * sizeof(em_val));

    for (uint32_t i = 0; i < s->ntrain; i++) {
        em_val p = s->train[i];
        EM_CHECK(em_ml_labeled_point(a, p.u.arr[0].u.f == c ? 1 : 0,
                                     p.u.arr[1], &pts[i]));
    }
    return pts;
}

/* Held-out accuracy of one-vs-rest logistic regression. */
static double logreg_accuracy(em_ctx *ctx, const split *s, em_arena *a)
{
    em_linear_opts o = {.iterations = 100, .step = 0.1,
                        .reg_param = 1e-4, .reg_type = EM_REG_L2,
                        .intercept = true, .optimizer = EM_OPTIM_ADAM,
                        .schedule = EM_SCHEDULE_CONSTANT,
                        .convergence_tol = 1e-7};
    em_val models[CLASSES];
    int right = 0;

    for (int c = 0; c < CLASSES; c++) {
        em_rdd *rdd = em_ctx_parallelize(ctx, one_vs_rest(s, c, a),
                                         s->ntrain, 4);
        EM_CHECK(em_rdd_cache(rdd));
        EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &models[c]));
    }
    for (uint32_t i = 0; i < s->ntest; i++) {
        double best = -INFINITY, m;
        int arg = -1;
        for (int c = 0; c < CLASSES; c++) {
            EM_CHECK(em_linear_margin(models[c], s->test[i].u.arr[1], &m));
            if (m > best) {
                best = m;
                arg = c;
            }
        }
        right += arg == s->test[i].u.arr[0].u.f;
    }
    return (double)right / s->ntest;
}

static double mlp_accuracy(em_ctx *ctx, const split *s, em_arena *a)
{
    static const int layers[] = {PIXELS, 32, CLASSES};
    em_mlp_opts o = {.layers = layers, .num_layers = 3,
                     .activation = EM_MLP_TANH,
                     .optim = {.kind = EM_OPTIM_ADAM, .step = 0.02,
                               .schedule = EM_SCHEDULE_CONSTANT},
                     .epochs = 15, .batch_size = 64, .seed = 1};
    em_rdd *rdd = em_ctx_parallelize(ctx, s->train, s->ntrain, 4);
    em_val model;
    int right = 0;
    double y;

    EM_CHECK(em_rdd_cache(rdd));
    EM_CHECK(em_mlp_train(rdd, &o, a, &model));
    for (uint32_t i = 0; i < s->ntest; i++) {
        EM_CHECK(em_mlp_predict(model, s->test[i].u.arr[1], &y));
        right += y == s->test[i].u.arr[0].u.f;
    }
    return (double)right / s->ntest;
}

static void test_ml_mlp_beats_logreg_on_digits(void **state)
{
    char csv[1024];
    em_ctx *ctx;
    em_arena *a;
    split s;
    double lr, mlp;

    if (!em_test_fetch("digits", csv, sizeof(csv)))
        skip();
    ctx = em_test_ctx("local[2]");
    a = em_arena_create();
    load_digits(ctx, csv, a, &s);
    lr = logreg_accuracy(ctx, &s, a);
    mlp = mlp_accuracy(ctx, &s, a);
    print_message("held-out accuracy on %u digits: logistic regression "
                  "(one-vs-rest) %.4f, MLP [64, 32, 10] %.4f\n", s.ntest, lr,
                  mlp);
    assert_true(lr > 0.9);
    assert_true(mlp > lr);
    assert_true(mlp > SKLEARN_LOGREG);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_ml_mlp_beats_logreg_on_digits),
    };
    return cmocka_run_group_tests_name("ml_mlp", tests, NULL, NULL);
}
