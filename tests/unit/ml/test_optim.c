/* Tests of the shared optimizer module (ops/ml/optim.c): two steps of each
 * kind, of L2 and L1 regularization and of the constant schedule against
 * values computed by hand from the update rules (the arithmetic is
 * written out in the comments of the expected tables); the state as a
 * value resumes exactly; Spark's convergence test; bad settings.
 */
#include <math.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml_linear.h"

/* Both steps use step 0.1, so eta is 0.1 then 0.1 / sqrt(2); the
 * gradients are g1 = (0.5, -1, 0.25) and g2 = (0.2, 0.3, -0.4), from
 * w0 = (1, -2, 0.5). sgd, for example: w1 = w0 - 0.1 g1 = (0.95, -1.9,
 * 0.475), w2 = w1 - 0.0707107 g2 = (0.935858, -1.921213, 0.503284). */
static const double w0[3] = {1.0, -2.0, 0.5};
static const double g1[3] = {0.5, -1.0, 0.25};
static const double g2[3] = {0.2, 0.3, -0.4};

static void two_steps(const em_optim_conf *c, size_t reg_dim, double *w)
{
    em_optim *o = em_optim_create(c, 3, reg_dim);

    assert_non_null(o);
    memcpy(w, w0, sizeof(w0));
    em_optim_step(o, w, g1);
    em_optim_step(o, w, g2);
    assert_int_equal(em_optim_iter(o), 2);
    em_optim_destroy(o);
}

static void check_w(const double *got, const double *want)
{
    for (int i = 0; i < 3; i++)
        if (fabs(got[i] - want[i]) > 1e-12)
            fail_msg("weight %d: %.17g, want %.17g", i, got[i], want[i]);
}

static void test_optim_each_kind_by_hand(void **state)
{
    /* momentum: v1 = g1, w1 = w0 - 0.1 g1; v2 = 0.9 g1 + g2,
     * w2 = w1 - 0.0707 v2. adam's first step moves each weight by 0.1 sign
     * (g) (the bias corrections cancel). */
    static const double want[6][3] = {
        {0.93585786437626906, -1.9212132034355964, 0.50328427124746189},
        {0.90403805922287439, -1.8575735931288071, 0.48737436867076456},
        {0.84949211767685606, -1.793029437251523, 0.49192120305115006},
        {0.87373871591571528, -1.9203185646497414, 0.45996253784846552},
        {0.5968978107672015, -1.7511922280867382, 0.37611107563746404},
        {0.83646114161296758, -1.8697465373724986, 0.41952414031878532},
    };
    for (int k = 0; k <= EM_OPTIM_ADAM; k++) {
        em_optim_conf c = {.kind = (em_optim_kind)k, .step = 0.1};
        double w[3];
        two_steps(&c, 3, w);
        check_w(w, want[k]);
    }
}

static void test_optim_adam_first_step_is_sign(void **state)
{
    em_optim_conf c = {.kind = EM_OPTIM_ADAM, .step = 0.1};
    em_optim *o = em_optim_create(&c, 3, 3);
    double w[3];

    memcpy(w, w0, sizeof(w0));
    em_optim_step(o, w, g1);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(w[i] - (w0[i] - 0.1 * (g1[i] > 0 ? 1 : -1))) <
                    1e-8);
    em_optim_destroy(o);
}

static void test_optim_regularization(void **state)
{
    /* L2 0.5 on the first two weights: g' = g + 0.5 w; the third is the
     * unregularized intercept and moves as plain sgd. L1 1.0: after each
     * sgd move the first two shrink by eta towards 0. */
    static const double want_l2[3] = {0.85403805922287446,
                                      -1.7575735931288072,
                                      0.50328427124746189};
    static const double want_l1[3] = {0.76514718625761435,
                                      -1.7505025253169415,
                                      0.50328427124746189};
    em_optim_conf c = {.step = 0.1, .reg = EM_REG_L2, .reg_param = 0.5};
    double w[3];

    two_steps(&c, 2, w);
    check_w(w, want_l2);
    c.reg = EM_REG_L1;
    c.reg_param = 1.0;
    two_steps(&c, 2, w);
    check_w(w, want_l1);
    /* a large L1 shrinkage sets weights to exactly 0, not past it */
    c.reg_param = 50;
    two_steps(&c, 2, w);
    assert_true(w[0] == 0.0 && w[1] == 0.0);
}

static void test_optim_constant_schedule(void **state)
{
    static const double want[3] = {0.8101424839029282, -1.8572151424292265,
                                   0.42761130237564743};
    em_optim_conf c = {.kind = EM_OPTIM_ADAM, .step = 0.1,
                       .schedule = EM_SCHEDULE_CONSTANT};
    double w[3];

    two_steps(&c, 3, w);
    check_w(w, want);
}

static void test_optim_state_as_value(void **state)
{
    for (int k = 0; k <= EM_OPTIM_ADAM; k++) {
        em_optim_conf c = {.kind = (em_optim_kind)k, .step = 0.1};
        em_optim *o = em_optim_create(&c, 3, 3), *r;
        em_arena *a = em_arena_create();
        double w[3], wr[3], ww[3];
        em_val v, enc;
        memcpy(w, w0, sizeof(w0));
        em_optim_step(o, w, g1);
        EM_CHECK(em_optim_to_val(o, a, &v));
        EM_CHECK(em_val_copy(a, v, &enc));
        r = em_optim_from_val(&c, 3, enc);
        assert_non_null(r);
        memcpy(wr, w, sizeof(w));
        em_optim_step(o, w, g2);
        em_optim_step(r, wr, g2);
        two_steps(&c, 3, ww);
        assert_memory_equal(w, wr, sizeof(w));
        assert_memory_equal(w, ww, sizeof(w));
        c.kind = (em_optim_kind)((k + 1) % 6);
        assert_null(em_optim_from_val(&c, 3, enc));
        assert_null(em_optim_from_val(&c, 3, em_int(3)));
        em_optim_destroy(o);
        em_optim_destroy(r);
        em_arena_destroy(a);
    }
}

static void test_optim_converged_and_names(void **state)
{
    double a[2] = {3, 4}, b[2] = {3, 4.004}, z[2] = {0, 0},
           zs[2] = {0.0005, 0};
    em_optim_kind k;

    /* |b - a| = 0.004 against 0.001 max(|b|, 1) = 0.005004 */
    assert_true(em_optim_converged(a, b, 2, 0.001));
    assert_false(em_optim_converged(a, b, 2, 0.0005));
    /* near zero the scale is 1 */
    assert_true(em_optim_converged(z, zs, 2, 0.001));
    assert_false(em_optim_converged(z, zs, 2, 0.0004));
    for (int i = 0; i <= EM_OPTIM_ADAM; i++) {
        EM_CHECK(em_optim_kind_parse(em_optim_kind_name((em_optim_kind)i),
                                     &k));
        assert_int_equal(k, i);
    }
    assert_int_equal(em_optim_kind_parse("lbfgs", &k), EM_EINVAL);
}

static void test_optim_bad_settings(void **state)
{
    em_optim_conf bad[] = {
        {.step = -1},
        {.reg_param = -0.5, .reg = EM_REG_L2},
        {.momentum = 1.0},
        {.beta2 = 1.5},
        {.kind = (em_optim_kind)9},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(em_optim_create(&bad[i], 3, 3));
        assert_non_null(strstr(em_last_error(), "optimizer"));
    }
    assert_null(em_optim_create(NULL, 3, 4));
    assert_null(em_optim_create(NULL, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_optim_each_kind_by_hand),
        EM_TEST(test_optim_adam_first_step_is_sign),
        EM_TEST(test_optim_regularization),
        EM_TEST(test_optim_constant_schedule),
        EM_TEST(test_optim_state_as_value),
        EM_TEST(test_optim_converged_and_names),
        EM_TEST(test_optim_bad_settings),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
