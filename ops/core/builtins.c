/* Built-in two-argument functions: add, mul, min, max, concat. */
#include <string.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/num.h"

static em_status need_two(const char *op, size_t nargs)
{
    if (nargs == 2)
        return EM_OK;
    return em__err(EM_EINVAL, "%s takes 2 arguments, not %zu", op, nargs);
}

em_status em_op_add(em_task *t, const em_val *env, const em_val *args,
                    size_t nargs, em_val *out)
{
    em_status st = need_two("add", nargs);

    if (st == EM_OK && args[0].type == EM_STR && args[1].type == EM_STR)
        return em_op_concat(t, env, args, nargs, out);
    return st != EM_OK ? st : em__num_add(args[0], args[1], out);
}

em_status em_op_mul(em_task *t, const em_val *env, const em_val *args,
                    size_t nargs, em_val *out)
{
    em_status st = need_two("mul", nargs);

    return st != EM_OK ? st : em__num_mul(args[0], args[1], out);
}

em_status em_op_min(em_task *t, const em_val *env, const em_val *args,
                    size_t nargs, em_val *out)
{
    em_status st = need_two("min", nargs);

    if (st == EM_OK)
        *out = em_val_cmp(args[1], args[0]) < 0 ? args[1] : args[0];
    return st;
}

em_status em_op_max(em_task *t, const em_val *env, const em_val *args,
                    size_t nargs, em_val *out)
{
    em_status st = need_two("max", nargs);

    if (st == EM_OK)
        *out = em_val_cmp(args[1], args[0]) > 0 ? args[1] : args[0];
    return st;
}

/* Strings and bytes join; arrays append. */
em_status em_op_concat(em_task *t, const em_val *env, const em_val *args,
                       size_t nargs, em_val *out)
{
    em_status st = need_two("concat", nargs);
    em_val a, b, *items;
    char *d;

    if (st != EM_OK)
        return st;
    a = args[0];
    b = args[1];
    if (a.type != b.type ||
        (a.type != EM_STR && a.type != EM_BYTES && a.type != EM_ARRAY))
        return em__err(EM_ETYPE, "cannot concat %s and %s",
                       em_type_name((em_type)a.type),
                       em_type_name((em_type)b.type));
    if ((uint64_t)a.len + b.len > UINT32_MAX)
        return em__err(EM_ELIMIT, "concat: result too large");
    if (a.type == EM_ARRAY) {
        items = em_array_make(em_task_arena(t), (size_t)a.len + b.len, out);
        if (items == NULL)
            return EM_ENOMEM;
        if (a.len)
            memcpy(items, a.u.arr, a.len * sizeof(em_val));
        if (b.len)
            memcpy(items + a.len, b.u.arr, b.len * sizeof(em_val));
        return EM_OK;
    }
    d = em__arena_alloc(em_task_arena(t), (size_t)a.len + b.len, 1);
    if (d == NULL)
        return EM_ENOMEM;
    if (a.len)
        memcpy(d, a.u.s, a.len);
    if (b.len)
        memcpy(d + a.len, b.u.s, b.len);
    *out = a;
    out->len = a.len + b.len;
    out->u.s = d;
    return EM_OK;
}
