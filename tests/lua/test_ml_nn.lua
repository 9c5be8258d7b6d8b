-- ember.ad and ember.ml.MLP: gradients of several expressions against
-- central finite differences computed here, forward values against the
-- formulas, the errors; the MLP on XOR blobs, which no linear classifier
-- can fit, against a bound derived from the data and against a forward
-- pass written here from its weights.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near = t.eq, t.near
local ad = ember.ad

-- A deterministic value in [-1, 1) for (seed, i).
local function noise(seed, i)
  local x = (seed * 7919 + i * 104729) % 1000003
  return (x / 1000003) * 2 - 1
end

-- Values to try: each param a number, an array or an array of rows.
local function draw(shape, seed)
  if shape[2] == nil then -- scalar
    return 0.5 + noise(seed, 1)
  end
  local v, k = {}, 0
  for i = 1, shape[1] do
    if shape[2] == 0 then -- column vector
      k = k + 1
      v[i] = noise(seed, k)
    else
      v[i] = {}
      for j = 1, shape[2] do
        k = k + 1
        v[i][j] = noise(seed, k)
      end
    end
  end
  return v
end

-- Every entry of a value as {get, set} over the same storage.
local function entries(v)
  local out = {}
  for i, x in ipairs(v) do
    if type(x) == "table" then
      for j in ipairs(x) do
        out[#out + 1] = {function() return v[i][j] end,
                         function(y) v[i][j] = y end}
      end
    else
      out[#out + 1] = {function() return v[i] end, function(y) v[i] = y end}
    end
  end
  return out
end

local function flat(v)
  if type(v) == "number" then return {v} end
  local out = {}
  for _, x in ipairs(v) do
    if type(x) == "table" then
      for _, y in ipairs(x) do out[#out + 1] = y end
    else
      out[#out + 1] = x
    end
  end
  return out
end

-- f(tape, params...) records a scalar; checks the gradient of every param
-- against (f(p + h) - f(p - h)) / 2h within 1e-6 of max(1, |g|).
local function check_grad(name, shapes, f, seed)
  local vals = {}
  for i, s in ipairs(shapes) do vals[i] = draw(s, seed + i) end
  local function eval(vs)
    local tape = ad.Tape()
    local ps = {}
    for i, v in ipairs(vs) do ps[i] = tape:param(v) end
    return f(tape, table.unpack(ps)), ps
  end
  local root, ps = eval(vals)
  root:backward()
  local h = 1e-5
  for i, v in ipairs(vals) do
    local g = flat(ps[i]:grad())
    local box = type(v) == "number" and {v} or v
    local es = entries(box)
    for k, e in ipairs(es) do
      local x0 = e[1]()
      local function at(x)
        e[2](x)
        local vs = {}
        for j, w in ipairs(vals) do vs[j] = j == i and (type(w) == "number"
          and box[1] or box) or w end
        local r = eval(vs):value()
        e[2](x0)
        return r
      end
      local fd = (at(x0 + h) - at(x0 - h)) / (2 * h)
      local tol = 1e-6 * math.max(1, math.abs(g[k]))
      if math.abs(g[k] - fd) > tol then
        error(string.format("%s: d/d param %d entry %d: %.12g, finite " ..
                            "differences %.12g", name, i, k, g[k], fd), 2)
      end
    end
  end
end

t.case("ad: gradients match central finite differences", function()
  local x = {0.3, -0.7}
  local c = {1.5, -0.5, 2.0}
  for seed = 1, 3 do
    -- a tanh layer dotted with a constant
    check_grad("tanh layer", {{3, 2}, {3, 0}}, function(tape, W, b)
      return ad.sum(ad.tanh(W:matmul(tape:const(x)) + b) * tape:const(c))
    end, seed)
    -- softmax cross-entropy of a batch with an L2 term
    check_grad("softmax", {{4, 3}, {3, 2}, {2, 0}}, function(tape, X, W, b)
      local logits = ad.addRows(X:matmul(W), b)
      return ad.softmaxXent(logits, {0, 1, 1, 0}) + 0.1 * ad.dot(W, W)
    end, seed * 10)
    -- elementwise functions, numbers on either side, negation, division
    check_grad("elementwise", {{3, 0}, {3, 0}}, function(tape, a, b)
      local e = ad.mean(ad.sigmoid(a) * ad.exp(b))
      return e - ad.log(ad.sum(ad.exp(a / 4))) + ad.sum((a - 1) * 2) +
             ad.sum(2 - (-b)) * 0.5
    end, seed * 100)
    -- relu away from its kink, and scalars
    check_grad("relu and scalars", {{}, {}}, function(tape, s, u)
      local v = tape:const({1, -2, 3})
      return ad.sum(ad.relu(v * s)) + s * s * u + 3
    end, seed * 1000)
  end
end)

t.case("ad: forward values follow the formulas", function()
  local tape = ad.Tape()
  local W = tape:param({{1, 2}, {3, 4}, {5, 6}})
  local x = tape:const({1, -1})
  eq(W:matmul(x):value(), {-1.0, -1.0, -1.0}, "matmul")
  eq({W:shape()}, {3, 2}, "shape")
  eq(W:value(), {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, "matrix round trip")
  local s = ad.sum(W * W)
  near(s:value(), 1 + 4 + 9 + 16 + 25 + 36, 0, "sum of squares")
  s:backward()
  eq(W:grad(), {{2.0, 4.0}, {6.0, 8.0}, {10.0, 12.0}}, "d sum W^2 = 2W")
  local z = tape:const({1, 2, 3})
  local lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
  near(ad.softmaxXent(z, {2}):value(), lse - 3, 1e-12, "cross-entropy")
  local y = tape:param(0.25)
  near(ad.sigmoid(y):value(), 1 / (1 + math.exp(-0.25)), 1e-15, "sigmoid")
  eq(ad.exp(y):grad(), nil, "no gradient after the last backward's root")
end)

t.case("ad: errors are Lua errors", function()
  local tape = ad.Tape()
  local a, b = tape:param({1, 2}), tape:param({1, 2, 3})
  t.fails(function() return a + b end, "shapes do not match", "add shapes")
  -- the error is sticky: the tape fails from then on with the same message
  t.fails(function() return a * 2 end, "shapes do not match", "sticky")
  local other = ad.Tape()
  local c = other:param({1, 2})
  t.fails(function() return c + ad.Tape():const({1, 2}) end,
          "different tapes", "two tapes")
  t.fails(function() return ad.dot(c, ad.Tape():const({3, 4})) end,
          "different tapes", "two tapes in a function")
  t.fails(function() other:param({}) end, "not empty", "empty value")
  t.fails(function() other:param({{1, 2}, {3}}) end, "row 2", "ragged rows")
  t.fails(function() c:backward() end, "scalar", "non-scalar root")
  t.fails(function() ad.softmaxXent(ad.Tape():const({1, 2}), {5}) end,
          "label", "label range")
  t.fails(function() return c + "x" end, "ember.ad.Node", "a string")
  -- the other tape is still usable
  local d = ad.dot(c, c)
  d:backward()
  eq(c:grad(), {2.0, 4.0}, "d c.c = 2c")
end)

-- Four blobs at the corners of a square, labelled by XOR of the signs.
local function xor_points(per)
  local pts = {}
  for i = 1, per do
    local jx, jy = 0.3 * noise(1, i), 0.3 * noise(2, i)
    for _, c in ipairs({{1, 1, 0}, {-1, -1, 0}, {1, -1, 1}, {-1, 1, 1}}) do
      pts[#pts + 1] = ember.ml.LabeledPoint(c[3], {c[1] + jx, c[2] + jy})
    end
  end
  return pts
end

-- The forward pass from the documented weight layout: every layer's
-- in x out matrix (row-major), then every bias.
local function forward(m, x)
  local L, w = m.layers, m.weights
  local off, boff = 0, 0
  for l = 1, #L - 1 do boff = boff + L[l] * L[l + 1] end
  local h = x
  for l = 1, #L - 1 do
    local out = {}
    for j = 1, L[l + 1] do
      local s = w[boff + j]
      for i = 1, L[l] do s = s + h[i] * w[off + (i - 1) * L[l + 1] + j] end
      if l < #L - 1 then
        s = m.activation == "relu" and math.max(s, 0) or
            (math.exp(2 * s) - 1) / (math.exp(2 * s) + 1)
      end
      out[j] = s
    end
    off, boff, h = off + L[l] * L[l + 1], boff + L[l + 1], out
  end
  local best = 1
  for j = 2, #h do if h[j] > h[best] then best = j end end
  return best - 1
end

t.case("MLP fits XOR blobs that logistic regression cannot", function()
  local pts = xor_points(25)
  local data = sc:parallelize(pts, 3)
  -- each quadruple of points (one per blob) is in XOR position: the
  -- segments between same-labelled points cross, so no line classifies
  -- all four; a linear classifier gets at most 3 / 4 of the points
  local lr = ember.ml.LogisticRegression.train(data, {iterations = 200,
    regParam = 0, intercept = true})
  local right = 0
  for _, p in ipairs(pts) do
    if lr:predict(p[2]) == p[1] then right = right + 1 end
  end
  assert(right <= 0.75 * #pts, "logistic regression above the XOR bound")
  for _, act in ipairs({"tanh", "relu"}) do
    local m = ember.ml.MLP.train(data, {layers = {2, 8, 2}, activation = act,
      optimizer = "adam", step = 0.05, iterations = 40, blockSize = 16,
      seed = 3})
    eq(m.layers, {2, 8, 2}, act .. ": layers")
    eq(m.activation, act, act .. ": activation")
    eq(#m.weights, 2 * 8 + 8 * 2 + 8 + 2, act .. ": number of weights")
    eq(#m.loss, 40, act .. ": a loss per epoch")
    assert(m.loss[40] < m.loss[1], act .. ": the loss decreases")
    right = 0
    local got = m:predict(data):collect()
    for i, p in ipairs(pts) do
      local y = m:predict(p[2])
      near(y, forward(m, p[2]), 0, act .. ": predict is the forward pass")
      near(got[i], y, 0, act .. ": predict on an RDD")
      if y == p[1] then right = right + 1 end
    end
    assert(right >= 0.95 * #pts,
           act .. ": accuracy " .. right / #pts .. " below 0.95")
  end
  -- given initial weights and miniBatchFraction 1: the full batch, so one
  -- step per epoch
  local w0 = {}
  for i = 1, 2 * 4 + 4 * 2 + 4 + 2 do w0[i] = 0.1 * noise(5, i) end
  local m = ember.ml.MLP.train(data, {layers = {2, 4, 2}, iterations = 1,
    initialWeights = w0, miniBatchFraction = 1.0, step = 0.1,
    schedule = "constant"})
  -- the full-batch loss at w0, written out here: softmax cross-entropy
  local loss = 0
  for _, p in ipairs(pts) do
    local h = {}
    for j = 1, 4 do
      local s = w0[16 + j] + p[2][1] * w0[j] + p[2][2] * w0[4 + j]
      h[j] = (math.exp(2 * s) - 1) / (math.exp(2 * s) + 1)
    end
    local z = {}
    for k = 1, 2 do
      z[k] = w0[20 + k]
      for j = 1, 4 do z[k] = z[k] + h[j] * w0[8 + (j - 1) * 2 + k] end
    end
    local mx = math.max(z[1], z[2])
    loss = loss + mx + math.log(math.exp(z[1] - mx) + math.exp(z[2] - mx))
           - z[p[1] + 1]
  end
  near(m.loss[1], loss / #pts, 1e-12, "the first step's loss at w0")
end)

t.case("MLP options and bad input fail clearly", function()
  local data = sc:parallelize(xor_points(2), 2)
  t.fails(function() ember.ml.MLP.train(data, {}) end, "layers",
          "no layers")
  t.fails(function() ember.ml.MLP.train(data, {layers = {2}}) end,
          "2 to", "one layer")
  t.fails(function()
    ember.ml.MLP.train(data, {layers = {2, 2}, activation = "softsign"})
  end, "activation", "bad activation")
  t.fails(function()
    ember.ml.MLP.train(data, {layers = {2, 2}, optimizer = "lbfgs"})
  end, "optimizer", "bad optimizer")
  t.fails(function()
    ember.ml.MLP.train(data, {layers = {2, 2}, initialWeights = {1, 2}})
  end, "initialWeights", "wrong number of weights")
  t.fails(function()
    ember.ml.MLP.train(data, {layers = {3, 2}, iterations = 1})
  end, "MLP.train", "features of another dimension")
  local m = ember.ml.MLP.train(data, {layers = {2, 2}, iterations = 1})
  t.fails(function() m:predict({1, 2, 3}) end, "predict", "predict dimension")
end)

t.run()
