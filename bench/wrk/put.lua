-- PUT /Users/{id} on pre-created users; a new title each time, so every PUT writes.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

request = function()
  local n = next_number()
  local user = users[(n % #users) + 1]
  local body = user_json(user.name, n, string.format(',"title":"T%d"', n))
  return wrk.format("PUT", wrk.path .. "/Users/" .. user.id, nil, body)
end
