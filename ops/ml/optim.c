/* The optimizers every linear model shares: sgd, momentum, Nesterov,
 * AdaGrad, RMSProp and Adam, with Spark's step / sqrt(t) schedule and L2
 * (in the gradient) or L1 (a proximal step) regularization. The rules are
 * written next to em_optim_kind in include/ember/ml_linear.h; docs/ml.md,
 * "Linear models".
 */
#include <math.h>
#include <string.h>

#include "ember/ml_linear.h"
#include "linear.h"
#include "runtime/err.h"
#include "runtime/mem.h"

struct em_optim {
    em_optim_conf conf; /* defaults filled in */
    size_t dim;         /* weights */
    size_t reg_dim;     /* the first reg_dim weights are regularized */
    int64_t t;          /* steps taken */
    double *m;          /* first moment (velocity for momentum) */
    double *s;          /* second moment (sum of squares for adagrad) */
};

static const char *const kind_names[] = {"sgd",     "momentum", "nesterov",
                                         "adagrad", "rmsprop",  "adam"};

/* conf with zero fields replaced by their defaults, checked. */
static em_status fill_conf(const em_optim_conf *in, em_optim_conf *out)
{
    em_optim_conf c = {0};

    if (in != NULL)
        c = *in;
    if (c.step == 0)
        c.step = 1.0;
    if (c.momentum == 0)
        c.momentum = 0.9;
    if (c.beta2 == 0)
        c.beta2 = 0.999;
    if (c.rho == 0)
        c.rho = 0.9;
    if (c.eps == 0)
        c.eps = 1e-8;
    if ((unsigned)c.kind > EM_OPTIM_ADAM || (unsigned)c.reg > EM_REG_L1 ||
        (unsigned)c.schedule > EM_SCHEDULE_CONSTANT)
        return em__err(EM_EINVAL, "optimizer: unknown kind, regularization "
                       "or schedule");
    if (!(c.step > 0) || !isfinite(c.step) || !(c.reg_param >= 0) ||
        !isfinite(c.reg_param) || !(c.eps > 0))
        return em__err(EM_EINVAL, "optimizer: step (%g) must be > 0, "
                       "regParam (%g) >= 0 and eps > 0", c.step,
                       c.reg_param);
    if (!(c.momentum > 0 && c.momentum < 1) ||
        !(c.beta2 > 0 && c.beta2 < 1) || !(c.rho > 0 && c.rho < 1))
        return em__err(EM_EINVAL, "optimizer: momentum, beta2 and rho must "
                       "lie in (0, 1)");
    *out = c;
    return EM_OK;
}

em_status em__optim_check(const em_optim_conf *conf)
{
    em_optim_conf c;

    return fill_conf(conf, &c);
}

em_optim *em_optim_create(const em_optim_conf *conf, size_t dim,
                          size_t reg_dim)
{
    em_optim *o;
    em_optim_conf c;

    if (fill_conf(conf, &c) != EM_OK)
        return NULL;
    if (reg_dim > dim || dim == 0) {
        em__err(EM_EINVAL, "optimizer: %zu regularized of %zu weights",
                reg_dim, dim);
        return NULL;
    }
    if ((o = em__mem_calloc(1, sizeof(*o))) == NULL)
        return NULL;
    o->dim = dim; /* em_optim_destroy frees the moments by it */
    o->m = em__mem_calloc(dim, sizeof(double));
    o->s = em__mem_calloc(dim, sizeof(double));
    if (o->m == NULL || o->s == NULL) {
        em_optim_destroy(o);
        return NULL;
    }
    o->conf = c;
    o->reg_dim = reg_dim;
    return o;
}

void em_optim_destroy(em_optim *o)
{
    if (o == NULL)
        return;
    em__mem_free(o->m, o->dim * sizeof(double));
    em__mem_free(o->s, o->dim * sizeof(double));
    em__mem_free(o, sizeof(*o));
}

int64_t em_optim_iter(const em_optim *o)
{
    return o->t;
}

/* The move of one weight for gradient g under the kind's rule. */
static double delta(em_optim *o, size_t i, double g, double eta)
{
    const em_optim_conf *c = &o->conf;
    double mh, sh;

    switch (c->kind) {
    case EM_OPTIM_SGD:
        return eta * g;
    case EM_OPTIM_MOMENTUM:
        o->m[i] = c->momentum * o->m[i] + g;
        return eta * o->m[i];
    case EM_OPTIM_NESTEROV:
        o->m[i] = c->momentum * o->m[i] + g;
        return eta * (g + c->momentum * o->m[i]);
    case EM_OPTIM_ADAGRAD:
        o->s[i] += g * g;
        return eta * g / (sqrt(o->s[i]) + c->eps);
    case EM_OPTIM_RMSPROP:
        o->s[i] = c->rho * o->s[i] + (1 - c->rho) * g * g;
        return eta * g / (sqrt(o->s[i]) + c->eps);
    case EM_OPTIM_ADAM:
        o->m[i] = c->momentum * o->m[i] + (1 - c->momentum) * g;
        o->s[i] = c->beta2 * o->s[i] + (1 - c->beta2) * g * g;
        mh = o->m[i] / (1 - pow(c->momentum, (double)o->t));
        sh = o->s[i] / (1 - pow(c->beta2, (double)o->t));
        return eta * mh / (sqrt(sh) + c->eps);
    }
    return 0;
}

double em__optim_tick(em_optim *o)
{
    const em_optim_conf *c = &o->conf;

    o->t++;
    return c->schedule == EM_SCHEDULE_CONSTANT ? c->step
                                               : c->step / sqrt((double)o->t);
}

double em__optim_coord(em_optim *o, size_t i, double w, double g, double eta)
{
    const em_optim_conf *c = &o->conf;
    bool is_reg = i < o->reg_dim;
    double shrink = eta * c->reg_param;

    if (is_reg && c->reg == EM_REG_L2)
        g += c->reg_param * w;
    w -= delta(o, i, g, eta);
    if (is_reg && c->reg == EM_REG_L1)
        w = w > shrink ? w - shrink : w < -shrink ? w + shrink : 0.0;
    return w;
}

void em_optim_step(em_optim *o, double *w, const double *g)
{
    double eta = em__optim_tick(o);

    for (size_t i = 0; i < o->dim; i++)
        w[i] = em__optim_coord(o, i, w[i], g[i], eta);
}

em_status em_optim_to_val(const em_optim *o, em_arena *a, em_val *out)
{
    em_val arr, *items = em_array_make(a, 4, &arr);
    double *m, *s;

    if (items == NULL || (m = em_vec_make(a, o->dim, &items[2])) == NULL ||
        (s = em_vec_make(a, o->dim, &items[3])) == NULL)
        return EM_ENOMEM;
    memcpy(m, o->m, o->dim * sizeof(double));
    memcpy(s, o->s, o->dim * sizeof(double));
    items[0] = em_int(o->conf.kind);
    items[1] = em_int(o->t);
    *out = arr;
    return EM_OK;
}

em_optim *em_optim_from_val(const em_optim_conf *conf, size_t reg_dim,
                            em_val v)
{
    const em_val *it = v.u.arr;
    em_optim *o;

    if (v.type != EM_ARRAY || v.len != 4 || it[0].type != EM_INT ||
        it[1].type != EM_INT || it[1].u.i < 0 || it[2].type != EM_VEC ||
        it[3].type != EM_VEC || it[2].len != it[3].len ||
        it[0].u.i != (int64_t)(conf != NULL ? conf->kind : EM_OPTIM_SGD)) {
        em__err(EM_EFORMAT, "optimizer: not the state of this optimizer");
        return NULL;
    }
    if ((o = em_optim_create(conf, it[2].len, reg_dim)) == NULL)
        return NULL;
    memcpy(o->m, it[2].u.vec, o->dim * sizeof(double));
    memcpy(o->s, it[3].u.vec, o->dim * sizeof(double));
    o->t = it[1].u.i;
    return o;
}

bool em_optim_converged(const double *prev, const double *w, size_t dim,
                        double tol)
{
    double diff = 0, norm = 0;

    for (size_t i = 0; i < dim; i++) {
        diff += (w[i] - prev[i]) * (w[i] - prev[i]);
        norm += w[i] * w[i];
    }
    return sqrt(diff) < tol * fmax(sqrt(norm), 1.0);
}

em_status em_optim_kind_parse(const char *name, em_optim_kind *out)
{
    for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (em_optim_kind)i;
            return EM_OK;
        }
    return em__err(EM_EINVAL, "optimizer: unknown optimizer '%s' (sgd, "
                   "momentum, nesterov, adagrad, rmsprop or adam)", name);
}

const char *em_optim_kind_name(em_optim_kind kind)
{
    return (unsigned)kind <= EM_OPTIM_ADAM ? kind_names[kind] : "?";
}
