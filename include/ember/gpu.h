/* The GPUs this process sees, for `ember info` and ember.gpu.info():
 * the learning library runs its dense arithmetic on them when a context
 * has ember.gpu on (em_conf.gpu). docs/gpu.md.
 */
#ifndef EMBER_GPU_H
#define EMBER_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "ember/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One device. */
typedef struct em_gpu_info {
    char name[256];         /* as the driver reports it */
    int64_t memory_bytes;   /* global memory */
    int major, minor;       /* compute capability */
} em_gpu_info;

/* The build's GPU toolkit, "CUDA 13.0", or NULL when built without one. */
EM_API const char *em_gpu_build(void);

/* The number of devices this process can use (0 without a toolkit, a
 * driver or a device). Thread-safe; counted once. */
EM_API int em_gpu_count(void);

/* The description of device i (0 <= i < em_gpu_count()). EM_EINVAL for
 * another i. */
EM_API em_status em_gpu_device_info(int i, em_gpu_info *out);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_GPU_H */
