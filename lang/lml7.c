/* ember.ml's iterative learners and ember.graph: the operators of
 * include/ember/ml_linear.h, ml_cluster.h, ml_mf.h and graph.h in Lua, with
 * the names and keyword options of pyspark.mllib (LogisticRegression,
 * LinearRegression, KMeans, ALS; and Perceptron) and ember.graph.pageRank.
 * Training hands the C API the RDD itself, so it runs at C speed in local
 * mode and on the worker pool; inside a task the linear models also train
 * on a plain array of points (gridSearch's trainers). Models are small
 * userdata objects on the process that made them; model:value() is their
 * value form (a table), which travels to tasks, and fromValue makes a
 * linear model of it again. docs/shell.md lists the names.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ember/ml.h"
#include "lml_int.h"

#define MT_LIN "ember.LinearModel"
#define MT_KM "ember.KMeansModel"
#define MT_MF "ember.MatrixFactorizationModel"

/* ---- linear models ---- */

/* The modes' names, indexed by em_linear_mode. */
static const char *const mode_names[] = {"batch", "averaging", "ipm",
                                         "hogwild", "allreduce", "ps"};

static void check_linear_opts(lua_State *L, int idx, em_linear_loss loss,
                              em_linear_opts *o)
{
    const char *s;
    double tol;

    em__lml_check_opts(L, idx);
    memset(o, 0, sizeof(*o));
    o->iterations = (int)em__lml_opt_int(L, idx, "iterations", 100);
    o->step = em__lml_opt_num(L, idx, "step", 1.0);
    o->mini_batch_fraction = em__lml_opt_num(L, idx, "miniBatchFraction", 1.0);
    /* pyspark's defaults: LogisticRegressionWithSGD regParam 0.01, l2;
     * LinearRegressionWithSGD regParam 0, no regularization */
    o->reg_param = em__lml_opt_num(L, idx, "regParam",
                           loss == EM_LOSS_LOGISTIC ? 0.01 : 0.0);
    o->reg_type = em__lml_opt_reg(L, idx, loss == EM_LOSS_LOGISTIC ?
                                              EM_REG_L2 : EM_REG_NONE);
    o->intercept = em__lml_opt_bool(L, idx, "intercept", false);
    tol = em__lml_opt_num(L, idx, "convergenceTol", 0.001);
    o->convergence_tol = tol > 0 ? tol : -1.0;
    o->optimizer = em__lml_opt_optimizer(L, idx, EM_OPTIM_SGD);
    s = em__lml_opt_str(L, idx, "mode", "batch");
    while (o->mode <= EM_LINEAR_PS && strcmp(s, mode_names[o->mode]) != 0)
        o->mode++;
    if (o->mode > EM_LINEAR_PS)
        luaL_error(L, "mode: batch, averaging, ipm, hogwild, allreduce or "
                   "ps, not \"%s\"", s);
    o->batch_size = (int)em__lml_opt_int(L, idx, "batchSize", 32);
    o->staleness = (int)em__lml_opt_int(L, idx, "staleness", 0);
    if (o->batch_size < 1)
        luaL_error(L, "batchSize must be at least 1");
    o->schedule = em__lml_opt_schedule(L, idx);
    /* the perceptron's own rule: a constant step, the average of the
     * weights over the steps */
    if (loss == EM_LOSS_PERCEPTRON &&
        strcmp(em__lml_opt_str(L, idx, "schedule", "?"), "?") == 0)
        o->schedule = EM_SCHEDULE_CONSTANT;
    o->averaged = em__lml_opt_bool(L, idx, "averaged",
                                   loss == EM_LOSS_PERCEPTRON);
    o->seed = (uint64_t)em__lml_opt_int(L, idx, "seed", 0);
    o->tree_depth = (int)em__lml_opt_int(L, idx, "treeDepth", 0);
    if (o->iterations < 1)
        luaL_error(L, "iterations must be at least 1");
}

/* Trains on the array of points at 1 in the calling task's thread
 * (em_linear_train_local); pushes the model. */
static int linear_train_array(lua_State *L, em_linear_loss loss,
                              const em_linear_opts *o, const char *what)
{
    em_task *t = em__lua_task(L);
    em_arena *tmp;
    em_val pts, fixed, *fv;
    em__lml_model *m;

    if (t == NULL)
        return luaL_error(L, "%s: an array of points is trained on inside "
                          "a task (a gridSearch trainFn); pass an RDD",
                          what);
    tmp = em__lua_arena(L);
    pts = em__lua_check_val(L, 1, tmp, what);
    if ((fv = em_array_make(tmp, pts.len, &fixed)) == NULL)
        return luaL_error(L, "out of memory");
    for (uint32_t i = 0; i < pts.len; i++)
        if (em__lml_fix_pair(t, NULL, &pts.u.arr[i], 1, &fv[i]) != EM_OK)
            return luaL_error(L, "%s: %s", what, em_last_error());
    m = em__lml_model_new(L, MT_LIN);
    if (em_linear_train_local(t, fixed, loss, o, m->arena, &m->model) !=
        EM_OK)
        return luaL_error(L, "%s: %s", what, em_last_error());
    return 1;
}

/* Trains on the RDD (or, in a task, the array of points) at 1 with the
 * options at 2; pushes the model. */
static int linear_train(lua_State *L, em_linear_loss loss, const char *what)
{
    em_rdd *node;
    em_linear_opts o;
    em__lml_model *m;
    em_status st;

    check_linear_opts(L, 2, loss, &o);
    if (lua_type(L, 1) == LUA_TTABLE)
        return linear_train_array(L, loss, &o, what);
    node = em__lua_rdd_node(L, 1);
    node = em__lml_map_native(L, node, em__lml_fix_pair);
    m = em__lml_model_new(L, MT_LIN);
    if ((st = em_rdd_cache(node)) == EM_OK) {
        st = em_linear_train(node, loss, &o, m->arena, &m->model);
        em_rdd_unpersist(node);
    }
    em__lua_action_done(L, st, what);
    return 1;
}

/* ember.ml.LogisticRegression.train(data, opts) */
static int logreg_train(lua_State *L)
{
    return linear_train(L, EM_LOSS_LOGISTIC, "LogisticRegression.train");
}

/* ember.ml.LinearRegression.train(data, opts) */
static int linreg_train(lua_State *L)
{
    return linear_train(L, EM_LOSS_SQUARED, "LinearRegression.train");
}

/* ember.ml.Perceptron.train(data, opts) */
static int perceptron_train(lua_State *L)
{
    return linear_train(L, EM_LOSS_PERCEPTRON, "Perceptron.train");
}

/* model:predict(x) -> class or value; model:predict(rdd) -> RDD */
static int lin_predict(lua_State *L)
{
    return em__lml_predict(L, MT_LIN, em_linear_predict,
                           em_linear_predict_op);
}

/* model:predictProbability(x) -> P(class 1), logistic models only */
static int lin_predict_probability(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_LIN);
    em_val x = em__lml_check_vector(L, 2, em__lua_arena(L),
                            "predictProbability: features");
    double p;

    if (em_linear_predict_probability(m->model, x, &p) != EM_OK)
        return luaL_error(L, "predictProbability: %s", em_last_error());
    lua_pushnumber(L, p);
    return 1;
}

static int lin_save(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_LIN);

    if (em_linear_model_save(m->model, luaL_checkstring(L, 2)) != EM_OK)
        return luaL_error(L, "save: %s", em_last_error());
    return 0;
}

/* ember.ml.LogisticRegressionModel.load(path) (and LinearRegressionModel,
 * PerceptronModel) */
static int lin_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    em__lml_model *m = em__lml_model_new(L, MT_LIN);

    if (em_linear_model_load(path, m->arena, &m->model) != EM_OK)
        return luaL_error(L, "load: %s", em_last_error());
    return 1;
}

/* ember.ml.LogisticRegressionModel.fromValue(model:value()) (and the
 * other linear models'): the model again, in a task say */
static int lin_from_value(lua_State *L)
{
    em__lml_model *m = em__lml_model_new(L, MT_LIN);
    em_val v = em__lua_check_val(L, 1, m->arena, "fromValue");

    if (em__lml_linear_value(m->arena, v, &m->model) != EM_OK)
        return luaL_error(L, "fromValue: %s", em_last_error());
    return 1;
}

static int lin_index(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_LIN);
    const char *k = luaL_checkstring(L, 2);
    em_val w;
    double b;

    if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL)
        return 1;
    if (em_linear_model_parts(m->model, NULL, &w, &b) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    if (strcmp(k, "weights") == 0)
        em__lua_push_val(L, w);
    else if (strcmp(k, "intercept") == 0)
        lua_pushnumber(L, b);
    else if (strcmp(k, "loss") == 0 || strcmp(k, "iterations") == 0 ||
             strcmp(k, "kind") == 0)
        em__lml_push_field(L, m->model, k);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- k-means ---- */

/* ember.ml.KMeans.train(rdd, k, {maxIterations, initializationMode,
 * initializationSteps, initialCenters, seed, epsilon}) */
static int kmeans_train(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    em_kmeans_opts o;
    const char *mode;
    em__lml_model *m;
    em_status st;

    em__lml_check_opts(L, 3);
    memset(&o, 0, sizeof(o));
    if (k < 1 || k > INT32_MAX)
        return luaL_error(L, "KMeans.train: k must be at least 1");
    o.max_iterations = (int)em__lml_opt_int(L, 3, "maxIterations", 100);
    o.init_steps = (int)em__lml_opt_int(L, 3, "initializationSteps", 2);
    o.seed = (uint64_t)em__lml_opt_int(L, 3, "seed", 0);
    o.epsilon = em__lml_opt_num(L, 3, "epsilon", 1e-4);
    if (o.epsilon == 0)
        o.epsilon = -1;
    mode = em__lml_opt_str(L, 3, "initializationMode", "k-means||");
    if (strcmp(mode, "k-means||") == 0)
        o.init_mode = EM_KMEANS_PARALLEL;
    else if (strcmp(mode, "random") == 0)
        o.init_mode = EM_KMEANS_RANDOM;
    else
        return luaL_error(L, "initializationMode: \"random\" or "
                             "\"k-means||\", not \"%s\"", mode);
    if (o.max_iterations < 1)
        return luaL_error(L, "maxIterations must be at least 1");
    node = em__lml_map_native(L, node, em__lml_fix_vector);
    m = em__lml_model_new(L, MT_KM);
    o.initial_centers = em_nil();
    if (lua_type(L, 3) == LUA_TTABLE &&
        lua_getfield(L, 3, "initialCenters") != LUA_TNIL) {
        em_val c = em__lua_check_val(L, -1, m->arena, "initialCenters"), *cs;
        const char *err = NULL;

        if (c.type != EM_ARRAY)
            return luaL_error(L, "initialCenters: an array of vectors");
        if ((cs = em_array_make(m->arena, c.len, &o.initial_centers)) ==
            NULL)
            return luaL_error(L, "out of memory");
        for (uint32_t i = 0; i < c.len && err == NULL; i++)
            err = em__lml_val_vector(m->arena, c.u.arr[i], &cs[i]);
        if (err != NULL)
            return luaL_error(L, "initialCenters: %s", err);
        lua_pop(L, 1);
    } else if (lua_type(L, 3) == LUA_TTABLE) {
        lua_pop(L, 1);
    }
    st = em_kmeans_train(node, (int)k, &o, m->arena, &m->model);
    em__lua_action_done(L, st, "KMeans.train");
    return 1;
}

/* ember.ml.KMeansModel(centers) */
static int kmeans_model_new(lua_State *L)
{
    em__lml_model *m;
    em_arena *a;
    em_val c, *cs, arr;
    const char *err = NULL;

    luaL_checktype(L, 1, LUA_TTABLE);
    m = em__lml_model_new(L, MT_KM);
    a = m->arena;
    c = em__lua_check_val(L, 1, a, "KMeansModel");
    if (c.type != EM_ARRAY)
        return luaL_error(L, "KMeansModel: an array of vectors");
    if ((cs = em_array_make(a, c.len, &arr)) == NULL)
        return luaL_error(L, "out of memory");
    for (uint32_t i = 0; i < c.len && err == NULL; i++)
        err = em__lml_val_vector(a, c.u.arr[i], &cs[i]);
    if (err != NULL)
        return luaL_error(L, "KMeansModel: %s", err);
    if (em_kmeans_model_make(arr, a, &m->model) != EM_OK)
        return luaL_error(L, "KMeansModel: %s", em_last_error());
    return 1;
}

/* model:predict(x) -> 0-based cluster index; model:predict(rdd) -> RDD */
static int km_predict(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_KM);
    em_val x;
    int64_t c;

    if (em__lml_is_rdd(L, 2)) {
        em_rdd *node = em__lml_map_native(L, em__lua_rdd_node(L, 2),
                                          em__lml_fix_vector);
        return em__lml_push_rdd(L, 2,
                        em_rdd_map(node, em_fn_of(em_kmeans_predict_op,
                                                  m->model)),
                        "predict");
    }
    x = em__lml_check_vector(L, 2, em__lua_arena(L), "predict: point");
    if (em_kmeans_predict(m->model, x, &c) != EM_OK)
        return luaL_error(L, "predict: %s", em_last_error());
    lua_pushinteger(L, (lua_Integer)c);
    return 1;
}

/* model:computeCost(rdd) -> sum of squared distances to nearest centres */
static int km_compute_cost(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_KM);
    em_rdd *node = em__lml_map_native(L, em__lua_rdd_node(L, 2),
                                      em__lml_fix_vector);
    double cost = 0;
    em_status st = em_kmeans_compute_cost(m->model, node, &cost);

    em__lua_action_done(L, st, "computeCost");
    lua_pushnumber(L, cost);
    return 1;
}

static int km_index(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_KM);
    const char *k = luaL_checkstring(L, 2);
    em_val c;

    if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL)
        return 1;
    if (em_kmeans_model_centers(m->model, &c) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    if (strcmp(k, "clusterCenters") == 0)
        em__lua_push_val(L, c);
    else if (strcmp(k, "k") == 0)
        lua_pushinteger(L, (lua_Integer)c.len);
    else if (strcmp(k, "trainingCost") == 0 || strcmp(k, "numIter") == 0)
        em__lml_push_field(L, m->model, k);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- PageRank ---- */

/* ember.graph.pageRank(edges, {resetProbability, tol, maxIter,
 * numPartitions}) -> RDD of {node, rank}, and a table of what the run did */
static int graph_page_rank(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    em_pagerank_opts o;
    em_pagerank_info info;
    em_rdd *ranks;
    double tol;

    em__lml_check_opts(L, 2);
    memset(&o, 0, sizeof(o));
    memset(&info, 0, sizeof(info));
    o.reset_probability = em__lml_opt_num(L, 2, "resetProbability", 0.15);
    tol = em__lml_opt_num(L, 2, "tol", 1e-6);
    o.tol = tol > 0 ? tol : -1.0;
    o.max_iter = (int)em__lml_opt_int(L, 2, "maxIter", 100);
    o.num_partitions = (int)em__lml_opt_int(L, 2, "numPartitions", 0);
    if (o.reset_probability <= 0 || o.reset_probability > 1)
        return luaL_error(L, "pageRank: resetProbability must be in (0, 1]");
    if (o.max_iter < 1)
        return luaL_error(L, "pageRank: maxIter must be at least 1");
    ranks = em_graph_page_rank(node, &o, &info);
    em__lua_action_done(L, ranks == NULL ? EM_EUSER : EM_OK,
                        "pageRank");
    em__lml_push_rdd(L, 1, ranks, "pageRank");
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, info.nodes);
    lua_setfield(L, -2, "nodes");
    lua_pushinteger(L, info.dangling);
    lua_setfield(L, -2, "dangling");
    lua_pushinteger(L, info.iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushnumber(L, info.last_change);
    lua_setfield(L, -2, "lastChange");
    return 2;
}

/* ---- matrix factorization ---- */

/* ember.ml.ALS.train(ratings, rank, {iterations, lambda_, blocks, seed}) */
static int als_train(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    lua_Integer rank = luaL_checkinteger(L, 2);
    em_als_opts o;
    em__lml_model *m;
    em_status st;

    em__lml_check_opts(L, 3);
    memset(&o, 0, sizeof(o));
    if (rank < 1 || rank > 100000)
        return luaL_error(L, "ALS.train: rank must be at least 1");
    o.iterations = (int)em__lml_opt_int(L, 3, "iterations", 5);
    o.lambda = em__lml_opt_num(L, 3, "lambda_", em__lml_opt_num(L, 3, "lambda", 0.01));
    o.blocks = (int)em__lml_opt_int(L, 3, "blocks", -1);
    o.seed = (uint64_t)em__lml_opt_int(L, 3, "seed", 0);
    if (o.iterations < 1)
        return luaL_error(L, "ALS.train: iterations must be at least 1");
    if (!(o.lambda >= 0))
        return luaL_error(L, "ALS.train: lambda_ must not be negative");
    if (o.lambda == 0)
        o.lambda = 1e-300; /* zero would mean the default */
    m = em__lml_model_new(L, MT_MF);
    st = em_als_train(node, (int)rank, &o, m->arena, &m->model);
    em__lua_action_done(L, st, "ALS.train");
    return 1;
}

/* ember.ml.MatrixFactorization.trainDSGD(ratings, rank, {iterations, step,
 * lambda_, d, seed}) */
static int dsgd_train(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    lua_Integer rank = luaL_checkinteger(L, 2);
    em_dsgd_opts o;
    em__lml_model *m;
    em_status st;

    em__lml_check_opts(L, 3);
    memset(&o, 0, sizeof(o));
    if (rank < 1 || rank > 100000)
        return luaL_error(L, "trainDSGD: rank must be at least 1");
    o.iterations = (int)em__lml_opt_int(L, 3, "iterations", 20);
    o.step = em__lml_opt_num(L, 3, "step", 0.05);
    o.lambda = em__lml_opt_num(L, 3, "lambda_", em__lml_opt_num(L, 3, "lambda", 0.05));
    o.d = (int)em__lml_opt_int(L, 3, "d", -1);
    o.seed = (uint64_t)em__lml_opt_int(L, 3, "seed", 0);
    if (o.iterations < 1 || !(o.step > 0) || !(o.lambda >= 0))
        return luaL_error(L, "trainDSGD: iterations >= 1, step > 0 and "
                             "lambda_ >= 0");
    if (o.lambda == 0)
        o.lambda = 1e-300;
    m = em__lml_model_new(L, MT_MF);
    st = em_dsgd_train(node, (int)rank, &o, m->arena, &m->model);
    em__lua_action_done(L, st, "trainDSGD");
    return 1;
}

/* model:predict(user, item) -> rating; model:predict(rdd of {user, item})
 * -> RDD of {user, item, rating} (pyspark's predictAll) */
static int mf_predict(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_MF);
    em_arena *a;
    em_val u, i;
    double r;

    if (em__lml_is_rdd(L, 2))
        return em__lml_push_rdd(L, 2,
                        em_rdd_map(em__lua_rdd_node(L, 2),
                                   em_fn_of(em_mf_predict_op, m->model)),
                        "predict");
    a = em__lua_arena(L);
    u = em__lua_check_val(L, 2, a, "predict: user");
    i = em__lua_check_val(L, 3, a, "predict: item");
    if (em_mf_predict(m->model, u, i, &r) != EM_OK)
        return luaL_error(L, "predict: %s", em_last_error());
    lua_pushnumber(L, r);
    return 1;
}

static int mf_parts(lua_State *L, int which)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_MF);
    em_val f[2];
    int rank;

    if (em_mf_model_parts(m->model, &rank, &f[0], &f[1]) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    if (which < 0)
        lua_pushinteger(L, rank);
    else
        em__lua_push_val(L, f[which]);
    return 1;
}

static int mf_user_features(lua_State *L)
{
    return mf_parts(L, 0);
}

static int mf_product_features(lua_State *L)
{
    return mf_parts(L, 1);
}

/* model:rmse(rdd of {user, item, rating}) -> rmse, skipped */
static int mf_rmse(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_MF);
    double rmse = 0;
    int64_t skipped = 0;
    em_status st = em_mf_rmse(m->model, em__lua_rdd_node(L, 2), &rmse,
                              &skipped);

    em__lua_action_done(L, st, "rmse");
    lua_pushnumber(L, rmse);
    lua_pushinteger(L, skipped);
    return 2;
}

static int mf_index(lua_State *L)
{
    const char *k;

    luaL_checkudata(L, 1, MT_MF);
    k = luaL_checkstring(L, 2);
    if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (strcmp(k, "rank") == 0)
        return mf_parts(L, -1);
    lua_pushnil(L);
    return 1;
}

/* ---- registration ---- */

static const luaL_Reg lin_methods[] = {
    {"predict", lin_predict},
    {"predictProbability", lin_predict_probability},
    {"save", lin_save},
    {"value", em__lml_model_value},
    {NULL, NULL},
};

static const luaL_Reg km_methods[] = {
    {"predict", km_predict},
    {"computeCost", km_compute_cost},
    {"value", em__lml_model_value},
    {NULL, NULL},
};

static const luaL_Reg mf_methods[] = {
    {"predict", mf_predict},
    {"userFeatures", mf_user_features},
    {"productFeatures", mf_product_features},
    {"rmse", mf_rmse},
    {"value", em__lml_model_value},
    {NULL, NULL},
};

static const luaL_Reg logreg_fns[] = {{"train", logreg_train}, {NULL, NULL}};
static const luaL_Reg linreg_fns[] = {{"train", linreg_train}, {NULL, NULL}};
static const luaL_Reg perceptron_fns[] = {{"train", perceptron_train},
                                          {NULL, NULL}};
static const luaL_Reg linm_fns[] = {{"load", lin_load},
                                    {"fromValue", lin_from_value},
                                    {NULL, NULL}};
static const luaL_Reg kmeans_fns[] = {{"train", kmeans_train}, {NULL, NULL}};
static const luaL_Reg als_fns[] = {{"train", als_train}, {NULL, NULL}};
static const luaL_Reg mf_fns[] = {{"trainDSGD", dsgd_train}, {NULL, NULL}};
static const luaL_Reg graph_fns[] = {{"pageRank", graph_page_rank},
                                     {NULL, NULL}};

void em__lua_open_ml7(lua_State *L)
{
    int mod = lua_gettop(L);

    em__lml_model_class(L, MT_LIN, lin_methods, lin_index);
    em__lml_model_class(L, MT_KM, km_methods, km_index);
    em__lml_model_class(L, MT_MF, mf_methods, mf_index);

    if (lua_getfield(L, mod, "ml") == LUA_TTABLE) {
        em__lml_set_lib(L, "LogisticRegression", logreg_fns);
        em__lml_set_lib(L, "LinearRegression", linreg_fns);
        em__lml_set_lib(L, "LogisticRegressionModel", linm_fns);
        em__lml_set_lib(L, "LinearRegressionModel", linm_fns);
        em__lml_set_lib(L, "Perceptron", perceptron_fns);
        em__lml_set_lib(L, "PerceptronModel", linm_fns);
        em__lml_set_lib(L, "KMeans", kmeans_fns);
        lua_pushcfunction(L, kmeans_model_new);
        lua_setfield(L, -2, "KMeansModel");
        em__lml_set_lib(L, "ALS", als_fns);
        em__lml_set_lib(L, "MatrixFactorization", mf_fns);
    }
    lua_pop(L, 1);

    luaL_newlib(L, graph_fns);
    lua_setfield(L, mod, "graph");
}
