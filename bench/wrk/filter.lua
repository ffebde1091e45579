-- GET /Users?filter=userName eq "..." over the pre-created users (one match each).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

request = function()
  local user = next_user()
  local query = "?filter=userName%20eq%20%22" .. user.name:gsub("@", "%%40") .. "%22"
  return wrk.format("GET", wrk.path .. "/Users" .. query)
end
