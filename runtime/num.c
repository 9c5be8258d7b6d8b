/* Number arithmetic (see num.h). */
#include "num.h"

#include "err.h"

static em_status not_numbers(const char *op, em_val a, em_val b)
{
    return em__err(EM_ETYPE, "cannot %s %s and %s", op,
                   em_type_name((em_type)a.type),
                   em_type_name((em_type)b.type));
}

em_status em__num_add(em_val a, em_val b, em_val *out)
{
    double x, y;

    if (a.type == EM_INT && b.type == EM_INT) {
        int64_t r;
        if (__builtin_add_overflow(a.u.i, b.u.i, &r))
            return em__err(EM_ELIMIT, "integer overflow in %lld + %lld",
                           (long long)a.u.i, (long long)b.u.i);
        *out = em_int(r);
        return EM_OK;
    }
    if (!em_val_as_float(a, &x) || !em_val_as_float(b, &y))
        return not_numbers("add", a, b);
    *out = em_float(x + y);
    return EM_OK;
}

em_status em__num_mul(em_val a, em_val b, em_val *out)
{
    double x, y;

    if (a.type == EM_INT && b.type == EM_INT) {
        int64_t r;
        if (__builtin_mul_overflow(a.u.i, b.u.i, &r))
            return em__err(EM_ELIMIT, "integer overflow in %lld * %lld",
                           (long long)a.u.i, (long long)b.u.i);
        *out = em_int(r);
        return EM_OK;
    }
    if (!em_val_as_float(a, &x) || !em_val_as_float(b, &y))
        return not_numbers("multiply", a, b);
    *out = em_float(x * y);
    return EM_OK;
}
