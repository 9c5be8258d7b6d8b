/* ember.ml.gridSearch(trainFn, grid, data, opts): include/ember/ml_grid.h
 * in Lua. trainFn(points, params) runs inside the tasks on a plain array
 * of LabeledPoints (the learning library's train functions accept one and
 * train in the calling task); the model it returns travels as its value,
 * and a metric function gets it back as a model object when it is a
 * linear model. docs/ml.md, "Grid search".
 */
#include <string.h>

#include "ember/ml.h"
#include "lml_int.h"

/* Wraps the trainer (and the metric function, or nil): the model a
 * trainer returns travels as its value; a linear model's value reaches
 * the metric as a model again. */
static const char wrap_src[] =
    "local train, metric = ...\n"
    "local function model_of(v)\n"
    "  local k = type(v) == 'table' and v.kind\n"
    "  if k == 'logistic' or k == 'linear' or k == 'perceptron' then\n"
    "    return ember.ml.LogisticRegressionModel.fromValue(v)\n"
    "  end\n"
    "  return v\n"
    "end\n"
    "local function fit(points, params)\n"
    "  local m = train(points, params)\n"
    "  if type(m) == 'userdata' then return m:value() end\n"
    "  return m\n"
    "end\n"
    "return fit, metric and function(v, points)\n"
    "  return metric(model_of(v), points)\n"
    "end\n";

em_status em__lml_linear_value(em_arena *a, em_val v, em_val *out)
{
    em_val *kv, w;
    const em_val *wp = em__lml_map_get(v, "weights");

    if (wp == NULL || em__lml_val_vector(a, *wp, &w) != NULL)
        return em_linear_model_parts(v, NULL, NULL, NULL) != EM_OK
                   ? EM_EFORMAT
                   : EM_OK;
    if ((kv = em_arena_alloc(a, 2 * v.len * sizeof(em_val))) == NULL)
        return EM_ENOMEM;
    memcpy(kv, v.u.map, 2 * v.len * sizeof(em_val));
    for (uint32_t i = 0; i < v.len; i++) {
        double x;
        if (&v.u.map[2 * i + 1] == wp)
            kv[2 * i + 1] = w;
        else if (kv[2 * i + 1].type == EM_INT &&
                 em_val_as_float(kv[2 * i + 1], &x))
            kv[2 * i + 1] = em_float(x); /* an intercept of 0 */
    }
    if (em_map_make(a, kv, v.len, out) != EM_OK)
        return EM_ENOMEM;
    return em_linear_model_parts(*out, NULL, NULL, NULL);
}

/* The trainer of a Lua gridSearch (env: the encoded Lua trainer): a
 * linear model's value comes back from Lua with its weights a table, and
 * is made a model value again; other values stay as they are. */
static em_status lua_train(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val m;
    em_status st = em__lua_fn_call(t, env, args, nargs, &m);

    if (st != EM_OK)
        return st;
    if (m.type != EM_MAP ||
        em__lml_linear_value(em_task_arena(t), m, out) != EM_OK)
        *out = m;
    return EM_OK;
}

/* True when the options table at idx has field k. */
static bool has_opt(lua_State *L, int idx, const char *k)
{
    bool has;

    if (lua_type(L, idx) != LUA_TTABLE)
        return false;
    has = lua_getfield(L, idx, k) != LUA_TNIL;
    lua_pop(L, 1);
    return has;
}

/* The options table at 4 as em_grid_opts; a metric function is pushed
 * and its index returned (else 0). */
static int check_grid_opts(lua_State *L, em_grid_opts *o)
{
    const char *s;

    em__lml_check_opts(L, 4);
    memset(o, 0, sizeof(*o));
    o->folds = (int)em__lml_opt_int(L, 4, "folds", 3);
    o->seed = (uint64_t)em__lml_opt_int(L, 4, "seed", 0);
    o->shuffle = em__lml_opt_bool(L, 4, "shuffle", has_opt(L, 4, "seed"));
    o->lower_is_better = em__lml_opt_bool(L, 4, "lowerIsBetter", false);
    if (o->folds < 2)
        luaL_error(L, "gridSearch: folds must be at least 2");
    if (lua_type(L, 4) == LUA_TTABLE) {
        if (lua_getfield(L, 4, "metric") == LUA_TFUNCTION) {
            o->metric = EM_GRID_SCORE_FN;
            return lua_gettop(L);
        }
        lua_pop(L, 1);
    }
    s = em__lml_opt_str(L, 4, "metric", "accuracy");
    if (strcmp(s, "accuracy") == 0)
        o->metric = EM_GRID_ACCURACY;
    else if (strcmp(s, "rmse") == 0)
        o->metric = EM_GRID_RMSE;
    else
        luaL_error(L, "gridSearch: metric: \"accuracy\", \"rmse\" or a "
                   "function(model, points), not \"%s\"", s);
    return 0;
}

/* ember.ml.gridSearch(trainFn, grid, data, {folds, metric, seed, shuffle,
 * lowerIsBetter}) -> {best_params, best_score, best_index, params,
 * mean_test_score, std_test_score, split_test_scores, lower_is_better} */
static int grid_search(lua_State *L)
{
    em_grid_opts o;
    em_arena *a;
    em_rdd *node;
    em_val grid, res;
    em_fn train;
    int metric_idx, top;
    em_status st;

    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_checktype(L, 2, LUA_TTABLE);
    metric_idx = check_grid_opts(L, &o);
    node = em__lml_map_native(L, em__lua_rdd_node(L, 3), em__lml_fix_pair);
    a = em__lua_arena(L);
    grid = em__lua_check_val(L, 2, a, "gridSearch: grid");
    top = lua_gettop(L);
    if (luaL_loadbuffer(L, wrap_src, sizeof(wrap_src) - 1, "=gridSearch") !=
        LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, 1);
    if (metric_idx > 0)
        lua_pushvalue(L, metric_idx);
    else
        lua_pushnil(L);
    lua_call(L, 2, 2);
    train = em__lua_check_fn(L, top + 1, EM_LUA_MODE_PLAIN, a);
    train.call = lua_train;
    if (metric_idx > 0)
        o.score = em__lua_check_fn(L, top + 2, EM_LUA_MODE_PLAIN, a);
    st = em_ml_grid_search(node, train, grid, &o, a, &res);
    em__lua_action_done(L, st, "gridSearch");
    em__lua_push_val(L, res);
    /* Lua counts from 1 */
    lua_pushinteger(L, (lua_Integer)em__lml_map_get(res, "best_index")->u.i +
                           1);
    lua_setfield(L, -2, "best_index");
    return 1;
}

void em__lua_open_grid(lua_State *L)
{
    int mod = lua_gettop(L);

    if (lua_getfield(L, mod, "ml") == LUA_TTABLE) {
        lua_pushcfunction(L, grid_search);
        lua_setfield(L, -2, "gridSearch");
    }
    lua_pop(L, 1);
}
