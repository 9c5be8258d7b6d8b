-- The linear models' allreduce and ps modes from Lua (mode = "allreduce",
-- "ps", with batchSize and staleness): allreduce equals batch mode within
-- 1e-9, ps on one partition equals a naive sequential mini-batch SGD
-- written here, ps on as many partitions as threads separates a
-- separable sparse set, the MLP's allreduce mode equals its batch mode and
-- its ps mode fits XOR blobs.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near, fails = t.eq, t.near, t.fails
local V = ember.ml.Vectors

-- Points on a line's two sides with a little noise-free spread.
local function dense_points()
  local pts = {}
  for i = 1, 60 do
    local a, b = (i % 7) * 0.25 - 0.8, (i % 5) * 0.3 - 0.6
    local y = (1.5 * a - b + 0.2 > 0) and 1 or 0
    pts[#pts + 1] = ember.ml.LabeledPoint(y, {a, b})
  end
  return pts
end

t.case("allreduce mode equals batch mode", function()
  local pts = dense_points()
  local parts = sc.defaultParallelism < 3 and sc.defaultParallelism or 3
  local data = sc:parallelize(pts, parts)
  local o = {iterations = 15, step = 0.5, intercept = true, regParam = 0.01,
             convergenceTol = 0}
  local b = ember.ml.LogisticRegression.train(data, o)
  o.mode = "allreduce"
  local a = ember.ml.LogisticRegression.train(data, o)
  for j = 1, 2 do near(a.weights[j], b.weights[j], 1e-9, "weight " .. j) end
  near(a.intercept, b.intercept, 1e-9, "intercept")
  local lb, la = b.loss, a.loss
  eq(#la, #lb, "iterations")
  for k = 1, #lb do near(la[k], lb[k], 1e-9, "loss " .. k) end
end)

-- Sparse points over 50 features, 3 non-zeros each, labelled by a rule.
local function sparse_points()
  local pts = {}
  for i = 1, 400 do
    local idx = {i % 50 + 1, (i * 7) % 50 + 1, (i * 13) % 50 + 1}
    local seen, ids, vals, m = {}, {}, {}, 0.1
    for k, j in ipairs(idx) do
      if not seen[j] then
        seen[j] = true
        local v = ((i * k) % 9) / 4 - 1
        ids[#ids + 1], vals[#vals + 1] = j - 1, v
        m = m + (j % 2 == 0 and 1 or -1) * v
      end
    end
    pts[#pts + 1] = ember.ml.LabeledPoint(m > 0 and 1 or 0,
                                          V.sparse(50, ids, vals))
  end
  return pts
end

t.case("ps mode on one partition is sequential mini-batch SGD", function()
  local pts = sparse_points()
  local m = ember.ml.LogisticRegression.train(sc:parallelize(pts, 1), {
    mode = "ps", iterations = 2, step = 0.5, batchSize = 5, regParam = 0,
    regType = "none", intercept = true, schedule = "constant"})
  -- the naive loop: per batch, the mean gradient of the keys it touches at
  -- the weights before it, each key stepped by 0.5 times its gradient
  local w, icpt = {}, 0
  for j = 0, 49 do w[j] = 0 end
  for _ = 1, 2 do
    for s = 1, #pts, 5 do
      local g, gi, n = {}, 0, 0
      for i = s, math.min(s + 4, #pts) do
        local y, f = pts[i][1], pts[i][2]
        local ids, vals = f.indices, f.values
        local mg = icpt
        for k = 1, #ids do mg = mg + w[ids[k]] * vals[k] end
        local c = 1 / (1 + math.exp(-mg)) - y
        for k = 1, #ids do g[ids[k]] = (g[ids[k]] or 0) + c * vals[k] end
        gi, n = gi + c, n + 1
      end
      for j, v in pairs(g) do w[j] = w[j] - 0.5 * v / n end
      icpt = icpt - 0.5 * gi / n
    end
  end
  for j = 0, 49 do near(m.weights[j + 1], w[j], 1e-12, "weight " .. j) end
  near(m.intercept, icpt, 1e-12, "intercept")
end)

t.case("ps mode separates a sparse set on every thread", function()
  local pts = sparse_points()
  local data = sc:parallelize(pts, sc.defaultParallelism)
  local m = ember.ml.LogisticRegression.train(data, {
    mode = "ps", iterations = 30, step = 0.5, batchSize = 4, regParam = 0,
    optimizer = "adagrad", schedule = "constant", intercept = true,
    staleness = 2})
  local right = 0
  for _, p in ipairs(pts) do
    if m:predict(p[2]) == p[1] then right = right + 1 end
  end
  -- the rule is linear in the features, so a model can be exact; SGD
  -- that does not wait for the other tasks gets within 5 points of it
  if right / #pts < 0.95 then
    error(("ps mode: accuracy %.3f"):format(right / #pts))
  end
  eq(#m.loss, 30, "a loss per epoch")
  if not (m.loss[30] < m.loss[1]) then error("ps mode: the loss did not fall") end
end)

t.case("the MLP's allreduce mode equals its batch mode", function()
  local pts = dense_points()
  local parts = sc.defaultParallelism < 2 and 1 or 2
  local data = sc:parallelize(pts, parts)
  local o = {layers = {2, 4, 2}, iterations = 5, blockSize = 16, seed = 3,
             optimizer = "adam", step = 0.05}
  local b = ember.ml.MLP.train(data, o)
  o.mode = "allreduce"
  local a = ember.ml.MLP.train(data, o)
  local wa, wb = a.weights, b.weights
  eq(#wa, #wb, "weights")
  for j = 1, #wb do near(wa[j], wb[j], 1e-9, "weight " .. j) end
  for k = 1, 5 do near(a.loss[k], b.loss[k], 1e-9, "loss " .. k) end
  t.fails(function()
    ember.ml.MLP.train(data, {layers = {2, 2}, mode = "rings"})
  end, "batch, allreduce or ps", "an unknown MLP mode")
end)

-- Four blobs around (+-1, +-1), class 1 where the signs differ: no line
-- puts more than three of the four on their right sides.
local function xor_points()
  local pts = {}
  for i = 0, 199 do
    local sx, sy = i % 2 == 1 and 1 or -1, (i // 2) % 2 == 1 and 1 or -1
    local jx, jy = ((i * 37) % 11) / 16 - 0.3, ((i * 53) % 13) / 20 - 0.3
    pts[#pts + 1] = ember.ml.LabeledPoint(sx ~= sy and 1 or 0,
                                          {sx + jx, sy + jy})
  end
  return pts
end

t.case("the MLP's ps mode fits XOR blobs on every thread", function()
  local pts = xor_points()
  local m = ember.ml.MLP.train(sc:parallelize(pts, sc.defaultParallelism), {
    layers = {2, 8, 2}, mode = "ps", iterations = 20, blockSize = 8,
    optimizer = "adagrad", step = 0.1, schedule = "constant", seed = 3,
    staleness = 2})
  local right = 0
  for _, p in ipairs(pts) do
    if m:predict(p[2]) == p[1] then right = right + 1 end
  end
  -- above the 3/4 of any linear classifier
  if right / #pts < 0.95 then
    error(("MLP ps mode: accuracy %.3f"):format(right / #pts))
  end
  eq(#m.loss, 20, "a loss per epoch")
  t.fails(function()
    ember.ml.MLP.train(sc:parallelize(pts, 1), {layers = {2, 2}, mode = "ps",
                                                regType = "l1"})
  end, "L2", "l1 in the MLP's ps mode")
end)

t.case("bad modes and options fail", function()
  local data = sc:parallelize(dense_points(), 1)
  fails(function()
    ember.ml.LogisticRegression.train(data, {mode = "rings"})
  end, "allreduce or ps", "unknown mode")
  fails(function()
    ember.ml.LogisticRegression.train(data, {mode = "ps", batchSize = 0})
  end, "batchSize", "batch size 0")
  fails(function()
    ember.ml.LogisticRegression.train(data, {mode = "ps", regType = "l1"})
  end, "L2", "l1 in ps mode")
end)

t.run()
