/* ember.ml's data helpers, as pyspark.mllib spells them:
 *
 *   ember.ml.Vectors.dense(1, 2, 3) or dense({1, 2, 3})  -> {1, 2, 3}
 *   ember.ml.Vectors.sparse(4, {1, 3}, {0.5, 2})         -> {dim = 4,
 *   ember.ml.Vectors.sparse(4, {[1] = 0.5, [3] = 2})        indices = {1, 3},
 *   ember.ml.Vectors.sparse(4, {{1, 0.5}, {3, 2}})          values = {0.5, 2}}
 *   ember.ml.Vectors.zeros(n)
 *   ember.ml.MLUtils.loadLibSVMFile(sc, path [, numFeatures [, minPartitions]])
 *   ember.ml.MLUtils.loadCSVFile(sc, path [, {labelCol =, skipHeader =,
 *                                             minPartitions =}])
 *
 * Vectors are the plain tables the rest of the bindings take (lml_common.c):
 * an array of numbers is dense, {dim, indices, values} with 0-based
 * increasing indices is sparse. The loaders are include/ember/ml_linear.h's:
 * they return an RDD of LabeledPoints {label, features}.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml.h"
#include "lml_int.h"

/* ---- Vectors ---- */

static int vec_dense(lua_State *L)
{
    int n = lua_gettop(L);

    if (n == 1 && lua_type(L, 1) == LUA_TTABLE) {
        lua_Integer len = luaL_len(L, 1);

        lua_createtable(L, (int)len, 0);
        for (lua_Integer i = 1; i <= len; i++) {
            lua_geti(L, 1, i);
            if (!lua_isnumber(L, -1))
                return luaL_error(L, "Vectors.dense: element %d is not a "
                                     "number", (int)i);
            lua_pushnumber(L, lua_tonumber(L, -1));
            lua_rawseti(L, -3, i);
            lua_pop(L, 1);
        }
        return 1;
    }
    lua_createtable(L, n, 0);
    for (int i = 1; i <= n; i++) {
        lua_pushnumber(L, luaL_checknumber(L, i));
        lua_rawseti(L, -2, i);
    }
    return 1;
}

typedef struct entry {
    lua_Integer index;
    double value;
} entry;

static int entry_cmp(const void *x, const void *y)
{
    const entry *a = x, *b = y;

    return (a->index > b->index) - (a->index < b->index);
}

/* Reads the entries of sparse(size, ...)'s second form: a table of index
 * = value (0-based keys) or an array of {index, value} pairs. */
static size_t read_pairs(lua_State *L, entry *e, size_t cap)
{
    size_t n = 0;
    bool is_pairs = lua_geti(L, 2, 1) == LUA_TTABLE;

    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        if (n == cap)
            luaL_error(L, "Vectors.sparse: too many entries");
        if (is_pairs) {
            if (lua_type(L, -1) != LUA_TTABLE ||
                lua_geti(L, -1, 1) != LUA_TNUMBER || !lua_isinteger(L, -1) ||
                lua_geti(L, -2, 2) != LUA_TNUMBER)
                luaL_error(L, "Vectors.sparse: pairs are {index, value}");
            e[n].index = lua_tointeger(L, -2);
            e[n].value = lua_tonumber(L, -1);
            lua_pop(L, 2);
        } else {
            if (!lua_isinteger(L, -2) || !lua_isnumber(L, -1))
                luaL_error(L, "Vectors.sparse: a table of index = value "
                              "has integer keys and number values");
            e[n].index = lua_tointeger(L, -2);
            e[n].value = lua_tonumber(L, -1);
        }
        n++;
        lua_pop(L, 1);
    }
    return n;
}

static int vec_sparse(lua_State *L)
{
    lua_Integer size = luaL_checkinteger(L, 1), count;
    bool is_lists = lua_gettop(L) >= 3;
    entry *e;
    size_t n;

    luaL_checktype(L, 2, LUA_TTABLE);
    if (size < 0 || size > UINT32_MAX)
        return luaL_error(L, "Vectors.sparse: size must be in [0, 2^32)");
    if (is_lists) {
        luaL_checktype(L, 3, LUA_TTABLE);
        if (luaL_len(L, 2) != luaL_len(L, 3))
            return luaL_error(L, "Vectors.sparse: as many indices as values");
    }
    /* Counting the keys bounds the pairs form too (one key per pair). */
    count = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        count++;
        lua_pop(L, 1);
    }
    e = lua_newuserdatauv(L, sizeof(*e) * ((size_t)count + 1), 0);
    if (is_lists) {
        for (lua_Integer i = 1; i <= count; i++) {
            if (lua_geti(L, 2, i) != LUA_TNUMBER || !lua_isinteger(L, -1) ||
                lua_geti(L, 3, i) != LUA_TNUMBER)
                return luaL_error(L, "Vectors.sparse: indices are integers "
                                     "and values numbers");
            e[i - 1].index = lua_tointeger(L, -2);
            e[i - 1].value = lua_tonumber(L, -1);
            lua_pop(L, 2);
        }
        n = (size_t)count;
    } else {
        n = read_pairs(L, e, (size_t)count);
    }
    qsort(e, n, sizeof(*e), entry_cmp);
    for (size_t i = 0; i < n; i++) {
        if (e[i].index < 0 || e[i].index >= size)
            return luaL_error(L, "Vectors.sparse: index %d is outside "
                                 "[0, %d)", (int)e[i].index, (int)size);
        if (i > 0 && e[i].index == e[i - 1].index)
            return luaL_error(L, "Vectors.sparse: index %d given twice",
                              (int)e[i].index);
    }
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, size);
    lua_setfield(L, -2, "dim");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushinteger(L, e[i].index);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "indices");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, e[i].value);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "values");
    return 1;
}

static int vec_zeros(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);

    if (n < 0 || n > INT32_MAX)
        return luaL_error(L, "Vectors.zeros: size must be in [0, 2^31)");
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_pushnumber(L, 0.0);
        lua_rawseti(L, -2, i);
    }
    return 1;
}

/* ---- MLUtils ---- */

/* The largest feature index (1-based) of a LIBSVM line; 0 for a blank or
 * comment line or one the loader will reject (it says why). */
static em_status libsvm_max_index(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs,
                                  em_val *out)
{
    const char *s, *end, *colon;
    long long best = 0, i;
    char *stop;

    (void)t;
    (void)env;
    (void)nargs;
    *out = em_int(0);
    if (args[0].type != EM_STR)
        return EM_OK;
    s = args[0].u.s;
    end = s + args[0].len;
    /* Each "i:v" token: the digits just before a colon. */
    for (colon = memchr(s, ':', (size_t)(end - s)); colon != NULL;
         colon = memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
        const char *p = colon;
        while (p > s && p[-1] >= '0' && p[-1] <= '9')
            p--;
        if (p == colon || memchr(s, '#', (size_t)(p - s)) != NULL)
            break;
        errno = 0;
        i = strtoll(p, &stop, 10);
        if (errno == 0 && stop == colon && i > best)
            best = i;
    }
    *out = em_int(best);
    return EM_OK;
}

/* The dimension of a LIBSVM file: its largest index (pyspark's
 * numFeatures = -1). */
static int64_t libsvm_dim(lua_State *L, em_rdd *lines)
{
    em_rdd *idx = em_rdd_map(lines, EM_FN(libsvm_max_index));
    em_arena *a = em_arena_create();
    em_val top = em_int(0);
    em_status st = EM_ENOMEM;
    int64_t d = 0;

    if (idx != NULL && a != NULL) {
        st = em_rdd_fold(idx, em_int(0), EM_FN(em_op_max), a, &top);
        if (st == EM_OK && !em_val_as_int(top, &d))
            d = 0;
    }
    em_arena_destroy(a);
    em__lua_action_done(L, st, "loadLibSVMFile");
    if (d <= 0)
        luaL_error(L, "loadLibSVMFile: no features found to size the "
                      "vectors; pass numFeatures");
    return d;
}

static int load_libsvm(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    const char *path = luaL_checkstring(L, 2);
    lua_Integer nf = luaL_optinteger(L, 3, -1);
    int parts = (int)luaL_optinteger(L, 4, 0);
    em_ml_load_opts o = {0};
    em_rdd *lines = em_ctx_text_file(ctx, path, parts);

    if (lines == NULL)
        return em__lua_fail(L, "loadLibSVMFile");
    o.num_features = nf > 0 ? nf : libsvm_dim(L, lines);
    return em__lml_push_rdd(L, 1, em_ml_load_libsvm(lines, &o),
                            "loadLibSVMFile");
}

static int load_csv(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    const char *path = luaL_checkstring(L, 2);
    em_ml_load_opts o = {0};
    em_rdd *lines;

    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    o.label_col = (int)em__lml_opt_num(L, 3, "labelCol", 0);
    o.skip_header = (int)em__lml_opt_num(L, 3, "skipHeader", 0);
    if (o.skip_header < 0)
        return luaL_error(L, "loadCSVFile: skipHeader must be >= 0");
    lines = em_ctx_text_file(ctx, path,
                             (int)em__lml_opt_num(L, 3, "minPartitions", 0));
    if (lines == NULL)
        return em__lua_fail(L, "loadCSVFile");
    return em__lml_push_rdd(L, 1, em_ml_load_csv(lines, &o), "loadCSVFile");
}

static const luaL_Reg vectors_fns[] = {
    {"dense", vec_dense},
    {"sparse", vec_sparse},
    {"zeros", vec_zeros},
    {NULL, NULL},
};

static const luaL_Reg mlutils_fns[] = {
    {"loadLibSVMFile", load_libsvm},
    {"loadCSVFile", load_csv},
    {NULL, NULL},
};

void em__lml_open_data(lua_State *L, int ml_idx)
{
    luaL_newlib(L, vectors_fns);
    lua_setfield(L, ml_idx, "Vectors");
    luaL_newlib(L, mlutils_fns);
    lua_setfield(L, ml_idx, "MLUtils");
}
