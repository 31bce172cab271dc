-- Drives `bentoray lsp` from Neovim's built-in LSP client (written for
-- Debian 12's Neovim 0.7: `vim.lsp.start_client`, `buf_attach_client`,
-- `request_sync`), headless. Opens the spec, waits for its diagnostics,
-- completes inside `[runners.`, applies the BR102 quick fix, and writes what
-- Neovim received to $BENTORAY_NVIM_OUT as JSON for lsp-nvim.sh to assert.
-- Every wait is bounded; any failure still writes the result and quits.

local spec = os.getenv("BENTORAY_NVIM_SPEC")
local server = os.getenv("BENTORAY_NVIM_SERVER")
local out_path = os.getenv("BENTORAY_NVIM_OUT")
local WAIT_MS = 15000
local result = { steps = {} }

local function write_result()
  local f = assert(io.open(out_path, "w"))
  f:write(vim.fn.json_encode(result))
  f:close()
end

local function step(name) table.insert(result.steps, name) end

local function codes_on(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(found, { code = d.code, lnum = d.lnum, col = d.col, message = d.message })
  end
  return found
end

local function has_code(bufnr, code)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.code == code then return d end
  end
  return nil
end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(spec))
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start_client({
    name = "bentoray",
    cmd = { server, "lsp" },
    root_dir = vim.fn.fnamemodify(spec, ":h"),
    init_options = { debounceMs = 50 },
    flags = { debounce_text_changes = 0 },
  })
  assert(client_id, "the server started")
  vim.lsp.buf_attach_client(bufnr, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  step("started")

  -- 1. The BR102 diagnostic, on the line of `[runners.iris_clff]`.
  local ok = vim.wait(WAIT_MS, function() return has_code(bufnr, "BR102") ~= nil end, 20)
  result.diagnostics = codes_on(bufnr)
  assert(ok, "no BR102 diagnostic within the wait")
  local d = has_code(bufnr, "BR102")
  result.br102_line = vim.api.nvim_buf_get_lines(bufnr, d.lnum, d.lnum + 1, false)[1]
  step("diagnostics")

  -- 2. Completion inside `[runners.` on a new last line.
  local last = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, last, last, false, { "[runners." })
  local resp = client.request_sync("textDocument/completion", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = last, character = #"[runners." },
  }, WAIT_MS, bufnr)
  assert(resp and resp.result, "no completion answer: " .. vim.inspect(resp))
  local items = resp.result.items or resp.result
  result.completion = {}
  for _, item in ipairs(items) do table.insert(result.completion, item.label) end
  vim.api.nvim_buf_set_lines(bufnr, last, last + 1, false, {})
  step("completion")

  -- 3. The quick fix for BR102, applied as Neovim applies code actions.
  vim.wait(WAIT_MS, function() return has_code(bufnr, "BR102") ~= nil end, 20)
  d = has_code(bufnr, "BR102")
  assert(d, "BR102 gone before the fix")
  local actions = client.request_sync("textDocument/codeAction", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = d.lnum, character = d.col }, ["end"] = { line = d.lnum, character = d.col } },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, d.lnum) },
  }, WAIT_MS, bufnr)
  assert(actions and actions.result, "no code action answer")
  result.actions = {}
  local fix
  for _, a in ipairs(actions.result) do
    table.insert(result.actions, a.title)
    if not fix and a.title:find("iris_clf`", 1, true) then fix = a end
  end
  assert(fix, "no quick fix naming iris_clf")
  vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding or "utf-16")
  result.fixed_line = vim.api.nvim_buf_get_lines(bufnr, d.lnum, d.lnum + 1, false)[1]
  step("fix applied")

  -- 4. The diagnostic goes away once the server has re-checked.
  ok = vim.wait(WAIT_MS, function() return has_code(bufnr, "BR102") == nil end, 20)
  result.diagnostics_after = codes_on(bufnr)
  assert(ok, "BR102 still reported after the fix")
  step("diagnostic gone")

  vim.lsp.stop_client(client_id)
  vim.wait(WAIT_MS, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
  step("stopped")
end

local ok, err = pcall(run)
result.ok = ok
if not ok then result.error = tostring(err) end
write_result()
vim.cmd("qall!")
