/* Function references: module-relative addresses (see fnref.h). */
#include "fnref.h"

#include <link.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "err.h"

/* ---- modules ---- */

typedef struct find_addr {
    uintptr_t addr;       /* in: the address */
    const char *name;     /* out: module name ("" for the main program) */
    uintptr_t base;       /* out: load address */
    bool is_found;
} find_addr;

static const char *module_key(const struct dl_phdr_info *info, int index)
{
    const char *slash;

    if (index == 0 || info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
        return "";
    slash = strrchr(info->dlpi_name, '/');
    return slash ? slash + 1 : info->dlpi_name;
}

/* True when addr lies in one of the module's loaded segments. */
static bool in_module(const struct dl_phdr_info *info, uintptr_t addr,
                      bool need_exec)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

        if (ph->p_type != PT_LOAD)
            continue;
        if (need_exec && !(ph->p_flags & PF_X))
            continue;
        if (addr >= lo && addr < lo + ph->p_memsz)
            return true;
    }
    return false;
}

/* dl_iterate_phdr visits the main program first. */
typedef struct iter {
    int index;
    void *arg;
} iter;

static int find_by_addr(struct dl_phdr_info *info, size_t size, void *p)
{
    iter *it = p;
    find_addr *f = it->arg;
    int index = it->index++;

    (void)size;
    if (!in_module(info, f->addr, false))
        return 0;
    f->name = module_key(info, index);
    f->base = info->dlpi_addr;
    f->is_found = true;
    return 1;
}

typedef struct find_name {
    const char *name;     /* in */
    uint64_t offset;      /* in */
    uintptr_t addr;       /* out */
    bool is_found;        /* module found */
    bool is_mapped;       /* offset inside it */
} find_name;

static int find_by_name(struct dl_phdr_info *info, size_t size, void *p)
{
    iter *it = p;
    find_name *f = it->arg;
    int index = it->index++;

    (void)size;
    if (strcmp(module_key(info, index), f->name) != 0)
        return 0;
    f->is_found = true;
    f->addr = info->dlpi_addr + (uintptr_t)f->offset;
    f->is_mapped = f->offset < UINTPTR_MAX - info->dlpi_addr &&
                   in_module(info, f->addr, false);
    return 1;
}

em_status em__addr_export(const void *p, em_arena *a, em_val *out)
{
    find_addr f = {(uintptr_t)p, NULL, 0, false};
    iter it = {0, &f};
    size_t n;
    uint8_t *buf;
    uint64_t off;

    dl_iterate_phdr(find_by_addr, &it);
    if (!f.is_found)
        return em__err(EM_EINVAL, "function reference: address %p is in no "
                       "loaded module (a function must be a named function "
                       "of the program or a library)", p);
    n = strlen(f.name);
    if ((buf = em__arena_alloc(a, n + 1 + 8, 1)) == NULL)
        return EM_ENOMEM;
    memcpy(buf, f.name, n + 1);
    off = (uint64_t)(f.addr - f.base);
    for (int i = 0; i < 8; i++)
        buf[n + 1 + i] = (uint8_t)(off >> (8 * i));
    out->type = EM_HANDLE;
    out->flags = 0;
    out->kind = EM__HANDLE_FNREF;
    out->len = (uint32_t)(n + 9);
    out->u.state = buf;
    return EM_OK;
}

em_status em__addr_import(em_val ref, const void **out)
{
    const uint8_t *b = ref.u.state;
    const uint8_t *nul;
    find_name f;
    iter it = {0, &f};
    char name[256];
    size_t n;

    if (ref.type != EM_HANDLE || ref.kind != EM__HANDLE_FNREF ||
        ref.len < 9 || ref.len - 9 >= sizeof(name))
        return em__err(EM_EFORMAT, "function reference: malformed");
    nul = memchr(b, 0, ref.len - 8);
    if (nul == NULL || (size_t)(nul - b) != ref.len - 9)
        return em__err(EM_EFORMAT, "function reference: malformed");
    n = ref.len - 9;
    memcpy(name, b, n + 1);
    memset(&f, 0, sizeof(f));
    f.name = name;
    for (int i = 0; i < 8; i++)
        f.offset |= (uint64_t)b[n + 1 + i] << (8 * i);
    dl_iterate_phdr(find_by_name, &it);
    if (!f.is_found)
        return em__err(EM_ENOENT, "function reference: module %s is not "
                       "loaded in this process", n ? name : "(main program)");
    if (!f.is_mapped)
        return em__err(EM_ENOENT, "function reference: offset %llu is "
                       "outside module %s", (unsigned long long)f.offset,
                       n ? name : "(main program)");
    *out = (const void *)f.addr;
    return EM_OK;
}

/* ---- functions as values ---- */

em_status em__fnval_make(em_arena *a, em_fn_ptr p, em_val *out)
{
    void *buf;

    if (p == NULL) {
        *out = em_nil();
        return EM_OK;
    }
    if ((buf = em__arena_alloc(a, sizeof(p), 8)) == NULL)
        return EM_ENOMEM;
    memcpy(buf, &p, sizeof(p));
    out->type = EM_HANDLE;
    out->flags = 0;
    out->kind = EM__HANDLE_FN;
    out->len = sizeof(p);
    out->u.state = buf;
    return EM_OK;
}

em_status em__fnval_get(em_val v, em_fn_ptr *out)
{
    if (v.type == EM_NIL) {
        *out = NULL;
        return EM_OK;
    }
    if (v.type != EM_HANDLE || v.kind != EM__HANDLE_FN ||
        v.len != sizeof(em_fn_ptr))
        return em__err(EM_ETYPE, "expected a function, got %s",
                       em_type_name((em_type)v.type));
    memcpy(out, v.u.state, sizeof(*out));
    return EM_OK;
}

em_status em__fn_pack(em_arena *a, em_fn f, em_val *out)
{
    em_val *items, fv;
    em_status st;

    if ((st = em__fnval_make(a, f.call, &fv)) != EM_OK)
        return st;
    if ((items = em_array_make(a, 2, out)) == NULL)
        return EM_ENOMEM;
    items[0] = fv;
    items[1] = f.env;
    return EM_OK;
}

em_status em__fn_unpack(em_val v, em_fn *out)
{
    em_fn f;
    em_status st;

    if (v.type != EM_ARRAY || v.len != 2)
        return em__err(EM_ETYPE, "expected a packed function");
    if ((st = em__fnval_get(v.u.arr[0], &f.call)) != EM_OK)
        return st;
    f.env = v.u.arr[1];
    *out = f;
    return EM_OK;
}

/* ---- walking values ---- */

bool em__val_has_fns(em_val v)
{
    switch (v.type) {
    case EM_HANDLE:
        return v.kind == EM__HANDLE_FN || v.kind == EM__HANDLE_FNREF;
    case EM_ARRAY:
        for (uint32_t i = 0; i < v.len; i++)
            if (em__val_has_fns(v.u.arr[i]))
                return true;
        return false;
    case EM_MAP:
        for (uint32_t i = 0; i < 2 * v.len; i++)
            if (em__val_has_fns(v.u.map[i]))
                return true;
        return false;
    default:
        return false;
    }
}

/* Rebuilds v with fn handles mapped by is_export; depth-limited by the
 * codec's limits upstream (decoded values) or by construction. */
static em_status map_fns(em_val v, em_arena *a, bool is_export, em_val *out)
{
    em_val *items;
    uint32_t n;
    em_status st;

    switch (v.type) {
    case EM_HANDLE:
        if (v.kind == EM__HANDLE_FN) {
            em_fn_ptr p;
            if (!is_export)
                return em__err(EM_EFORMAT, "a raw function address arrived "
                               "from another process; refused");
            memcpy(&p, v.u.state, sizeof(p));
            return em__addr_export(*(const void **)&p, a, out);
        }
        if (v.kind == EM__HANDLE_FNREF && !is_export) {
            const void *addr;
            em_fn_ptr p;
            if ((st = em__addr_import(v, &addr)) != EM_OK)
                return st;
            *(const void **)&p = addr;
            return em__fnval_make(a, p, out);
        }
        *out = v;
        return EM_OK;
    case EM_ARRAY:
    case EM_MAP:
        if (!em__val_has_fns(v)) {
            *out = v;
            return EM_OK;
        }
        n = v.type == EM_ARRAY ? v.len : 2 * v.len;
        if ((items = em__arena_alloc(a, (size_t)n * sizeof(em_val), 8)) ==
            NULL)
            return EM_ENOMEM;
        for (uint32_t i = 0; i < n; i++) {
            const em_val *src = v.type == EM_ARRAY ? v.u.arr : v.u.map;
            if ((st = map_fns(src[i], a, is_export, &items[i])) != EM_OK)
                return st;
        }
        *out = v;
        out->u.arr = items;
        return EM_OK;
    default:
        *out = v;
        return EM_OK;
    }
}

em_status em__val_export_fns(em_val v, em_arena *a, em_val *out)
{
    return map_fns(v, a, true, out);
}

em_status em__val_import_fns(em_val v, em_arena *a, em_val *out)
{
    return map_fns(v, a, false, out);
}
