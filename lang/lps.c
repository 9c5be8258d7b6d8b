/* Lua names of the parameter server (include/ember/ps.h): ember.ps.create
 * on the driver, and the handle it returns, whose :pull and :push work on
 * the driver and inside task closures (the handle travels as a value).
 * docs/ps.md is the guide.
 */
#include <string.h>

#include "ember/ps.h"
#include "lml_int.h"

#define EM_LUA_PS_SERVER "ember.ps.server"
/* Registry table, weak keys: handle userdata -> its server box (driver). */
#define EM_LUA_PS_DRIVER "ember.ps.driver"

/* The driver's server; destroyed with the last handle that refers to it. */
typedef struct pbox {
    em_ps *ps; /* NULL once destroyed */
} pbox;

static int box_gc(lua_State *L)
{
    pbox *b = luaL_checkudata(L, 1, EM_LUA_PS_SERVER);

    em_ps_destroy(b->ps);
    b->ps = NULL;
    return 0;
}

/* Pushes a handle userdata for ps's current reference, linked to the box
 * at box_idx. */
static void push_handle(lua_State *L, int box_idx)
{
    pbox *b = lua_touserdata(L, box_idx);

    box_idx = lua_absindex(L, box_idx);
    em__lua_push_val(L, em_ps_ref(b->ps));
    lua_getfield(L, LUA_REGISTRYINDEX, EM_LUA_PS_DRIVER);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, box_idx);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* The handle at idx as a value in a, and its dimension. */
static em_val check_handle(lua_State *L, int idx, em_arena *a, int *dim)
{
    em_val v = em__lua_check_val(L, idx, a, "parameter server handle");

    if (em_ps_ref_dim(v, dim) != EM_OK)
        luaL_error(L, "%s", em_last_error());
    return v;
}

/* The driver's server of the handle at idx, or NULL (in a task). */
static em_ps *driver_ps(lua_State *L, int idx)
{
    pbox *b;

    lua_getfield(L, LUA_REGISTRYINDEX, EM_LUA_PS_DRIVER);
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return NULL;
    }
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    b = luaL_testudata(L, -1, EM_LUA_PS_SERVER);
    lua_pop(L, 2);
    if (b != NULL && b->ps == NULL)
        luaL_error(L, "the parameter server was destroyed");
    return b != NULL ? b->ps : NULL;
}

/* The keys table at idx as n values in a. */
static em_val *check_keys(lua_State *L, int idx, em_arena *a, size_t *n)
{
    em_val *keys;

    luaL_checktype(L, idx, LUA_TTABLE);
    *n = (size_t)lua_rawlen(L, idx);
    keys = em_arena_alloc(a, (*n + 1) * sizeof(*keys));
    if (keys == NULL)
        luaL_error(L, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        keys[i] = em__lua_check_val(L, -1, a, "key");
        lua_pop(L, 1);
    }
    return keys;
}

static void check_status(lua_State *L, em_status st)
{
    if (st != EM_OK)
        luaL_error(L, "%s", em_last_error());
}

/* h:pull(keys) -> {vector per key} (a number per key when dim is 1) */
static int ps_pull(lua_State *L)
{
    em_arena *a = em__lua_arena(L);
    int dim, top = lua_gettop(L);
    em_val h = check_handle(L, 1, a, &dim);
    size_t n;
    em_val *keys = check_keys(L, 2, a, &n);
    double *out = em_arena_alloc(a, (n * (size_t)dim + 1) * sizeof(*out));
    em_task *t = em__lua_task(L);
    em_ps *ps = t == NULL ? driver_ps(L, 1) : NULL;

    if (out == NULL)
        return luaL_error(L, "out of memory");
    if (t == NULL && ps == NULL)
        return luaL_error(L, "pull: not in a task, and not the driver's "
                             "handle");
    check_status(L, t != NULL ? em_ps_pull(t, h, keys, n, out)
                              : em_ps_get(ps, keys, n, out));
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        if (dim == 1) {
            lua_pushnumber(L, out[i]);
        } else {
            lua_createtable(L, dim, 0);
            for (int j = 0; j < dim; j++) {
                lua_pushnumber(L, out[i * (size_t)dim + (size_t)j]);
                lua_rawseti(L, -2, j + 1);
            }
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    em__lua_arena_free(L, top);
    return 1;
}

/* Delta i of the deltas table at idx into d (dim doubles). */
static void check_delta(lua_State *L, int idx, size_t i, int dim, double *d)
{
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    if (dim == 1 && lua_type(L, -1) == LUA_TNUMBER) {
        d[0] = lua_tonumber(L, -1);
    } else if (lua_type(L, -1) == LUA_TTABLE &&
               lua_rawlen(L, -1) == (size_t)dim) {
        for (int j = 0; j < dim; j++) {
            lua_rawgeti(L, -1, j + 1);
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "push: delta %d: element %d is not a number",
                           (int)i + 1, j + 1);
            d[j] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    } else {
        luaL_error(L, "push: delta %d is not a vector of %d numbers",
                   (int)i + 1, dim);
    }
    lua_pop(L, 1);
}

/* h:push(keys, deltas) */
static int ps_push(lua_State *L)
{
    em_arena *a = em__lua_arena(L);
    int dim, top = lua_gettop(L);
    em_val h = check_handle(L, 1, a, &dim);
    size_t n;
    em_val *keys = check_keys(L, 2, a, &n);
    double *d = em_arena_alloc(a, (n * (size_t)dim + 1) * sizeof(*d));
    em_task *t = em__lua_task(L);
    em_ps *ps = t == NULL ? driver_ps(L, 1) : NULL;

    luaL_checktype(L, 3, LUA_TTABLE);
    if (d == NULL)
        return luaL_error(L, "out of memory");
    if (lua_rawlen(L, 3) != n)
        return luaL_error(L, "push: %d keys but %d deltas", (int)n,
                          (int)lua_rawlen(L, 3));
    for (size_t i = 0; i < n; i++)
        check_delta(L, 3, i, dim, &d[i * (size_t)dim]);
    if (t == NULL && ps == NULL)
        return luaL_error(L, "push: not in a task, and not the driver's "
                             "handle");
    check_status(L, t != NULL ? em_ps_push(t, h, keys, n, d)
                              : em_ps_put(ps, keys, n, d));
    em__lua_arena_free(L, top);
    return 0;
}

static em_ps *check_driver_ps(lua_State *L, const char *what)
{
    em_ps *ps = driver_ps(L, 1);

    if (ps == NULL)
        luaL_error(L, "%s: only on the driver", what);
    return ps;
}

static void set_int(lua_State *L, const char *k, int64_t v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* h:stats() -> {shards, hotKeys, restores, lostPushes, perShard = {...}} */
static int ps_stats(lua_State *L)
{
    em_ps *ps = check_driver_ps(L, "stats");
    em_ps_stats st;
    em_ps_shard_stats ss;

    check_status(L, em_ps_stats_get(ps, &st));
    lua_createtable(L, 0, 5);
    set_int(L, "shards", st.shards);
    set_int(L, "hotKeys", st.hot_keys);
    set_int(L, "restores", st.restores);
    set_int(L, "lostPushes", st.lost_pushes);
    lua_createtable(L, st.shards, 0);
    for (int s = 0; s < st.shards; s++) {
        check_status(L, em_ps_shard_stats_get(ps, s, &ss));
        lua_createtable(L, 0, 5);
        set_int(L, "keys", ss.keys);
        set_int(L, "requests", ss.requests);
        set_int(L, "pushes", ss.pushes);
        set_int(L, "snapshots", ss.snapshots);
        set_int(L, "snapshotVersion", ss.snapshot_version);
        lua_rawseti(L, -2, s + 1);
    }
    lua_setfield(L, -2, "perShard");
    return 1;
}

/* h:rebalance(hotKeys) -> the new handle, which tasks must capture */
static int ps_rebalance(lua_State *L)
{
    em_ps *ps = check_driver_ps(L, "rebalance");

    check_status(L, em_ps_rebalance(ps, (int)luaL_checkinteger(L, 2)));
    lua_getfield(L, LUA_REGISTRYINDEX, EM_LUA_PS_DRIVER);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    push_handle(L, -1);
    return 1;
}

/* h:destroy(): drops the shards everywhere now */
static int ps_destroy(lua_State *L)
{
    em_ps *ps = check_driver_ps(L, "destroy");
    pbox *b;

    lua_getfield(L, LUA_REGISTRYINDEX, EM_LUA_PS_DRIVER);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    b = lua_touserdata(L, -1);
    em_ps_destroy(ps);
    b->ps = NULL;
    return 0;
}

static em_ps_init check_init(lua_State *L, int idx)
{
    static const char *const names[] = {"zeros", "constant", "uniform",
                                        "normal", NULL};
    const char *s = em__lml_opt_str(L, idx, "init", "zeros");

    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return (em_ps_init)i;
    return (em_ps_init)luaL_error(L, "init: zeros, constant, uniform or "
                                     "normal, not \"%s\"", s);
}

/* ember.ps.create(sc, {dim =, shards =, init =, ...}) -> handle */
static int ps_create(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    em_ps_opts o = {0};
    pbox *b;

    luaL_checktype(L, 2, LUA_TTABLE);
    o.dim = (int)em__lml_opt_int(L, 2, "dim", 0);
    o.shards = (int)em__lml_opt_int(L, 2, "shards", 0);
    o.init = check_init(L, 2);
    o.init_a = em__lml_opt_num(L, 2, o.init == EM_PS_INIT_CONSTANT ? "value"
                                     : o.init == EM_PS_INIT_UNIFORM ? "low"
                                                                    : "mean",
                               0);
    o.init_b = em__lml_opt_num(L, 2, o.init == EM_PS_INIT_UNIFORM ? "high"
                                                                  : "stddev",
                               o.init == EM_PS_INIT_NORMAL ? 1 : 0);
    o.seed = (uint64_t)em__lml_opt_int(L, 2, "seed", 0);
    o.snapshot_every = em__lml_opt_int(L, 2, "snapshotEvery", 0);
    o.staleness = (int)em__lml_opt_int(L, 2, "staleness", 0);
    o.is_blocking = em__lml_opt_bool(L, 2, "blocking", false);
    o.timeout_ms = (int)em__lml_opt_int(L, 2, "timeoutMs", 0);
    if (lua_getfield(L, 2, "optimizer") != LUA_TNIL) {
        o.has_optim = true;
        o.optim.kind = em__lml_opt_optimizer(L, 2, EM_OPTIM_SGD);
        o.optim.step = em__lml_opt_num(L, 2, "stepSize", 1.0);
        o.optim.schedule = em__lml_opt_schedule(L, 2);
        o.optim.reg = em__lml_opt_reg(L, 2, EM_REG_NONE);
        o.optim.reg_param = em__lml_opt_num(L, 2, "regParam", 0);
    }
    lua_pop(L, 1);
    b = lua_newuserdatauv(L, sizeof(*b), 0);
    b->ps = NULL;
    luaL_setmetatable(L, EM_LUA_PS_SERVER);
    if ((b->ps = em_ps_create(ctx, &o)) == NULL)
        return luaL_error(L, "ember.ps.create: %s", em_last_error());
    push_handle(L, -1);
    return 1;
}

static const luaL_Reg handle_methods[] = {
    {"pull", ps_pull},         {"push", ps_push},
    {"stats", ps_stats},       {"rebalance", ps_rebalance},
    {"destroy", ps_destroy},   {NULL, NULL}};

static const luaL_Reg ps_fns[] = {{"create", ps_create}, {NULL, NULL}};

void em__lua_open_ps(lua_State *L, bool is_driver)
{
    /* the methods of parameter-server handles, in every state */
    if (lua_getfield(L, LUA_REGISTRYINDEX, EM_LUA_HANDLE_METHODS) !=
        LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, EM_LUA_HANDLE_METHODS);
    }
    lua_newtable(L);
    luaL_setfuncs(L, handle_methods, 0);
    lua_rawseti(L, -2, EM_PS_HANDLE_KIND);
    lua_pop(L, 1);
    if (!is_driver)
        return;
    if (luaL_newmetatable(L, EM_LUA_PS_SERVER)) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L); /* handle -> box, weak keys */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, EM_LUA_PS_DRIVER);
    em__lml_set_lib(L, "ps", ps_fns);
}
