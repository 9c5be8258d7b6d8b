#!/usr/bin/env bash
# The GPU options of the `ember` command (docs/gpu.md): `ember info` names
# the build's toolkit and the devices seen, or says plainly that there
# are none; `ember run --gpu` trains k-means to the centres of a run
# without it, and on a machine without a device says so once on stderr.
set -euo pipefail
build=$1
ember=$build/cli/ember
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
echo "ok: ember info and ember run --gpu"
