-- Approximate nearest neighbours by random-hyperplane LSH: rows of a CSV of
-- numbers (the last column, a label, is ignored), every fifth row a query;
-- for each signature length, the recall at K of the index's neighbours
-- against exact cosine neighbours computed by brute force.
--   ember run examples/lua/lsh_neighbors.lua CSV [K=10] [BITS=16,32,64,128,256]
local path = assert(arg[1], "usage: lsh_neighbors.lua CSV [K] [BITS,...]")
local k = tonumber(arg[2] or 10)
local rows = {}
for line in io.lines(path) do
  local v = {}
  for x in line:gmatch("[^,]+") do v[#v + 1] = tonumber(x) end
  if #v > 1 and v[#v] then
    v[#v] = nil
    rows[#rows + 1] = v
  end
end
local dim = #rows[1]
local recs = {}
for i, v in ipairs(rows) do recs[i] = {i - 1, v} end
local data = sc:parallelize(recs):cache()

local function cosine(x, y)
  local d, nx, ny = 0, 0, 0
  for i = 1, #x do d = d + x[i] * y[i]; nx = nx + x[i] ^ 2; ny = ny + y[i] ^ 2 end
  if nx == 0 or ny == 0 then return 0 end
  return d / math.sqrt(nx * ny)
end
-- exact neighbours of each query (ties by row), computed on the cluster
local queries = {}
for i = 1, #rows, 5 do queries[#queries + 1] = {i - 1, rows[i]} end
local exact = sc:parallelize(queries):map(function(q)
  local all = {}
  for i, v in ipairs(rows) do all[i] = {cosine(q[2], v), i - 1} end
  table.sort(all, function(a, b)
    return a[1] > b[1] or (a[1] == b[1] and a[2] < b[2]) end)
  local top = {}
  for i = 1, k do top[i] = all[i][2] end
  return {q[1], top}
end):collectAsMap()

for bits in (arg[3] or "16,32,64,128,256"):gmatch("%d+") do
  local lsh = ember.sketch.RandomProjectionLSH.create(dim, tonumber(bits), 42)
  local idx = lsh:index(data)
  local hits = 0
  for _, q in ipairs(queries) do
    local want = {}
    for _, id in ipairs(exact[q[1]]) do want[id] = true end
    for _, r in ipairs(idx:nearest(q[2], k)) do
      if want[r[1]] then hits = hits + 1 end
    end
  end
  print(string.format("recall@%d\tbits %s\t%.4f\t(%d queries)", k, bits,
                      hits / (k * #queries), #queries))
end
