-- bench/wrk_chat.lua — wrk script for bench/gateway.sh: every request is the same POST of a chat completion.
--   wrk ... -s bench/wrk_chat.lua URL -- BODY_FILE [API_KEY]
-- BODY_FILE holds the JSON request body (read once per thread); API_KEY, when given and not empty, is sent as
-- "Authorization: Bearer API_KEY". The request is built once (no request() or response() function here), so wrk
-- sends it as fast as its static path allows and the script costs nothing per request.

function init(args)
  local path = args[1]
  if not path then
    error("wrk_chat.lua: usage: wrk ... -s wrk_chat.lua URL -- BODY_FILE [API_KEY]")
  end
  local f = assert(io.open(path, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[2] and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
end
