/* ember.text, ember.ml and ember.sketch: the operator libraries of
 * include/ember/ml.h in Lua, with the names of pyspark.mllib and of Spark's
 * sketch library, plus the native tokenizers ember.op.words and
 * ember.op.tokens. Operators on RDDs hand the C API its own functions, so
 * they run at C speed in local mode and on the worker pool. Models and
 * sketches are small userdata objects on the process that made them; their
 * value form (obj:value(), a table or a string) travels to tasks and comes
 * back with the .fromValue constructors. docs/shell.md lists the names.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ember/ml.h"
#include "lml_int.h"

#define MT_HTF "ember.HashingTF"
#define MT_NB "ember.NaiveBayesModel"
#define MT_BLOOM "ember.BloomFilter"
#define MT_CMS "ember.CountMinSketch"
#define MT_RPLSH "ember.RandomProjectionLSH"
#define MT_INDEX "ember.LSHIndex"
#define MT_MINHASH "ember.MinHashLSH"

/* ---- vectors: Lua tables to EM_VEC / EM_SPVEC ---- */





/* A record that is a vector, or a point {label, vector}, made a vector
 * (map function, before a prediction). */
static em_status fix_features(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    em_val rec = args[0];
    const char *err;

    if (rec.type == EM_ARRAY && rec.len == 2 &&
        rec.u.arr[1].type >= EM_ARRAY)
        return em__lml_fix_pair(t, env, args, nargs, out);
    if ((err = em__lml_val_vector(em_task_arena(t), rec, out)) != NULL)
        return em_task_fail(t, "%s", err);
    return EM_OK;
}

/* ---- small helpers ---- */





static bool opt_bool(lua_State *L, int idx, const char *k)
{
    bool b = false;

    if (lua_type(L, idx) != LUA_TTABLE)
        return false;
    lua_getfield(L, idx, k);
    b = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return b;
}

/* The text options at idx: nil, a number (the minimum count) or a table
 * {minCount, tokenizer = "ascii"|"unicode", smoothing, numPartitions,
 * invalidBytes = accumulator}. */
static void check_text_opts(lua_State *L, int idx, em_text_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (lua_isnoneornil(L, idx))
        return;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        o->min_count = luaL_checkinteger(L, idx);
        return;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    o->min_count = (int64_t)em__lml_opt_num(L, idx, "minCount", 0);
    o->smoothing = em__lml_opt_num(L, idx, "smoothing", 0);
    o->num_partitions = (int)em__lml_opt_num(L, idx, "numPartitions", 0);
    if (lua_getfield(L, idx, "tokenizer") != LUA_TNIL) {
        const char *k = luaL_checkstring(L, -1);
        if (strcmp(k, "ascii") == 0)
            o->tokenizer = EM_TOKENIZER_ASCII;
        else if (strcmp(k, "unicode") == 0)
            o->tokenizer = EM_TOKENIZER_UNICODE;
        else
            luaL_error(L, "tokenizer must be \"ascii\" or \"unicode\", not "
                          "\"%s\"", k);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "invalidBytes") != LUA_TNIL) {
        em__lshared *sh = luaL_testudata(L, -1, EM_LUA_ACCUM);
        if (sh == NULL || sh->accum == NULL)
            luaL_error(L, "invalidBytes must be an accumulator made by "
                          "sc:accumulator(0)");
        o->invalid_bytes = sh->accum;
    }
    lua_pop(L, 1);
}

static void *new_object(lua_State *L, size_t size, const char *mt)
{
    void *p = lua_newuserdatauv(L, size, 1);

    memset(p, 0, size);
    luaL_setmetatable(L, mt);
    return p;
}

/* Pushes the bytes value v as a Lua string. */
static void push_bytes(lua_State *L, em_val v)
{
    lua_pushlstring(L, (const char *)v.u.bytes, v.len);
}

/* The string at idx as a bytes value (borrowed from Lua). */
static em_val check_bytes(lua_State *L, int idx)
{
    size_t n;
    const char *s = luaL_checklstring(L, idx, &n);

    return em_bytes(s, n);
}

/* ---- tokenizers ---- */

static em_status tokens_native(em_task *t, const em_val *args,
                               em_tokenizer kind, em_val *out)
{
    if (args[0].type != EM_STR)
        return em_task_fail(t, "the tokenizer expects a str, got a %s",
                            em_type_name(args[0].type));
    if (em_text_words(args[0].u.s, args[0].len, kind, em_task_arena(t), out,
                      NULL) != EM_OK)
        return em_task_fail(t, "%s", em_last_error());
    return EM_OK;
}

static em_status words_native(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    (void)env;
    (void)nargs;
    return tokens_native(t, args, EM_TOKENIZER_ASCII, out);
}

static em_status unicode_native(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    (void)env;
    (void)nargs;
    return tokens_native(t, args, EM_TOKENIZER_UNICODE, out);
}

static int push_tokens(lua_State *L, em_tokenizer kind)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    int top = lua_gettop(L);
    em_arena *a = em__lua_arena(L);
    int64_t invalid = 0;
    em_val v;

    if (em_text_words(s, n, kind, a, &v, &invalid) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    lua_createtable(L, (int)v.len, 0);
    for (uint32_t i = 0; i < v.len; i++) {
        lua_pushlstring(L, v.u.arr[i].u.s, v.u.arr[i].len);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_pushinteger(L, invalid);
    em__lua_arena_free(L, top + 1);
    return 2;
}

/* ember.op.words(line): ASCII letter runs, lowercased. */
static int op_words(lua_State *L)
{
    lua_settop(L, 1);
    push_tokens(L, EM_TOKENIZER_ASCII);
    lua_pop(L, 1);
    return 1;
}

/* ember.op.tokens(line): Unicode word runs, case-folded. */
static int op_tokens(lua_State *L)
{
    lua_settop(L, 1);
    push_tokens(L, EM_TOKENIZER_UNICODE);
    lua_pop(L, 1);
    return 1;
}

/* ember.text.words(line [, "ascii"|"unicode"]) -> tokens, invalid bytes */
static int text_words(lua_State *L)
{
    const char *k = luaL_optstring(L, 2, "ascii");

    lua_settop(L, 1);
    if (strcmp(k, "ascii") == 0)
        return push_tokens(L, EM_TOKENIZER_ASCII);
    if (strcmp(k, "unicode") == 0)
        return push_tokens(L, EM_TOKENIZER_UNICODE);
    return luaL_error(L, "tokenizer must be \"ascii\" or \"unicode\"");
}

/* ---- text operators on RDDs ---- */

static int text_tokenize(lua_State *L)
{
    em_text_opts o;
    em_rdd *node = em__lua_rdd_node(L, 1);

    check_text_opts(L, 2, &o);
    return em__lml_push_rdd(L, 1, em_text_tokenize(node, &o), "tokenize");
}

static int text_word_count(lua_State *L)
{
    em_text_opts o;
    em_rdd *node = em__lua_rdd_node(L, 1);

    check_text_opts(L, 2, &o);
    return em__lml_push_rdd(L, 1, em_text_word_count(node, &o), "wordCount");
}

static int text_ngrams(lua_State *L)
{
    em_text_opts o;
    em_rdd *node = em__lua_rdd_node(L, 1);
    int n = (int)luaL_checkinteger(L, 2);

    check_text_opts(L, 3, &o);
    return em__lml_push_rdd(L, 1, em_text_ngrams(node, n, &o), "ngrams");
}

static int text_bigram_pmi(lua_State *L)
{
    em_text_opts o;
    em_rdd *node = em__lua_rdd_node(L, 1);
    em_rdd *r;

    check_text_opts(L, 2, &o);
    r = em_text_bigram_pmi(node, &o);
    em__lua_action_done(L, r == NULL ? EM_EUSER : EM_OK, "bigramPMI");
    return em__lml_push_rdd(L, 1, r, "bigramPMI");
}

static int text_compare_corpora(lua_State *L)
{
    em_text_opts o;
    em_rdd *a = em__lua_rdd_node(L, 1), *b = em__lua_rdd_node(L, 2);
    em_rdd *r;

    check_text_opts(L, 3, &o);
    r = em_text_compare_corpora(a, b, &o);
    em__lua_action_done(L, r == NULL ? EM_EUSER : EM_OK, "compareCorpora");
    return em__lml_push_rdd(L, 1, r, "compareCorpora");
}

/* ---- HashingTF ---- */

typedef struct lhtf {
    int64_t num_features;
    unsigned flags;
} lhtf;

/* ember.text.HashingTF(numFeatures = 2^20, {signed, binary}) */
static int htf_new(lua_State *L)
{
    lua_Integer n = luaL_optinteger(L, 1, (lua_Integer)1 << 20);
    lhtf *h;

    if (n < 1 || n > ((lua_Integer)1 << 32))
        return luaL_error(L, "HashingTF: numFeatures must be in [1, 2^32]");
    h = new_object(L, sizeof(*h), MT_HTF);
    h->num_features = n;
    h->flags = (opt_bool(L, 2, "signed") ? EM_HASHING_SIGNED : 0) |
               (opt_bool(L, 2, "binary") ? EM_HASHING_BINARY : 0);
    return 1;
}

/* htf:transform(tokens) -> sparse vector; htf:transform(rdd) -> RDD */
static int htf_transform(lua_State *L)
{
    lhtf *h = luaL_checkudata(L, 1, MT_HTF);
    em_arena *a;
    em_val tokens, v;

    if (em__lml_is_rdd(L, 2))
        return em__lml_push_rdd(L, 2,
                        em_hashing_tf(em__lua_rdd_node(L, 2),
                                      h->num_features, h->flags),
                        "HashingTF");
    luaL_checktype(L, 2, LUA_TTABLE);
    a = em__lua_arena(L);
    tokens = em__lua_check_val(L, 2, a, "HashingTF: tokens");
    if (tokens.type == EM_MAP && tokens.len == 0)
        tokens.type = EM_ARRAY;
    if (em_hashing_tf_transform(h->num_features, h->flags, tokens, a, &v) !=
        EM_OK)
        return luaL_error(L, "HashingTF: %s", em_last_error());
    em__lua_push_val(L, v);
    return 1;
}

/* htf:indexOf(term): the 0-based feature index of a term. */
static int htf_index_of(lua_State *L)
{
    lhtf *h = luaL_checkudata(L, 1, MT_HTF);
    em_arena *a;

    luaL_checkany(L, 2);
    a = em__lua_arena(L);
    lua_pushinteger(L, em_hashing_tf_index(
                           h->num_features,
                           em__lua_check_val(L, 2, a, "HashingTF: term")));
    return 1;
}

static int htf_index(lua_State *L)
{
    lhtf *h = luaL_checkudata(L, 1, MT_HTF);
    const char *k = luaL_checkstring(L, 2);

    if (strcmp(k, "numFeatures") == 0) {
        lua_pushinteger(L, h->num_features);
        return 1;
    }
    lua_getfield(L, lua_upvalueindex(1), k);
    return 1;
}

/* ---- naive Bayes ---- */

typedef struct lnb {
    em_arena *arena;
    em_val model;
} lnb;

static int nb_gc(lua_State *L)
{
    lnb *m = luaL_checkudata(L, 1, MT_NB);

    em_arena_destroy(m->arena);
    m->arena = NULL;
    return 0;
}

static lnb *nb_new(lua_State *L)
{
    lnb *m = new_object(L, sizeof(*m), MT_NB);

    if ((m->arena = em_arena_create()) == NULL)
        luaL_error(L, "out of memory");
    return m;
}

/* ember.ml.LabeledPoint(label, features) -> {label, features} */
static int ml_labeled_point(lua_State *L)
{
    luaL_checknumber(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, 2);
    return 1;
}

/* ember.ml.NaiveBayes.train(rdd, lambda = 1.0) */
static int nb_train(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    double lambda = luaL_optnumber(L, 2, 1.0);
    lnb *m;
    em_status st;

    node = em__lml_map_native(L, node, em__lml_fix_pair);
    m = nb_new(L);
    st = em_nb_train(node, lambda, m->arena, &m->model);
    em__lua_action_done(L, st, "NaiveBayes.train");
    return 1;
}

/* ember.ml.NaiveBayesModel.fromValue(model:value()) */
static int nb_from_value(lua_State *L)
{
    em_arena *a;
    em_val v, kv[6], *th;
    const char *names[] = {"labels", "pi", "theta"};
    const char *err = NULL;
    lnb *m;

    luaL_checktype(L, 1, LUA_TTABLE);
    m = nb_new(L);
    a = m->arena;
    v = em__lua_check_val(L, 1, a, "NaiveBayesModel");
    if (v.type != EM_MAP)
        return luaL_error(L, "NaiveBayesModel: not a model value");
    for (int i = 0; i < 3 && err == NULL; i++) {
        const em_val *f = em__lml_map_get(v, names[i]);
        kv[2 * i] = em_cstr(names[i]);
        if (f == NULL) {
            err = "a model has labels, pi and theta";
        } else if (i < 2) {
            err = em__lml_val_vector(a, *f, &kv[2 * i + 1]);
        } else if (f->type != EM_ARRAY) {
            err = "theta is an array of vectors";
        } else if ((th = em_array_make(a, f->len, &kv[5])) == NULL) {
            err = "out of memory";
        } else {
            for (uint32_t j = 0; j < f->len && err == NULL; j++)
                err = em__lml_val_vector(a, f->u.arr[j], &th[j]);
        }
    }
    if (err != NULL)
        return luaL_error(L, "NaiveBayesModel: %s", err);
    if (em_map_make(a, kv, 3, &m->model) != EM_OK ||
        em_nb_model_parts(m->model, NULL, NULL, NULL) != EM_OK)
        return luaL_error(L, "NaiveBayesModel: %s", em_last_error());
    return 1;
}

/* model:predict(features) -> label; model:predict(rdd) -> RDD of labels */
static int nb_predict(lua_State *L)
{
    lnb *m = luaL_checkudata(L, 1, MT_NB);
    em_arena *a;
    em_val x;
    double label;

    if (em__lml_is_rdd(L, 2)) {
        em_rdd *node = em__lml_map_native(L, em__lua_rdd_node(L, 2), fix_features);
        return em__lml_push_rdd(L, 2,
                        em_rdd_map(node, em_fn_of(em_nb_predict_op,
                                                  m->model)),
                        "predict");
    }
    a = em__lua_arena(L);
    x = em__lml_check_vector(L, 2, a, "predict: features");
    if (em_nb_predict(m->model, x, &label) != EM_OK)
        return luaL_error(L, "predict: %s", em_last_error());
    lua_pushnumber(L, label);
    return 1;
}

static int nb_value(lua_State *L)
{
    lnb *m = luaL_checkudata(L, 1, MT_NB);

    em__lua_push_val(L, m->model);
    return 1;
}

static int nb_index(lua_State *L)
{
    lnb *m = luaL_checkudata(L, 1, MT_NB);
    const char *k = luaL_checkstring(L, 2);
    em_val parts[3];

    if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL)
        return 1;
    if (em_nb_model_parts(m->model, &parts[0], &parts[1], &parts[2]) !=
        EM_OK)
        return luaL_error(L, "%s", em_last_error());
    if (strcmp(k, "labels") == 0)
        em__lua_push_val(L, parts[0]);
    else if (strcmp(k, "pi") == 0)
        em__lua_push_val(L, parts[1]);
    else if (strcmp(k, "theta") == 0)
        em__lua_push_val(L, parts[2]);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- Bloom filter ---- */

typedef struct lbloom {
    em_bloom *bf;
} lbloom;

static em_bloom *check_bloom(lua_State *L, int idx)
{
    lbloom *b = luaL_checkudata(L, idx, MT_BLOOM);

    if (b->bf == NULL)
        luaL_error(L, "the Bloom filter was freed");
    return b->bf;
}

static int push_bloom(lua_State *L, em_bloom *bf, const char *what)
{
    lbloom *b;

    if (bf == NULL)
        return em__lua_fail(L, what);
    b = new_object(L, sizeof(*b), MT_BLOOM);
    b->bf = bf;
    return 1;
}

static int bloom_gc(lua_State *L)
{
    lbloom *b = luaL_checkudata(L, 1, MT_BLOOM);

    em_bloom_destroy(b->bf);
    b->bf = NULL;
    return 0;
}

/* BloomFilter.create(expectedItems, fpp = 0.03) */
static int bloom_create(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    double fpp = luaL_optnumber(L, 2, 0.03);

    return push_bloom(L, em_bloom_create(n, fpp), "BloomFilter.create");
}

/* BloomFilter.createBits(numBits, numHashes) */
static int bloom_create_bits(lua_State *L)
{
    return push_bloom(L,
                      em_bloom_create_bits(luaL_checkinteger(L, 1),
                                           (int)luaL_checkinteger(L, 2)),
                      "BloomFilter.createBits");
}

static int bloom_from_value(lua_State *L)
{
    return push_bloom(L, em_bloom_from_val(check_bytes(L, 1)),
                      "BloomFilter.fromValue");
}

static int bloom_put(lua_State *L)
{
    em_bloom *bf = check_bloom(L, 1);
    em_arena *a;

    luaL_checkany(L, 2);
    a = em__lua_arena(L);
    lua_pushboolean(L, em_bloom_put(bf, em__lua_check_val(L, 2, a, "put")));
    return 1;
}

static int bloom_might_contain(lua_State *L)
{
    em_bloom *bf = check_bloom(L, 1);
    em_arena *a;

    luaL_checkany(L, 2);
    a = em__lua_arena(L);
    lua_pushboolean(L, em_bloom_might_contain(
                           bf, em__lua_check_val(L, 2, a, "mightContain")));
    return 1;
}

static int bloom_merge(lua_State *L)
{
    em_bloom *bf = check_bloom(L, 1);

    if (em_bloom_merge_in_place(bf, check_bloom(L, 2)) != EM_OK)
        return luaL_error(L, "mergeInPlace: %s", em_last_error());
    lua_settop(L, 1);
    return 1;
}

static int bloom_expected_fpp(lua_State *L)
{
    lua_pushnumber(L, em_bloom_expected_fpp(check_bloom(L, 1)));
    return 1;
}

static int bloom_bit_size(lua_State *L)
{
    lua_pushinteger(L, em_bloom_bit_size(check_bloom(L, 1)));
    return 1;
}

static int bloom_num_hashes(lua_State *L)
{
    lua_pushinteger(L, em_bloom_num_hashes(check_bloom(L, 1)));
    return 1;
}

static int bloom_value(lua_State *L)
{
    em_bloom *bf = check_bloom(L, 1);
    em_arena *a = em__lua_arena(L);
    em_val v;

    if (em_bloom_to_val(bf, a, &v) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    push_bytes(L, v);
    return 1;
}

/* ember.sketch.bloomFilter(rdd, expectedItems, fpp = 0.03) */
static int sketch_bloom_filter(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    em_bloom *bf = em_sketch_bloom_filter(node, luaL_checkinteger(L, 2),
                                          luaL_optnumber(L, 3, 0.03));

    em__lua_action_done(L, bf == NULL ? EM_EUSER : EM_OK, "bloomFilter");
    return push_bloom(L, bf, "bloomFilter");
}

/* ember.sketch.dropSingletons(rdd, expectedItems = count, fpp = 0.01) */
static int sketch_drop_singletons(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    int64_t n;

    if (lua_isnoneornil(L, 2)) {
        em__lua_action_done(L, em_rdd_count(node, &n), "dropSingletons");
        if (n < 1)
            n = 1;
    } else {
        n = luaL_checkinteger(L, 2);
    }
    return em__lml_push_rdd(L, 1,
                    em_sketch_drop_singletons(node, n,
                                              luaL_optnumber(L, 3, 0.01)),
                    "dropSingletons");
}

/* ---- count-min sketch ---- */

typedef struct lcms {
    em_cms *cms;
} lcms;

static em_cms *check_cms(lua_State *L, int idx)
{
    lcms *c = luaL_checkudata(L, idx, MT_CMS);

    if (c->cms == NULL)
        luaL_error(L, "the count-min sketch was freed");
    return c->cms;
}

static int push_cms(lua_State *L, em_cms *cms, const char *what)
{
    lcms *c;

    if (cms == NULL)
        return em__lua_fail(L, what);
    c = new_object(L, sizeof(*c), MT_CMS);
    c->cms = cms;
    return 1;
}

static int cms_gc(lua_State *L)
{
    lcms *c = luaL_checkudata(L, 1, MT_CMS);

    em_cms_destroy(c->cms);
    c->cms = NULL;
    return 0;
}

/* CountMinSketch.create(eps, confidence, seed = 0, {conservative}) */
static int cms_create(lua_State *L)
{
    em_cms *cms = em_cms_create(luaL_checknumber(L, 1),
                                luaL_checknumber(L, 2),
                                (uint64_t)luaL_optinteger(L, 3, 0));

    if (cms != NULL)
        em_cms_set_conservative(cms, opt_bool(L, 4, "conservative"));
    return push_cms(L, cms, "CountMinSketch.create");
}

static int cms_from_value(lua_State *L)
{
    return push_cms(L, em_cms_from_val(check_bytes(L, 1)),
                    "CountMinSketch.fromValue");
}

static int cms_add(lua_State *L)
{
    em_cms *cms = check_cms(L, 1);
    lua_Integer count = luaL_optinteger(L, 3, 1);
    em_arena *a;

    luaL_checkany(L, 2);
    a = em__lua_arena(L);
    if (em_cms_add(cms, em__lua_check_val(L, 2, a, "add"), count) != EM_OK)
        return luaL_error(L, "add: %s", em_last_error());
    return 0;
}

static int cms_estimate(lua_State *L)
{
    em_cms *cms = check_cms(L, 1);
    em_arena *a;

    luaL_checkany(L, 2);
    a = em__lua_arena(L);
    lua_pushinteger(L, em_cms_estimate_count(
                           cms, em__lua_check_val(L, 2, a, "estimateCount")));
    return 1;
}

static int cms_merge(lua_State *L)
{
    em_cms *cms = check_cms(L, 1);

    if (em_cms_merge_in_place(cms, check_cms(L, 2)) != EM_OK)
        return luaL_error(L, "mergeInPlace: %s", em_last_error());
    lua_settop(L, 1);
    return 1;
}

static int cms_total(lua_State *L)
{
    lua_pushinteger(L, em_cms_total_count(check_cms(L, 1)));
    return 1;
}

static int cms_depth(lua_State *L)
{
    lua_pushinteger(L, em_cms_depth(check_cms(L, 1)));
    return 1;
}

static int cms_width(lua_State *L)
{
    lua_pushinteger(L, em_cms_width(check_cms(L, 1)));
    return 1;
}

static int cms_set_conservative(lua_State *L)
{
    em_cms_set_conservative(check_cms(L, 1), lua_toboolean(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int cms_value(lua_State *L)
{
    em_cms *cms = check_cms(L, 1);
    em_arena *a = em__lua_arena(L);
    em_val v;

    if (em_cms_to_val(cms, a, &v) != EM_OK)
        return luaL_error(L, "%s", em_last_error());
    push_bytes(L, v);
    return 1;
}

/* ember.sketch.countMinSketch(rdd, eps, confidence, seed = 0,
 * {conservative}) */
static int sketch_count_min(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    em_cms *cms = em_sketch_count_min(node, luaL_checknumber(L, 2),
                                      luaL_checknumber(L, 3),
                                      (uint64_t)luaL_optinteger(L, 4, 0),
                                      opt_bool(L, 5, "conservative"));

    em__lua_action_done(L, cms == NULL ? EM_EUSER : EM_OK,
                        "countMinSketch");
    return push_cms(L, cms, "countMinSketch");
}

/* ember.sketch.heavyHitters(rdd, phi, eps, confidence) -> {{item, n}...} */
static int sketch_heavy_hitters(lua_State *L)
{
    em_rdd *node = em__lua_rdd_node(L, 1);
    double phi = luaL_checknumber(L, 2);
    double eps = luaL_optnumber(L, 3, phi / 10);
    double conf = luaL_optnumber(L, 4, 0.99);
    em_arena *a = em__lua_arena(L);
    em_val v;

    em__lua_action_done(L, em_sketch_heavy_hitters(node, phi, eps, conf, a,
                                                   &v),
                        "heavyHitters");
    em__lua_push_val(L, v);
    return 1;
}

/* ---- random-projection LSH ---- */

typedef struct lrplsh {
    em_rplsh *lsh;
    int64_t dim;
} lrplsh;

typedef struct lindex {
    em_lsh_index *idx;
} lindex;

static lrplsh *check_rplsh(lua_State *L, int idx)
{
    lrplsh *p = luaL_checkudata(L, idx, MT_RPLSH);

    if (p->lsh == NULL)
        luaL_error(L, "the LSH object was freed");
    return p;
}

static int rplsh_gc(lua_State *L)
{
    lrplsh *p = luaL_checkudata(L, 1, MT_RPLSH);

    em_rplsh_destroy(p->lsh);
    p->lsh = NULL;
    return 0;
}

/* RandomProjectionLSH.create(dim, bits = 64, seed = 0) */
static int rplsh_create(lua_State *L)
{
    lua_Integer dim = luaL_checkinteger(L, 1);
    em_rplsh *lsh = em_rplsh_create(dim, (int)luaL_optinteger(L, 2, 0),
                                    (uint64_t)luaL_optinteger(L, 3, 0));
    lrplsh *p;

    if (lsh == NULL)
        return em__lua_fail(L, "RandomProjectionLSH.create");
    p = new_object(L, sizeof(*p), MT_RPLSH);
    p->lsh = lsh;
    p->dim = dim;
    return 1;
}

static int rplsh_signature(lua_State *L)
{
    lrplsh *p = check_rplsh(L, 1);
    em_arena *a = em__lua_arena(L);
    em_val x = em__lml_check_vector(L, 2, a, "signature"), sig;

    if (em_rplsh_signature(p->lsh, x, a, &sig) != EM_OK)
        return luaL_error(L, "signature: %s", em_last_error());
    push_bytes(L, sig);
    return 1;
}

static int rplsh_estimate_cosine(lua_State *L)
{
    lrplsh *p = check_rplsh(L, 1);
    double c;

    if (em_rplsh_estimate_cosine(check_bytes(L, 2), check_bytes(L, 3),
                                 em_rplsh_bits(p->lsh), &c) != EM_OK)
        return luaL_error(L, "estimateCosine: %s", em_last_error());
    lua_pushnumber(L, c);
    return 1;
}

static int rplsh_bits(lua_State *L)
{
    lua_pushinteger(L, em_rplsh_bits(check_rplsh(L, 1)->lsh));
    return 1;
}

/* lsh:index(rdd of {id, vector}, chunkBits = 8) */
static int rplsh_index(lua_State *L)
{
    lrplsh *p = check_rplsh(L, 1);
    em_rdd *node = em__lml_map_native(L, em__lua_rdd_node(L, 2), em__lml_fix_pair);
    em_lsh_index *idx = em_rplsh_index_create(
        p->lsh, node, (int)luaL_optinteger(L, 3, 0));
    lindex *x;

    em__lua_action_done(L, idx == NULL ? EM_EUSER : EM_OK, "index");
    x = new_object(L, sizeof(*x), MT_INDEX);
    x->idx = idx;
    lua_pushvalue(L, 1); /* the index may refer to the hyperplanes */
    lua_setiuservalue(L, -2, 1);
    return 1;
}

static int index_gc(lua_State *L)
{
    lindex *x = luaL_checkudata(L, 1, MT_INDEX);

    em_lsh_index_destroy(x->idx);
    x->idx = NULL;
    return 0;
}

/* index:nearest(query, k = 10) -> {{id, cosine}, ...} */
static int index_nearest(lua_State *L)
{
    lindex *x = luaL_checkudata(L, 1, MT_INDEX);
    em_arena *a = em__lua_arena(L);
    em_val q = em__lml_check_vector(L, 2, a, "nearest"), v;

    if (x->idx == NULL)
        return luaL_error(L, "the index was freed");
    if (em_lsh_index_nearest(x->idx, q, (int)luaL_optinteger(L, 3, 10), a,
                             &v) != EM_OK)
        return luaL_error(L, "nearest: %s", em_last_error());
    em__lua_push_val(L, v);
    return 1;
}

static int similarity_join(lua_State *L, lrplsh *p, int first,
                           double threshold, int chunk_bits)
{
    em_rdd *a = em__lml_map_native(L, em__lua_rdd_node(L, first), em__lml_fix_pair);
    em_rdd *b = em__lml_map_native(L, em__lua_rdd_node(L, first + 1), em__lml_fix_pair);

    return em__lml_push_rdd(L, first,
                    em_rplsh_similarity_join(p->lsh, a, b, threshold,
                                             chunk_bits),
                    "approxSimilarityJoin");
}

/* lsh:approxSimilarityJoin(rddA, rddB, threshold, chunkBits = 8) */
static int rplsh_join(lua_State *L)
{
    lrplsh *p = check_rplsh(L, 1);

    return similarity_join(L, p, 2, luaL_checknumber(L, 4),
                           (int)luaL_optinteger(L, 5, 0));
}

/* ember.sketch.approxSimilarityJoin(rddA, rddB, threshold, {bits, seed,
 * chunkBits}): the dimension is that of rddA's first vector. */
static int sketch_join(lua_State *L)
{
    em_rdd *node = em__lml_map_native(L, em__lua_rdd_node(L, 1), em__lml_fix_pair);
    double threshold = luaL_checknumber(L, 3);
    em_arena *a;
    em_val first;
    int64_t dim;
    lrplsh *p;

    lua_settop(L, 4);
    a = em__lua_arena(L); /* 5 */
    em__lua_action_done(L, em_rdd_first(node, a, &first),
                        "approxSimilarityJoin");
    dim = first.u.arr[1].type == EM_VEC ? first.u.arr[1].len
                                        : first.u.arr[1].u.sp->dim;
    lua_pushcfunction(L, rplsh_create); /* 6 */
    lua_pushinteger(L, dim);
    lua_pushinteger(L, (lua_Integer)em__lml_opt_num(L, 4, "bits", 0));
    lua_pushinteger(L, (lua_Integer)em__lml_opt_num(L, 4, "seed", 0));
    lua_call(L, 3, 1);
    p = check_rplsh(L, 6);
    return similarity_join(L, p, 1, threshold,
                           (int)em__lml_opt_num(L, 4, "chunkBits", 0));
}

/* ---- MinHash LSH ---- */

typedef struct lminhash {
    em_minhash *mh;
} lminhash;

static em_minhash *check_minhash(lua_State *L, int idx)
{
    lminhash *m = luaL_checkudata(L, idx, MT_MINHASH);

    if (m->mh == NULL)
        luaL_error(L, "the MinHash object was freed");
    return m->mh;
}

static int minhash_gc(lua_State *L)
{
    lminhash *m = luaL_checkudata(L, 1, MT_MINHASH);

    em_minhash_destroy(m->mh);
    m->mh = NULL;
    return 0;
}

/* MinHashLSH.create(numHashes = 128, bands = 32, seed = 0) */
static int minhash_create(lua_State *L)
{
    em_minhash *mh = em_minhash_create((int)luaL_optinteger(L, 1, 128),
                                       (int)luaL_optinteger(L, 2, 32),
                                       (uint64_t)luaL_optinteger(L, 3, 0));
    lminhash *m;

    if (mh == NULL)
        return em__lua_fail(L, "MinHashLSH.create");
    m = new_object(L, sizeof(*m), MT_MINHASH);
    m->mh = mh;
    return 1;
}

static int minhash_signature(lua_State *L)
{
    em_minhash *mh = check_minhash(L, 1);
    em_arena *a;
    em_val tokens, sig;

    luaL_checktype(L, 2, LUA_TTABLE);
    a = em__lua_arena(L);
    tokens = em__lua_check_val(L, 2, a, "signature");
    if (tokens.type == EM_MAP && tokens.len == 0)
        tokens.type = EM_ARRAY;
    if (em_minhash_signature(mh, tokens, a, &sig) != EM_OK)
        return luaL_error(L, "signature: %s", em_last_error());
    em__lua_push_val(L, sig);
    return 1;
}

static int minhash_estimate(lua_State *L)
{
    em_arena *a;
    em_val x, y;
    double j;

    check_minhash(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    a = em__lua_arena(L);
    x = em__lua_check_val(L, 2, a, "estimateJaccard");
    y = em__lua_check_val(L, 3, a, "estimateJaccard");
    if (em_minhash_estimate_jaccard(x, y, &j) != EM_OK)
        return luaL_error(L, "estimateJaccard: %s", em_last_error());
    lua_pushnumber(L, j);
    return 1;
}

/* mh:approxSimilarityJoin(rdd of {id, tokens}, threshold) */
static int minhash_join(lua_State *L)
{
    em_minhash *mh = check_minhash(L, 1);
    em_rdd *node = em__lua_rdd_node(L, 2);

    return em__lml_push_rdd(L, 2,
                    em_minhash_similarity_join(mh, node,
                                               luaL_checknumber(L, 3)),
                    "approxSimilarityJoin");
}

/* ---- registration ---- */

static const luaL_Reg htf_methods[] = {
    {"transform", htf_transform},
    {"indexOf", htf_index_of},
    {NULL, NULL},
};

static const luaL_Reg nb_methods[] = {
    {"predict", nb_predict},
    {"value", nb_value},
    {NULL, NULL},
};

static const luaL_Reg bloom_methods[] = {
    {"put", bloom_put},
    {"mightContain", bloom_might_contain},
    {"mergeInPlace", bloom_merge},
    {"expectedFpp", bloom_expected_fpp},
    {"bitSize", bloom_bit_size},
    {"numHashes", bloom_num_hashes},
    {"value", bloom_value},
    {NULL, NULL},
};

static const luaL_Reg cms_methods[] = {
    {"add", cms_add},
    {"estimateCount", cms_estimate},
    {"mergeInPlace", cms_merge},
    {"totalCount", cms_total},
    {"depth", cms_depth},
    {"width", cms_width},
    {"setConservative", cms_set_conservative},
    {"value", cms_value},
    {NULL, NULL},
};

static const luaL_Reg rplsh_methods[] = {
    {"signature", rplsh_signature},
    {"estimateCosine", rplsh_estimate_cosine},
    {"bits", rplsh_bits},
    {"index", rplsh_index},
    {"approxSimilarityJoin", rplsh_join},
    {NULL, NULL},
};

static const luaL_Reg index_methods[] = {
    {"nearest", index_nearest},
    {NULL, NULL},
};

static const luaL_Reg minhash_methods[] = {
    {"signature", minhash_signature},
    {"estimateJaccard", minhash_estimate},
    {"approxSimilarityJoin", minhash_join},
    {NULL, NULL},
};

static int object_tostring(lua_State *L)
{
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__name");
    lua_pushfstring(L, "%s(%p)", lua_tostring(L, -1) + strlen("ember."),
                    lua_topointer(L, 1));
    return 1;
}

/* A metatable: methods as __index (through index_fn when not NULL, with
 * the methods as its upvalue), __gc and __tostring. */
static void new_class(lua_State *L, const char *mt, const luaL_Reg *methods,
                      lua_CFunction index_fn, lua_CFunction gc)
{
    if (!luaL_newmetatable(L, mt)) {
        lua_pop(L, 1);
        return;
    }
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    if (index_fn != NULL)
        lua_pushcclosure(L, index_fn, 1);
    lua_setfield(L, -2, "__index");
    if (gc != NULL) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pushcfunction(L, object_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

/* Sets t[name] = a table of the given functions, for t at the top. */
static void set_lib(lua_State *L, const char *name, const luaL_Reg *fns)
{
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, -2, name);
}

static const luaL_Reg text_fns[] = {
    {"words", text_words},
    {"tokenize", text_tokenize},
    {"wordCount", text_word_count},
    {"ngrams", text_ngrams},
    {"bigramPMI", text_bigram_pmi},
    {"compareCorpora", text_compare_corpora},
    {"HashingTF", htf_new},
    {NULL, NULL},
};

static const luaL_Reg nb_fns[] = {{"train", nb_train}, {NULL, NULL}};
static const luaL_Reg nbm_fns[] = {{"fromValue", nb_from_value},
                                   {NULL, NULL}};
static const luaL_Reg bloom_fns[] = {
    {"create", bloom_create},
    {"createBits", bloom_create_bits},
    {"fromValue", bloom_from_value},
    {NULL, NULL},
};
static const luaL_Reg cms_fns[] = {
    {"create", cms_create},
    {"fromValue", cms_from_value},
    {NULL, NULL},
};
static const luaL_Reg rplsh_fns[] = {{"create", rplsh_create}, {NULL, NULL}};
static const luaL_Reg minhash_fns[] = {{"create", minhash_create},
                                       {NULL, NULL}};

static const luaL_Reg sketch_fns[] = {
    {"bloomFilter", sketch_bloom_filter},
    {"dropSingletons", sketch_drop_singletons},
    {"countMinSketch", sketch_count_min},
    {"heavyHitters", sketch_heavy_hitters},
    {"approxSimilarityJoin", sketch_join},
    {NULL, NULL},
};

/* Adds ember.op[name] = f, run natively as `native` by map. */
static void add_native_op(lua_State *L, int op_idx, const char *name,
                          lua_CFunction f, em_fn_ptr native)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, op_idx, name);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "ember.natives") == LUA_TTABLE) {
        lua_pushcfunction(L, f);
        lua_pushlightuserdata(L, (void *)(uintptr_t)native);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
}

void em__lua_open_ml(lua_State *L)
{
    int mod = lua_gettop(L);

    new_class(L, MT_HTF, htf_methods, htf_index, NULL);
    new_class(L, MT_NB, nb_methods, nb_index, nb_gc);
    new_class(L, MT_BLOOM, bloom_methods, NULL, bloom_gc);
    new_class(L, MT_CMS, cms_methods, NULL, cms_gc);
    new_class(L, MT_RPLSH, rplsh_methods, NULL, rplsh_gc);
    new_class(L, MT_INDEX, index_methods, NULL, index_gc);
    new_class(L, MT_MINHASH, minhash_methods, NULL, minhash_gc);

    if (lua_getfield(L, mod, "op") == LUA_TTABLE) {
        add_native_op(L, lua_gettop(L), "words", op_words, words_native);
        add_native_op(L, lua_gettop(L), "tokens", op_tokens, unicode_native);
    }
    lua_pop(L, 1);

    luaL_newlib(L, text_fns);
    lua_setfield(L, mod, "text");

    lua_newtable(L); /* ember.ml */
    lua_pushcfunction(L, ml_labeled_point);
    lua_setfield(L, -2, "LabeledPoint");
    em__lml_open_data(L, lua_gettop(L));
    set_lib(L, "NaiveBayes", nb_fns);
    set_lib(L, "NaiveBayesModel", nbm_fns);
    lua_setfield(L, mod, "ml");

    luaL_newlib(L, sketch_fns);
    set_lib(L, "BloomFilter", bloom_fns);
    set_lib(L, "CountMinSketch", cms_fns);
    set_lib(L, "RandomProjectionLSH", rplsh_fns);
    set_lib(L, "MinHashLSH", minhash_fns);
    lua_setfield(L, mod, "sketch");
}
