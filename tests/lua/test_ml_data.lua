-- ember.ml.Vectors and ember.ml.MLUtils: vectors built every way pyspark
-- allows agree with each other; files written here load back into the
-- points they were written from, and bad input gives a clear error.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, fails = t.eq, t.fails
local V = ember.ml.Vectors

t.case("Vectors.dense from numbers or a table", function()
  eq(V.dense(1, 2.5, -3), {1.0, 2.5, -3.0}, "varargs")
  eq(V.dense({4, 5}), {4.0, 5.0}, "table")
  eq(V.dense({}), {}, "empty")
  eq(V.zeros(3), {0.0, 0.0, 0.0}, "zeros")
  fails(function() V.dense({1, "x"}) end, "not a number", "non-number")
end)

t.case("Vectors.sparse: lists, a map and pairs agree", function()
  local want = {dim = 6, indices = {1, 3, 5}, values = {0.5, 2.0, -1.0}}
  eq(V.sparse(6, {1, 3, 5}, {0.5, 2, -1}), want, "two lists")
  eq(V.sparse(6, {5, 1, 3}, {-1, 0.5, 2}), want, "unsorted lists")
  eq(V.sparse(6, {[3] = 2, [1] = 0.5, [5] = -1}), want, "index = value")
  eq(V.sparse(6, {{5, -1}, {1, 0.5}, {3, 2}}), want, "pairs")
  eq(V.sparse(6, {[0] = 1}), {dim = 6, indices = {0}, values = {1.0}},
     "index 0 in a map")
  eq(V.sparse(2, {}), {dim = 2, indices = {}, values = {}}, "empty")
  fails(function() V.sparse(3, {3}, {1}) end, "outside", "index = size")
  fails(function() V.sparse(3, {1, 1}, {1, 2}) end, "twice", "repeated")
  fails(function() V.sparse(3, {1, 2}, {1}) end, "as many", "lengths")
end)

t.case("sparse vectors train like dense ones", function()
  -- The same separable points, dense and sparse: the same model.
  local dense, sparse = {}, {}
  for i = 1, 30 do
    local x = {(i % 4) * 0.5 + 1, 0, (i % 3) * 0.25}
    local y = {-(i % 5) * 0.5 - 1, 0, (i % 2) * 0.5}
    dense[#dense + 1] = ember.ml.LabeledPoint(1, x)
    dense[#dense + 1] = ember.ml.LabeledPoint(0, y)
    sparse[#sparse + 1] = ember.ml.LabeledPoint(1,
      V.sparse(3, {[0] = x[1], [2] = x[3]}))
    sparse[#sparse + 1] = ember.ml.LabeledPoint(0,
      V.sparse(3, {[0] = y[1], [2] = y[3]}))
  end
  local opts = {iterations = 50, regType = "none", seed = 3}
  local a = ember.ml.LogisticRegression.train(sc:parallelize(dense, 2), opts)
  local b = ember.ml.LogisticRegression.train(sc:parallelize(sparse, 2), opts)
  for j = 1, 3 do
    t.near(b.weights[j], a.weights[j], 1e-12, "weight " .. j)
  end
end)

-- Writes lines to a new file and returns its path.
local function write(lines)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  return path
end

t.case("loadLibSVMFile reads what was written, sized or not", function()
  local lines, want = {}, {}
  for i = 1, 40 do
    local idx, vals, parts = {}, {}, {tostring(i % 2)}
    for j = 1, 7 do
      if (i + j) % 3 == 0 then
        idx[#idx + 1] = j - 1
        vals[#vals + 1] = i + j / 8
        parts[#parts + 1] = j .. ":" .. (i + j / 8)
      end
    end
    lines[#lines + 1] = table.concat(parts, " ")
    want[i] = {i % 2 + 0.0, {dim = 7, indices = idx, values = vals}}
  end
  lines[#lines + 1] = "# a comment line"
  local path = write(lines)
  local got = ember.ml.MLUtils.loadLibSVMFile(sc, path, 7, 3):collect()
  eq(got, want, "numFeatures given")
  -- Without numFeatures the dimension is the largest index seen (7).
  eq(ember.ml.MLUtils.loadLibSVMFile(sc, path):collect(), want, "inferred")
  eq(ember.ml.MLUtils.loadLibSVMFile(sc, path, 9):first()[2].dim, 9,
     "a larger numFeatures")
  os.remove(path)
  local bad = write({"1 1:0.5 2:x"})
  fails(function() ember.ml.MLUtils.loadLibSVMFile(sc, bad, 4):collect() end,
        "line", "a malformed line names its line")
  os.remove(bad)
end)

t.case("loadCSVFile: label column, header, the other columns", function()
  local lines, want = {"a,b,c"}, {}
  for i = 1, 25 do
    lines[#lines + 1] = string.format("%d,%g,%g", i * 2, i / 4, i % 2)
    want[i] = {i / 4, {i * 2.0, (i % 2) + 0.0}}
  end
  local path = write(lines)
  local got = ember.ml.MLUtils.loadCSVFile(sc, path,
    {labelCol = 1, skipHeader = 1, minPartitions = 1}):collect()
  eq(got, want, "label from column 1")
  os.remove(path)
  fails(function() ember.ml.MLUtils.loadCSVFile(sc, "/nonexistent/x.csv")
    :collect() end, "x.csv", "a missing file is named")
end)

t.run()
