-- What the request scripts share (loaded with dofile, like report.lua).

-- The customer ids of the ids file, one per line.
function read_ids(path)
  local ids = {}
  for line in io.lines(path) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  return ids
end

-- wrk.format replaces wrk's -H headers when given any: carry them over.
function json_headers()
  local headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return headers
end
