/* `ember info`: the version, the GPU toolkit the library was built with
 * and the devices this process sees (include/ember/gpu.h). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "ember.h"
#include "ember/gpu.h"

int em__cli_info(int argc, char **argv)
{
    const char *build = em_gpu_build();
    int n = em_gpu_count();

    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: ember info\n\nPrints the version, the GPU toolkit "
               "the library was built with and\nthe GPU devices this "
               "machine has (docs/gpu.md).\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "ember info: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("ember %s\n", EMBER_VERSION_STRING);
    if (build == NULL) {
        printf("GPU: built without CUDA\n");
        return 0;
    }
    if (n == 0)
        printf("GPU: no GPU device found (built with %s)\n", build);
    for (int i = 0; i < n; i++) {
        em_gpu_info d;
        if (em_gpu_device_info(i, &d) != EM_OK) {
            fprintf(stderr, "ember info: %s\n", em_last_error());
            return 1;
        }
        printf("GPU %d: %s, %.1f GiB, compute capability %d.%d (%s)\n", i,
               d.name, (double)d.memory_bytes / (1 << 30), d.major, d.minor,
               build);
    }
    return 0;
}
