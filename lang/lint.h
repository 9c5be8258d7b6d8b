/* Internals shared by the files of the Lua binding: values across Lua and
 * C, closure encoding (driver) and decoding (executor), the `ember` module,
 * the context, RDD and shared-variable objects. docs/shell.md is the
 * user's view; the closure format is described in lang/README.md.
 */
#ifndef EMBER_LANG_LINT_H
#define EMBER_LANG_LINT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "ember.h"
#include "lang.h"

/* Metatable names of the binding's userdata. */
#define EM_LUA_CTX "ember.SparkContext"
#define EM_LUA_RDD "ember.RDD"
#define EM_LUA_BCAST "ember.Broadcast"
#define EM_LUA_ACCUM "ember.Accumulator"
#define EM_LUA_ARENA "ember.arena"
#define EM_LUA_ITER "ember.iterator"
/* Registry table: handle kind -> table of methods of such handles (the
 * parameter server's, lps.c), looked up by handle values' __index. */
#define EM_LUA_HANDLE_METHODS "ember.handle.methods"

/* Set by the shell's SIGINT handler; a running Lua function fails its
 * task with "interrupted" while it is set. Cleared when an action ends. */
extern volatile sig_atomic_t em__lua_interrupted;

/* Called from a signal handler: sets em__lua_interrupted and arms a hook
 * in every executor state of the process that stops the running Lua
 * function (lua_sethook may be called from a signal handler, as lua.c
 * does). */
void em__lua_interrupt_all(void);

/* A new Lua state whose heap goes through the library's allocation
 * wrapper (em_mem_realloc); NULL when out of memory. */
lua_State *em__lua_newstate(void);

/* Cancels the running job of every driver context of the process
 * (em_ctx_cancel); async-signal-safe. */
void em__lua_cancel_all(void);

/* ---- values (lval.c) ---- */

/* Pushes the sentinel ember.null (a light userdata). */
void em__lua_push_null(lua_State *L);
/* True when the value at idx is ember.null. */
bool em__lua_is_null(lua_State *L, int idx);

/* Converts the Lua value at idx to an em_val allocated in `a`: nil and
 * ember.null are nil, integers int, floats float, strings str (copied),
 * an empty table or a sequence 1..n an array, any other table a map.
 * Functions, threads and userdata are EM_ETYPE; cycles and nesting past
 * 64 levels are EM_ELIMIT. On failure *out is untouched and a message
 * (with the path to the bad element, e.g. "[3].name: a function") is
 * written to err (cap bytes). Leaves the Lua stack as it was. */
em_status em__lua_to_val(lua_State *L, int idx, em_arena *a, em_val *out,
                         char *err, size_t cap);

/* Pushes v as a Lua value: arrays and maps become tables (nil inside them
 * is ember.null), bytes become strings, vectors arrays of floats, a sparse
 * vector the table {dim = n, indices = {...}, values = {...}} (indices
 * 0-based), a handle an ember.handle userdata holding a copy. */
void em__lua_push_val(lua_State *L, em_val v);

/* Calls em__lua_to_val and raises a Lua error naming `what` on failure. */
em_val em__lua_check_val(lua_State *L, int idx, em_arena *a,
                         const char *what);

/* A temporary arena owned by a userdata pushed on the stack: it is freed
 * when the userdata is collected, or at once with em__lua_arena_free, so a
 * Lua error between creating and freeing it leaks nothing. */
em_arena *em__lua_arena(lua_State *L);
void em__lua_arena_free(lua_State *L, int idx);

/* Registers the metatable of handle values (lval.c). */
void em__lua_open_vals(lua_State *L);

/* ---- the ember module (lmodule.c) ---- */

/* Opens the `ember` module in L and leaves it on the stack. is_driver
 * decides whether sc-related constructors are present. Also sets
 * package.loaded.ember. */
void em__lua_open_ember(lua_State *L, bool is_driver);

/* Adds ember.text, ember.ml, ember.sketch and the native tokenizers
 * ember.op.words and ember.op.tokens to the module at the top (lml.c). */
void em__lua_open_ml(lua_State *L);

/* Adds ember.ml's linear models, KMeans, ALS and MatrixFactorization, and
 * ember.graph, to the module at the top (lml7.c). */
void em__lua_open_ml7(lua_State *L);

/* Adds ember.ad (autodiff on a tape) and ember.ml.MLP to the module at the
 * top, after em__lua_open_ml7 (lml_nn.c). */
void em__lua_open_nn(lua_State *L);

/* Adds ember.ml.gridSearch to the module at the top (lml_grid.c). */
void em__lua_open_grid(lua_State *L);

/* Adds ember.ps (the parameter server) to the module at the top and the
 * methods of its handles, which work in tasks too (lps.c). */
void em__lua_open_ps(lua_State *L, bool is_driver);

/* Adds ember.gpu (info: the GPU toolkit and devices) to the module at the
 * top (lgpu.c). */
void em__lua_open_gpu(lua_State *L);

/* Adds ember.BarrierTaskContext (get, in a barrier stage's task) to the
 * module at the top (lbarrier.c). */
void em__lua_open_barrier(lua_State *L);

/* The em_storage of a level name ("MEMORY_AND_DISK"), or -1; and back. */
int em__lua_storage_of(const char *name);
const char *em__lua_storage_name(int level);

/* Driver-side context object. */
typedef struct em__lctx {
    em_ctx *ctx;          /* NULL once stopped */
} em__lctx;

/* Creates the context for master (NULL: $EMBER_MASTER, else local[*]),
 * memory budget (0: default) and GPU operators (em_conf.gpu: 0 default,
 * 1 on, -1 off), pushes its object and returns it; raises a Lua error on
 * failure. */
em__lctx *em__lua_new_ctx(lua_State *L, const char *master,
                          int64_t memory_bytes, int gpu);
/* The context argument at idx, raising an error when stopped. */
em_ctx *em__lua_check_ctx(lua_State *L, int idx);

/* A broadcast or accumulator object (driver or executor flavour). */
typedef struct em__lshared {
    em__lctx *owner;      /* the driver's context object, or NULL */
    em_broadcast *bcast;  /* driver broadcast, or NULL */
    em_accum *accum;      /* driver accumulator, or NULL */
    em_val ref;           /* the reference tasks use; state in refbuf */
    uint8_t refbuf[32];   /* the reference's handle bytes */
    bool is_destroyed;    /* unpersist/destroy called */
} em__lshared;

/* Pushes an executor-side broadcast or accumulator for the reference
 * handle ref (is_accum says which). */
void em__lua_push_shared_ref(lua_State *L, em_val ref, bool is_accum);

/* The task running in L (executor states), or NULL on the driver. */
em_task *em__lua_task(lua_State *L);

/* ---- RDDs (lrdd.c, lactions.c) ---- */

void em__lua_open_rdd(lua_State *L);
/* Pushes a new RDD object for an existing node of context object at
 * ctx_idx. */
void em__lua_push_rdd(lua_State *L, int ctx_idx, em_rdd *node);
/* The materialized node of the RDD at idx (building its lineage now, so
 * closures capture their globals now, as PySpark does at the first
 * action). Raises a Lua error on failure. */
em_rdd *em__lua_rdd_node(lua_State *L, int idx);
/* Registers the RDD action methods into the method table at idx. */
void em__lua_rdd_actions(lua_State *L, int idx);
/* Raises a Lua error with em_last_error(), after an action failed. */
int em__lua_fail(lua_State *L, const char *what);
/* Ends an action: clears the interrupt flag; raises "interrupted" if it
 * was set and st is not EM_OK. */
void em__lua_action_done(lua_State *L, em_status st, const char *what);

/* ---- closures (lclosure.c, ldump.c, lexec.c) ---- */

/* How the trampoline passes arguments and reads results. */
enum em__lua_mode {
    EM_LUA_MODE_PLAIN = 0,  /* args as values, result as value */
    EM_LUA_MODE_FLAT = 1,   /* result: an array or an iterator -> array */
    EM_LUA_MODE_PART = 2,   /* arg 0 (array) as an iterator; result as FLAT */
    EM_LUA_MODE_PARTIDX = 3, /* arg 0 int, arg 1 as an iterator; as FLAT */
    EM_LUA_MODE_FOREACHPART = 4, /* arg 0 as an iterator; result ignored */
};

/* Turns the function at idx into an em_fn for an operator. A native op
 * (ember.op.add, ...) becomes the C function itself; any other function
 * the trampoline em__lua_fn_call with an environment describing it fully,
 * allocated in `a`. Raises a Lua error naming the variable that cannot
 * travel. */
em_fn em__lua_check_fn(lua_State *L, int idx, int mode, em_arena *a);

/* Checks, without encoding globals, that the function at idx could travel
 * now (its upvalues); raises the error at the transformation. */
void em__lua_precheck_fn(lua_State *L, int idx);

/* Names of the globals the Lua function at idx reads or writes (through
 * its _ENV), nested functions included: pushes a table set of names.
 * Returns false when the bytecode cannot be analysed (message pushed
 * instead). */
bool em__lua_globals_of(lua_State *L, int idx);

/* Records the values of the standard globals of the driver state (called
 * once, after the libraries and the module are opened). */
void em__lua_snapshot_std(lua_State *L);

/* The trampoline: runs an encoded Lua closure in the calling thread's own
 * Lua state (made on first use), loading it once per thread. */
em_status em__lua_fn_call(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out);

/* Closes the calling thread's executor state, if any. */
void em__lua_exec_shutdown(void);

/* Decodes a function description (executor side) and pushes the function;
 * on failure pushes nothing, writes a message to err and returns false. */
bool em__lua_decode_fn(lua_State *L, em_val desc, char *err, size_t cap);

/* Encoding tags of captured values (lclosure.c writes, lexec.c reads). */
enum em__lua_tag {
    EM_LUA_TAG_DATA = 0,   /* a plain value */
    EM_LUA_TAG_FN = 1,     /* a Lua function: a description */
    EM_LUA_TAG_BCAST = 2,  /* a broadcast reference */
    EM_LUA_TAG_ACCUM = 3,  /* an accumulator reference */
    EM_LUA_TAG_NAMED = 4,  /* a standard library value, by name */
    EM_LUA_TAG_TABLE = 5,  /* a table holding non-data values */
    EM_LUA_TAG_SELF = 6,   /* a function being described: levels up */
    EM_LUA_TAG_ENV = 7,    /* the closure's own global environment */
    EM_LUA_TAG_NULL = 8,   /* ember.null */
};

/* Positions in a function description. */
enum {
    EM_LUA_FD_KIND = 0, /* int: 0 Lua bytecode, 1 named native */
    EM_LUA_FD_CODE,     /* bytes: bytecode; or str: the name */
    EM_LUA_FD_UPVALS,   /* array of [name, tagged] */
    EM_LUA_FD_GLOBALS,  /* array of [name, tagged] */
    EM_LUA_FD_WHERE,    /* str: "file:line" of the definition */
    EM_LUA_FD_N
};

/* Positions in the environment of the trampoline. */
enum {
    EM_LUA_ENV_MAGIC = 0, /* str "ember.lua.1" */
    EM_LUA_ENV_ID1,       /* int: content hash */
    EM_LUA_ENV_ID2,       /* int: second content hash */
    EM_LUA_ENV_MODE,      /* int: em__lua_mode */
    EM_LUA_ENV_FN,        /* the function description */
    EM_LUA_ENV_N
};

#define EM_LUA_MAGIC "ember.lua.1"

/* Pushes the value a standard name denotes ("math.sqrt", "ember.op.add",
 * "ember") in L; returns false when the name is unknown. */
bool em__lua_push_named(lua_State *L, const char *name);

/* Pushes the name of a standard value (a library function or table, the
 * ember module or one of its members), or returns false. */
bool em__lua_name_of(lua_State *L, int idx);

/* The C function of a native op (ember.op.add ...) at idx, or NULL. */
em_fn_ptr em__lua_native_op(lua_State *L, int idx);

/* ---- driver states and the shell (lrun.c, shell.c) ---- */

/* Makes a driver state: libraries, `ember`, `sc` for the options. Returns
 * NULL with a message in err on failure. */
lua_State *em__lua_driver_new(const em__lang_opts *o, char *err,
                              size_t cap);
/* Closes a driver state (stopping its context) and the calling thread's
 * executor state. */
void em__lua_driver_close(lua_State *L);
/* Message handler for lua_pcall: adds a traceback. */
int em__lua_msgh(lua_State *L);

#endif /* EMBER_LANG_LINT_H */
