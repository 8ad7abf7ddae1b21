#!/usr/bin/env bash
# The bundled model against issue 17's targets (models/README.md, "Measured"):
# 600 problems per set from seeds never used in training, greedy.
#   bench/mini_targets.sh [MODEL] [OUT_DIR]      (S1=path/to/s1 to pick the binary)
# Sets: the four kinds at levels 1-3; the same questions after one earlier turn;
# level 3 alone; level 4 (beyond training).
set -euo pipefail
S1=${S1:-build/s1}
MODEL=${1:-models/mini.gguf}
OUT=${2:-mini-targets}
mkdir -p "$OUT"

generate() { "$S1" data generate --n 600 --kinds add,sub,mul,word "$@" 2>/dev/null; }
generate --seed 4250 --difficulty 1-3 -o "$OUT/eval-mix.jsonl"
generate --seed 4250 --difficulty 1-3 --history 1 -o "$OUT/eval-mix-turn2.jsonl"
generate --seed 4251 --difficulty 3 -o "$OUT/eval-d3.jsonl"
generate --seed 4252 --difficulty 4 -o "$OUT/eval-d4.jsonl"

evaluate() {
  echo "== s1 eval $*"
  "$S1" eval -m "$MODEL" "$@" 2>&1 | grep -v '^eval: '
}
evaluate --dataset "$OUT/eval-mix.jsonl" --think-max 0,16,32,64,96,128,160,none --out "$OUT/budgets"
evaluate --dataset "$OUT/eval-mix-turn2.jsonl" --out "$OUT/turn2"
evaluate --dataset "$OUT/eval-mix.jsonl" --wait 1,2 --out "$OUT/wait"
evaluate --dataset "$OUT/eval-d4.jsonl" --wait 0,1,2 --out "$OUT/d4-wait"
evaluate --dataset "$OUT/eval-d3.jsonl" --think-stop natural,probe:2:16,probe:2:32,probe:2:64 --out "$OUT/d3-probe"
