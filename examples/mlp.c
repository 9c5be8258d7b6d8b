/* mlp: a multilayer perceptron (em_mlp_train) on a CSV of features then a
 * class 0 .. C - 1, without a header (scikit-learn's digits.csv: 64 pixels
 * of 0 to 16, then the digit). Features are divided by --scale (default
 * 16); rows 0, 5, 10, ... are held out. The network is [features,
 * --hidden sizes (default 32), classes] with tanh hidden layers, trained
 * by Adam (step 0.02, 15 epochs, batch 64 by default).
 * Prints the numbers of training and held-out rows, the last epoch's loss
 * and the accuracy on both sets. examples/lua/mlp.lua prints the same.
 *
 *   mlp [--master URL] [--hidden N,N,...] [--epochs N] [--step S]
 *       [--batch N] [--scale X] [--seed S] CSV
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "points.h"

#define MAX_LAYERS 16

typedef struct args {
    em_conf conf;
    em_mlp_opts o;
    int layers[MAX_LAYERS];
    double scale;
    const char *path;
} args;

/* "32,16" -> layers[1..]; the sizes of the input and output come later. */
static bool parse_hidden(const char *s, args *g)
{
    char *end;

    g->o.num_layers = 1;
    while (*s != '\0' && g->o.num_layers < MAX_LAYERS - 1) {
        g->layers[g->o.num_layers++] = (int)strtol(s, &end, 10);
        if (end == s || (*end != ',' && *end != '\0'))
            return false;
        s = *end == ',' ? end + 1 : end;
    }
    return *s == '\0';
}

static bool parse_args(int argc, char **argv, args *g)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v != NULL && strcmp(opt, "--master") == 0)
            g->conf.master = v;
        else if (v != NULL && strcmp(opt, "--hidden") == 0) {
            if (!parse_hidden(v, g))
                return false;
        } else if (v != NULL && strcmp(opt, "--epochs") == 0)
            g->o.epochs = atoi(v);
        else if (v != NULL && strcmp(opt, "--step") == 0)
            g->o.optim.step = strtod(v, NULL);
        else if (v != NULL && strcmp(opt, "--batch") == 0)
            g->o.batch_size = atoi(v);
        else if (v != NULL && strcmp(opt, "--scale") == 0)
            g->scale = strtod(v, NULL);
        else if (v != NULL && strcmp(opt, "--seed") == 0)
            g->o.seed = strtoull(v, NULL, 10);
        else if (g->path == NULL && opt[0] != '-') {
            g->path = opt;
            continue;
        } else
            return false;
        i++;
    }
    return g->path != NULL && g->scale > 0;
}

/* Scales the features, splits the rows and sets the layers' ends: the
 * features' dimension and the number of classes (largest label + 1). */
static void prepare(em_val raw, args *g, em_val **sets, uint32_t *n)
{
    double classes = 0;

    for (uint32_t i = 0; i < raw.len; i++) {
        em_val p = raw.u.arr[i];
        double *x = (double *)p.u.arr[1].u.vec;
        int s = i % 5 == 0;
        for (uint32_t j = 0; j < p.u.arr[1].len; j++)
            x[j] /= g->scale;
        if (p.u.arr[0].u.f + 1 > classes)
            classes = p.u.arr[0].u.f + 1;
        sets[s][n[s]++] = p;
    }
    g->layers[0] = raw.len > 0 ? (int)raw.u.arr[0].u.arr[1].len : 1;
    g->layers[g->o.num_layers++] = (int)classes;
}

int main(int argc, char **argv)
{
    args g = {.o = {.optim = {.kind = EM_OPTIM_ADAM, .step = 0.02,
                              .schedule = EM_SCHEDULE_CONSTANT},
                    .epochs = 15, .batch_size = 64, .seed = 1,
                    .num_layers = 2},
              .layers = {0, 32},
              .scale = 16};
    em_ml_load_opts lo = {.label_col = -1};
    em_val raw, model, *sets[2], loss = em_nil();
    uint32_t n[2] = {0, 0};
    em_arena *a;
    em_ctx *ctx;
    em_rdd *train;
    int rc = 1;

    g.o.layers = g.layers;
    if (!parse_args(argc, argv, &g)) {
        fprintf(stderr, "usage: mlp [--master URL] [--hidden N,N,...] "
                "[--epochs N] [--step S] [--batch N] [--scale X] [--seed S] "
                "CSV\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&g.conf)) == NULL) {
        fprintf(stderr, "mlp: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    if (ex_load_points(ctx, g.path, &lo, a, &raw) != EM_OK)
        goto out;
    sets[0] = em_arena_alloc(a, (raw.len + 1) * sizeof(em_val));
    sets[1] = em_arena_alloc(a, (raw.len + 1) * sizeof(em_val));
    prepare(raw, &g, sets, n);
    train = em_ctx_parallelize(ctx, sets[0], n[0], 4);
    if (em_rdd_cache(train) != EM_OK ||
        em_mlp_train(train, &g.o, a, &model) != EM_OK)
        goto out;
    for (uint32_t i = 0; i < model.len; i++)
        if (em_val_eq(model.u.map[2 * i], em_cstr("loss")))
            loss = model.u.map[2 * i + 1];
    printf("train\t%u\nheld_out\t%u\n", n[0], n[1]);
    if (loss.type == EM_VEC && loss.len > 0)
        printf("loss\t%.6f\n", loss.u.vec[loss.len - 1]);
    printf("train_accuracy\t%.4f\n",
           ex_accuracy(model, sets[0], n[0], em_mlp_predict));
    printf("held_out_accuracy\t%.4f\n",
           ex_accuracy(model, sets[1], n[1], em_mlp_predict));
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "mlp: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
