-- ember.ml's iterative learners and ember.graph: logistic and linear
-- regression, k-means, PageRank and ALS, each against a known answer or a
-- naive Lua computation.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near = t.eq, t.near

local function dot(a, b)
  local s = 0
  for i = 1, #a do s = s + a[i] * b[i] end
  return s
end

t.case("LogisticRegression separates a separable set", function()
  local pts, xs = {}, {}
  for i = 1, 20 do
    local a, b = (i % 5) * 0.3, (i % 3) * 0.2
    pts[#pts + 1] = ember.ml.LabeledPoint(1, {2 + a, 1 + b})
    pts[#pts + 1] = ember.ml.LabeledPoint(0, {-2 - b, -1 - a})
  end
  local data = sc:parallelize(pts, 3)
  for _, opt in ipairs({"sgd", "adam", "momentum"}) do
    local m = ember.ml.LogisticRegression.train(data, {
      iterations = 100, step = 1.0, regParam = 0, regType = "none",
      intercept = true, optimizer = opt})
    eq(#m.weights, 2, opt .. ": two weights")
    eq(type(m.intercept), "number", opt .. ": intercept")
    for _, p in ipairs(pts) do
      near(m:predict(p[2]), p[1], 0, opt .. ": class")
      local margin = dot(m.weights, p[2]) + m.intercept
      near(m:predictProbability(p[2]), 1 / (1 + math.exp(-margin)), 1e-12,
           opt .. ": probability is the logistic of the margin")
    end
    local got = m:predict(data):collect()
    for i, p in ipairs(pts) do near(got[i], p[1], 0, opt .. ": rdd") end
  end
  for _, mode in ipairs({"averaging", "ipm"}) do
    local m = ember.ml.LogisticRegression.train(data, {iterations = 20,
      regParam = 0, mode = mode, step = 0.5})
    for _, p in ipairs(pts) do near(m:predict(p[2]), p[1], 0, mode) end
  end
  local m = ember.ml.LogisticRegression.train(data, {regParam = 0})
  local path = os.tmpname()
  m:save(path)
  local back = ember.ml.LogisticRegressionModel.load(path)
  os.remove(path)
  eq(back.weights, m.weights, "load: weights")
  near(back.intercept, m.intercept, 0, "load: intercept")
  t.fails(function()
    ember.ml.LogisticRegression.train(data, {optimizer = "bogus"})
  end, "optimizer", "bad optimizer")
  t.fails(function()
    ember.ml.LogisticRegression.train(data, {regType = "l3"})
  end, "regType", "bad regType")
end)

t.case("LinearRegression recovers an exact linear law", function()
  -- y = 2 x1 - 3 x2 + 1, no noise: least squares gives (2, -3), 1
  local pts = {}
  for i = 0, 29 do
    local x1, x2 = (i % 6) / 5 - 0.5, (i % 5) / 4 - 0.5
    pts[#pts + 1] = {2 * x1 - 3 * x2 + 1, {x1, x2}}
  end
  local data = sc:parallelize(pts, 4)
  local m = ember.ml.LinearRegression.train(data, {iterations = 3000,
    step = 0.05, intercept = true, optimizer = "adam",
    convergenceTol = 1e-12, schedule = "constant"})
  near(m.weights[1], 2, 1e-3, "w1")
  near(m.weights[2], -3, 1e-3, "w2")
  near(m.intercept, 1, 1e-3, "intercept")
  near(m:predict({0.25, 0.5}), 2 * 0.25 - 3 * 0.5 + 1, 1e-3, "predict")
  t.fails(function() m:predictProbability({0, 0}) end, "", "not logistic")
end)

t.case("KMeans on two obvious clusters gives their means", function()
  local pts, sum = {}, {{0, 0}, {0, 0}}
  for i = 1, 30 do
    local p = {(i % 4) * 0.1, (i % 7) * 0.1}
    local q = {10 + (i % 5) * 0.1, 10 - (i % 3) * 0.1}
    pts[#pts + 1] = p
    pts[#pts + 1] = q
    for j = 1, 2 do
      sum[1][j] = sum[1][j] + p[j]
      sum[2][j] = sum[2][j] + q[j]
    end
  end
  local mean = {{sum[1][1] / 30, sum[1][2] / 30},
                {sum[2][1] / 30, sum[2][2] / 30}}
  local rdd = sc:parallelize(pts, 3)
  for _, mode in ipairs({"k-means||", "random"}) do
    local m = ember.ml.KMeans.train(rdd, 2, {maxIterations = 20, seed = 7,
                                             initializationMode = mode})
    local c = m.clusterCenters
    eq(#c, 2, mode .. ": two centres")
    local lo = c[1][1] < c[2][1] and 1 or 2
    local hi = 3 - lo
    for j = 1, 2 do
      near(c[lo][j], mean[1][j], 1e-9, mode .. ": low mean")
      near(c[hi][j], mean[2][j], 1e-9, mode .. ": high mean")
    end
    eq(m:predict({0.2, 0.3}), lo - 1, mode .. ": predict low")
    eq(m:predict({9.5, 10.2}), hi - 1, mode .. ": predict high")
    local cost = 0
    for i, p in ipairs(pts) do
      local mu = mean[(i % 2 == 1) and 1 or 2]
      cost = cost + (p[1] - mu[1]) ^ 2 + (p[2] - mu[2]) ^ 2
    end
    near(m:computeCost(rdd), cost, 1e-9, mode .. ": computeCost")
    local got = m:predict(rdd):collect()
    for i = 1, #pts do
      eq(got[i], (i % 2 == 1) and lo - 1 or hi - 1, mode .. ": rdd predict")
    end
  end
  local m = ember.ml.KMeans.train(rdd, 2,
    {initialCenters = {{1, 1}, {9, 9}}, maxIterations = 10})
  near(m.clusterCenters[1][1], mean[1][1], 1e-9, "initial centres")
  near(m.clusterCenters[2][2], mean[2][2], 1e-9, "initial centres")
end)

t.case("pageRank matches a naive power iteration", function()
  -- nodes 5 and 6 have no out-links; 4 has no in-links
  local edges = {{1, 2}, {1, 3}, {2, 3}, {3, 1}, {4, 3}, {4, 5}, {2, 6},
                 {3, 5}}
  local nodes, out = {}, {}
  for _, e in ipairs(edges) do
    nodes[e[1]] = true
    nodes[e[2]] = true
    out[e[1]] = out[e[1]] or {}
    table.insert(out[e[1]], e[2])
  end
  local ids = {}
  for v in pairs(nodes) do ids[#ids + 1] = v end
  local n, a = #ids, 0.15
  local r = {}
  for _, v in ipairs(ids) do r[v] = 1 / n end
  for _ = 1, 200 do
    local nr, dang = {}, 0
    for _, v in ipairs(ids) do
      nr[v] = 0
      if not out[v] then dang = dang + r[v] end
    end
    for u, ts in pairs(out) do
      for _, v in ipairs(ts) do nr[v] = nr[v] + r[u] / #ts end
    end
    for _, v in ipairs(ids) do
      nr[v] = (1 - a) * (nr[v] + dang / n) + a / n
    end
    r = nr
  end
  local ranks, info = ember.graph.pageRank(sc:parallelize(edges, 3),
                                           {tol = 1e-12, maxIter = 500})
  local got, total = {}, 0
  for _, p in ipairs(ranks:collect()) do
    got[p[1]] = p[2]
    total = total + p[2]
  end
  near(total, 1, 1e-9, "ranks sum to 1")
  eq(info.nodes, n, "nodes")
  eq(info.dangling, 2, "dangling: 5 and 6")
  for _, v in ipairs(ids) do near(got[v], r[v], 1e-9, "rank of " .. v) end
end)

t.case("ALS reproduces a rank-1 matrix", function()
  local u = {1, 2, 0.5, 1.5, 3}
  local v = {2, 1, 0.5, 3}
  local ratings = {}
  for i = 1, #u do
    for j = 1, #v do ratings[#ratings + 1] = {i, j, u[i] * v[j]} end
  end
  local m = ember.ml.ALS.train(sc:parallelize(ratings, 3), 1,
                               {iterations = 30, lambda_ = 1e-6, seed = 3})
  eq(m.rank, 1, "rank")
  for _, r in ipairs(ratings) do
    near(m:predict(r[1], r[2]), r[3], 1e-3 * (1 + r[3]), "rating")
  end
  eq(#m:userFeatures(), #u, "user factors")
  eq(#m:productFeatures(), #v, "item factors")
  local sq = 0
  for _, r in ipairs(ratings) do sq = sq + (m:predict(r[1], r[2]) - r[3]) ^ 2 end
  local rmse, skipped = m:rmse(sc:parallelize(ratings, 2))
  near(rmse, math.sqrt(sq / #ratings), 1e-9, "rmse")
  eq(skipped, 0, "none skipped")
  t.fails(function() m:predict(99, 1) end, "", "unknown user")
end)

t.run()
