-- The Lua workload of `nopin exec` (issue 16): ordinary Lua doing a bit of
-- everything the interpreter has - tables, strings and patterns, closures,
-- coroutines, integer and float arithmetic, sort, string.format - with every
-- result printed.  Deterministic: the generator is seeded, and no loop
-- prints in pairs() order (string hashes are seeded per run in Lua 5.4).
local n = tonumber(arg and arg[1]) or 20000
math.randomseed(42)

-- Sieve of Eratosthenes.
local sieve, primes = {}, 0
for i = 2, n * 5 do
  if not sieve[i] then
    primes = primes + 1
    for j = i * i, n * 5, i do sieve[j] = true end
  end
end
print(string.format("primes below %d: %d", n * 5, primes))

-- Words, counted through a table, printed sorted.
local vocab = { "page", "frame", "guest", "host", "notifier", "srcu", "shadow", "reclaim" }
local words, count = {}, {}
for i = 1, n do
  local w = vocab[math.random(#vocab)] .. tostring(math.random(0, 9))
  words[i] = w
  count[w] = (count[w] or 0) + 1
end
local keys = {}
for k in pairs(count) do keys[#keys + 1] = k end
table.sort(keys)
local top = {}
for i = 1, 5 do top[i] = keys[i] .. "=" .. count[keys[i]] end
print(#keys .. " distinct words; " .. table.concat(top, " "))

-- Patterns: gsub and gmatch over one long string.
local text = table.concat(words, " ", 1, math.min(n, 2000))
local vowels = select(2, text:gsub("[aeiou]", ""))
local digits = 0
for d in text:gmatch("%d") do digits = digits + tonumber(d) end
print(string.format("text %d bytes, %d vowels, digit sum %d, upper %s", #text, vowels,
  digits, text:sub(1, 24):upper()))

-- Sort records by two keys.
local recs = {}
for i = 1, n // 4 do recs[i] = { id = i, score = math.random(1, 1000), w = words[i] } end
table.sort(recs, function(a, b)
  if a.score ~= b.score then return a.score > b.score end
  return a.id < b.id
end)
for i = 1, 3 do print(string.format("rank %d: id %d score %d %s", i, recs[i].id, recs[i].score, recs[i].w)) end

-- Floats: a series and the formats a C printf gives them.
local s = 0.0
for i = 1, n do s = s + 1.0 / (i * i) end
print(string.format("basel(%d) = %.12f, pi^2/6 = %.12f, %g, %e", n, s, math.pi ^ 2 / 6,
  math.sqrt(2), math.exp(1)))
print(7 // 2, 7 % -3, 2 ^ 10, 10 / 4, math.maxinteger, math.tointeger(3.0), 1e300 * 1e10)

-- Closures and coroutines: a generator of Fibonacci numbers.
local function fib()
  return coroutine.wrap(function()
    local a, b = 0, 1
    while true do coroutine.yield(a); a, b = b, a + b end
  end)
end
local f, last = fib(), 0
for _ = 1, 90 do last = f() end
print("fib(89) = " .. last)

-- string.rep, byte/char, and a checksum over everything built.
local acc = 0
for i = 1, #text do acc = (acc * 31 + text:byte(i)) % 2147483647 end
print(string.format("checksum %d", acc))
