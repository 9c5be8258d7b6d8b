/* Helpers shared by the Lua bindings of the learning library (lml.c,
 * lml7.c, lml_nn.c). Internal to lang/. */
#ifndef EMBER_LANG_LML_INT_H
#define EMBER_LANG_LML_INT_H

#include "ember/ml_linear.h"
#include "lint.h"

/* The value of key `key` in the map m, or NULL. */
const em_val *em__lml_map_get(em_val m, const char *key);

/* v as a vector in `a`: vectors stay; an array of numbers becomes dense; a
 * map {dim = n, indices = {...} (0-based), values = {...}} sparse. NULL on
 * success, else what is wrong. */
const char *em__lml_val_vector(em_arena *a, em_val v, em_val *out);

/* The Lua value at idx as a vector in `a`; raises an error naming what. */
em_val em__lml_check_vector(lua_State *L, int idx, em_arena *a,
                            const char *what);

/* A record [x, features] with the features made a vector (map function). */
em_status em__lml_fix_pair(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out);

/* A record that is a vector made a vector (map function). */
em_status em__lml_fix_vector(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out);

/* A record that is a vector, or a point {label, vector}, made a vector or
 * a point with a vector (map function, before a prediction). */
em_status em__lml_fix_features(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out);

em_rdd *em__lml_map_native(lua_State *L, em_rdd *node, em_fn_ptr f);

/* Pushes the RDD node made from the RDD object at rdd_idx, or fails. */
int em__lml_push_rdd(lua_State *L, int rdd_idx, em_rdd *node, const char *what);

bool em__lml_is_rdd(lua_State *L, int idx);

/* A field of the options table at idx as a number, or dflt. */
double em__lml_opt_num(lua_State *L, int idx, const char *k, double dflt);

/* Fields of the options table at idx (none or nil: every default); a field
 * of the wrong type raises an error naming it. */
int64_t em__lml_opt_int(lua_State *L, int idx, const char *k, int64_t dflt);
bool em__lml_opt_bool(lua_State *L, int idx, const char *k, bool dflt);
const char *em__lml_opt_str(lua_State *L, int idx, const char *k,
                            const char *dflt);

/* Raises an error unless the argument at idx is a table, none or nil. */
void em__lml_check_opts(lua_State *L, int idx);

/* The shared optimizers' options regType (dflt when absent), optimizer
 * (sgd, ..., adam; dflt when absent) and schedule (invsqrt, the default, or
 * constant); an unknown name raises an error listing the choices. */
em_reg em__lml_opt_reg(lua_State *L, int idx, em_reg dflt);
em_optim_kind em__lml_opt_optimizer(lua_State *L, int idx, em_optim_kind dflt);
em_schedule em__lml_opt_schedule(lua_State *L, int idx);

/* A model object: userdata holding an arena and the model value in it,
 * freed by __gc. */
typedef struct em__lml_model {
    em_arena *arena; /* owns everything the model value points to */
    em_val model;
} em__lml_model;

/* Pushes a new model object of metatable mt with an empty arena. */
em__lml_model *em__lml_model_new(lua_State *L, const char *mt);

/* Registers metatable mt for model objects: methods, __index a closure of
 * index_fn over the methods table (index_fn looks there first), __gc and
 * __tostring. */
void em__lml_model_class(lua_State *L, const char *mt,
                         const luaL_Reg *methods, lua_CFunction index_fn);

/* Pushes the field k of the map model value, or nil. */
void em__lml_push_field(lua_State *L, em_val model, const char *k);

/* model:value(), for a methods table. */
int em__lml_model_value(lua_State *L);

/* Sets t[name] = a table of the functions fns, for t at the top. */
void em__lml_set_lib(lua_State *L, const char *name, const luaL_Reg *fns);

/* A linear model's value as it comes back from Lua (its weights a table
 * of numbers, an intercept of 0 an integer) made a model value again, in
 * a (lml_grid.c); EM_EFORMAT with em_linear_model_parts's message for
 * another value. */
em_status em__lml_linear_value(em_arena *a, em_val v, em_val *out);

/* Sets ember.ml.Vectors and ember.ml.MLUtils in the table at ml_idx
 * (lml_data.c). */
void em__lml_open_data(lua_State *L, int ml_idx);

/* model:predict(x) -> a number, model:predict(rdd) -> an RDD, for a model
 * object of class mt: predict on one vector, or predict_op (its map
 * function, the model as env) over the RDD's records. */
int em__lml_predict(lua_State *L, const char *mt,
                    em_status (*predict)(em_val, em_val, double *),
                    em_fn_ptr predict_op);

#endif /* EMBER_LANG_LML_INT_H */
