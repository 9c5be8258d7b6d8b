/* Function references: module-relative addresses and function values. */
#include <string.h>

#include "em_test.h"
#include "runtime/fnref.h"

static em_status twice(em_task *t, const em_val *env, const em_val *args,
                       size_t nargs, em_val *out)
{
    (void)t;
    (void)env;
    (void)nargs;
    *out = em_int(2 * args[0].u.i);
    return EM_OK;
}

static const int a_static_object = 42;

/* A function of the program and one of libember (em_op_add) round-trip to
 * the same address. */
static void test_addr_round_trip(void **state)
{
    em_arena *a = em_arena_create();
    const void *addrs[] = {(const void *)twice, (const void *)em_op_add,
                           &a_static_object};
    (void)state;
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        em_val ref;
        const void *back = NULL;
        assert_int_equal(em__addr_export(addrs[i], a, &ref), EM_OK);
        assert_int_equal(ref.kind, EM__HANDLE_FNREF);
        assert_int_equal(em__addr_import(ref, &back), EM_OK);
        assert_ptr_equal(back, addrs[i]);
    }
    em_arena_destroy(a);
}

static void test_addr_refuses(void **state)
{
    em_arena *a = em_arena_create();
    int local = 0;
    em_val ref;
    const void *back;
    uint8_t bad[] = {'n', 'o', '.', 's', 'o', 0, 1, 0, 0, 0, 0, 0, 0, 0};
    (void)state;
    /* a stack address is in no module */
    assert_int_equal(em__addr_export(&local, a, &ref), EM_EINVAL);
    /* an unknown module, and a malformed reference */
    ref.type = EM_HANDLE;
    ref.flags = 0;
    ref.kind = EM__HANDLE_FNREF;
    ref.len = sizeof(bad);
    ref.u.state = bad;
    assert_int_equal(em__addr_import(ref, &back), EM_ENOENT);
    assert_non_null(strstr(em_last_error(), "no.so"));
    ref.len = 5;
    assert_int_equal(em__addr_import(ref, &back), EM_EFORMAT);
    /* an offset far outside the main program */
    assert_int_equal(em__addr_export((const void *)twice, a, &ref), EM_OK);
    memcpy(bad, ref.u.state, ref.len);
    bad[ref.len - 1] = 0x7f;
    ref.u.state = bad;
    assert_int_equal(em__addr_import(ref, &back), EM_ENOENT);
    em_arena_destroy(a);
}

/* A value holding closures exports, encodes, decodes and imports back to
 * callable functions; a raw address from outside is refused. */
static void test_values(void **state)
{
    em_arena *a = em_arena_create();
    em_val packed, items[3], v, wire, back, arg = em_int(21), r;
    em_fn f;
    (void)state;
    assert_int_equal(em__fn_pack(a, em_fn_of(twice, em_cstr("env")), &packed),
                     EM_OK);
    items[0] = em_int(1);
    items[1] = packed;
    items[2] = em_cstr("x");
    v = em_array(items, 3);
    assert_true(em__val_has_fns(v));
    assert_false(em__val_has_fns(items[2]));
    /* no raw address crosses */
    assert_int_equal(em__val_import_fns(v, a, &back), EM_EFORMAT);
    assert_int_equal(em__val_export_fns(v, a, &wire), EM_OK);
    assert_int_equal(wire.u.arr[1].u.arr[0].kind, EM__HANDLE_FNREF);
    assert_int_equal(em__val_import_fns(wire, a, &back), EM_OK);
    assert_int_equal(em__fn_unpack(back.u.arr[1], &f), EM_OK);
    assert_ptr_equal((void *)f.call, (void *)twice);
    assert_true(em_val_eq(f.env, em_cstr("env")));
    assert_int_equal(f.call(NULL, &f.env, &arg, 1, &r), EM_OK);
    assert_int_equal(r.u.i, 42);
    /* values without functions are not copied */
    assert_int_equal(em__val_export_fns(items[2], a, &back), EM_OK);
    assert_ptr_equal(back.u.s, items[2].u.s);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_round_trip),
        cmocka_unit_test(test_addr_refuses),
        cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
