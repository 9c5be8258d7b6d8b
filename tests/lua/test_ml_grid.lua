-- ember.ml.Perceptron, hogwild mode and ember.ml.gridSearch: the averaged
-- perceptron against a naive Lua one, hogwild against batch mode on
-- sparse data, and grid search against a sequential loop over the same
-- folds (scikit-learn's KFold blocks) run in one task.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near = t.eq, t.near

-- a small deterministic generator (a 31-bit LCG) in [-1, 1)
local function rng(seed)
  local s = seed
  return function()
    s = (1103515245 * s + 12345) % 2147483648
    return s / 1073741824 - 1
  end
end

-- n points of d features labelled by the sign of a noisy linear function
local function make_points(n, d, seed, regression)
  local r, w, pts = rng(seed), {}, {}
  for j = 1, d do w[j] = r() * 2 end
  for _ = 1, n do
    local x, m = {}, 0.2 + 0.4 * r()
    for j = 1, d do
      x[j] = r()
      m = m + w[j] * x[j]
    end
    pts[#pts + 1] = ember.ml.LabeledPoint(regression and m or
                                          (m > 0 and 1 or 0), x)
  end
  return pts
end

-- the naive averaged perceptron: the mean of the weights (intercept last)
-- after every point of `epochs` passes with step 1
local function naive_perceptron(pts, epochs)
  local d = #pts[1][2]
  local w, sum, steps = {}, {}, 0
  for j = 1, d + 1 do w[j], sum[j] = 0, 0 end
  for _ = 1, epochs do
    for _, p in ipairs(pts) do
      local s, m = 2 * p[1] - 1, w[d + 1]
      for j = 1, d do m = m + w[j] * p[2][j] end
      if s * m <= 0 then
        for j = 1, d do w[j] = w[j] + s * p[2][j] end
        w[d + 1] = w[d + 1] + s
      end
      for j = 1, d + 1 do sum[j] = sum[j] + w[j] end
      steps = steps + 1
    end
  end
  for j = 1, d + 1 do sum[j] = sum[j] / steps end
  return sum
end

local function accuracy(m, pts)
  local right = 0
  for _, p in ipairs(pts) do
    if m:predict(p[2]) == p[1] then right = right + 1 end
  end
  return right / #pts
end

t.case("Perceptron is the averaged perceptron", function()
  local pts = make_points(120, 3, 5)
  local want = naive_perceptron(pts, 4)
  local data = sc:parallelize(pts, 1)
  for _, mode in ipairs({"averaging", "ipm", "hogwild"}) do
    local m = ember.ml.Perceptron.train(data, {iterations = 4, mode = mode,
                                               intercept = true})
    eq(m.kind, "perceptron", mode .. ": kind")
    for j = 1, 3 do near(m.weights[j], want[j], 1e-9, mode .. ": w") end
    near(m.intercept, want[4], 1e-9, mode .. ": intercept")
  end
  local m = ember.ml.Perceptron.train(sc:parallelize(pts, 3),
    {iterations = 10, mode = "ipm", intercept = true})
  for _, p in ipairs(pts) do
    local margin = m.intercept
    for j = 1, 3 do margin = margin + m.weights[j] * p[2][j] end
    near(m:predict(p[2]), margin > 0 and 1 or 0, 0, "predict is the sign")
  end
  t.fails(function() m:predictProbability(pts[1][2]) end, "probability",
          "no probability")
  local path = os.tmpname()
  m:save(path)
  local back = ember.ml.PerceptronModel.load(path)
  os.remove(path)
  eq(back.weights, m.weights, "load")
  t.fails(function()
    ember.ml.Perceptron.train(data, {mode = "bogus"})
  end, "hogwild", "bad mode")
end)

t.case("hogwild reaches batch mode's accuracy on sparse data", function()
  local r, pts, w = rng(11), {}, {}
  for j = 1, 100 do w[j] = r() * 2 end
  for _ = 1, 1500 do
    local idx, val, seen, m = {}, {}, {}, 0.1
    while #idx < 4 do
      local j = math.floor((r() + 1) * 50)
      if not seen[j] then
        seen[j] = true
        idx[#idx + 1] = j
      end
    end
    table.sort(idx)
    for k, j in ipairs(idx) do
      val[k] = r()
      m = m + w[j + 1] * val[k]
    end
    pts[#pts + 1] = ember.ml.LabeledPoint(m > 0 and 1 or 0,
      ember.ml.Vectors.sparse(100, idx, val))
  end
  local data = sc:parallelize(pts, 6)
  local batch = ember.ml.LogisticRegression.train(data, {iterations = 300,
    step = 0.1, optimizer = "adam", schedule = "constant", regParam = 0,
    intercept = true, convergenceTol = 0})
  local dense = {}
  for i, p in ipairs(pts) do
    local x = {}
    for j = 1, 100 do x[j] = 0 end
    for k, j in ipairs(p[2].indices) do x[j + 1] = p[2].values[k] end
    dense[i] = {p[1], x}
  end
  local want = accuracy(batch, dense)
  for _, train in ipairs({ember.ml.LogisticRegression.train,
                          ember.ml.Perceptron.train}) do
    local m = train(data, {iterations = 20, step = 0.5, mode = "hogwild",
      schedule = "constant", regParam = 0, intercept = true})
    local got = accuracy(m, dense)
    if got < want - 0.02 then
      error(("hogwild accuracy %.4f, batch %.4f"):format(got, want))
    end
    local loss = m.loss
    if not (loss[#loss] < loss[1]) then error("hogwild loss did not fall") end
  end
end)

-- the folds of scikit-learn's KFold: n // k points each, the first n % k
-- folds one more, in order
local function fold_range(n, k, f)
  local q, r = n // k, n % k
  local lo = f * q + math.min(f, r)
  return lo + 1, lo + q + (f < r and 1 or 0)
end

-- every cell's fold scores computed sequentially in one task
local function reference(pts, cells, k, trainer, metric)
  return sc:parallelize({0}, 1):map(function()
    local out = {}
    for c, params in ipairs(cells) do
      out[c] = {}
      for f = 0, k - 1 do
        local lo, hi = fold_range(#pts, k, f)
        local train, test = {}, {}
        for i, p in ipairs(pts) do
          if i >= lo and i <= hi then test[#test + 1] = p
          else train[#train + 1] = p end
        end
        out[c][f + 1] = metric(trainer(train, params), test)
      end
    end
    return out
  end):collect()[1]
end

t.case("gridSearch equals a sequential loop over the same folds", function()
  local pts = make_points(90, 3, 21)
  local data = sc:parallelize(pts, 4)
  local function fit(points, params)
    local o = {mode = "averaging", regType = "l2", iterations = 3}
    for key, v in pairs(params) do o[key] = v end
    return ember.ml.LogisticRegression.train(points, o)
  end
  local function acc(m, points)
    local right = 0
    for _, p in ipairs(points) do
      if m:predict(p[2]) == p[1] then right = right + 1 end
    end
    return right / #points
  end
  local grid = {step = {0.05, 1.0}, regParam = {0, 0.5}}
  -- names sorted (regParam < step), the last varying fastest
  local cells = {{regParam = 0, step = 0.05}, {regParam = 0, step = 1.0},
                 {regParam = 0.5, step = 0.05}, {regParam = 0.5, step = 1.0}}
  local want = reference(pts, cells, 3, fit, acc)
  local res = ember.ml.gridSearch(fit, grid, data, {folds = 3})
  local fres = ember.ml.gridSearch(fit, grid, data,
                                   {folds = 3, metric = acc})
  local best, best_mean = 0, -1
  for c = 1, 4 do
    eq(res.params[c], cells[c], "cell " .. c)
    local mean, var = 0, 0
    for f = 1, 3 do
      near(res.split_test_scores[c][f], want[c][f], 1e-12, "fold score")
      near(fres.split_test_scores[c][f], want[c][f], 1e-12,
           "metric function")
      mean = mean + want[c][f] / 3
    end
    for f = 1, 3 do var = var + (want[c][f] - mean) ^ 2 / 3 end
    near(res.mean_test_score[c], mean, 1e-12, "mean")
    near(res.std_test_score[c], math.sqrt(var), 1e-12, "std")
    if mean > best_mean then best, best_mean = c, mean end
  end
  eq(res.best_index, best, "best cell")
  eq(res.best_params, cells[best], "best params")
  near(res.best_score, best_mean, 1e-12, "best score")
  eq(res.lower_is_better, false, "accuracy is a score")
  t.fails(function()
    ember.ml.LogisticRegression.train(pts, {})
  end, "inside a task", "arrays train in tasks only")
  t.fails(function()
    ember.ml.gridSearch(fit, grid, data, {folds = 1})
  end, "folds", "one fold")
end)

t.case("gridSearch by RMSE picks the lowest error", function()
  local pts = make_points(60, 2, 8, true)
  local function fit(points, params)
    return ember.ml.LinearRegression.train(points, params)
  end
  local function rmse(m, points)
    local s = 0
    for _, p in ipairs(points) do s = s + (m:predict(p[2]) - p[1]) ^ 2 end
    return math.sqrt(s / #points)
  end
  local cells = {{iterations = 20, step = 0.01},
                 {iterations = 20, step = 0.3}}
  local want = reference(pts, cells, 4, fit, rmse)
  local res = ember.ml.gridSearch(fit, {step = {0.01, 0.3},
    iterations = 20}, sc:parallelize(pts, 2), {folds = 4, metric = "rmse"})
  local means = {}
  for c = 1, 2 do
    means[c] = 0
    for f = 1, 4 do
      near(res.split_test_scores[c][f], want[c][f], 1e-12, "fold rmse")
      means[c] = means[c] + want[c][f] / 4
    end
  end
  eq(res.best_index, means[1] < means[2] and 1 or 2, "lowest rmse")
  eq(res.lower_is_better, true, "rmse is an error")
end)

t.run()
