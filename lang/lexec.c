/* The trampoline that runs Lua closures in tasks, on the driver's threads
 * or in an executor process, without the driver's Lua state. Each thread
 * has its own Lua state, made on first use; a closure is decoded once per
 * thread and found again by the address and content hash of its
 * environment, so the per-record cost is a table lookup and a call.
 * The closure format is in lang/README.md.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <lualib.h>

#include "lint.h"

#define NSLOTS 64          /* direct-mapped cache of environments */
#define MAX_LOADED 4096    /* closures kept per thread before a reset */
#define MAX_STATES 256     /* states an interrupt can reach */
#define REG_LOADED "ember.loaded"
#define REG_ENVMT "ember.envmt"

volatile sig_atomic_t em__lua_interrupted;

typedef struct slot {
    const em_val *key; /* the environment's items */
    int64_t id1, id2;  /* its content hash */
    int ref;           /* the function in the registry */
    int mode;          /* em__lua_mode */
} slot;

typedef struct exec {
    lua_State *L;
    em_task *task;     /* the task running a function now */
    slot slots[NSLOTS];
    int nloaded;       /* closures in REG_LOADED */
    int depth;         /* calls in progress on this thread (nesting) */
    int state_idx;     /* index in `states`, or -1 */
} exec;

static __thread exec *tls_exec;
static pthread_key_t exec_key;
static pthread_once_t exec_once = PTHREAD_ONCE_INIT;
static lua_State *volatile states[MAX_STATES];
static pthread_mutex_t states_lock = PTHREAD_MUTEX_INITIALIZER;

/* One call through the protected wrapper. */
typedef struct call {
    exec *x;
    em_task *t;
    const em_val *env;
    const em_val *args;
    size_t nargs;
    em_val *out;
    const slot *s;      /* the closure, once found */
    struct iter *it;    /* the partition iterator given to it, if any */
    em_status st;       /* a failure that is not a Lua error */
    char err[640];      /* its message */
} call;

static void exec_close(exec *x)
{
    if (x == NULL)
        return;
    if (x->state_idx >= 0) {
        pthread_mutex_lock(&states_lock);
        states[x->state_idx] = NULL;
        pthread_mutex_unlock(&states_lock);
    }
    lua_close(x->L);
    free(x);
}

static void exec_destructor(void *p)
{
    exec_close(p);
}

static void make_key(void)
{
    pthread_key_create(&exec_key, exec_destructor);
}

em_task *em__lua_task(lua_State *L)
{
    exec *x = *(exec **)lua_getextraspace(L);

    return x ? x->task : NULL;
}

/* Stops a running function at its next call, return or 1000 instructions
 * after an interrupt; removes itself otherwise. */
static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    if (em__lua_interrupted)
        luaL_error(L, "interrupted");
}

void em__lua_interrupt_all(void)
{
    em__lua_interrupted = 1;
    for (int i = 0; i < MAX_STATES; i++) {
        lua_State *L = states[i];
        if (L != NULL)
            lua_sethook(L, interrupt_hook,
                        LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1000);
    }
}

static int protected_call(lua_State *L);

/* Lua's allocator: the library's wrapper, so the Lua heap counts against
 * the memory budget like every other allocation (DESIGN.md, Memory). */
static void *lua_alloc(void *ud, void *p, size_t old_n, size_t n)
{
    (void)ud;
    return em_mem_realloc(p, p != NULL ? old_n : 0, n);
}

/* An error outside any protected call: say what it was (Lua then ends
 * the process, as luaL_newstate's states do). */
static int lua_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);

    fprintf(stderr, "ember: Lua error outside a protected call: %s\n",
            msg ? msg : "(not a string)");
    return 0;
}

lua_State *em__lua_newstate(void)
{
    lua_State *L = lua_newstate(lua_alloc, NULL);

    if (L != NULL)
        lua_atpanic(L, lua_panic);
    return L;
}

static exec *exec_new(void)
{
    exec *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return NULL;
    x->L = em__lua_newstate();
    if (x->L == NULL) {
        free(x);
        return NULL;
    }
    *(exec **)lua_getextraspace(x->L) = x;
    luaL_openlibs(x->L);
    em__lua_open_vals(x->L);
    em__lua_open_ember(x->L, false);
    lua_setglobal(x->L, "ember");
    lua_newtable(x->L);
    lua_setfield(x->L, LUA_REGISTRYINDEX, REG_LOADED);
    lua_createtable(x->L, 0, 1);
    lua_pushglobaltable(x->L);
    lua_setfield(x->L, -2, "__index");
    lua_setfield(x->L, LUA_REGISTRYINDEX, REG_ENVMT);
    lua_gc(x->L, LUA_GCGEN, 0, 0);
    lua_settop(x->L, 0);
    lua_pushcfunction(x->L, em__lua_msgh); /* index 1, for outer calls */
    x->state_idx = -1;
    pthread_mutex_lock(&states_lock);
    for (int i = 0; i < MAX_STATES; i++) {
        if (states[i] == NULL) {
            states[i] = x->L;
            x->state_idx = i;
            break;
        }
    }
    pthread_mutex_unlock(&states_lock);
    pthread_once(&exec_once, make_key);
    pthread_setspecific(exec_key, x);
    return x;
}

void em__lua_exec_shutdown(void)
{
    exec *x = tls_exec;

    if (x == NULL)
        return;
    tls_exec = NULL;
    pthread_once(&exec_once, make_key);
    pthread_setspecific(exec_key, NULL);
    exec_close(x);
}

/* ---- decoding ---- */

typedef struct dec {
    lua_State *L;
    int stack;      /* functions being decoded */
    int depth;
    int env;        /* the current function's global table, or 0 */
    char *err;
    size_t cap;
} dec;

static bool dec_tagged(dec *d, em_val tv);

static bool dec_fail(dec *d, const char *msg)
{
    snprintf(d->err, d->cap, "malformed Lua closure: %s", msg);
    return false;
}

static bool is_array(em_val v, uint32_t n)
{
    return v.type == EM_ARRAY && (n == UINT32_MAX || v.len == n);
}

/* Sets name/value pairs of a [name, tagged] array into the table at t. */
static bool dec_globals(dec *d, em_val list, int t)
{
    for (uint32_t i = 0; i < list.len; i++) {
        em_val p = list.u.arr[i];
        if (!is_array(p, 2) || p.u.arr[0].type != EM_STR)
            return dec_fail(d, "global entry");
        lua_pushlstring(d->L, p.u.arr[0].u.s, p.u.arr[0].len);
        if (!dec_tagged(d, p.u.arr[1]))
            return false;
        lua_rawset(d->L, t);
    }
    return true;
}

static bool dec_fn(dec *d, em_val fd)
{
    lua_State *L = d->L;
    const em_val *f = fd.u.arr;
    em_val up;
    int fidx, saved_env = d->env;

    if (!is_array(fd, EM_LUA_FD_N) || f[EM_LUA_FD_KIND].type != EM_INT ||
        !is_array(f[EM_LUA_FD_UPVALS], UINT32_MAX) ||
        !is_array(f[EM_LUA_FD_GLOBALS], UINT32_MAX))
        return dec_fail(d, "function description");
    if (d->depth >= 64)
        return dec_fail(d, "nested too deeply");
    if (f[EM_LUA_FD_KIND].u.i == 1) {
        char name[128];
        if (f[EM_LUA_FD_CODE].type != EM_STR ||
            f[EM_LUA_FD_CODE].len >= sizeof(name))
            return dec_fail(d, "function name");
        memcpy(name, f[EM_LUA_FD_CODE].u.s, f[EM_LUA_FD_CODE].len);
        name[f[EM_LUA_FD_CODE].len] = '\0';
        if (!em__lua_push_named(L, name)) {
            snprintf(d->err, d->cap, "unknown standard function '%s'", name);
            return false;
        }
        return true;
    }
    if (f[EM_LUA_FD_CODE].type != EM_BYTES)
        return dec_fail(d, "bytecode");
    if (luaL_loadbufferx(L, (const char *)f[EM_LUA_FD_CODE].u.bytes,
                         f[EM_LUA_FD_CODE].len, "=closure", "b") != LUA_OK) {
        snprintf(d->err, d->cap, "cannot load a Lua closure: %s",
                 lua_tostring(L, -1));
        lua_pop(L, 1);
        return false;
    }
    fidx = lua_gettop(L);
    lua_pushvalue(L, fidx);
    lua_rawseti(L, d->stack, ++d->depth);
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_ENVMT);
    lua_setmetatable(L, -2);
    d->env = lua_gettop(L);
    if (!dec_globals(d, f[EM_LUA_FD_GLOBALS], d->env))
        return false;
    up = f[EM_LUA_FD_UPVALS];
    for (uint32_t i = 0; i < up.len; i++) {
        em_val p = up.u.arr[i];
        if (!is_array(p, 2))
            return dec_fail(d, "upvalue entry");
        if (!dec_tagged(d, p.u.arr[1]))
            return false;
        if (lua_setupvalue(L, fidx, (int)i + 1) == NULL)
            lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the env table */
    d->env = saved_env;
    lua_pushnil(L);
    lua_rawseti(L, d->stack, d->depth--);
    return true;
}

static bool dec_tagged(dec *d, em_val tv)
{
    lua_State *L = d->L;
    em_val payload;
    char name[128];

    if (!is_array(tv, 2) || tv.u.arr[0].type != EM_INT)
        return dec_fail(d, "captured value");
    if (!lua_checkstack(L, 8))
        return dec_fail(d, "nested too deeply");
    payload = tv.u.arr[1];
    switch (tv.u.arr[0].u.i) {
    case EM_LUA_TAG_DATA:
        em__lua_push_val(L, payload);
        return true;
    case EM_LUA_TAG_NULL:
        em__lua_push_null(L);
        return true;
    case EM_LUA_TAG_FN:
        return dec_fn(d, payload);
    case EM_LUA_TAG_BCAST:
    case EM_LUA_TAG_ACCUM:
        if (payload.type != EM_HANDLE || payload.len > 32)
            return dec_fail(d, "shared variable reference");
        em__lua_push_shared_ref(L, payload,
                                tv.u.arr[0].u.i == EM_LUA_TAG_ACCUM);
        return true;
    case EM_LUA_TAG_NAMED:
        if (payload.type != EM_STR || payload.len >= sizeof(name))
            return dec_fail(d, "name");
        memcpy(name, payload.u.s, payload.len);
        name[payload.len] = '\0';
        if (!em__lua_push_named(L, name))
            lua_pushnil(L);
        return true;
    case EM_LUA_TAG_TABLE:
        if (!is_array(payload, UINT32_MAX))
            return dec_fail(d, "table");
        lua_createtable(L, 0, (int)payload.len);
        for (uint32_t i = 0; i < payload.len; i++) {
            em_val p = payload.u.arr[i];
            if (!is_array(p, 2) || p.u.arr[0].type == EM_NIL)
                return dec_fail(d, "table entry");
            em__lua_push_val(L, p.u.arr[0]);
            if (!dec_tagged(d, p.u.arr[1]))
                return false;
            lua_rawset(L, -3);
        }
        return true;
    case EM_LUA_TAG_SELF:
        if (payload.type != EM_INT || payload.u.i < 0 ||
            payload.u.i >= d->depth)
            return dec_fail(d, "self reference");
        lua_rawgeti(L, d->stack, d->depth - payload.u.i);
        return true;
    case EM_LUA_TAG_ENV:
        if (d->env == 0)
            lua_pushglobaltable(L);
        else
            lua_pushvalue(L, d->env);
        return true;
    default:
        return dec_fail(d, "unknown tag");
    }
}

bool em__lua_decode_fn(lua_State *L, em_val desc, char *err, size_t cap)
{
    int top = lua_gettop(L);
    dec d;

    memset(&d, 0, sizeof(d));
    d.L = L;
    d.err = err;
    d.cap = cap;
    lua_newtable(L);
    d.stack = lua_gettop(L);
    if (!dec_fn(&d, desc)) {
        lua_settop(L, top);
        return false;
    }
    lua_remove(L, d.stack);
    return true;
}

/* ---- the closure cache ---- */

static bool env_ok(const em_val *env)
{
    const em_val *e = env->u.arr;

    return env->type == EM_ARRAY && env->len == EM_LUA_ENV_N &&
           e[EM_LUA_ENV_MAGIC].type == EM_STR &&
           e[EM_LUA_ENV_MAGIC].len == sizeof(EM_LUA_MAGIC) - 1 &&
           memcmp(e[EM_LUA_ENV_MAGIC].u.s, EM_LUA_MAGIC,
                  sizeof(EM_LUA_MAGIC) - 1) == 0 &&
           e[EM_LUA_ENV_ID1].type == EM_INT &&
           e[EM_LUA_ENV_ID2].type == EM_INT &&
           e[EM_LUA_ENV_MODE].type == EM_INT &&
           e[EM_LUA_ENV_MODE].u.i >= 0 &&
           e[EM_LUA_ENV_MODE].u.i <= EM_LUA_MODE_FOREACHPART;
}

static inline slot *slot_of(exec *x, const em_val *env)
{
    uintptr_t p = (uintptr_t)env->u.arr;

    return &x->slots[((p >> 4) ^ (p >> 12)) & (NSLOTS - 1)];
}

/* The cached closure of env, when this slot holds it. */
static inline slot *cache_hit(exec *x, const em_val *env)
{
    slot *s;

    if (env->type != EM_ARRAY || env->len != EM_LUA_ENV_N)
        return NULL;
    s = slot_of(x, env);
    if (s->key == env->u.arr && s->ref != 0 &&
        s->id1 == env->u.arr[EM_LUA_ENV_ID1].u.i &&
        s->id2 == env->u.arr[EM_LUA_ENV_ID2].u.i)
        return s;
    return NULL;
}

/* Finds or decodes the closure of c->env (in protected mode). */
static void cache_load(lua_State *L, call *c)
{
    exec *x = c->x;
    const em_val *e = c->env->u.arr;
    int64_t ids[2];
    slot *s;

    if (!env_ok(c->env)) {
        c->st = EM_EFORMAT;
        snprintf(c->err, sizeof(c->err), "%s",
                 "malformed Lua closure environment");
        return;
    }
    ids[0] = e[EM_LUA_ENV_ID1].u.i;
    ids[1] = e[EM_LUA_ENV_ID2].u.i;
    s = slot_of(x, c->env);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADED);
    lua_pushlstring(L, (const char *)ids, sizeof(ids));
    if (lua_rawget(L, -2) != LUA_TNUMBER) {
        lua_pop(L, 1);
        if (x->nloaded >= MAX_LOADED) {
            lua_pushnil(L);
            while (lua_next(L, -2) != 0) {
                luaL_unref(L, LUA_REGISTRYINDEX, (int)lua_tointeger(L, -1));
                lua_pop(L, 1);
            }
            lua_newtable(L);
            lua_setfield(L, LUA_REGISTRYINDEX, REG_LOADED);
            memset(x->slots, 0, sizeof(x->slots));
            x->nloaded = 0;
            lua_pop(L, 1);
            lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADED);
        }
        if (!em__lua_decode_fn(L, e[EM_LUA_ENV_FN], c->err,
                               sizeof(c->err))) {
            c->st = EM_EFORMAT;
            return;
        }
        lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
        lua_pushlstring(L, (const char *)ids, sizeof(ids));
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
        x->nloaded++;
    }
    s->key = e;
    s->id1 = ids[0];
    s->id2 = ids[1];
    s->ref = (int)lua_tointeger(L, -1);
    s->mode = (int)e[EM_LUA_ENV_MODE].u.i;
    lua_pop(L, 2);
    c->s = s;
}

/* ---- calls ---- */

/* The partition iterator: a userdata over the records array. */
typedef struct iter {
    const em_val *items;
    size_t n, i;
    bool is_valid;
} iter;

static int iter_next(lua_State *L)
{
    iter *it = lua_touserdata(L, lua_upvalueindex(1));

    if (!it->is_valid)
        return luaL_error(L, "a partition iterator was used after its "
                             "function returned");
    if (it->i >= it->n)
        return 0;
    if (it->items[it->i].type == EM_NIL)
        em__lua_push_null(L);
    else
        em__lua_push_val(L, it->items[it->i]);
    it->i++;
    return 1;
}

/* Pushes an iterator over the array v; returns its state. */
static iter *push_iter(lua_State *L, em_val v)
{
    iter *it = lua_newuserdatauv(L, sizeof(*it), 0);

    it->items = v.type == EM_ARRAY ? v.u.arr : NULL;
    it->n = v.type == EM_ARRAY ? v.len : 0;
    it->i = 0;
    it->is_valid = true;
    lua_pushcclosure(L, iter_next, 1);
    return it;
}

static bool fail(call *c, em_status st, const char *fmt, const char *a)
{
    c->st = st;
    snprintf(c->err, sizeof(c->err), fmt, a);
    return false;
}

/* Appends the Lua value at idx to the growing array (items, n, cap). */
static bool append(lua_State *L, call *c, int idx, em_val **items,
                   size_t *n, size_t *cap)
{
    em_arena *a = em_task_arena(c->t);
    char err[256];

    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        em_val *p = em_arena_alloc(a, ncap * sizeof(*p));
        if (p == NULL)
            return fail(c, EM_ENOMEM, "%s", "out of memory");
        if (*n)
            memcpy(p, *items, *n * sizeof(*p));
        *items = p;
        *cap = ncap;
    }
    if (em__lua_to_val(L, idx, a, &(*items)[*n], err, sizeof(err)) != EM_OK)
        return fail(c, EM_ETYPE, "the function produced a record that is "
                                 "not a value: record%s", err);
    (*n)++;
    return true;
}

/* The result at the top as an array: a table (sequence), or an iterator
 * function called until it returns nil. */
static bool collect_flat(lua_State *L, call *c)
{
    int r = lua_gettop(L);
    em_val *items = NULL;
    size_t n = 0, cap = 0;
    char err[256];

    if (lua_type(L, r) == LUA_TFUNCTION) {
        for (;;) {
            lua_pushvalue(L, r);
            lua_call(L, 0, 1);
            if (lua_isnil(L, -1))
                break;
            if (!append(L, c, lua_gettop(L), &items, &n, &cap))
                return false;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        *c->out = em_array(items, n);
        return true;
    }
    if (lua_type(L, r) == LUA_TTABLE) {
        if (em__lua_to_val(L, r, em_task_arena(c->t), c->out, err,
                           sizeof(err)) != EM_OK)
            return fail(c, EM_ETYPE, "the function returned a table that "
                                     "is not a value: result%s", err);
        if (c->out->type == EM_ARRAY)
            return true;
    }
    return fail(c, EM_ETYPE, "the function must return an array or an "
                             "iterator, not %s", luaL_typename(L, r));
}

static int protected_call(lua_State *L)
{
    call *c = lua_touserdata(L, 1);
    int nargs = (int)c->nargs, mode;
    char err[256];

    if (c->s == NULL) {
        cache_load(L, c);
        if (c->s == NULL)
            return 0;
    }
    mode = c->s->mode;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->s->ref);
    luaL_checkstack(L, nargs + 4, "too many arguments");
    if (mode == EM_LUA_MODE_PART || mode == EM_LUA_MODE_FOREACHPART) {
        c->it = push_iter(L, c->nargs ? c->args[0] : em_nil());
        nargs = 1;
    } else if (mode == EM_LUA_MODE_PARTIDX) {
        em__lua_push_val(L, c->nargs ? c->args[0] : em_nil());
        c->it = push_iter(L, c->nargs > 1 ? c->args[1] : em_nil());
        nargs = 2;
    } else {
        for (size_t i = 0; i < c->nargs; i++)
            em__lua_push_val(L, c->args[i]);
    }
    lua_call(L, nargs, 1);
    if (mode == EM_LUA_MODE_FOREACHPART) {
        *c->out = em_nil();
    } else if (mode != EM_LUA_MODE_PLAIN) {
        collect_flat(L, c);
    } else if (em__lua_to_val(L, -1, em_task_arena(c->t), c->out, err,
                              sizeof(err)) != EM_OK) {
        fail(c, EM_ETYPE, "the function returned something that is not a "
                          "value: result%s", err);
    }
    return 0;
}

static inline bool all_scalar(const em_val *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (args[i].type > EM_FLOAT)
            return false;
    return true;
}

/* The fast path: a plain function of numbers, booleans or nils. */
static int call_scalar(exec *x, const slot *s, const em_val *args,
                       size_t nargs, int msgh)
{
    lua_State *L = x->L;

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref);
    for (size_t i = 0; i < nargs; i++) {
        switch (args[i].type) {
        case EM_INT:
            lua_pushinteger(L, args[i].u.i);
            break;
        case EM_FLOAT:
            lua_pushnumber(L, args[i].u.f);
            break;
        case EM_BOOL:
            lua_pushboolean(L, args[i].u.b);
            break;
        default:
            lua_pushnil(L);
            break;
        }
    }
    return lua_pcall(L, (int)nargs, 1, msgh);
}

em_status em__lua_fn_call(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    exec *x = tls_exec;
    em_task *prev;
    call c;
    slot *s;
    int rc, top;

    if (x == NULL && (x = tls_exec = exec_new()) == NULL)
        return em_task_fail(t, "cannot start a Lua state: out of memory");
    if (em__lua_interrupted)
        return em_task_fail(t, "interrupted");
    if (nargs > 64)
        return em_task_fail(t, "too many arguments for a Lua function");
    prev = x->task;
    x->task = t;
    /* An outer call finds the message handler at index 1. A nested call
     * (an accumulator's merge inside a function) runs above the frame of
     * the C function that called it, with a handler of its own. */
    if (x->depth++ == 0) {
        top = 1;
    } else {
        top = lua_gettop(x->L);
        lua_pushcfunction(x->L, em__lua_msgh);
    }
    s = cache_hit(x, env);
    if (s != NULL && s->mode == EM_LUA_MODE_PLAIN && all_scalar(args, nargs)) {
        rc = call_scalar(x, s, args, nargs, top == 1 ? 1 : top + 1);
        if (rc == LUA_OK) {
            lua_State *L = x->L;
            int isnum;
            lua_Integer i = lua_tointegerx(L, -1, &isnum);
            if (isnum && lua_isinteger(L, -1))
                *out = em_int(i);
            else if (lua_type(L, -1) == LUA_TNUMBER)
                *out = em_float(lua_tonumber(L, -1));
            else if (lua_type(L, -1) == LUA_TBOOLEAN)
                *out = em_bool(lua_toboolean(L, -1));
            else if (lua_isnil(L, -1))
                *out = em_nil();
            else
                goto slow_result;
            lua_settop(L, top);
            x->task = prev;
            x->depth--;
            return EM_OK;
        }
        goto lua_error;
    }
    memset(&c, 0, sizeof(c));
    c.x = x;
    c.t = t;
    c.env = env;
    c.args = args;
    c.nargs = nargs;
    c.out = out;
    c.s = s;
    lua_pushcfunction(x->L, protected_call);
    lua_pushlightuserdata(x->L, &c);
    rc = lua_pcall(x->L, 1, 0, top == 1 ? 1 : top + 1);
    if (c.it != NULL)
        c.it->is_valid = false; /* the records are gone after we return */
    if (rc != LUA_OK)
        goto lua_error;
    lua_settop(x->L, top);
    x->task = prev;
    x->depth--;
    if (c.st != EM_OK)
        return em_task_fail(t, "%s", c.err);
    return EM_OK;

slow_result: {
    char err[256];
    em_status st = em__lua_to_val(x->L, -1, em_task_arena(t), out, err,
                                  sizeof(err));
    lua_settop(x->L, top);
    x->task = prev;
    x->depth--;
    if (st != EM_OK)
        return em_task_fail(t, "the function returned something that is "
                               "not a value: result%s", err);
    return EM_OK;
}
lua_error: {
    const char *msg = lua_tostring(x->L, -1);
    em_status st = em_task_fail(t, "%s", msg ? msg : "Lua error");
    lua_settop(x->L, top);
    x->task = prev;
    x->depth--;
    return st;
}
}
