#!/usr/bin/env bash
# The GPU options of the `ember` command (docs/gpu.md): `ember info` names
# the build's toolkit and the devices seen, or says plainly that there
# are none; `ember run --gpu` trains k-means to the centres of a run
# without it, and on a machine without a device says so once on stderr;
# on a pool, `ember worker --gpu` gives each executor a device in
# EMBER_GPU_DEVICE (or "none" without one, as a worker without --gpu) and
# the driver's --gpu trains to the same centres there.
set -euo pipefail
build=$1
. "$(dirname "$0")/pool_lib.sh"
unset EMBER_GPU EMBER_GPU_DEVICE

info=$("$ember" info)
case "$info" in
*"GPU: built without CUDA"* | *"GPU: no GPU device found (built with CUDA "* | *"GPU 0: "*) ;;
*) echo "FAIL ember info: $info"; exit 1 ;;
esac

cat >"$tmp/km.lua" <<'LUA'
local pts = {}
for i = 1, 300 do
  local c = i % 3
  pts[i] = {c * 10 + (i % 7) / 7, -c * 5 + (i % 11) / 11}
end
local m = ember.ml.KMeans.train(sc:parallelize(pts, 3), 3,
                                {maxIterations = 10, seed = 3,
                                 initializationMode = "random"})
for _, c in ipairs(m.clusterCenters) do
  print(string.format("%.12g %.12g", c[1], c[2]))
end
LUA
"$ember" run --master 'local[2]' "$tmp/km.lua" >"$tmp/off"
"$ember" run --master 'local[2]' --gpu "$tmp/km.lua" >"$tmp/on" 2>"$tmp/err"
if ! cmp -s "$tmp/off" "$tmp/on"; then
    echo "FAIL --gpu changed the centres:"; paste "$tmp/off" "$tmp/on"
    exit 1
fi
if [[ "$info" != *"GPU 0: "* ]] &&
   [[ $(grep -c "ember: warning: ember.gpu is on but" "$tmp/err") != 1 ]]; then
    echo "FAIL no device: expected one warning, got: $(cat "$tmp/err")"
    exit 1
fi

start_master
start_worker w1 2 --gpu
ngpu=$(sed -n 's/^ember worker: offering \([0-9]*\) GPU.*/\1/p' "$tmp/w1.log")
cat >"$tmp/dev.lua" <<'LUA'
local d = sc:parallelize({1, 2}, 2):map(function(x)
  return os.getenv("EMBER_GPU_DEVICE") or "unset"
end):collect()
print(d[1])
LUA
dev=$("$ember" run --master "$url" "$tmp/dev.lua")
if [[ "$ngpu" == 0 && "$dev" != none ]] ||
   [[ "$ngpu" != 0 && ! "$dev" =~ ^[0-9]+$ ]]; then
    echo "FAIL worker --gpu offering '$ngpu': executor device '$dev'"
    exit 1
fi
"$ember" run --master "$url" --gpu "$tmp/km.lua" >"$tmp/pool" 2>"$tmp/err"
if ! cmp -s "$tmp/off" "$tmp/pool"; then
    echo "FAIL --gpu on the pool changed the centres:"
    paste "$tmp/off" "$tmp/pool"
    exit 1
fi
echo "ok: ember info, ember run --gpu, ember worker --gpu"
