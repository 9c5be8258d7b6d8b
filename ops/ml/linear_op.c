/* The linear models' trainer as a user function, for trainers that run
 * inside tasks (em_ml_grid_search's): options from maps keyed by
 * pyspark.mllib's keyword arguments, training by em_linear_train_local.
 * docs/ml.md, "Grid search".
 */
#include <string.h>

#include "ember/ml_linear.h"
#include "linear.h"
#include "runtime/err.h"

/* The index of the string v in names (NULL-terminated), or -1. */
static int choice(em_val v, const char *const *names)
{
    for (int i = 0; v.type == EM_STR && names[i] != NULL; i++)
        if (v.len == strlen(names[i]) && memcmp(v.u.s, names[i], v.len) == 0)
            return i;
    return -1;
}

static bool key_is(em_val k, const char *name)
{
    return k.len == strlen(name) && memcmp(k.u.s, name, k.len) == 0;
}

/* Sets the field named k of o (or *loss) from v; false for an unknown
 * name or a value of the wrong kind. */
static bool set_option(em_val k, em_val v, em_linear_opts *o, int *loss)
{
    static const char *const losses[] = {"logistic", "linear", "perceptron",
                                         NULL};
    static const char *const regs[] = {"none", "l2", "l1", NULL};
    static const char *const scheds[] = {"invsqrt", "constant", NULL};
    static const char *const modes[] = {"batch", "averaging", "ipm",
                                        "hogwild", NULL};
    double x = 0;
    bool is_num = em_val_as_float(v, &x), is_bool = v.type == EM_BOOL;
    int c = -1;
    em_optim_kind kind;

    if (key_is(k, "iterations") && v.type == EM_INT)
        o->iterations = (int)v.u.i;
    else if (key_is(k, "step") && is_num)
        o->step = x;
    else if (key_is(k, "miniBatchFraction") && is_num)
        o->mini_batch_fraction = x;
    else if (key_is(k, "regParam") && is_num)
        o->reg_param = x;
    else if (key_is(k, "convergenceTol") && is_num)
        o->convergence_tol = x > 0 ? x : -1;
    else if (key_is(k, "seed") && v.type == EM_INT)
        o->seed = (uint64_t)v.u.i;
    else if (key_is(k, "intercept") && is_bool)
        o->intercept = v.u.b;
    else if (key_is(k, "averaged") && is_bool)
        o->averaged = v.u.b;
    else if (key_is(k, "loss") && (c = choice(v, losses)) >= 0)
        *loss = c;
    else if (key_is(k, "regType") && (c = choice(v, regs)) >= 0)
        o->reg_type = (em_reg)c;
    else if (key_is(k, "schedule") && (c = choice(v, scheds)) >= 0)
        o->schedule = (em_schedule)c;
    else if (key_is(k, "mode") && (c = choice(v, modes)) >= 0)
        o->mode = (em_linear_mode)c;
    else if (key_is(k, "optimizer") && v.type == EM_STR && v.len < 16) {
        char name[16];
        memcpy(name, v.u.s, v.len);
        name[v.len] = '\0';
        if (em_optim_kind_parse(name, &kind) != EM_OK)
            return false;
        o->optimizer = kind;
    } else
        return false;
    return true;
}

/* Applies the options of the map m (nil: none). */
static em_status apply(em_task *t, em_val m, em_linear_opts *o, int *loss)
{
    if (m.type == EM_NIL)
        return EM_OK;
    if (m.type != EM_MAP)
        return em_task_fail(t, "linear trainer: options must be a map");
    for (uint32_t i = 0; i < m.len; i++) {
        em_val k = m.u.map[2 * i], v = m.u.map[2 * i + 1];
        if (k.type != EM_STR || !set_option(k, v, o, loss))
            return em_task_fail(t, "linear trainer: option %.*s is unknown "
                                "or has a value of the wrong kind",
                                k.type == EM_STR ? (int)k.len : 1,
                                k.type == EM_STR ? k.u.s : "?");
    }
    return EM_OK;
}

em_status em_linear_train_op(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    em_linear_opts o = {0};
    int loss = EM_LOSS_LOGISTIC;
    em_status st;

    if (nargs < 1 || args[0].type != EM_ARRAY)
        return em_task_fail(t, "linear trainer: the points must be an "
                            "array");
    if ((st = apply(t, *env, &o, &loss)) != EM_OK ||
        (nargs > 1 && (st = apply(t, args[1], &o, &loss)) != EM_OK))
        return st;
    st = em_linear_train_local(t, args[0], (em_linear_loss)loss, &o,
                               em_task_arena(t), out);
    if (st == EM_OK || st == EM_EUSER || st == EM_ENOMEM)
        return st;
    return em__lin_fail_last(t);
}
