/* Tests of the autodiff tape (ops/ml/ad.c): the gradient of every
 * operation, and of a two-layer network's loss, against central finite
 * differences (within 1e-6 of max(1, |gradient|)) on random inputs from a
 * fixed seed; forward values against the formulas computed here; shape
 * and label errors reported on the tape, never a crash; out of memory.
 */
#include <math.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml_ad.h"

#define MAXP 5   /* parameters of a case */
#define MAXN 64  /* entries of a parameter */

/* A function of parameters p[0..] recorded on t; its root (a scalar). */
typedef em_ad_node (*build_fn)(em_ad *t, const em_ad_node *p);

typedef struct fd_case {
    const char *name;
    build_fn build;
    int np;
    size_t rows[MAXP], cols[MAXP];
    bool is_positive; /* inputs in [0.5, 2] (for log) */
} fd_case;

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* A constant of the given shape with entries from a fixed seed: the
 * weights that reduce a matrix output to a scalar. */
static em_ad_node weights(em_ad *t, size_t rows, size_t cols)
{
    em_test_rng r = {rows * 31 + cols};
    double v[MAXN];

    for (size_t i = 0; i < rows * cols; i++)
        v[i] = uniform(&r) + 0.5;
    return em_ad_const(t, rows, cols, v);
}

/* dot(a, W): a scalar depending on every entry of a. */
static em_ad_node reduce(em_ad *t, em_ad_node a)
{
    size_t r, c;

    em_ad_shape(t, a, &r, &c);
    return em_ad_dot(t, a, weights(t, r, c));
}

static em_ad_node f_add(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_add(t, p[0], p[1]));
}

static em_ad_node f_sub(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_sub(t, p[0], p[1]));
}

static em_ad_node f_mul(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_mul(t, p[0], p[1]));
}

static em_ad_node f_square(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_mul(t, p[0], p[0]));
}

static em_ad_node f_add_rows(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_add_rows(t, p[0], p[1]));
}

static em_ad_node f_scale(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_scale(t, p[0], -2.5));
}

static em_ad_node f_matmul(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_matmul(t, p[0], p[1]));
}

static em_ad_node f_matvec(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_matvec(t, p[0], p[1]));
}

static em_ad_node f_dot(em_ad *t, const em_ad_node *p)
{
    return em_ad_dot(t, p[0], p[1]);
}

static em_ad_node f_sum(em_ad *t, const em_ad_node *p)
{
    /* squared so that the gradient depends on the input */
    em_ad_node s = em_ad_sum(t, p[0]);
    return em_ad_mul(t, s, s);
}

static em_ad_node f_mean(em_ad *t, const em_ad_node *p)
{
    em_ad_node s = em_ad_mean(t, p[0]);
    return em_ad_mul(t, s, s);
}

static em_ad_node f_exp(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_exp(t, p[0]));
}

static em_ad_node f_log(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_log(t, p[0]));
}

static em_ad_node f_tanh(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_tanh(t, p[0]));
}

static em_ad_node f_sigmoid(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_sigmoid(t, p[0]));
}

static em_ad_node f_relu(em_ad *t, const em_ad_node *p)
{
    return reduce(t, em_ad_relu(t, p[0]));
}

static const int64_t labels[6] = {2, 0, 1, 2, 1, 0};

static em_ad_node f_xent(em_ad *t, const em_ad_node *p)
{
    return em_ad_softmax_xent(t, p[0], labels, 4);
}

static em_ad_node f_xent_vec(em_ad *t, const em_ad_node *p)
{
    return em_ad_softmax_xent(t, p[0], &labels[3], 1);
}

/* The loss of a two-layer network on a constant batch X (6 x 4):
 * xent(tanh(X W1 + b1) W2 + b2) + 0.01 |W1|^2. */
static em_ad_node two_layer(em_ad *t, const em_ad_node *p, bool is_relu)
{
    em_test_rng r = {77};
    double x[6 * 4];
    em_ad_node h, o;

    for (int i = 0; i < 6 * 4; i++)
        x[i] = 2 * uniform(&r);
    h = em_ad_add_rows(t, em_ad_matmul(t, em_ad_const(t, 6, 4, x), p[0]),
                       p[1]);
    h = is_relu ? em_ad_relu(t, h) : em_ad_tanh(t, h);
    o = em_ad_add_rows(t, em_ad_matmul(t, h, p[2]), p[3]);
    return em_ad_add(t, em_ad_softmax_xent(t, o, labels, 6),
                     em_ad_scale(t, em_ad_dot(t, p[0], p[0]), 0.01));
}

static em_ad_node f_net_tanh(em_ad *t, const em_ad_node *p)
{
    return two_layer(t, p, false);
}

static em_ad_node f_net_relu(em_ad *t, const em_ad_node *p)
{
    return two_layer(t, p, true);
}

static const fd_case cases[] = {
    {"add", f_add, 2, {3, 3}, {4, 4}, false},
    {"sub", f_sub, 2, {3, 3}, {4, 4}, false},
    {"mul", f_mul, 2, {3, 3}, {4, 4}, false},
    {"mul of a node by itself", f_square, 1, {2}, {5}, false},
    {"add_rows (row)", f_add_rows, 2, {5, 1}, {3, 3}, false},
    {"add_rows (vector)", f_add_rows, 2, {5, 3}, {3, 1}, false},
    {"scale", f_scale, 1, {3}, {2}, false},
    {"matmul", f_matmul, 2, {3, 4}, {4, 2}, false},
    {"matvec", f_matvec, 2, {3, 4}, {4, 1}, false},
    {"dot", f_dot, 2, {6, 6}, {1, 1}, false},
    {"sum", f_sum, 1, {3}, {3}, false},
    {"mean", f_mean, 1, {2}, {4}, false},
    {"exp", f_exp, 1, {3}, {3}, false},
    {"log", f_log, 1, {3}, {3}, true},
    {"tanh", f_tanh, 1, {3}, {3}, false},
    {"sigmoid", f_sigmoid, 1, {3}, {3}, false},
    {"relu", f_relu, 1, {4}, {4}, false},
    {"softmax_xent", f_xent, 1, {4}, {3}, false},
    {"softmax_xent (vector)", f_xent_vec, 1, {5}, {1}, false},
    {"two-layer tanh net", f_net_tanh, 4, {4, 1, 5, 3}, {5, 5, 3, 1},
     false},
    {"two-layer relu net", f_net_relu, 4, {4, 1, 5, 3}, {5, 5, 3, 1},
     false},
};

/* The root's value at parameters v, on a fresh tape. */
static double eval(const fd_case *c, double (*v)[MAXN])
{
    em_ad *t = em_ad_create();
    em_ad_node p[MAXP], root;
    double y;

    assert_non_null(t);
    for (int k = 0; k < c->np; k++)
        p[k] = em_ad_param(t, c->rows[k], c->cols[k], v[k], NULL);
    root = c->build(t, p);
    EM_CHECK(em_ad_status(t));
    y = em_ad_value(t, root)[0];
    em_ad_destroy(t);
    return y;
}

/* Random parameters away from relu's kink (|x| >= 0.1). */
static void draw(const fd_case *c, em_test_rng *r, double (*v)[MAXN])
{
    for (int k = 0; k < c->np; k++)
        for (size_t i = 0; i < c->rows[k] * c->cols[k]; i++) {
            double x = 2 * uniform(r);
            if (c->is_positive)
                x = 1.25 + 0.375 * x;
            else if (fabs(x) < 0.1)
                x += x < 0 ? -0.1 : 0.1;
            v[k][i] = x;
        }
}

static void check_case(const fd_case *c, em_test_rng *r)
{
    double v[MAXP][MAXN], g[MAXP][MAXN];
    em_ad *t = em_ad_create();
    em_ad_node p[MAXP], root;
    const double h = 1e-5;

    draw(c, r, v);
    for (int k = 0; k < c->np; k++)
        p[k] = em_ad_param(t, c->rows[k], c->cols[k], v[k], g[k]);
    root = c->build(t, p);
    EM_CHECK(em_ad_status(t));
    EM_CHECK(em_ad_backward(t, root));
    for (int k = 0; k < c->np; k++) {
        /* the grad buffer and em_ad_grad agree */
        assert_memory_equal(em_ad_grad(t, p[k]), g[k],
                            c->rows[k] * c->cols[k] * sizeof(double));
        for (size_t i = 0; i < c->rows[k] * c->cols[k]; i++) {
            double x = v[k][i], fp, fm, fd;
            v[k][i] = x + h;
            fp = eval(c, v);
            v[k][i] = x - h;
            fm = eval(c, v);
            v[k][i] = x;
            fd = (fp - fm) / (2 * h);
            if (!(fabs(fd - g[k][i]) <= 1e-6 * fmax(1, fabs(g[k][i]))))
                fail_msg("%s: parameter %d entry %zu: gradient %.12g, "
                         "finite difference %.12g", c->name, k, i, g[k][i],
                         fd);
        }
    }
    em_ad_destroy(t);
}

static void test_ad_gradients_finite_differences(void **state)
{
    em_test_rng r = {20240611};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int rep = 0; rep < 3; rep++)
            check_case(&cases[i], &r);
}

/* Forward values against the formulas, computed here. */
static void test_ad_forward_values(void **state)
{
    em_ad *t = em_ad_create();
    double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
    double z[3] = {1, 2, 3}, m[6] = {0.5, -1, 2, 3, 0, -2};
    int64_t lab[2] = {2, 0};
    em_ad_node na = em_ad_const(t, 2, 3, a), nb = em_ad_const(t, 3, 2, b);
    em_ad_node mm = em_ad_matmul(t, na, nb);
    em_ad_node xe = em_ad_softmax_xent(t, em_ad_const(t, 3, 1, z), lab, 1);
    em_ad_node xm = em_ad_softmax_xent(t, em_ad_const(t, 2, 3, m), lab, 2);
    em_ad_node ar = em_ad_add_rows(t, na, em_ad_const(t, 1, 3, z));
    em_ad_node sg = em_ad_sigmoid(t, em_ad_scalar(t, -1.5));
    em_ad_node mn = em_ad_mean(t, na);
    const double want_mm[4] = {1 * 7 + 2 * 9 + 3 * 11, 1 * 8 + 2 * 10 + 3 * 12,
                               4 * 7 + 5 * 9 + 6 * 11,
                               4 * 8 + 5 * 10 + 6 * 12};
    double want_xm = (log(exp(0.5) + exp(-1) + exp(2)) - 2 +
                      log(exp(3) + exp(0) + exp(-2)) - 3) / 2;
    size_t rows, cols;

    EM_CHECK(em_ad_status(t));
    em_ad_shape(t, mm, &rows, &cols);
    assert_true(rows == 2 && cols == 2);
    for (int i = 0; i < 4; i++)
        assert_true(em_ad_value(t, mm)[i] == want_mm[i]);
    assert_true(fabs(em_ad_value(t, xe)[0] -
                     (log(exp(1) + exp(2) + exp(3)) - 3)) < 1e-15);
    assert_true(fabs(em_ad_value(t, xm)[0] - want_xm) < 1e-15);
    for (int i = 0; i < 6; i++)
        assert_true(em_ad_value(t, ar)[i] == a[i] + z[i % 3]);
    assert_true(fabs(em_ad_value(t, sg)[0] - 1 / (1 + exp(1.5))) < 1e-16);
    assert_true(em_ad_value(t, mn)[0] == 3.5);
    /* before backward there are no gradients; d mean / d a = 1/6 */
    assert_null(em_ad_grad(t, na));
    EM_CHECK(em_ad_backward(t, mn));
    for (int i = 0; i < 6; i++)
        assert_true(em_ad_grad(t, na)[i] == 1.0 / 6);
    /* a node before the root that it does not use: gradient 0 */
    assert_true(em_ad_grad(t, sg)[0] == 0);
    /* large logits stay finite; nodes recorded after the root get no
     * gradient */
    {
        double big[2] = {1000, -1000};
        em_ad_node x = em_ad_softmax_xent(t, em_ad_const(t, 1, 2, big),
                                          &lab[1], 1);
        assert_true(em_ad_value(t, x)[0] == 0);
        assert_null(em_ad_grad(t, x));
    }
    em_ad_clear(t);
    assert_null(em_ad_value(t, mm));
    em_ad_destroy(t);
}

/* Every kind of error: a status and a message on the tape, EM_AD_NONE
 * from the failing operation and all that use its result. */
static void test_ad_shape_errors(void **state)
{
    em_ad *t = em_ad_create();
    double v[12] = {0};
    int64_t lab[3] = {0, 1, 3};
    em_ad_node a23 = em_ad_const(t, 2, 3, v), a32 = em_ad_const(t, 3, 2, v);
    em_ad_node x, y;

    EM_CHECK(em_ad_status(t));
    assert_int_equal(em_ad_add(t, a23, a32), EM_AD_NONE);
    assert_int_equal(em_ad_status(t), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "add of a 2 x 3 and a 3 x 2"));
    /* sticky: a valid operation now fails too, and backward reports it */
    assert_int_equal(em_ad_sum(t, a23), EM_AD_NONE);
    assert_int_equal(em_ad_backward(t, a23), EM_EINVAL);
    em_ad_clear(t);
    EM_CHECK(em_ad_status(t));

#define EXPECT_FAIL(expr, msg)                                                 \
    do {                                                                       \
        em_ad_clear(t);                                                        \
        a23 = em_ad_const(t, 2, 3, v);                                         \
        a32 = em_ad_const(t, 3, 2, v);                                         \
        x = (expr);                                                            \
        assert_int_equal(x, EM_AD_NONE);                                       \
        assert_int_equal(em_ad_status(t), EM_EINVAL);                          \
        if (strstr(em_last_error(), msg) == NULL)                              \
            fail_msg("%s: message '%s'", #expr, em_last_error());              \
    } while (0)

    EXPECT_FAIL(em_ad_sub(t, a23, a32), "sub of a 2 x 3 and a 3 x 2");
    EXPECT_FAIL(em_ad_mul(t, a23, a32), "mul of");
    EXPECT_FAIL(em_ad_dot(t, a23, a32), "dot of");
    EXPECT_FAIL(em_ad_matmul(t, a23, a23), "matmul of a 2 x 3 and a 2 x 3");
    EXPECT_FAIL(em_ad_matvec(t, a23, a32), "not a vector");
    EXPECT_FAIL(em_ad_matvec(t, a23, em_ad_const(t, 2, 1, v)), "matmul of");
    EXPECT_FAIL(em_ad_add_rows(t, a23, em_ad_const(t, 1, 2, v)),
                "add_rows of");
    EXPECT_FAIL(em_ad_add_rows(t, a23, a32), "add_rows of");
    EXPECT_FAIL(em_ad_softmax_xent(t, a32, lab, 2), "one label per row");
    EXPECT_FAIL(em_ad_softmax_xent(t, a32, lab, 0), "one label per row");
    EXPECT_FAIL(em_ad_softmax_xent(t, a32, lab, 3), "label 3 of sample 2");
    EXPECT_FAIL(em_ad_tanh(t, 99), "no node 99");
    EXPECT_FAIL(em_ad_exp(t, EM_AD_NONE), "operand is missing");
    EXPECT_FAIL(em_ad_const(t, 0, 3, v), "no entries");
    EXPECT_FAIL(em_ad_const(t, SIZE_MAX / 2, 3, v), "too large");
#undef EXPECT_FAIL

    /* backward wants a scalar root on the tape */
    em_ad_clear(t);
    a23 = em_ad_const(t, 2, 3, v);
    y = em_ad_sum(t, a23);
    assert_int_equal(em_ad_backward(t, a23), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "must be a scalar"));
    assert_int_equal(em_ad_backward(t, 5), EM_EINVAL);
    EM_CHECK(em_ad_backward(t, y));
    em_ad_destroy(t);
    em_ad_destroy(NULL);
}

/* A small network's loss and gradients, for the out-of-memory sweep. */
static em_status build_and_backward(void *arg)
{
    em_ad *t = em_ad_create();
    double g[4 * 3];
    em_ad_node p;
    em_status st;

    (void)arg;
    if (t == NULL)
        return EM_ENOMEM;
    p = em_ad_param(t, 4, 3, (double[12]){1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3},
                    g);
    p = em_ad_tanh(t, em_ad_matmul(t, em_ad_const(t, 2, 4, NULL), p));
    p = em_ad_softmax_xent(t, p, (int64_t[2]){0, 2}, 2);
    st = em_ad_status(t);
    if (st == EM_OK)
        st = em_ad_backward(t, p);
    em_ad_destroy(t);
    return st;
}

static void test_ad_out_of_memory(void **state)
{
    assert_true(em_test_oom_sweep(build_and_backward, NULL, 1000) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_ad_gradients_finite_differences),
        EM_TEST(test_ad_forward_values),
        EM_TEST(test_ad_shape_errors),
        EM_TEST(test_ad_out_of_memory),
    };

    return cmocka_run_group_tests_name("ad", tests, NULL, NULL);
}
