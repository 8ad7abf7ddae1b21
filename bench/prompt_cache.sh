#!/usr/bin/env bash
# The prompt cache measured (issue 18): `s1 serve` with `--cache-ram 0` and
# with the default cache, alternately, ROUNDS times each, on the same model;
# each run is bench/prompt_cache.mjs (a 10-turn conversation's time to first
# token, an eval's prompt tokens/s behind a shared ~1K-token prefix). Prints
# min/median/max of turn 10's TTFT and of the eval's prompt tokens/s.
#
#   bench/prompt_cache.sh --model GGUF [--rounds 3] [--questions 12] [--s1 PATH] [--threads 2]
#
# Model: anything with a chat template, e.g. a random-weight Qwen2.5-0.5B
# (`s1 mkmodel --shape qwen2.5-0.5b --vocab-from ggml-vocab-qwen2.gguf --type q8_0`).
set -euo pipefail
cd "$(dirname "$0")/.."
model="" rounds=3 questions=12 s1=build/s1 threads=2
while (($#)); do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --questions) questions=$2; shift 2 ;;
    --s1) s1=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "prompt_cache: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$model" ] || { echo "prompt_cache: --model GGUF is required" >&2; exit 2; }
work=$(mktemp -d)
server=""
stop() { [ -z "$server" ] || { kill "$server" 2>/dev/null; sleep 0.2; kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; } || true; server=""; }
trap 'stop; rm -rf "$work"' EXIT

run() {  # run MODE OUT: one server, one bench run
  local cache=() port=""
  [ "$1" = off ] && cache=(--cache-ram 0)
  "$s1" serve -m "$model" --host 127.0.0.1 --port 0 -t "$threads" --ctx 8192 --parallel 1 "${cache[@]}" \
    2>"$work/serve.log" &
  server=$!
  for _ in $(seq 300); do
    port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/serve.log" >&2; exit 1; }
  node bench/prompt_cache.mjs --url "http://127.0.0.1:$port" --questions "$questions" --json >"$2"
  stop
}

echo "prompt_cache: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $threads threads, $model"
for round in $(seq "$rounds"); do
  for mode in off on; do run "$mode" "$work/$mode.$round.json"; done
done
node -e '
const fs = require("fs");
const [dir, rounds] = [process.argv[1], Number(process.argv[2])];
const stats = (xs) => { xs.sort((a, b) => a - b); return `${xs[0].toFixed(1)} / ${xs[xs.length >> 1].toFixed(1)} / ${xs[xs.length - 1].toFixed(1)}`; };
for (const mode of ["off", "on"]) {
  const runs = [...Array(rounds).keys()].map((r) => JSON.parse(fs.readFileSync(`${dir}/${mode}.${r + 1}.json`)));
  const last = runs.map((r) => r.turns[9]);
  console.log(`cache ${mode.padEnd(3)}: turn 10 ttft ms ${stats(last.map((t) => t.ttft_ms))} (min/median/max; ` +
    `prompt ${last[0].prompt_tokens}, cached ${last[0].cached_tokens}); eval prompt tok/s ` +
    `${stats(runs.map((r) => r.eval.prompt_tps))} (${runs[0].eval.cached_tokens} of ${runs[0].eval.prompt_tokens} cached)`);
}' "$work" "$rounds"
