# Sourced by the bench scripts that link a program against libember.a:
# ember_static_libs DIR prints what to put on the cc line after the
# program's sources -- DIR's libember.a and the libraries it needs,
# with the CUDA runtime and cuBLAS when DIR was built with the GPU
# kernels.
ember_static_libs() {
    local dir=$1 cuda
    printf '%s -lz -lm -lpthread -ldl %s' "$dir/libember.a" \
        "$(pkg-config --libs msgpack libuv libsodium)"
    if pkg-config --exists jemalloc; then
        printf ' %s' "$(pkg-config --libs jemalloc)"
    fi
    if [ -d "$dir/CMakeFiles/ember_cuda.dir" ]; then
        cuda=$(dirname "$(sed -n 's/^CMAKE_CUDA_COMPILER:[A-Z]*=//p' \
            "$dir/CMakeCache.txt")")/../lib64
        printf ' -L%s -Wl,-rpath,%s -lcublas -lcudart -lstdc++' "$cuda" "$cuda"
    fi
}
