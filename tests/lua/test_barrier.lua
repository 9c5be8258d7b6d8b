-- Barrier stages from Lua: rdd:barrier():mapPartitions(f) with
-- ember.BarrierTaskContext's partitionId, numTasks, barrier, allGather and
-- allReduce (ring and tree, every op, dense tables and sparse vectors)
-- against naive Lua reductions; the elements a task sent against
-- 2(m-1)k/m; too many partitions for the threads fails clearly. Each
-- stage has as many partitions as the run has threads (1, 2 or 7).
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq = t.eq
local m = sc.defaultParallelism

-- task p's vector: small multiples of 1/4, exact in any summation order
local function vec(p, k)
  local v = {}
  for j = 1, k do v[j] = ((p * 31 + j * 17) % 13 - 6) + 0.25 * p end
  return v
end

local function reference(k, op)
  local acc = vec(0, k)
  for p = 1, m - 1 do
    local x = vec(p, k)
    for j = 1, k do
      if op == "max" then acc[j] = math.max(acc[j], x[j])
      elseif op == "min" then acc[j] = math.min(acc[j], x[j])
      else acc[j] = acc[j] + x[j] end
    end
  end
  if op == "mean" then for j = 1, k do acc[j] = acc[j] / m end end
  return acc
end

local function ids() local r = {} for i = 1, m do r[i] = i end return r end

t.case("allReduce ring and tree, every op", function()
  for _, k in ipairs({0, 1, 10, 37}) do
    for _, op in ipairs({"sum", "mean", "max", "min"}) do
      for _, algo in ipairs({"ring", "tree"}) do
        local rows = sc:parallelize(ids(), m):barrier():mapPartitions(
          function(it)
            local ctx = ember.BarrierTaskContext.get()
            local p = ctx:partitionId()
            local r = ctx:allReduce(vec(p, k), op, {algorithm = algo})
            return {{p, r, ctx:stats().elements}}
          end):collect()
        eq(#rows, m, "one row per task")
        for i, row in ipairs(rows) do
          eq(row[1], i - 1, "partition order")
          eq(row[2], reference(k, op), algo .. " " .. op .. " k=" .. k)
          if algo == "ring" then
            local lo = 2 * (m - 1) * (k // m)
            local hi = 2 * (m - 1) * ((k + m - 1) // m)
            t.eq(row[3] >= lo and row[3] <= hi, true, "ring elements")
          end
        end
      end
    end
  end
end)

t.case("sparse sum", function()
  local rows = sc:parallelize(ids(), m):barrier():mapPartitions(function()
    local ctx = ember.BarrierTaskContext.get()
    local p = ctx:partitionId()
    -- task p holds index p and index 9, 1-based value tables
    local v = {dim = 10, indices = {p % 9, 9}, values = {p + 1, 1}}
    return {ctx:allReduce(v, "sum", {algorithm = "tree"}),
            ctx:allReduce(v, "sum")}
  end):collect()
  local want = {}
  for p = 0, m - 1 do want[p % 9] = (want[p % 9] or 0) + p + 1 end
  want[9] = m
  for _, r in ipairs(rows) do
    local got = {}
    for i, ix in ipairs(r.indices) do got[ix] = r.values[i] end
    for ix, v in pairs(want) do eq(got[ix], v + 0.0, "index " .. ix) end
  end
end)

t.case("allGather and barrier", function()
  local rows = sc:parallelize(ids(), m):barrier():mapPartitions(function()
    local ctx = ember.BarrierTaskContext.get()
    ctx:barrier()
    local g = ctx:allGather("task " .. ctx:partitionId())
    return {{ctx:numTasks(), g}}
  end):collect()
  local want = {}
  for p = 0, m - 1 do want[p + 1] = "task " .. p end
  for _, row in ipairs(rows) do eq(row, {m, want}) end
end)

t.case("outside a barrier stage", function()
  t.fails(function()
    sc:parallelize({1}, 1):map(function(x)
      return ember.BarrierTaskContext.get()
    end):collect()
  end, "not in a task of a barrier stage")
  t.fails(function()
    sc:parallelize(ids(), m + 1):barrier():mapPartitions(function(it)
      return {}
    end):collect()
  end, "needs " .. (m + 1) .. " task slots")
end)

t.run()
