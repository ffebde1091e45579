-- POST /Users: a new user per request, with a userName unique in the run.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

request = function()
  local n = next_number()
  return wrk.format("POST", wrk.path .. "/Users", nil, user_json(new_name(n), n))
end
