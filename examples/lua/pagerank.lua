-- PageRank, as the C example pagerank: the directed graph of an edge list
-- ("src dst" a line, whitespace separated, further fields ignored, '#'
-- lines comments; WormNet's "src<TAB>dst"), networkx's definition (the
-- rank of nodes without out-links spread over all nodes, ranks summing to
-- 1). Prints the TOP nodes by rank (all with 0), "node<TAB>rank", then the
-- iterations run on stderr.
--   ember run examples/lua/pagerank.lua EDGES [TOP=20] [TOL=1e-6]
local path = assert(arg[1], "usage: pagerank.lua EDGES [TOP] [TOL]")
local top = tonumber(arg[2] or 20)
local edges = sc:textFile(path):flatMap(function(line)
  local s, d = line:match("^%s*(%S+)%s+(%S+)")
  if s == nil or s:sub(1, 1) == "#" then return {} end
  return {{s, d}}
end)
local ranks, info = ember.graph.pageRank(edges,
  {tol = tonumber(arg[3] or 1e-6)})
local order = function(r) return {-r[2], r[1]} end
local best = top > 0 and ranks:takeOrdered(top, order) or
             ranks:sortBy(order):collect()
for _, r in ipairs(best) do print(string.format("%s\t%.17g", r[1], r[2])) end
io.stderr:write(string.format("pagerank: %d nodes (%d dangling), %d " ..
  "iterations, last change %.3g\n", info.nodes, info.dangling,
  info.iterations, info.lastChange))
