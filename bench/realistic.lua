-- wrk script for bench/serve.sh: replays distinct request paths, one a line, from a file
-- written by bench/realistic_traffic.py (shoppers, sessions and visitors of the seeded
-- demo shop; product, home and cart lists mixed as a shop's traffic is).
--   wrk -t2 -c32 -d30s --latency -s bench/realistic.lua http://127.0.0.1:8765 -- PATHS_FILE
-- Each thread starts at its own share of the file and walks it in order, so no path repeats
-- within a run shorter than the file.
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("no request paths in " .. tostring(args[1])) end
  -- wrk runs `init` in each thread after `setup` set its id; two threads: two halves.
  index = math.floor(((tid or 0) % 2) * #paths / 2)
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end
