/* The `ember` module (ember.null, ember.op, ember.StorageLevel), the
 * SparkContext object `sc` and the shared variables (broadcasts and
 * accumulators), on the driver and in executor states. Names and
 * argument order follow PySpark; docs/shell.md has the tour.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lint.h"

/* The driver contexts of this process, so that Ctrl-C in the shell can
 * cancel their jobs (a signal handler reads it: pointers only). */
#define MAX_CTXS 16
static em_ctx *volatile live_ctxs[MAX_CTXS];

/* The storage level names, in the order of em_storage. */
static const char *const storage_names[] = {
    "NONE",
    "MEMORY_ONLY",
    "MEMORY_ONLY_SER",
    "MEMORY_AND_DISK",
    "MEMORY_AND_DISK_SER",
    "DISK_ONLY",
    "MEMORY_ONLY_2",
    "MEMORY_ONLY_SER_2",
    "MEMORY_AND_DISK_2",
    "MEMORY_AND_DISK_SER_2",
    "DISK_ONLY_2",
};

/* ---- ember.op: native functions, callable from Lua too ---- */

static int op_arith(lua_State *L, int op)
{
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    lua_arith(L, op);
    return 1;
}

static int op_add(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING) {
        lua_settop(L, 2);
        lua_concat(L, 2);
        return 1;
    }
    return op_arith(L, LUA_OPADD);
}

static int op_mul(lua_State *L)
{
    return op_arith(L, LUA_OPMUL);
}

static int op_min(lua_State *L)
{
    luaL_checkany(L, 2);
    lua_pushvalue(L, lua_compare(L, 2, 1, LUA_OPLT) ? 2 : 1);
    return 1;
}

static int op_max(lua_State *L)
{
    luaL_checkany(L, 2);
    lua_pushvalue(L, lua_compare(L, 1, 2, LUA_OPLT) ? 2 : 1);
    return 1;
}

/* Strings concatenate; arrays (tables) join into a new array. */
static int op_concat(lua_State *L)
{
    lua_Integer n1, n2;

    if (lua_type(L, 1) != LUA_TTABLE || lua_type(L, 2) != LUA_TTABLE) {
        lua_settop(L, 2);
        lua_concat(L, 2);
        return 1;
    }
    n1 = (lua_Integer)lua_rawlen(L, 1);
    n2 = (lua_Integer)lua_rawlen(L, 2);
    lua_createtable(L, (int)(n1 + n2), 0);
    for (lua_Integer i = 1; i <= n1; i++) {
        lua_rawgeti(L, 1, i);
        lua_rawseti(L, -2, i);
    }
    for (lua_Integer i = 1; i <= n2; i++) {
        lua_rawgeti(L, 2, i);
        lua_rawseti(L, -2, n1 + i);
    }
    return 1;
}

static const struct {
    const char *name;
    lua_CFunction lua;
    em_fn_ptr native;
} ops[] = {
    {"add", op_add, em_op_add},          {"mul", op_mul, em_op_mul},
    {"min", op_min, em_op_min},          {"max", op_max, em_op_max},
    {"concat", op_concat, em_op_concat},
};

/* ---- shared variables ---- */

static em__lshared *shared_new(lua_State *L, const char *mt, em_val ref)
{
    em__lshared *sh = lua_newuserdatauv(L, sizeof(*sh), 2);

    memset(sh, 0, sizeof(*sh));
    if (ref.len > sizeof(sh->refbuf))
        luaL_error(L, "shared variable reference too long");
    memcpy(sh->refbuf, ref.u.state, ref.len);
    sh->ref = ref;
    sh->ref.u.state = sh->refbuf;
    luaL_setmetatable(L, mt);
    return sh;
}

void em__lua_push_shared_ref(lua_State *L, em_val ref, bool is_accum)
{
    shared_new(L, is_accum ? EM_LUA_ACCUM : EM_LUA_BCAST, ref);
}

static bool shared_is_dead(const em__lshared *sh)
{
    return sh->is_destroyed ||
           (sh->owner != NULL && sh->owner->ctx == NULL);
}

/* b.value: the driver's value, or the task's copy; cached in the
 * object's second user value. */
static int bcast_value(lua_State *L, em__lshared *sh)
{
    em_task *t;
    em_val v;

    if (shared_is_dead(sh))
        return luaL_error(L, "the broadcast variable was destroyed");
    if (lua_getiuservalue(L, 1, 2) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (sh->bcast != NULL) {
        if (em_broadcast_value(sh->bcast, &v) != EM_OK)
            return luaL_error(L, "%s", em_last_error());
    } else {
        if ((t = em__lua_task(L)) == NULL)
            return luaL_error(L, "a broadcast variable can be read only "
                                 "inside a task or on the driver");
        if (em_task_broadcast(t, sh->ref, &v) != EM_OK)
            return luaL_error(L, "%s", em_last_error());
    }
    em__lua_push_val(L, v);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 2);
    return 1;
}

static int bcast_unpersist(lua_State *L)
{
    em__lshared *sh = luaL_checkudata(L, 1, EM_LUA_BCAST);

    (void)sh; /* the value is kept where it is; nothing to drop locally */
    return 0;
}

static int bcast_destroy(lua_State *L)
{
    em__lshared *sh = luaL_checkudata(L, 1, EM_LUA_BCAST);

    if (sh->bcast != NULL && !shared_is_dead(sh))
        em_broadcast_destroy(sh->bcast);
    sh->bcast = NULL;
    sh->is_destroyed = true;
    lua_pushnil(L);
    lua_setiuservalue(L, 1, 2);
    return 0;
}

static int bcast_index(lua_State *L)
{
    em__lshared *sh = luaL_checkudata(L, 1, EM_LUA_BCAST);
    const char *k = luaL_checkstring(L, 2);

    if (strcmp(k, "value") == 0)
        return bcast_value(L, sh);
    if (strcmp(k, "unpersist") == 0)
        lua_pushcfunction(L, bcast_unpersist);
    else if (strcmp(k, "destroy") == 0)
        lua_pushcfunction(L, bcast_destroy);
    else
        lua_pushnil(L);
    return 1;
}

/* The accumulator's kind and, for user accumulators, addInPlace (user
 * value 2 holds {kind = k, add = f}). */
static int accum_add(lua_State *L)
{
    em__lshared *sh = luaL_checkudata(L, 1, EM_LUA_ACCUM);
    em_task *t = em__lua_task(L);
    em_arena *a;
    em_val v, cur;
    int ai;

    luaL_checkany(L, 2);
    a = em__lua_arena(L);
    ai = lua_gettop(L);
    v = em__lua_check_val(L, 2, a, "accumulator value");
    if (sh->accum == NULL) {
        if (t == NULL)
            return luaL_error(L, "an accumulator can be added to only "
                                 "inside a task or on the driver");
        if (em_task_accum_add(t, sh->ref, v) != EM_OK)
            return luaL_error(L, "%s", em_last_error());
        return 0;
    }
    if (shared_is_dead(sh))
        return luaL_error(L, "the SparkContext was stopped");
    /* on the driver: value = merge(value, v) */
    if (em_accum_value(sh->accum, a, &cur) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    lua_getiuservalue(L, 1, 2);
    lua_getfield(L, -1, "add");
    em__lua_push_val(L, cur);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    v = em__lua_check_val(L, -1, a, "accumulator value");
    if (em_accum_set(sh->accum, v) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    em__lua_arena_free(L, ai);
    return 0;
}

static int accum_index(lua_State *L)
{
    em__lshared *sh = luaL_checkudata(L, 1, EM_LUA_ACCUM);
    const char *k = luaL_checkstring(L, 2);
    em_arena *a;
    em_val v;

    if (strcmp(k, "add") == 0) {
        lua_pushcfunction(L, accum_add);
        return 1;
    }
    if (strcmp(k, "value") != 0) {
        lua_pushnil(L);
        return 1;
    }
    if (sh->accum == NULL)
        return luaL_error(L, "an accumulator's value can be read only on "
                             "the driver");
    if (shared_is_dead(sh))
        return luaL_error(L, "the SparkContext was stopped");
    a = em__lua_arena(L);
    if (em_accum_value(sh->accum, a, &v) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    em__lua_push_val(L, v);
    return 1;
}

static int accum_newindex(lua_State *L)
{
    em__lshared *sh = luaL_checkudata(L, 1, EM_LUA_ACCUM);
    em_arena *a;
    em_val v;

    if (strcmp(luaL_checkstring(L, 2), "value") != 0)
        return luaL_error(L, "an accumulator has no field '%s'",
                          lua_tostring(L, 2));
    if (sh->accum == NULL)
        return luaL_error(L, "an accumulator's value can be set only on "
                             "the driver");
    if (shared_is_dead(sh))
        return luaL_error(L, "the SparkContext was stopped");
    a = em__lua_arena(L);
    v = em__lua_check_val(L, 3, a, "accumulator value");
    if (em_accum_set(sh->accum, v) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    return 0;
}

static int shared_tostring(lua_State *L)
{
    if (luaL_testudata(L, 1, EM_LUA_BCAST))
        lua_pushfstring(L, "Broadcast(%p)", lua_topointer(L, 1));
    else
        lua_pushfstring(L, "Accumulator(%p)", lua_topointer(L, 1));
    return 1;
}

/* ---- the context ---- */

static em__lctx *check_lctx(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, EM_LUA_CTX);
}

em_ctx *em__lua_check_ctx(lua_State *L, int idx)
{
    em__lctx *c = check_lctx(L, idx);

    if (c->ctx == NULL)
        luaL_error(L, "the SparkContext was stopped");
    return c->ctx;
}

static int ctx_gc(lua_State *L)
{
    em__lctx *c = check_lctx(L, 1);

    for (int i = 0; i < MAX_CTXS; i++)
        if (live_ctxs[i] == c->ctx)
            live_ctxs[i] = NULL;
    em_ctx_destroy(c->ctx);
    c->ctx = NULL;
    return 0;
}

static int ctx_stop(lua_State *L)
{
    return ctx_gc(L);
}

static int ctx_parallelize(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    int slices = (int)luaL_optinteger(L, 3, 0);
    em_arena *a;
    em_val v;
    em_rdd *r;

    luaL_checktype(L, 2, LUA_TTABLE);
    a = em__lua_arena(L);
    v = em__lua_check_val(L, 2, a, "parallelize: data");
    if (v.type != EM_ARRAY)
        return luaL_error(L, "parallelize: data must be an array (a "
                             "sequence), not a table with other keys");
    r = em_ctx_parallelize(ctx, v.u.arr, v.len, slices);
    if (r == NULL)
        return em__lua_fail(L, "parallelize");
    em__lua_push_rdd(L, 1, r);
    return 1;
}

/* sc:range(start, end, step, numSlices); range(n) is range(0, n). */
static int ctx_range(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    lua_Integer start = luaL_checkinteger(L, 2), end;
    lua_Integer step = luaL_optinteger(L, 4, 1);
    int slices = (int)luaL_optinteger(L, 5, 0);
    em_rdd *r;

    if (lua_isnoneornil(L, 3)) {
        end = start;
        start = 0;
    } else {
        end = luaL_checkinteger(L, 3);
    }
    r = em_ctx_range(ctx, start, end, step, slices);
    if (r == NULL)
        return em__lua_fail(L, "range");
    em__lua_push_rdd(L, 1, r);
    return 1;
}

static int ctx_text_file(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    em_rdd *r = em_ctx_text_file(ctx, luaL_checkstring(L, 2),
                                 (int)luaL_optinteger(L, 3, 0));

    if (r == NULL)
        return em__lua_fail(L, "textFile");
    em__lua_push_rdd(L, 1, r);
    return 1;
}

static int ctx_whole_text_files(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    em_rdd *r = em_ctx_whole_text_files(ctx, luaL_checkstring(L, 2),
                                        (int)luaL_optinteger(L, 3, 0));

    if (r == NULL)
        return em__lua_fail(L, "wholeTextFiles");
    em__lua_push_rdd(L, 1, r);
    return 1;
}

static int ctx_empty(lua_State *L)
{
    em_rdd *r = em_ctx_empty(em__lua_check_ctx(L, 1));

    if (r == NULL)
        return em__lua_fail(L, "emptyRDD");
    em__lua_push_rdd(L, 1, r);
    return 1;
}

static int ctx_broadcast(lua_State *L)
{
    em__lctx *c = check_lctx(L, 1);
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    em_arena *a;
    em_broadcast *b;
    em__lshared *sh;
    em_val v;

    luaL_checkany(L, 2);
    a = em__lua_arena(L);
    v = em__lua_check_val(L, 2, a, "broadcast value");
    b = em_ctx_broadcast(ctx, v);
    if (b == NULL)
        return em__lua_fail(L, "broadcast");
    sh = shared_new(L, EM_LUA_BCAST, em_broadcast_ref(b));
    sh->bcast = b;
    sh->owner = c;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    return 1;
}

static int sum_add(lua_State *L)
{
    return op_add(L);
}

/* sc:accumulator(value, {zero = f, addInPlace = g}) */
static int ctx_accumulator(lua_State *L)
{
    em__lctx *c = check_lctx(L, 1);
    em_ctx *ctx = em__lua_check_ctx(L, 1);
    em_arena *a;
    em_accum *acc;
    em__lshared *sh;
    em_val init, zero = em_nil();
    em_fn merge = EM_FN_NONE;
    em_accum_kind kind = EM_ACCUM_SUM;

    luaL_checkany(L, 2);
    lua_settop(L, 3);
    a = em__lua_arena(L); /* index 4 */
    init = em__lua_check_val(L, 2, a, "accumulator value");
    lua_createtable(L, 0, 1); /* index 5: {add = f} */
    if (lua_isnil(L, 3)) {
        if (lua_type(L, 2) != LUA_TNUMBER)
            return luaL_error(L, "accumulator: a value that is not a "
                                 "number needs a parameter {zero = f, "
                                 "addInPlace = g}");
        lua_pushcfunction(L, sum_add);
    } else {
        luaL_checktype(L, 3, LUA_TTABLE);
        kind = EM_ACCUM_USER;
        if (lua_getfield(L, 3, "zero") == LUA_TFUNCTION) {
            lua_pushvalue(L, 2);
            lua_call(L, 1, 1);
        }
        zero = em__lua_check_val(L, -1, a, "accumulator zero");
        lua_pop(L, 1);
        if (lua_getfield(L, 3, "addInPlace") != LUA_TFUNCTION)
            return luaL_error(L, "accumulator: the parameter needs an "
                                 "addInPlace function");
        merge = em__lua_check_fn(L, -1, EM_LUA_MODE_PLAIN, a);
    }
    lua_setfield(L, 5, "add");
    acc = em_ctx_accumulator(ctx, kind, init, zero, merge);
    if (acc == NULL)
        return em__lua_fail(L, "accumulator");
    sh = shared_new(L, EM_LUA_ACCUM, em_accum_ref(acc));
    sh->accum = acc;
    sh->owner = c;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, 5);
    lua_setiuservalue(L, -2, 2);
    return 1;
}

static int ctx_set_checkpoint_dir(lua_State *L)
{
    em_ctx *ctx = em__lua_check_ctx(L, 1);

    if (em_ctx_set_checkpoint_dir(ctx, luaL_checkstring(L, 2)) != EM_OK)
        return em__lua_fail(L, "setCheckpointDir");
    return 0;
}

/* sc:union(list): every partition of each RDD in turn. */
static int ctx_union(lua_State *L)
{
    lua_Integer n;

    em__lua_check_ctx(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    n = (lua_Integer)lua_rawlen(L, 2);
    if (n == 0)
        return ctx_empty(L);
    lua_rawgeti(L, 2, 1);
    lua_getfield(L, -1, "union");
    lua_insert(L, -2);
    for (lua_Integer i = 2; i <= n; i++)
        lua_rawgeti(L, 2, i);
    lua_call(L, (int)n, 1);
    return 1;
}

static const luaL_Reg ctx_methods[] = {
    {"parallelize", ctx_parallelize},
    {"range", ctx_range},
    {"textFile", ctx_text_file},
    {"wholeTextFiles", ctx_whole_text_files},
    {"emptyRDD", ctx_empty},
    {"union", ctx_union},
    {"broadcast", ctx_broadcast},
    {"accumulator", ctx_accumulator},
    {"setCheckpointDir", ctx_set_checkpoint_dir},
    {"stop", ctx_stop},
    {NULL, NULL},
};

static int ctx_index(lua_State *L)
{
    em__lctx *c = check_lctx(L, 1);
    const char *k = luaL_checkstring(L, 2);

    if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL)
        return 1;
    if (strcmp(k, "defaultParallelism") == 0) {
        lua_pushinteger(L, em_ctx_default_parallelism(
                               em__lua_check_ctx(L, 1)));
    } else if (strcmp(k, "version") == 0) {
        lua_pushstring(L, EMBER_VERSION_STRING);
    } else if (strcmp(k, "master") == 0) {
        lua_getiuservalue(L, 1, 1);
    } else if (strcmp(k, "is_stopped") == 0) {
        lua_pushboolean(L, c->ctx == NULL);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int ctx_tostring(lua_State *L)
{
    check_lctx(L, 1);
    lua_getiuservalue(L, 1, 1);
    lua_pushfstring(L, "SparkContext(master=%s)", lua_tostring(L, -1));
    return 1;
}

em__lctx *em__lua_new_ctx(lua_State *L, const char *master,
                          int64_t memory_bytes, int gpu)
{
    em_conf conf;
    em__lctx *c;
    const char *m;

    memset(&conf, 0, sizeof(conf));
    conf.master = master;
    conf.app_name = "ember";
    conf.memory_bytes = memory_bytes;
    conf.gpu = gpu;
    m = master ? master : getenv("EMBER_MASTER");
    if (m == NULL || m[0] == '\0')
        m = "local[*]";
    c = lua_newuserdatauv(L, sizeof(*c), 1);
    c->ctx = NULL;
    luaL_setmetatable(L, EM_LUA_CTX);
    lua_pushstring(L, m);
    lua_setiuservalue(L, -2, 1);
    c->ctx = em_ctx_create(&conf);
    if (c->ctx == NULL)
        luaL_error(L, "%s", em_last_error());
    for (int i = 0; i < MAX_CTXS; i++) { /* for Ctrl-C: em__lua_cancel_all */
        if (live_ctxs[i] == NULL) {
            live_ctxs[i] = c->ctx;
            break;
        }
    }
    return c;
}

void em__lua_cancel_all(void)
{
    for (int i = 0; i < MAX_CTXS; i++) {
        em_ctx *ctx = live_ctxs[i];
        if (ctx != NULL)
            em_ctx_cancel(ctx);
    }
}

/* ember.SparkContext(master [, {memory = "2g", gpu = true}]): a new
 * context (usually `sc` is enough). */
static int mod_context(lua_State *L)
{
    const char *master = luaL_optstring(L, 1, NULL);
    int64_t memory = 0;
    int gpu = 0;

    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "memory") != LUA_TNIL &&
            em_parse_size(luaL_checkstring(L, -1), &memory) != EM_OK)
            return luaL_error(L, "SparkContext: memory: %s", em_last_error());
        lua_pop(L, 1);
    }
    if (lua_istable(L, 2)) {
        if (lua_getfield(L, 2, "gpu") != LUA_TNIL)
            gpu = lua_toboolean(L, -1) ? 1 : -1;
        lua_pop(L, 1);
    }
    em__lua_new_ctx(L, master, memory, gpu);
    return 1;
}

static void open_metatables(lua_State *L)
{
    if (luaL_newmetatable(L, EM_LUA_BCAST)) {
        lua_pushcfunction(L, bcast_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, shared_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, EM_LUA_ACCUM)) {
        lua_pushcfunction(L, accum_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, accum_newindex);
        lua_setfield(L, -2, "__newindex");
        lua_pushcfunction(L, shared_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, EM_LUA_CTX)) {
        luaL_newlib(L, ctx_methods);
        lua_pushcclosure(L, ctx_index, 1);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, ctx_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, ctx_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

/* ember.clock(): seconds of a monotonic clock, for timing. */
static int mod_clock(lua_State *L)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "ember.null");
    return 1;
}

void em__lua_open_ember(lua_State *L, bool is_driver)
{
    size_t nops = sizeof(ops) / sizeof(ops[0]);

    em__lua_open_vals(L);
    open_metatables(L);
    if (is_driver)
        em__lua_open_rdd(L);
    /* tostring(ember.null): light userdata share one metatable */
    em__lua_push_null(L);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);

    lua_newtable(L); /* the module */
    em__lua_push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushstring(L, EMBER_VERSION_STRING);
    lua_setfield(L, -2, "version");
    lua_pushcfunction(L, mod_clock);
    lua_setfield(L, -2, "clock");
    lua_createtable(L, 0, (int)nops);
    lua_newtable(L); /* function -> native pointer */
    for (size_t i = 0; i < nops; i++) {
        lua_pushcfunction(L, ops[i].lua);
        lua_pushlightuserdata(L, (void *)(uintptr_t)ops[i].native);
        lua_rawset(L, -3);
        lua_pushcfunction(L, ops[i].lua);
        lua_setfield(L, -3, ops[i].name);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "ember.natives");
    lua_setfield(L, -2, "op");
    lua_createtable(L, 0, 11);
    for (size_t i = 1; i < sizeof(storage_names) / sizeof(storage_names[0]);
         i++) {
        lua_pushstring(L, storage_names[i]);
        lua_setfield(L, -2, storage_names[i]);
    }
    lua_setfield(L, -2, "StorageLevel");
    em__lua_open_ml(L);
    em__lua_open_ml7(L);
    em__lua_open_nn(L);
    em__lua_open_grid(L);
    em__lua_open_ps(L, is_driver);
    em__lua_open_gpu(L);
    em__lua_open_barrier(L);
    if (is_driver) {
        lua_pushcfunction(L, mod_context);
        lua_setfield(L, -2, "SparkContext");
    }
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "ember");
    lua_pop(L, 1);
}

int em__lua_storage_of(const char *name)
{
    for (size_t i = 0; i < sizeof(storage_names) / sizeof(storage_names[0]);
         i++)
        if (strcmp(name, storage_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *em__lua_storage_name(int level)
{
    if (level < 0 ||
        (size_t)level >= sizeof(storage_names) / sizeof(storage_names[0]))
        return "NONE";
    return storage_names[level];
}
