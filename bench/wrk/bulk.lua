-- POST /Bulk with OPERATIONS user creations, each with its bulkId and a unique userName.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
OPERATIONS = 1000

request = function()
  local ops = {}
  for i = 1, OPERATIONS do
    local n = next_number()
    ops[i] = string.format('{"method":"POST","path":"/Users","bulkId":"b%d","data":%s}',
      n, user_json(new_name(n), n))
  end
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],'
    .. '"failOnErrors":1,"Operations":[' .. table.concat(ops, ",") .. ']}'
  return wrk.format("POST", wrk.path .. "/Bulk", nil, body)
end
