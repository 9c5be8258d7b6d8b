/* Helpers shared by the Lua bindings of the learning library (lml.c,
 * lml7.c): reading options, vectors and points, wrapping RDDs. */
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
