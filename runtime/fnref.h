/* Function references that travel. A native function (or any static object
 * of the program, such as an RDD kind) is named across processes by the
 * module that holds it and its offset from the module's load address: the
 * main program is the module "", a shared library is named by its file
 * name. Driver and executors run the same binary and the same libraries
 * (DESIGN.md, "Programs on the pool"), so the offset names the same code in
 * both; a raw address never leaves the process.
 *
 * Inside a process a function can also be a value: a handle of kind
 * EM__HANDLE_FN holding the raw pointer. Before a value leaves the process,
 * em__val_export_fns turns every such handle into the portable kind
 * EM__HANDLE_FNREF; em__val_import_fns turns them back after decoding, and
 * refuses a raw-pointer handle that arrived from outside.
 */
#ifndef EMBER_RUNTIME_FNREF_H
#define EMBER_RUNTIME_FNREF_H

#include <stdbool.h>

#include "ember.h"

/* Handle kinds reserved by the runtime. */
enum {
    EM__HANDLE_FN = 0xfff0,    /* in-process: the raw function pointer */
    EM__HANDLE_FNREF = 0xfff1, /* portable: module name, NUL, u64 offset */
};

/* Writes the portable reference of address p (a function or a static
 * object of some loaded module) to *out, allocated in a. EM_EINVAL when p
 * lies in no loaded module (a heap or stack address). */
em_status em__addr_export(const void *p, em_arena *a, em_val *out);

/* Resolves a portable reference in this process. EM_EFORMAT for a
 * malformed reference, EM_ENOENT when its module is not loaded here or the
 * offset lies outside the module's mapped segments. */
em_status em__addr_import(em_val ref, const void **out);

/* A function as a value (kind EM__HANDLE_FN), its pointer stored in a. */
em_status em__fnval_make(em_arena *a, em_fn_ptr p, em_val *out);

/* The function of a value made by em__fnval_make; EM_ETYPE for any other
 * value. nil gives NULL (no function). */
em_status em__fnval_get(em_val v, em_fn_ptr *out);

/* A closure as the value [function, env] (nil for none), in a. */
em_status em__fn_pack(em_arena *a, em_fn f, em_val *out);

/* The closure of a value made by em__fn_pack (env points into v). */
em_status em__fn_unpack(em_val v, em_fn *out);

/* True when v holds a function handle of either kind somewhere. */
bool em__val_has_fns(em_val v);

/* A copy of v, in a, with every EM__HANDLE_FN replaced by its portable
 * reference. When v holds no function, *out is v itself (no copy). */
em_status em__val_export_fns(em_val v, em_arena *a, em_val *out);

/* The reverse, for a value decoded from outside: every EM__HANDLE_FNREF
 * resolved to EM__HANDLE_FN. A raw EM__HANDLE_FN in the input is refused
 * (EM_EFORMAT): addresses never travel. */
em_status em__val_import_fns(em_val v, em_arena *a, em_val *out);

#endif /* EMBER_RUNTIME_FNREF_H */
