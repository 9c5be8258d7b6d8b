/* Linear models on real data: scikit-learn's breast cancer set (569 x
 * 30, standardized), fetched by scripts/fetch-data.sh. The batch logistic
 * model with the objective of scikit-learn's LogisticRegression (L2, C =
 * 1: regParam 1 / n, intercept free) must reach its training accuracy
 * within 1 point (tests/integration/ref_logreg.py computes it); every mode
 * with every optimizer must converge (the loss falls; the final loss is
 * printed), hogwild included. The averaged perceptron on one shard equals
 * a naive sequential one written here, and in every mode its training
 * accuracy is within 2 points of scikit-learn's Perceptron
 * (ref_perceptron.py). Skips, saying why, when the data or scikit-learn
 * cannot be had.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

/* The first line of `cmd`'s output in buf; false when it fails. */
static bool run_line(const char *cmd, char *buf, size_t cap)
{
    FILE *p = popen(cmd, "r");
    char rest[256];
    bool ok;

    if (p == NULL)
        return false;
    ok = fgets(buf, (int)cap, p) != NULL;
    while (fgets(rest, sizeof(rest), p) != NULL)
        continue;
    if (pclose(p) != 0)
        ok = false;
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

/* The repository root, from the tests' data folder. */
static void repo_root(char *buf, size_t cap)
{
    const char *d = getenv("EMBER_TEST_DATA");

    snprintf(buf, cap, "%s/../..", d != NULL ? d : "tests/data");
}

/* The points standardized (population standard deviation), in a. */
static em_val *standardize(em_val pts, em_arena *a)
{
    uint32_t n = pts.len, d = pts.u.arr[0].u.arr[1].len;
    em_val *out = em_arena_alloc(a, n * sizeof(em_val));

    for (uint32_t j = 0; j < d; j++) {
        double mean = 0, var = 0;
        for (uint32_t i = 0; i < n; i++)
            mean += pts.u.arr[i].u.arr[1].u.vec[j];
        mean /= n;
        for (uint32_t i = 0; i < n; i++) {
            double x = pts.u.arr[i].u.arr[1].u.vec[j] - mean;
            var += x * x;
        }
        var = sqrt(var / n);
        for (uint32_t i = 0; i < n; i++)
            ((double *)pts.u.arr[i].u.arr[1].u.vec)[j] =
                (pts.u.arr[i].u.arr[1].u.vec[j] - mean) / var;
    }
    for (uint32_t i = 0; i < n; i++)
        out[i] = pts.u.arr[i];
    return out;
}

static double accuracy(em_val model, const em_val *pts, uint32_t n)
{
    int right = 0;

    for (uint32_t i = 0; i < n; i++) {
        double p;
        EM_CHECK(em_linear_predict(model, pts[i].u.arr[1], &p));
        right += p == pts[i].u.arr[0].u.f;
    }
    return (double)right / n;
}

static em_val hist_of(em_val model)
{
    for (uint32_t i = 0; i < model.len; i++)
        if (model.u.map[2 * i].len == 4 &&
            memcmp(model.u.map[2 * i].u.s, "loss", 4) == 0)
            return model.u.map[2 * i + 1];
    return em_nil();
}

/* The breast cancer CSV's path in csv and the training accuracy that
 * tests/integration/`ref` prints for it in *want; skips the test, saying
 * why, when either cannot be had. */
static void fetch_reference(const char *ref, char *csv, size_t cap,
                            double *want)
{
    char root[512], cmd[2400], line[256];

    if (!em_test_fetch("breast-cancer", csv, cap))
        skip();
    repo_root(root, sizeof(root));
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c 'import sklearn' "
             "2>/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get "
             "install -y -q --no-install-recommends python3-sklearn || "
             "sudo -n apt-get install -y -q --no-install-recommends "
             "python3-sklearn; } >/dev/null 2>&1; /usr/bin/python3 "
             "'%s/tests/integration/%s' '%s'", root, ref, csv);
    if (!run_line(cmd, line, sizeof(line)) ||
        sscanf(line, "accuracy\t%lf", want) != 1) {
        print_message("SKIP: scikit-learn (python3-sklearn) is not "
                      "available and cannot be installed\n");
        skip();
    }
}

/* The set's points standardized, in a (*n of them). */
static em_val *load_points(em_ctx *ctx, const char *csv, em_arena *a,
                           uint32_t *n)
{
    em_ml_load_opts lo = {.label_col = -1, .skip_header = 1};
    em_rdd *rdd = em_ml_load_csv(em_ctx_text_file(ctx, csv, 2), &lo);
    em_val raw;

    EM_CHECK(em_rdd_collect(rdd, a, &raw));
    assert_int_equal(raw.len, 569);
    *n = raw.len;
    return standardize(raw, a);
}

static void test_ml_logreg_breast_cancer(void **state)
{
    char csv[1024];
    double want = -1, got;
    em_ctx *ctx;
    em_arena *a;
    em_val model, *pts;
    uint32_t n;
    em_rdd *rdd;

    fetch_reference("ref_logreg.py", csv, sizeof(csv), &want);
    ctx = em_test_ctx("local[2]");
    a = em_arena_create();
    pts = load_points(ctx, csv, a, &n);
    rdd = em_ctx_parallelize(ctx, pts, n, 4);
    EM_CHECK(em_rdd_cache(rdd));
    {
        em_linear_opts o = {.iterations = 500, .step = 0.1,
                            .reg_param = 1.0 / n,
                            .reg_type = EM_REG_L2, .intercept = true,
                            .optimizer = EM_OPTIM_ADAM,
                            .schedule = EM_SCHEDULE_CONSTANT,
                            .convergence_tol = 1e-7};
        EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &model));
        got = accuracy(model, pts, n);
        print_message("batch adam: accuracy %.4f, scikit-learn's %.4f\n",
                      got, want);
        assert_true(fabs(got - want) <= 0.01);
    }
    for (int mode = 0; mode <= EM_LINEAR_HOGWILD; mode++)
        for (int k = 0; k <= EM_OPTIM_ADAM; k++) {
            em_linear_opts o = {.iterations = mode == 0 ? 100 : 10,
                                .step = mode == 0 ? 1.0 : 0.1,
                                .intercept = true, .convergence_tol = -1,
                                .optimizer = (em_optim_kind)k,
                                .mode = (em_linear_mode)mode, .seed = 1};
            em_val h;
            EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &model));
            h = hist_of(model);
            got = accuracy(model, pts, n);
            print_message("mode %d %-8s loss %.4f -> %.4f, accuracy %.4f\n",
                          mode, em_optim_kind_name((em_optim_kind)k),
                          h.u.vec[0], h.u.vec[h.len - 1], got);
            assert_true(h.u.vec[h.len - 1] < h.u.vec[0]);
            assert_true(got > want - 0.03);
        }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* The naive sequential averaged perceptron (step 1, intercept last in
 * avg): the mean of the weights after every point of `epochs` passes. */
static void naive_perceptron(const em_val *pts, uint32_t n, int epochs,
                             double *avg)
{
    enum { D = 30 };
    double w[D + 1] = {0};

    memset(avg, 0, (D + 1) * sizeof(double));
    for (int e = 0; e < epochs; e++)
        for (uint32_t i = 0; i < n; i++) {
            const double *x = pts[i].u.arr[1].u.vec;
            double s = 2 * pts[i].u.arr[0].u.f - 1, m = w[D];
            for (int j = 0; j < D; j++)
                m += w[j] * x[j];
            for (int j = 0; j < D && s * m <= 0; j++)
                w[j] += s * x[j];
            w[D] += s * m <= 0 ? s : 0;
            for (int j = 0; j <= D; j++)
                avg[j] += w[j] / ((double)n * epochs);
        }
}

static void test_ml_logreg_perceptron(void **state)
{
    char csv[1024];
    double want = -1, got, avg[31], b;
    em_ctx *ctx;
    em_arena *a;
    em_val model, w, *pts;
    uint32_t n;

    fetch_reference("ref_perceptron.py", csv, sizeof(csv), &want);
    ctx = em_test_ctx("local[2]");
    a = em_arena_create();
    pts = load_points(ctx, csv, a, &n);
    naive_perceptron(pts, n, 10, avg);
    for (int mode = 0; mode <= EM_LINEAR_HOGWILD; mode++)
        for (int parts = 1; parts <= 4; parts += 3) {
            em_linear_opts o = {.iterations = mode == 0 ? 100 : 10,
                                .step = 1, .intercept = true,
                                .schedule = EM_SCHEDULE_CONSTANT,
                                .averaged = true, .convergence_tol = -1,
                                .mode = (em_linear_mode)mode};
            EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, n, parts),
                                     EM_LOSS_PERCEPTRON, &o, a, &model));
            got = accuracy(model, pts, n);
            print_message("perceptron mode %d, %d shards: accuracy %.4f, "
                          "scikit-learn's %.4f\n", mode, parts, got, want);
            assert_true(fabs(got - want) <= 0.02);
            if (mode == EM_LINEAR_BATCH || parts > 1)
                continue;
            /* hogwild too: a single task runs alone */
            EM_CHECK(em_linear_model_parts(model, NULL, &w, &b));
            for (int j = 0; j < 30; j++)
                assert_true(fabs(w.u.vec[j] - avg[j]) <=
                            1e-9 * fmax(1, fabs(avg[j])));
            assert_true(fabs(b - avg[30]) <= 1e-9 * fmax(1, fabs(avg[30])));
        }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_ml_logreg_breast_cancer),
        EM_TEST(test_ml_logreg_perceptron),
    };
    return cmocka_run_group_tests_name("ml_logreg", tests, NULL, NULL);
}
