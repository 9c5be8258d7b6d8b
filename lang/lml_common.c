/* Helpers shared by the Lua bindings of the learning library (lml.c,
 * lml7.c, lml_nn.c): reading options, vectors and points, wrapping RDDs,
 * model objects. */
#include "lml_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ember/ml.h"

/* The value of key `key` in the map m, or NULL. */
const em_val *em__lml_map_get(em_val m, const char *key)
{
    size_t n = strlen(key);

    for (uint32_t i = 0; i < m.len; i++) {
        const em_val *k = &m.u.map[2 * i];
        if (k->type == EM_STR && k->len == n && memcmp(k->u.s, key, n) == 0)
            return &m.u.map[2 * i + 1];
    }
    return NULL;
}

/* v as a vector in `a`: vectors stay; an array of numbers becomes dense; a
 * map {dim = n, indices = {...} (0-based), values = {...}} sparse. NULL on
 * success, else what is wrong. */
const char *em__lml_val_vector(em_arena *a, em_val v, em_val *out)
{
    if (v.type == EM_VEC || v.type == EM_SPVEC) {
        *out = v;
        return NULL;
    }
    if (v.type == EM_ARRAY) {
        double *x = em_vec_make(a, v.len, out);
        if (x == NULL)
            return "out of memory";
        for (uint32_t i = 0; i < v.len; i++)
            if (!em_val_as_float(v.u.arr[i], &x[i]))
                return "a vector's elements must be numbers";
        return NULL;
    }
    if (v.type == EM_MAP) {
        const em_val *dim = em__lml_map_get(v, "dim"),
                     *ix = em__lml_map_get(v, "indices");
        const em_val *vals = em__lml_map_get(v, "values");
        uint32_t *idx;
        double *x;
        int64_t d, j;

        if (dim == NULL || ix == NULL || vals == NULL ||
            !em_val_as_int(*dim, &d) || ix->type != EM_ARRAY ||
            vals->type != EM_ARRAY || ix->len != vals->len)
            return "a sparse vector is {dim = n, indices = {...}, values "
                   "= {...}} with as many indices as values";
        idx = em_arena_alloc(a, sizeof(*idx) * (ix->len + 1));
        x = em_arena_alloc(a, sizeof(*x) * (ix->len + 1));
        if (idx == NULL || x == NULL)
            return "out of memory";
        for (uint32_t i = 0; i < ix->len; i++) {
            if (!em_val_as_int(ix->u.arr[i], &j) || j < 0 || j >= d ||
                j > UINT32_MAX || !em_val_as_float(vals->u.arr[i], &x[i]))
                return "a sparse vector's indices must be integers in "
                       "[0, dim) and its values numbers";
            idx[i] = (uint32_t)j;
        }
        if (em_spvec_make(a, d, idx, x, ix->len, out) != EM_OK)
            return "a sparse vector's indices must increase";
        return NULL;
    }
    return "a vector must be an array of numbers or {dim, indices, "
           "values}";
}

/* The Lua value at idx as a vector in `a`; raises an error naming what. */
em_val em__lml_check_vector(lua_State *L, int idx, em_arena *a,
                            const char *what)
{
    em_val v = em__lua_check_val(L, idx, a, what), out;
    const char *err = em__lml_val_vector(a, v, &out);

    if (err != NULL)
        luaL_error(L, "%s: %s", what, err);
    return out;
}

/* A record [x, features] with the features made a vector (map function). */
em_status em__lml_fix_pair(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    em_val rec = args[0], *items, feats;
    const char *err;

    (void)env;
    (void)nargs;
    if (rec.type != EM_ARRAY || rec.len != 2)
        return em_task_fail(t,
                            "expected a record {label or id, vector}, "
                            "got a %s",
                            em_type_name(rec.type));
    if ((err = em__lml_val_vector(a, rec.u.arr[1], &feats)) != NULL)
        return em_task_fail(t, "%s", err);
    if ((items = em_array_make(a, 2, out)) == NULL)
        return em_task_fail(t, "out of memory");
    items[0] = rec.u.arr[0];
    items[1] = feats;
    return EM_OK;
}

/* A record that is a vector made a vector (map function). */
em_status em__lml_fix_vector(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    const char *err;

    (void)env;
    (void)nargs;
    if ((err = em__lml_val_vector(em_task_arena(t), args[0], out)) != NULL)
        return em_task_fail(t, "%s", err);
    return EM_OK;
}

/* A record that is a vector, or a point {label, vector}, made a vector or
 * a point with a vector (map function, before a prediction). */
em_status em__lml_fix_features(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_val rec = args[0];

    if (rec.type == EM_ARRAY && rec.len == 2 &&
        rec.u.arr[1].type >= EM_ARRAY)
        return em__lml_fix_pair(t, env, args, nargs, out);
    return em__lml_fix_vector(t, env, args, nargs, out);
}

em_rdd *em__lml_map_native(lua_State *L, em_rdd *node, em_fn_ptr f)
{
    em_rdd *r = em_rdd_map(node, EM_FN(f));

    if (r == NULL)
        em__lua_fail(L, "map");
    return r;
}

/* Pushes the RDD node made from the RDD object at rdd_idx, or fails. */
int em__lml_push_rdd(lua_State *L, int rdd_idx, em_rdd *node, const char *what)
{
    if (node == NULL)
        return em__lua_fail(L, what);
    em__lua_push_rdd(L, rdd_idx, node);
    return 1;
}

bool em__lml_is_rdd(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, EM_LUA_RDD) != NULL;
}

/* A field of the options table at idx as a number, or dflt. */
double em__lml_opt_num(lua_State *L, int idx, const char *k, double dflt)
{
    double x = dflt;

    if (lua_type(L, idx) != LUA_TTABLE)
        return dflt;
    if (lua_getfield(L, idx, k) != LUA_TNIL)
        x = luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return x;
}

/* An integer field of the options table at idx, or dflt. */
int64_t em__lml_opt_int(lua_State *L, int idx, const char *k, int64_t dflt)
{
    int64_t x = dflt;

    if (lua_type(L, idx) != LUA_TTABLE)
        return dflt;
    if (lua_getfield(L, idx, k) != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            luaL_error(L, "option %s: an integer expected", k);
        x = lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return x;
}

bool em__lml_opt_bool(lua_State *L, int idx, const char *k, bool dflt)
{
    bool b = dflt;

    if (lua_type(L, idx) != LUA_TTABLE)
        return dflt;
    if (lua_getfield(L, idx, k) != LUA_TNIL)
        b = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return b;
}

/* A string option, or dflt (NULL allowed); the string stays alive as long
 * as the options table holds it. */
const char *em__lml_opt_str(lua_State *L, int idx, const char *k,
                            const char *dflt)
{
    const char *s = dflt;

    if (lua_type(L, idx) != LUA_TTABLE)
        return dflt;
    if (lua_getfield(L, idx, k) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "option %s: a string expected", k);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1);
    return s;
}

void em__lml_check_opts(lua_State *L, int idx)
{
    if (!lua_isnoneornil(L, idx))
        luaL_checktype(L, idx, LUA_TTABLE);
}

/* ---- model objects: an arena and the model value in it ---- */

em__lml_model *em__lml_model_new(lua_State *L, const char *mt)
{
    em__lml_model *m = lua_newuserdatauv(L, sizeof(*m), 1);

    memset(m, 0, sizeof(*m));
    luaL_setmetatable(L, mt);
    if ((m->arena = em_arena_create()) == NULL)
        luaL_error(L, "out of memory");
    return m;
}

static int model_gc(lua_State *L)
{
    em__lml_model *m = lua_touserdata(L, 1);

    if (m != NULL) {
        em_arena_destroy(m->arena);
        m->arena = NULL;
    }
    return 0;
}

static int model_tostring(lua_State *L)
{
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__name");
    lua_pushfstring(L, "%s(%p)", lua_tostring(L, -1) + strlen("ember."),
                    lua_topointer(L, 1));
    return 1;
}

/* Pushes the field `k` of the map model value, or nil. */
void em__lml_push_field(lua_State *L, em_val model, const char *k)
{
    const em_val *f = model.type == EM_MAP ? em__lml_map_get(model, k) : NULL;

    if (f == NULL)
        lua_pushnil(L);
    else
        em__lua_push_val(L, *f);
}

/* model:value(): the model's value form, a table. */
int em__lml_model_value(lua_State *L)
{
    em__lml_model *m = lua_touserdata(L, 1);

    em__lua_push_val(L, m->model);
    return 1;
}

void em__lml_model_class(lua_State *L, const char *mt,
                         const luaL_Reg *methods, lua_CFunction index_fn)
{
    if (!luaL_newmetatable(L, mt)) {
        lua_pop(L, 1);
        return;
    }
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushcclosure(L, index_fn, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, model_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, model_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

/* Sets t[name] = a table of the given functions, for t at the top. */
void em__lml_set_lib(lua_State *L, const char *name, const luaL_Reg *fns)
{
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, -2, name);
}

/* ---- the shared optimizers' options ---- */

/* The index in names (NULL-terminated) of the string option k, or dflt;
 * an error lists the choices. */
static int opt_choice(lua_State *L, int idx, const char *k,
                      const char *const *names, int dflt, const char *choices)
{
    const char *s = em__lml_opt_str(L, idx, k, names[dflt]);

    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return luaL_error(L, "%s: %s, not \"%s\"", k, choices, s);
}

em_reg em__lml_opt_reg(lua_State *L, int idx, em_reg dflt)
{
    /* in the order of em_reg */
    static const char *const names[] = {"none", "l2", "l1", NULL};

    return (em_reg)opt_choice(L, idx, "regType", names, (int)dflt,
                              "\"l1\", \"l2\" or \"none\"");
}

em_optim_kind em__lml_opt_optimizer(lua_State *L, int idx, em_optim_kind dflt)
{
    const char *s = em__lml_opt_str(L, idx, "optimizer",
                                    em_optim_kind_name(dflt));
    em_optim_kind kind;

    if (em_optim_kind_parse(s, &kind) != EM_OK)
        luaL_error(L, "optimizer: sgd, momentum, nesterov, adagrad, rmsprop "
                      "or adam, not \"%s\"", s);
    return kind;
}

em_schedule em__lml_opt_schedule(lua_State *L, int idx)
{
    /* in the order of em_schedule */
    static const char *const names[] = {"invsqrt", "constant", NULL};

    return (em_schedule)opt_choice(L, idx, "schedule", names, 0,
                                   "invsqrt or constant");
}

int em__lml_predict(lua_State *L, const char *mt,
                    em_status (*predict)(em_val, em_val, double *),
                    em_fn_ptr predict_op)
{
    em__lml_model *m = luaL_checkudata(L, 1, mt);
    em_val x;
    double y;

    if (em__lml_is_rdd(L, 2)) {
        em_rdd *node = em__lml_map_native(L, em__lua_rdd_node(L, 2),
                                          em__lml_fix_features);
        return em__lml_push_rdd(L, 2,
                                em_rdd_map(node, em_fn_of(predict_op,
                                                          m->model)),
                                "predict");
    }
    x = em__lml_check_vector(L, 2, em__lua_arena(L), "predict: features");
    if (predict(m->model, x, &y) != EM_OK)
        return luaL_error(L, "predict: %s", em_last_error());
    lua_pushnumber(L, y);
    return 1;
}
