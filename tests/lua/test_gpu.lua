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

t.run()
