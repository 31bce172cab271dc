#!/usr/bin/env bash
# A real editor against `bentoray lsp`: headless Neovim (Debian's package)
# with its built-in LSP client opens a spec with a misspelled runner, gets
# the BR102 diagnostic on `[runners.iris_clff]`, completes `[runners.` to the
# bento's runners, applies the quick fix and sees the diagnostic go. The Lua
# (scripts/lsp-nvim/test.lua) records what Neovim received; this script
# asserts on it. Every wait is bounded; nvim is killed by PID on a hang.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v nvim >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq neovim >/dev/null
fi
nvim --version | head -1

cargo build --release --locked -q
server=$root/target/release/bentoray

work=$(mktemp -d)
nvim_pid=
cleanup() {
  if [ -n "$nvim_pid" ] && kill -0 "$nvim_pid" 2>/dev/null; then kill -9 "$nvim_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/bentoray.toml" <<TOML
# Ünïcödé 𝄞: non-ASCII text before every position the test asks about.
bento = "iris_classifier:latest"
bentoml_home = "$root/examples/bentoml"

[service]
ray_actor_options = { resources = { "gpü𝄞" = 1 }, num_cpus = 1 }

[runners.iris_clff]
num_replicas = 1
TOML

export BENTORAY_NVIM_SPEC=$work/bentoray.toml BENTORAY_NVIM_SERVER=$server
export BENTORAY_NVIM_OUT=$work/result.json
HOME=$work XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state \
  nvim --headless -u NONE -i NONE -n -c "luafile $root/scripts/lsp-nvim/test.lua" </dev/null >"$work/nvim.log" 2>&1 &
nvim_pid=$!
for _ in $(seq 1 600); do
  kill -0 "$nvim_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$nvim_pid" 2>/dev/null; then
  echo "lsp-nvim: Neovim did not finish within 60 s; killing it" >&2
  kill -9 "$nvim_pid" || true
  cat "$work/nvim.log" >&2
  exit 1
fi
wait "$nvim_pid" || true
nvim_pid=

python3 - "$work/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("neovim steps:", ", ".join(r["steps"]))
assert r["ok"], r.get("error")
assert r["br102_line"] == "[runners.iris_clff]", r
assert "iris_clf" in r["completion"] and "echo" in r["completion"], r["completion"]
assert r["fixed_line"] == "[runners.iris_clf]", r["fixed_line"]
assert not any(d["code"] == "BR102" for d in r["diagnostics_after"]), r["diagnostics_after"]
print("lsp-nvim: BR102 on", repr(r["br102_line"]), "| completion:", r["completion"],
      "| after the fix:", repr(r["fixed_line"]), "with", [d["code"] for d in r["diagnostics_after"]])
PY
