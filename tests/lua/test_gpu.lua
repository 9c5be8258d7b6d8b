-- ember.gpu.info() (lang/lgpu.c) against the C API it reports through
-- `ember info`: the build line, one entry per device with its fields, and
-- the plain sentence when there is none.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq = t.eq

t.case("info describes the build and the devices", function()
  local info = ember.gpu.info()
  eq(type(info.devices), "table", "devices is a list")
  if info.build == nil then
    eq(#info.devices, 0, "no devices without CUDA")
    eq(info.text, "built without CUDA", "text without CUDA")
  elseif #info.devices == 0 then
    eq(info.build:match("^CUDA %d+%.%d+$") ~= nil, true, "build names CUDA")
    eq(info.text, "no GPU device found (built with " .. info.build .. ")",
       "text without a device")
  else
    for i, d in ipairs(info.devices) do
      eq(type(d.name), "string", "device " .. i .. " name")
      eq(d.memory > 0 and d.major >= 1, true, "device " .. i .. " sizes")
    end
  end
end)

t.case("info runs in a task too", function()
  local host = ember.gpu.info().text
  local got = sc:parallelize({1}, 1):map(function()
    return ember.gpu.info().text
  end):collect()
  eq(got[1], host, "same answer in the executor")
end)

t.case("SparkContext{gpu = true} gives the CPU path's answer", function()
  -- Without a device the GPU operators fall back to the CPU path (one
  -- warning); with one they agree within the kernels' tolerance.
  local pts = {}
  for i = 1, 200 do
    pts[i] = {(i % 7) * 1.5 + (i % 3) * 0.01, (i % 5) * 2.0 - (i % 2) * 0.3}
  end
  local init = {pts[1], pts[2], pts[3]}
  local function centres(ctx)
    local m = ember.ml.KMeans.train(ctx:parallelize(pts, 3), 3,
      {maxIterations = 5, initialCenters = init})
    return m.clusterCenters
  end
  local on = ember.SparkContext("local[2]", {gpu = true})
  local a, b = centres(on), centres(sc)
  on:stop()
  for i = 1, 3 do
    for j = 1, 2 do
      t.near(a[i][j], b[i][j], 1e-9, "centre " .. i .. "," .. j)
    end
  end
  t.fails(function() ember.SparkContext("local[1]", {memory = "lots"}) end,
          "memory", "a bad memory size")
end)

t.run()
