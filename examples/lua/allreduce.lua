-- Synchronous data-parallel gradient descent in a barrier stage, as the C
-- example allreduce: every task holds a share of the points of
-- y = 2 x1 - 3 x2 + 1 and a full copy of the model; each step the tasks
-- allReduce their gradient sums, so every copy takes the same step.
-- Prints the same lines: the weights, whether every task ended with the
-- same ones, and the bytes task 0 sent.
--   ember run examples/lua/allreduce.lua [STEPS=200] [ALGORITHM=ring]
local steps = tonumber(arg[1] or 200)
local algorithm = arg[2] or "ring"
local ids = {}
for i = 0, 999 do ids[#ids + 1] = i end

local rows = sc:parallelize(ids, sc.defaultParallelism):barrier()
  :mapPartitions(function(it)
    local ctx = ember.BarrierTaskContext.get()
    local points = {}
    for i in it do
      local x1, x2 = (i % 7 - 3) / 5, ((i * 3) % 11 - 5) / 5
      points[#points + 1] = {x1, x2, 2 * x1 - 3 * x2 + 1}
    end
    local w = {0.0, 0.0, 0.0}
    for _ = 1, steps do
      local g = {0.0, 0.0, 0.0, 0.0} -- gradient sums, then count
      for _, p in ipairs(points) do
        local err = w[1] * p[1] + w[2] * p[2] + w[3] - p[3]
        g[1], g[2], g[3], g[4] = g[1] + err * p[1], g[2] + err * p[2],
                                 g[3] + err, g[4] + 1
      end
      local s = ctx:allReduce(g, "sum", {algorithm = algorithm})
      for j = 1, 3 do w[j] = w[j] - 0.5 * s[j] / s[4] end
    end
    return {{w[1], w[2], w[3], ctx:stats().bytes}}
  end):collect()

local same = true
for _, r in ipairs(rows) do
  for j = 1, 3 do same = same and r[j] == rows[1][j] end
end
print(string.format("weights %.6f %.6f bias %.6f", rows[1][1], rows[1][2],
                    rows[1][3]))
print(string.format("tasks %d, the same model in each: %s", #rows,
                    same and "yes" or "no"))
print(string.format("bytes sent by task 0: %d", rows[1][4]))
