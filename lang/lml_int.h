/* Helpers shared by the Lua bindings of the learning library (lml.c,
 * lml7.c). Internal to lang/. */
#ifndef EMBER_LANG_LML_INT_H
#define EMBER_LANG_LML_INT_H

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

em_rdd *em__lml_map_native(lua_State *L, em_rdd *node, em_fn_ptr f);

/* Pushes the RDD node made from the RDD object at rdd_idx, or fails. */
int em__lml_push_rdd(lua_State *L, int rdd_idx, em_rdd *node, const char *what);

bool em__lml_is_rdd(lua_State *L, int idx);

/* A field of the options table at idx as a number, or dflt. */
double em__lml_opt_num(lua_State *L, int idx, const char *k, double dflt);

#endif /* EMBER_LANG_LML_INT_H */
