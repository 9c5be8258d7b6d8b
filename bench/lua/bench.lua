-- Lua functions against native operators on sc:range(N): records per
-- second of each pipeline (best of RUNS). Run by bench/lua/run.sh:
--   ember run --master local[1] bench/lua/bench.lua [N] [RUNS]
local n = tonumber(arg[1]) or 10000000
local runs = tonumber(arg[2]) or 3
local P = sc.defaultParallelism

local function best(f)
  local b = math.huge
  local result
  for _ = 1, runs do
    local t0 = ember.clock()
    result = f()
    b = math.min(b, ember.clock() - t0)
  end
  return b, result
end

local cases = {
  {"range count (no function)", function()
    return sc:range(0, n, 1, P):count() end, n},
  {"Lua map x*2, count", function()
    return sc:range(0, n, 1, P):map(function(x) return x * 2 end):count()
  end, n},
  {"Lua filter x%3==0, count", function()
    return sc:range(0, n, 1, P):filter(function(x) return x % 3 == 0 end)
      :count() end, n // 3 + (n % 3 > 0 and 1 or 0)},
  {"Lua map + filter, count", function()
    return sc:range(0, n, 1, P):map(function(x) return x * 2 end)
      :filter(function(x) return x % 3 == 0 end):count()
  end, n // 3 + (n % 3 > 0 and 1 or 0)},
  {"reduce(ember.op.add)", function()
    return sc:range(0, n, 1, P):reduce(ember.op.add) end, n * (n - 1) // 2},
  {"reduce(Lua a+b)", function()
    return sc:range(0, n, 1, P):reduce(function(a, b) return a + b end)
  end, n * (n - 1) // 2},
}
for _, c in ipairs(cases) do
  local s, r = best(c[2])
  assert(r == c[3], c[1] .. ": wrong result " .. tostring(r))
  print(string.format("%s\t%s\t%.3f\t%.1f", sc.master, c[1], s, n / s / 1e6))
end
