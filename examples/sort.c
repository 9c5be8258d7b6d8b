/* sort: sorts the lines of a text file bytewise (as LC_ALL=C sort) through
 * sortByKey, writing part files to OUT (part-00000 holds the first lines).
 *
 *   sort [--master URL] [--memory SIZE] [--partitions N] IN OUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

/* line -> (line, nil) */
static em_status to_pair(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), args[0], em_nil(), out);
}

/* strings order as bytes in em_val_cmp: exactly LC_ALL=C sort */
int main(int argc, char **argv)
{
    em_conf conf = {0};
    long parts = 0;
    const char *in = NULL, *out = NULL;
    em_rdd *sorted;
    em_ctx *ctx;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc) {
            conf.master = argv[++i];
        } else if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
            parts = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
            if (em_parse_size(argv[++i], &conf.memory_bytes) != EM_OK) {
                fprintf(stderr, "sort: %s\n", em_last_error());
                return 2;
            }
        } else if (in == NULL) {
            in = argv[i];
        } else if (out == NULL) {
            out = argv[i];
        } else {
            in = NULL;
            break;
        }
    }
    if (in == NULL || out == NULL) {
        fprintf(stderr, "usage: sort [--master URL] [--memory SIZE] "
                        "[--partitions N] IN OUT\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "sort: %s\n", em_last_error());
        return 1;
    }
    sorted = em_rdd_keys(em_rdd_sort_by_key(
        em_rdd_map(em_ctx_text_file(ctx, in, (int)parts), EM_FN(to_pair)),
        true, (int)parts, EM_FN_NONE));
    if (sorted == NULL || em_rdd_save_as_text_file(sorted, out) != EM_OK)
        fprintf(stderr, "sort: %s\n", em_last_error());
    else
        rc = 0;
    em_ctx_destroy(ctx);
    return rc;
}
