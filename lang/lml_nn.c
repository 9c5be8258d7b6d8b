/* ember.ad and ember.ml.MLP: reverse-mode autodiff and the multilayer
 * perceptron of include/ember/ml_ad.h in Lua. A tape (ember.ad.Tape())
 * records nodes; nodes are userdata with + - * / and unary minus, and the
 * functions of ember.ad, which are also their methods. Values go in and
 * come out as a number (1 x 1), an array of numbers (a column vector) or an
 * array of rows (a matrix). docs/ml.md, "Lua"; docs/shell.md lists the
 * names.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ember/ml.h"
#include "lml_int.h"

#define MT_TAPE "ember.ad.Tape"
#define MT_NODE "ember.ad.Node"
#define MT_MLP "ember.MLPModel"

#define MAX_LAYERS 64

typedef struct ltape {
    em_ad *t;
    char err[256]; /* the first failed operation's message: the error is
                      sticky, later operations fail with it too */
} ltape;

typedef struct lnode {
    ltape *tape; /* kept alive by the node's user value */
    em_ad_node n;
} lnode;

/* ---- values in and out ---- */

/* The number, array of numbers or array of rows at idx as a matrix in a
 * scratch userdata pushed on the stack. */
static double *check_matrix(lua_State *L, int idx, size_t *rows_out,
                            size_t *cols_out)
{
    lua_Integer rows, cols = 1;
    bool is_matrix;
    double *v;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TNUMBER) {
        v = lua_newuserdatauv(L, sizeof(*v), 0);
        *v = lua_tonumber(L, idx);
        *rows_out = *cols_out = 1;
        return v;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    rows = luaL_len(L, idx);
    is_matrix = lua_geti(L, idx, 1) == LUA_TTABLE;
    if (is_matrix)
        cols = luaL_len(L, -1);
    lua_pop(L, 1);
    if (rows < 1 || cols < 1 || (uint64_t)rows > INT32_MAX / (uint64_t)cols)
        luaL_error(L, "ember.ad: a value is a number, an array of numbers or "
                      "an array of rows, not empty");
    v = lua_newuserdatauv(L, (size_t)(rows * cols) * sizeof(*v), 0);
    for (lua_Integer i = 1; i <= rows; i++) {
        lua_geti(L, idx, i);
        if (is_matrix && (!lua_istable(L, -1) || luaL_len(L, -1) != cols))
            luaL_error(L, "ember.ad: row %d of a matrix with %d columns "
                          "is not an array of %d numbers",
                       (int)i, (int)cols, (int)cols);
        for (lua_Integer j = 1; j <= cols; j++) {
            if (is_matrix)
                lua_geti(L, -1, j);
            if (!lua_isnumber(L, -1))
                luaL_error(L, "ember.ad: entry %d of a value is not a number",
                           (int)((i - 1) * cols + j));
            v[(i - 1) * cols + j - 1] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        if (is_matrix)
            lua_pop(L, 1);
    }
    *rows_out = (size_t)rows;
    *cols_out = (size_t)cols;
    return v;
}

/* Pushes rows x cols doubles as check_matrix reads them: a number for
 * 1 x 1, an array for a column, else an array of rows. */
static void push_matrix(lua_State *L, size_t rows, size_t cols,
                        const double *v)
{
    if (rows == 1 && cols == 1) {
        lua_pushnumber(L, v[0]);
        return;
    }
    lua_createtable(L, (int)rows, 0);
    for (size_t i = 0; i < rows; i++) {
        if (cols == 1) {
            lua_pushnumber(L, v[i]);
        } else {
            lua_createtable(L, (int)cols, 0);
            for (size_t j = 0; j < cols; j++) {
                lua_pushnumber(L, v[i * cols + j]);
                lua_rawseti(L, -2, (lua_Integer)j + 1);
            }
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* ---- tapes and nodes ---- */

static int tape_new(lua_State *L)
{
    ltape *tp = lua_newuserdatauv(L, sizeof(*tp), 0);

    memset(tp, 0, sizeof(*tp));
    luaL_setmetatable(L, MT_TAPE);
    if ((tp->t = em_ad_create()) == NULL)
        return luaL_error(L, "ember.ad.Tape: out of memory");
    return 1;
}

static int tape_gc(lua_State *L)
{
    ltape *tp = lua_touserdata(L, 1);

    em_ad_destroy(tp->t);
    tp->t = NULL;
    return 0;
}

/* Raises the tape's error, recording the message of the first one. */
static int tape_fail(lua_State *L, ltape *tp)
{
    if (tp->err[0] == '\0')
        snprintf(tp->err, sizeof(tp->err), "%s", em_last_error());
    return luaL_error(L, "%s", tp->err);
}

/* Pushes node n of the tape userdata at tidx, or raises the tape's error
 * when the operation that made n failed. */
static int push_node(lua_State *L, int tidx, em_ad_node n)
{
    ltape *tp = lua_touserdata(L, tidx);
    lnode *nd;

    if (n == EM_AD_NONE)
        return tape_fail(L, tp);
    tidx = lua_absindex(L, tidx);
    nd = lua_newuserdatauv(L, sizeof(*nd), 1);
    nd->tape = tp;
    nd->n = n;
    lua_pushvalue(L, tidx);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, MT_NODE);
    return 1;
}

/* tape:const(v) and tape:param(v): leaves holding a copy of v. Both have
 * a gradient after backward; param says which leaves are differentiated. */
static int tape_leaf(lua_State *L, bool is_param)
{
    ltape *tp = luaL_checkudata(L, 1, MT_TAPE);
    size_t rows, cols;
    const double *v = check_matrix(L, 2, &rows, &cols);

    return push_node(L, 1, is_param ? em_ad_param(tp->t, rows, cols, v, NULL)
                                    : em_ad_const(tp->t, rows, cols, v));
}

static int tape_const(lua_State *L)
{
    return tape_leaf(L, false);
}

static int tape_param(lua_State *L)
{
    return tape_leaf(L, true);
}

static lnode *check_node(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, MT_NODE);
}

/* Pushes the tape of the node at idx; returns its em_ad. */
static em_ad *push_tape(lua_State *L, int idx)
{
    lnode *nd = check_node(L, idx);

    lua_getiuservalue(L, idx, 1);
    return nd->tape->t;
}

/* The nodes at 1 and 2, which must share a tape; pushes the tape. */
static em_ad *check_pair(lua_State *L, em_ad_node *a, em_ad_node *b)
{
    lnode *x = check_node(L, 1), *y = check_node(L, 2);

    if (x->tape != y->tape)
        luaL_error(L, "ember.ad: the operands are nodes of different tapes");
    *a = x->n;
    *b = y->n;
    return push_tape(L, 1);
}

/* The scalar node s as a rows x cols node of copies of it: a column of
 * ones times s times a row of ones, so that its gradient is the sum. */
static em_ad_node broadcast(lua_State *L, em_ad *t, em_ad_node s,
                            size_t rows, size_t cols)
{
    size_t n = rows > cols ? rows : cols;
    double *ones = lua_newuserdatauv(L, n * sizeof(*ones), 0);
    em_ad_node col, row;

    for (size_t i = 0; i < n; i++)
        ones[i] = 1;
    col = em_ad_const(t, rows, 1, ones);
    row = em_ad_const(t, 1, cols, ones);
    lua_pop(L, 1);
    return em_ad_matmul(t, em_ad_matmul(t, col, s), row);
}

/* The operands at 1 and 2 of + - *, either of which may be a number (a
 * scalar constant); a scalar operand of a non-scalar one is broadcast to
 * its shape. Pushes the tape. */
static em_ad *check_operands(lua_State *L, em_ad_node *a, em_ad_node *b)
{
    int num = lua_type(L, 1) == LUA_TNUMBER ? 1
              : lua_type(L, 2) == LUA_TNUMBER ? 2 : 0;
    size_t ra, ca, rb, cb;
    em_ad *t;

    if (num == 0) {
        t = check_pair(L, a, b);
    } else {
        lnode *other = check_node(L, 3 - num);

        t = push_tape(L, 3 - num);
        *(num == 1 ? a : b) = em_ad_scalar(t, lua_tonumber(L, num));
        *(num == 1 ? b : a) = other->n;
    }
    em_ad_shape(t, *a, &ra, &ca);
    em_ad_shape(t, *b, &rb, &cb);
    if (ra * ca == 1 && rb * cb > 1)
        *a = broadcast(L, t, *a, rb, cb);
    else if (rb * cb == 1 && ra * ca > 1)
        *b = broadcast(L, t, *b, ra, ca);
    return t;
}

static int node_add(lua_State *L)
{
    em_ad_node a, b;
    em_ad *t = check_operands(L, &a, &b);

    return push_node(L, -1, em_ad_add(t, a, b));
}

static int node_sub(lua_State *L)
{
    em_ad_node a, b;
    em_ad *t = check_operands(L, &a, &b);

    return push_node(L, -1, em_ad_sub(t, a, b));
}

/* a * b: elementwise; a number scales. */
static int node_mul(lua_State *L)
{
    em_ad_node a, b;
    em_ad *t;
    int num = lua_type(L, 1) == LUA_TNUMBER ? 1
              : lua_type(L, 2) == LUA_TNUMBER ? 2 : 0;

    if (num != 0) {
        double c = lua_tonumber(L, num);
        lnode *x = check_node(L, 3 - num);

        t = push_tape(L, 3 - num);
        return push_node(L, -1, em_ad_scale(t, x->n, c));
    }
    t = check_operands(L, &a, &b);
    return push_node(L, -1, em_ad_mul(t, a, b));
}

/* a / c for a number c. */
static int node_div(lua_State *L)
{
    lnode *x = check_node(L, 1);
    double c = luaL_checknumber(L, 2);
    em_ad *t = push_tape(L, 1);

    return push_node(L, -1, em_ad_scale(t, x->n, 1.0 / c));
}

static int node_unm(lua_State *L)
{
    lnode *x = check_node(L, 1);
    em_ad *t = push_tape(L, 1);

    return push_node(L, -1, em_ad_scale(t, x->n, -1.0));
}

typedef em_ad_node (*unary_fn)(em_ad *t, em_ad_node a);
typedef em_ad_node (*binary_fn)(em_ad *t, em_ad_node a, em_ad_node b);

static int unary(lua_State *L, unary_fn f)
{
    lnode *x = check_node(L, 1);
    em_ad *t = push_tape(L, 1);

    return push_node(L, -1, f(t, x->n));
}

static int binary(lua_State *L, binary_fn f)
{
    em_ad_node a, b;
    em_ad *t = check_pair(L, &a, &b);

    return push_node(L, -1, f(t, a, b));
}

static int ad_matmul(lua_State *L)
{
    return binary(L, em_ad_matmul);
}

static int ad_dot(lua_State *L)
{
    return binary(L, em_ad_dot);
}

static int ad_add_rows(lua_State *L)
{
    return binary(L, em_ad_add_rows);
}

static int ad_sum(lua_State *L)
{
    return unary(L, em_ad_sum);
}

static int ad_mean(lua_State *L)
{
    return unary(L, em_ad_mean);
}

static int ad_exp(lua_State *L)
{
    return unary(L, em_ad_exp);
}

static int ad_log(lua_State *L)
{
    return unary(L, em_ad_log);
}

static int ad_tanh(lua_State *L)
{
    return unary(L, em_ad_tanh);
}

static int ad_sigmoid(lua_State *L)
{
    return unary(L, em_ad_sigmoid);
}

static int ad_relu(lua_State *L)
{
    return unary(L, em_ad_relu);
}

/* softmaxXent(logits, labels): labels an array of classes 0 .. c - 1, one
 * per row of logits (or one for a column of c logits). */
static int ad_softmax_xent(lua_State *L)
{
    lnode *x = check_node(L, 1);
    lua_Integer n;
    int64_t *labels;
    em_ad *t;

    luaL_checktype(L, 2, LUA_TTABLE);
    n = luaL_len(L, 2);
    if (n < 1 || n > INT32_MAX)
        return luaL_error(L, "softmaxXent: labels must be a non-empty array");
    labels = lua_newuserdatauv(L, (size_t)n * sizeof(*labels), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);
        if (!lua_isinteger(L, -1))
            return luaL_error(L, "softmaxXent: label %d is not an integer",
                              (int)i);
        labels[i - 1] = lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    t = push_tape(L, 1);
    return push_node(L, -1, em_ad_softmax_xent(t, x->n, labels, (size_t)n));
}

/* node:backward(): the gradients of this scalar node. */
static int node_backward(lua_State *L)
{
    lnode *x = check_node(L, 1);

    if (em_ad_status(x->tape->t) != EM_OK)
        return tape_fail(L, x->tape);
    if (em_ad_backward(x->tape->t, x->n) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    lua_settop(L, 1);
    return 1;
}

static int node_value(lua_State *L)
{
    lnode *x = check_node(L, 1);
    size_t rows, cols;

    em_ad_shape(x->tape->t, x->n, &rows, &cols);
    push_matrix(L, rows, cols, em_ad_value(x->tape->t, x->n));
    return 1;
}

/* node:grad(): the gradient of the last backward's root with respect to
 * the node, or nil when that backward did not reach it. */
static int node_grad(lua_State *L)
{
    lnode *x = check_node(L, 1);
    const double *g = em_ad_grad(x->tape->t, x->n);
    size_t rows, cols;

    if (g == NULL) {
        lua_pushnil(L);
        return 1;
    }
    em_ad_shape(x->tape->t, x->n, &rows, &cols);
    push_matrix(L, rows, cols, g);
    return 1;
}

/* node:shape() -> rows, cols */
static int node_shape(lua_State *L)
{
    lnode *x = check_node(L, 1);
    size_t rows, cols;

    em_ad_shape(x->tape->t, x->n, &rows, &cols);
    lua_pushinteger(L, (lua_Integer)rows);
    lua_pushinteger(L, (lua_Integer)cols);
    return 2;
}

static int node_tostring(lua_State *L)
{
    lnode *x = check_node(L, 1);
    size_t rows, cols;

    em_ad_shape(x->tape->t, x->n, &rows, &cols);
    lua_pushfstring(L, "ad.Node(%d x %d)", (int)rows, (int)cols);
    return 1;
}

/* ---- the multilayer perceptron ---- */

/* The layers option: an array of 2 to MAX_LAYERS positive sizes. */
static size_t check_layers(lua_State *L, int idx, int *layers)
{
    lua_Integer n;

    if (lua_getfield(L, idx, "layers") != LUA_TTABLE)
        luaL_error(L, "MLP.train: option layers (the input size, hidden "
                      "sizes, classes) needed");
    n = luaL_len(L, -1);
    if (n < 2 || n > MAX_LAYERS)
        luaL_error(L, "MLP.train: 2 to %d layers", MAX_LAYERS);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
            lua_tointeger(L, -1) > INT32_MAX)
            luaL_error(L, "MLP.train: layer %d is not a positive integer",
                       (int)i);
        layers[i - 1] = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return (size_t)n;
}

/* The batch size from blockSize, or from miniBatchFraction of the count
 * of points; 0 (the default) when neither is given. */
static int check_batch(lua_State *L, int idx, em_rdd *points)
{
    int64_t block = em__lml_opt_int(L, idx, "blockSize", 0), count;
    double frac = em__lml_opt_num(L, idx, "miniBatchFraction", 0);

    if (block < 0 || block > INT32_MAX || !(frac >= 0 && frac <= 1))
        return luaL_error(L, "MLP.train: blockSize must be positive and "
                             "miniBatchFraction in (0, 1]");
    if (block > 0 || frac == 0)
        return (int)block;
    em__lua_action_done(L, em_rdd_count(points, &count), "MLP.train");
    return (int)fmin(fmax(1, ceil(frac * (double)count)), INT32_MAX);
}

static void check_mlp_opts(lua_State *L, int idx, em_mlp_opts *o)
{
    const char *act = em__lml_opt_str(L, idx, "activation", "tanh");

    if (strcmp(act, "relu") == 0)
        o->activation = EM_MLP_RELU;
    else if (strcmp(act, "tanh") == 0)
        o->activation = EM_MLP_TANH;
    else
        luaL_error(L, "activation: tanh or relu, not \"%s\"", act);
    o->optim.kind = em__lml_opt_optimizer(L, idx, EM_OPTIM_SGD);
    o->optim.step = em__lml_opt_num(L, idx, "step", 1.0);
    o->optim.schedule = em__lml_opt_schedule(L, idx);
    o->optim.reg = em__lml_opt_reg(L, idx, EM_REG_NONE);
    o->optim.reg_param = em__lml_opt_num(L, idx, "regParam", 0);
    o->optim.momentum = em__lml_opt_num(L, idx, "momentum", 0.9);
    o->epochs = (int)em__lml_opt_int(L, idx, "iterations", 100);
    o->seed = (uint64_t)em__lml_opt_int(L, idx, "seed", 0);
    o->tree_depth = (int)em__lml_opt_int(L, idx, "treeDepth", 2);
    act = em__lml_opt_str(L, idx, "mode", "batch");
    if (strcmp(act, "allreduce") == 0)
        o->mode = EM_MLP_ALLREDUCE;
    else if (strcmp(act, "ps") == 0)
        o->mode = EM_MLP_PS;
    else if (strcmp(act, "batch") != 0)
        luaL_error(L, "mode: batch, allreduce or ps, not \"%s\"", act);
    o->staleness = (int)em__lml_opt_int(L, idx, "staleness", 0);
    if (o->epochs < 1 || o->tree_depth < 1 || !(o->optim.step > 0) ||
        !(o->optim.reg_param >= 0))
        luaL_error(L, "MLP.train: iterations and treeDepth must be at least "
                      "1, step positive and regParam not negative");
}

/* ember.ml.MLP.train(data, {layers, activation, optimizer, step,
 * schedule, regParam, regType, momentum, iterations, blockSize or
 * miniBatchFraction, seed, initialWeights, treeDepth, mode,
 * staleness}) */
static int mlp_train(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    int layers[MAX_LAYERS];
    em_mlp_opts o;
    em__lml_model *m;
    em_val w0;
    em_status st;

    luaL_checktype(L, 2, LUA_TTABLE);
    memset(&o, 0, sizeof(o));
    o.layers = layers;
    o.num_layers = check_layers(L, 2, layers);
    check_mlp_opts(L, 2, &o);
    node = em__lml_map_native(L, node, em__lml_fix_pair);
    m = em__lml_model_new(L, MT_MLP);
    if (lua_getfield(L, 2, "initialWeights") != LUA_TNIL) {
        w0 = em__lml_check_vector(L, -1, m->arena, "initialWeights");
        if (w0.type != EM_VEC ||
            w0.len != em_mlp_num_weights(layers, o.num_layers))
            return luaL_error(L, "initialWeights: %d numbers for these "
                                 "layers", (int)em_mlp_num_weights(
                                               layers, o.num_layers));
        o.initial_weights = w0.u.vec;
    }
    lua_pop(L, 1);
    o.batch_size = check_batch(L, 2, node);
    if ((st = em_rdd_cache(node)) == EM_OK) {
        st = em_mlp_train(node, &o, m->arena, &m->model);
        em_rdd_unpersist(node);
    }
    em__lua_action_done(L, st, "MLP.train");
    return 1;
}

/* model:predict(x) -> class (a float, as pyspark's); model:predict(rdd)
 * -> RDD of classes */
static int mlp_predict(lua_State *L)
{
    return em__lml_predict(L, MT_MLP, em_mlp_predict, em_mlp_predict_op);
}

static int mlp_index(lua_State *L)
{
    em__lml_model *m = luaL_checkudata(L, 1, MT_MLP);
    const char *k = luaL_checkstring(L, 2);

    if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL)
        return 1;
    if (strcmp(k, "weights") == 0 || strcmp(k, "layers") == 0 ||
        strcmp(k, "activation") == 0 || strcmp(k, "loss") == 0 ||
        strcmp(k, "epochs") == 0)
        em__lml_push_field(L, m->model, k);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- registration ---- */

/* The operations: functions of ember.ad and methods of nodes. */
static const luaL_Reg ad_fns[] = {
    {"matmul", ad_matmul},
    {"dot", ad_dot},
    {"addRows", ad_add_rows},
    {"sum", ad_sum},
    {"mean", ad_mean},
    {"exp", ad_exp},
    {"log", ad_log},
    {"tanh", ad_tanh},
    {"sigmoid", ad_sigmoid},
    {"relu", ad_relu},
    {"softmaxXent", ad_softmax_xent},
    {NULL, NULL},
};

static const luaL_Reg node_methods[] = {
    {"backward", node_backward},
    {"value", node_value},
    {"grad", node_grad},
    {"shape", node_shape},
    {NULL, NULL},
};

static const luaL_Reg node_meta[] = {
    {"__add", node_add},
    {"__sub", node_sub},
    {"__mul", node_mul},
    {"__div", node_div},
    {"__unm", node_unm},
    {"__tostring", node_tostring},
    {NULL, NULL},
};

static const luaL_Reg tape_methods[] = {
    {"const", tape_const},
    {"param", tape_param},
    {NULL, NULL},
};

static const luaL_Reg mlp_methods[] = {
    {"predict", mlp_predict},
    {"value", em__lml_model_value},
    {NULL, NULL},
};

static const luaL_Reg mlp_fns[] = {{"train", mlp_train}, {NULL, NULL}};

void em__lua_open_nn(lua_State *L)
{
    int mod = lua_gettop(L);

    if (luaL_newmetatable(L, MT_TAPE)) {
        luaL_newlib(L, tape_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, tape_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, MT_NODE)) {
        luaL_setfuncs(L, node_meta, 0);
        luaL_newlib(L, node_methods);
        luaL_setfuncs(L, ad_fns, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    em__lml_model_class(L, MT_MLP, mlp_methods, mlp_index);

    luaL_newlib(L, ad_fns);
    lua_pushcfunction(L, tape_new);
    lua_setfield(L, -2, "Tape");
    lua_setfield(L, mod, "ad");
    if (lua_getfield(L, mod, "ml") == LUA_TTABLE)
        em__lml_set_lib(L, "MLP", mlp_fns);
    lua_pop(L, 1);
}
