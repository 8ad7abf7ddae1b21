#!/usr/bin/env bash
# Soak test of `s1 serve` (issue 15): starts a server on a free loopback port,
# runs bench/soak.mjs (normal and hostile traffic side by side) against it,
# prints RSS over time, unexpected answers and p50/p99 latency, stops it.
#
#   bench/soak.sh [--seconds 600] [--model GGUF] [--s1 PATH] [--json OUT] [-- SERVE_ARGS...]
#
# Default model: a tiny random-weight qwen2 (`s1 mkmodel`), so the figures
# measure the server, not the model. Exit status 1 when any answer was wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600 model="" s1=build/s1 json=""
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --s1) s1=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "soak: unknown option '$1'" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
# The first SIGTERM drains, the second stops at once.
trap 'kill "$server" 2>/dev/null || true; sleep 0.2; kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -z "$model" ]; then
  model=$work/tiny.gguf
  "$s1" mkmodel --arch qwen2 --layers 2 --embd 64 --heads 4 --kv-heads 2 --ff 96 --ctx 32768 -o "$model" >/dev/null
fi
"$s1" serve -m "$model" --host 127.0.0.1 --port 0 -t 1 --ctx 8192 --parallel 4 --queue 16 "$@" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log" >&2; exit 1; }
echo "soak: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; server pid $server"
node bench/soak.mjs --url "http://127.0.0.1:$port" --pid "$server" --seconds "$seconds" ${json:+--json "$json"}
