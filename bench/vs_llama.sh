#!/usr/bin/env bash
# s1 against llama.cpp (the peer, /work/shared/peer), side by side, on the same GGUF
# files, in one run, alternating, so a noisy shared machine moves both engines alike.
#
#   bench/vs_llama.sh [--models LIST] [--rounds N] [--threads N] [--s1 PATH]
#                     [--peer DIR] [--work DIR] [--json OUT] [--vocab GGUF] [--prepare]
#                     [--peer-passive]
#
#   --models LIST  comma-separated SIZE-TYPE (default 0.5b-q4_k_m,0.5b-q8_0,1.5b-q4_k_m,1.5b-q8_0).
#                  SIZE: 0.5b or 1.5b (the qwen2.5 shapes) or any `s1 mkmodel --shape` name,
#                  with @N for N layers only (qwen3-30b-a3b@8); TYPE: f16 or any `s1 quantize` type.
#   --rounds N     rounds of every measurement per engine (default 3); min/median/max reported
#   --threads N    threads for both engines (default 2)
#   --s1 PATH      our binary (default build/s1). Copy it first when others are rebuilding:
#                  cp build/s1 /tmp/s1-bench-bin && bench/vs_llama.sh --s1 /tmp/s1-bench-bin
#   --peer DIR     llama.cpp bin folder (default /tmp/peer/llama.cpp/build/bin, the AVX-512
#                  build); /tmp/peer/llama.cpp/build-avx2/bin is the AVX2-only build
#   --work DIR     where the models are made and cached (default /tmp/s1-vs-llama)
#   --json OUT     also write the samples and the table as JSON to OUT
#   --vocab GGUF   tokenizer source (default /work/shared/tokenizer/ggml-vocab-qwen2.gguf)
#   --prepare      only make the model files (no peer needed), then stop
#   --peer-passive run llama.cpp with OMP_WAIT_POLICY=passive (see below)
#   --prompt N --gen N --batch-prompt N   sizes (default 512, 64, 128; small ones for a smoke test)
#
# The environment passes through, so `S1_CPU=avx2 bench/vs_llama.sh --peer .../build-avx2/bin`
# compares our AVX2 kernels against llama.cpp's AVX2 build. When `s1 bench --json` names its
# kernels ("kernels"), the report shows them.
#
# Models: random weights in the real Qwen2.5 shapes with the real Qwen2 vocabulary
# (`s1 mkmodel ... --type f16`, then `s1 quantize`); both engines read the same file.
# Speed does not depend on the weights' values, only on shapes and formats.
#
# Metrics (tok/s; per round each engine runs once per metric, the order flipping each round):
#   prefill   a 512-token prompt:           s1 bench --prompt 512      | llama-bench -p 512 -n 0
#   decode    64 tokens after that prompt:  s1 bench --gen 64          | llama-bench -p 0 -n 64 -d 512
#   batch8    8 sequences decoded together, 64 steps after a shared 128-token prompt,
#             aggregate tok/s:              s1 bench --batch 8 --prompt 128 --gen 64
#                                           | llama-batched-bench -npp 128 -ntg 64 -npl 8 -pps
#                                           (without -pps on qwen3.5 shapes: llama.cpp refuses it there)
# llama-bench warms up (one untimed run) before each test; s1 bench does not, so its prefill
# includes first touching the memory-mapped weights (page faults on a file the script has read
# into the page cache before the first round, so no engine reads the disk in a timed run).
#
# On a shared machine whose run queue is longer than its cores (others compiling), the peer's
# OpenMP threads spin at every barrier (libgomp's default active wait) and its decode collapses
# (seen: 0.4 tok/s with -t 2 against 9 with -t 1); s1's pool spins briefly, then sleeps. The
# header prints the load average. --peer-passive (OMP_WAIT_POLICY=passive for the peer only)
# measures its kernels rather than its spinning; an OMP_WAIT_POLICY in the environment reaches both.
#
# Needs: bash, jq, lscpu. The peer: /work/shared/peer/build.sh [--avx2] (about 10 minutes).
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(...) stops the script too

root=$(cd "$(dirname "$0")/.." && pwd)
s1="$root/build/s1"
peer=/tmp/peer/llama.cpp/build/bin
work=/tmp/s1-vs-llama
models=0.5b-q4_k_m,0.5b-q8_0,1.5b-q4_k_m,1.5b-q8_0
rounds=3
threads=2
json_out=
vocab=/work/shared/tokenizer/ggml-vocab-qwen2.gguf
prompt=512
gen=64
batch=8
batch_prompt=128
prepare=0
peer_env=(env)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
need_arg() { [ $# -ge 2 ] || { echo "vs_llama.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    --models) need_arg "$@"; models=$2; shift 2 ;;
    --rounds) need_arg "$@"; rounds=$2; shift 2 ;;
    --threads) need_arg "$@"; threads=$2; shift 2 ;;
    --s1) need_arg "$@"; s1=$2; shift 2 ;;
    --peer) need_arg "$@"; peer=$2; shift 2 ;;
    --work) need_arg "$@"; work=$2; shift 2 ;;
    --json) need_arg "$@"; json_out=$2; shift 2 ;;
    --vocab) need_arg "$@"; vocab=$2; shift 2 ;;
    --prepare) prepare=1; shift ;;
    --peer-passive) peer_env=(env OMP_WAIT_POLICY=passive); shift ;;
    --prompt) need_arg "$@"; prompt=$2; shift 2 ;;
    --gen) need_arg "$@"; gen=$2; shift 2 ;;
    --batch-prompt) need_arg "$@"; batch_prompt=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "vs_llama.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "vs_llama.sh: --rounds must be a positive integer" >&2; exit 2; }
for v in threads prompt gen batch_prompt; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "vs_llama.sh: --${v/_/-} must be a positive integer" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "vs_llama.sh: needs jq" >&2; exit 2; }
[ -x "$s1" ] || { echo "vs_llama.sh: no s1 binary at $s1 (build it, or pass --s1)" >&2; exit 2; }
if [ "$prepare" = 0 ]; then
  for tool in llama-bench llama-batched-bench; do
    [ -x "$peer/$tool" ] || { echo "vs_llama.sh: no $peer/$tool (run /work/shared/peer/build.sh, or pass --peer)" >&2; exit 2; }
  done
  peer=$(cd "$peer" && pwd)
fi
[ -f "$vocab" ] || { echo "vs_llama.sh: no vocabulary file $vocab" >&2; exit 2; }
mkdir -p "$work"
s1=$(cd "$(dirname "$s1")" && pwd)/$(basename "$s1")

samples="$work/samples.$$.jsonl"   # one {"model","metric","engine","round","value"} per line
: > "$samples"
errlog="$work/errors.$$.log"
: > "$errlog"
trap 'rm -f "$samples" "$errlog"' EXIT
t_script=$SECONDS
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# --- models -------------------------------------------------------------------------------
model_file() {  # SIZE-TYPE -> path, made on first use
  local size=${1%-*} type=${1##*-}
  [ "$size" != "$1" ] && [ -n "$type" ] || { echo "vs_llama.sh: model '$1' is not SIZE-TYPE" >&2; exit 2; }
  local shape=${size%@*} layers=()
  case $shape in 0.5b|1.5b) shape=qwen2.5-$shape ;; esac
  [ "$shape" != "$size" ] && [ "${size#*@}" != "$size" ] && layers=(--layers "${size#*@}")
  local name=$shape${layers[1]:+-${layers[1]}l}
  local base="$work/$name-f16.gguf" out="$work/$name-$type.gguf"
  if [ ! -s "$base" ]; then
    log "making $base"
    "$s1" mkmodel --shape "$shape" "${layers[@]}" --vocab-from "$vocab" --type f16 \
      -o "$base.tmp$$.gguf" >&2
    mv "$base.tmp$$.gguf" "$base"
  fi
  if [ ! -s "$out" ]; then
    log "quantizing $out"
    "$s1" quantize "$base" "$out.tmp$$.gguf" "$type" >&2
    mv "$out.tmp$$.gguf" "$out"
  fi
  echo "$out"
}

IFS=, read -r -a model_list <<< "$models"
declare -A file_of mrope_model
for m in "${model_list[@]}"; do
  file_of[$m]=$(model_file "$m")
  case $m in qwen3.5-*) mrope_model[$m]=1 ;; esac
done
if [ "$prepare" = 1 ]; then
  for m in "${model_list[@]}"; do ls -l "${file_of[$m]}"; done
  exit 0
fi

# --- one measurement each -----------------------------------------------------------------
record() {  # model metric engine round value
  [ -n "$5" ] && [ "$5" != null ] || return 0
  jq -nc --arg m "$1" --arg k "$2" --arg e "$3" --argjson r "$4" --argjson v "$5" \
    '{model:$m, metric:$k, engine:$e, round:$r, value:$v}' >> "$samples"
}
run() {  # label command... ; stdout of the command to $out, seconds to $took; 1 on failure
  local label=$1 t0=$SECONDS err rc=0
  shift
  err=$(mktemp)
  out=$("$@" 2>"$err") || rc=$?
  took=$((SECONDS - t0))
  if [ "$rc" = 0 ]; then
    rm -f "$err"; log "  $label: ${took}s"; return 0
  fi
  {
    echo "== $label failed (exit $rc) after ${took}s: $*"
    tail -n 20 "$err"
    if [ "$rc" = 132 ]; then
      echo "   illegal instruction: built for instructions this CPU lacks. /work/shared/peer/build.sh turns on"
      echo "   AVX-VNNI and AVX512-BF16 (Ice Lake has neither): cmake -B <build dir> -DGGML_AVX_VNNI=OFF"
      echo "   -DGGML_AVX512_BF16=OFF, then rerun build.sh"
    fi
  } | tee -a "$errlog" >&2
  rm -f "$err"
  return 1
}

s1_kernels=()
peer_info=
s1_single() {  # model file round
  run "s1 prefill+decode" "$s1" bench -m "$2" --prompt "$prompt" --gen "$gen" --threads "$threads" --json || return 0
  local j
  j=$(grep '^{' <<< "$out" | tail -n 1)
  record "$1" prefill s1 "$3" "$(jq '.prefill_tps' <<< "$j")"
  record "$1" decode s1 "$3" "$(jq '.decode_tps' <<< "$j")"
  local k
  k=$(jq -r 'if has("kernels") then (.kernels | if type == "string" then . else tojson end) else empty end' <<< "$j")
  [ -n "$k" ] && s1_kernels+=("$k")
  return 0
}
s1_batch() {
  run "s1 batch$batch" "$s1" bench -m "$2" --prompt "$batch_prompt" --gen "$gen" --batch "$batch" \
    --threads "$threads" --json || return 0
  record "$1" "batch$batch" s1 "$3" "$(grep '^{' <<< "$out" | tail -n 1 | jq '.decode_tps')"
}
peer_single() {
  if run "llama-bench pp$prompt" "${peer_env[@]}" "$peer/llama-bench" -m "$2" -t "$threads" -p "$prompt" -n 0 -r 1 -o json; then
    record "$1" prefill llama "$3" "$(jq '.[0].avg_ts' <<< "$out")"
    [ -n "$peer_info" ] || peer_info=$(jq -r '.[0] | "llama.cpp build \(.build_commit) (\(.build_number)), \(.backends), flash_attn \(.flash_attn), n_batch \(.n_batch), n_ubatch \(.n_ubatch), threads \(.n_threads)"' <<< "$out")
  fi
  if run "llama-bench tg$gen@d$prompt" "${peer_env[@]}" "$peer/llama-bench" -m "$2" -t "$threads" -p 0 -n "$gen" -d "$prompt" -r 1 -o json; then
    record "$1" decode llama "$3" "$(jq '.[0].avg_ts' <<< "$out")"
  fi
  return 0
}
peer_batch() {
  local ctx=$(( (batch_prompt + gen) * batch * 2 ))
  [ "$ctx" -ge 2048 ] || ctx=2048
  # llama.cpp v0.5.0 refuses the shared prompt (-pps) on M-RoPE models such as qwen35 ("for
  # M-RoPE, it is required that the position satisfies X < Y"); there each sequence prefills its
  # own prompt, which leaves the decode figure (speed_tg) comparable.
  local pps=(-pps)
  [ "${mrope_model[$1]:-0}" = 1 ] && pps=()
  run "llama-batched-bench pl$batch" "${peer_env[@]}" "$peer/llama-batched-bench" -m "$2" -t "$threads" -c "$ctx" \
    -npp "$batch_prompt" -ntg "$gen" -npl "$batch" "${pps[@]}" --output-format jsonl || return 0
  record "$1" "batch$batch" llama "$3" "$(grep '^{"n_kv_max"' <<< "$out" | tail -n 1 | jq '.speed_tg')"
}

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "CPU: $cpu; models: $models; rounds $rounds; threads $threads"
# Both engines start with the files in the page cache: llama-bench's untimed warm-up run would
# otherwise read a cold file for it, while s1's first timed prefill read it from disk.
for m in "${model_list[@]}"; do cat "${file_of[$m]}" > /dev/null; done
for ((r = 1; r <= rounds; r++)); do
  for m in "${model_list[@]}"; do
    f=${file_of[$m]}
    log "round $r/$rounds, $m"
    if ((r % 2)); then  # s1 first on odd rounds, llama.cpp first on even ones
      s1_single "$m" "$f" "$r"; peer_single "$m" "$f" "$r"
      s1_batch "$m" "$f" "$r"; peer_batch "$m" "$f" "$r"
    else
      peer_single "$m" "$f" "$r"; s1_single "$m" "$f" "$r"
      peer_batch "$m" "$f" "$r"; s1_batch "$m" "$f" "$r"
    fi
  done
done
elapsed=$((SECONDS - t_script))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------------------
kernels=$(printf '%s\n' "${s1_kernels[@]+"${s1_kernels[@]}"}" | sort -u | paste -sd ' ' -)
summary=$(jq -s --arg models "$models" '
  def stats: sort | {n: length, min: .[0], median: (if length % 2 == 1 then .[length / 2 | floor]
                     else (.[length / 2 - 1] + .[length / 2]) / 2 end), max: .[-1]};
  ($models | split(",")) as $order
  | [group_by([.model, .metric])[]
     | {model: .[0].model, metric: .[0].metric,
        s1: ([.[] | select(.engine == "s1") | .value] | if length > 0 then stats else null end),
        llama: ([.[] | select(.engine == "llama") | .value] | if length > 0 then stats else null end)}
     | .ratio = (if .s1 != null and .llama != null and .llama.median > 0 then .s1.median / .llama.median else null end)]
  | sort_by([(.model as $m | $order | index($m)),
             (.metric as $k | ["prefill", "decode"] | index($k) // 2)])' "$samples")

echo "CPU: $cpu"
echo "s1: $s1${S1_CPU:+ (S1_CPU=$S1_CPU)}${kernels:+, kernels: $kernels}"
peer_wait=$("${peer_env[@]}" sh -c 'echo "${OMP_WAIT_POLICY:-}"')
echo "llama.cpp: $peer${peer_info:+ ($peer_info)}${peer_wait:+, OMP_WAIT_POLICY=$peer_wait}"
echo "threads $threads, rounds $rounds, files in $work; $elapsed s in all; $(date '+%F %T')"
echo "load average (1/5/15 min) at start $load_start, at end $load_end on $(nproc) CPUs"
echo "prefill = $prompt-token prompt; decode = $gen tokens after it; batch$batch = $batch sequences x $gen steps after a shared $batch_prompt-token prompt, aggregate"
echo
fmt3() { if [ "$1" = - ]; then echo -; else printf '%.1f / %.1f / %.1f' "$1" "$2" "$3"; fi; }
printf '%-13s %-30s %24s %30s %8s\n' model metric "s1 min / median / max" "llama.cpp min / median / max" s1/llama
jq -r --arg prompt "$prompt" '.[] | [.model,
  (if .metric == "prefill" then "prefill \($prompt) tok/s" elif .metric == "decode" then "decode tok/s"
   else "\(.metric) aggregate decode tok/s" end),
  (if .s1 then .s1.min, .s1.median, .s1.max else "-", "-", "-" end),
  (if .llama then .llama.min, .llama.median, .llama.max else "-", "-", "-" end),
  (.ratio // "-")] | @tsv' <<< "$summary" \
  | while IFS=$'\t' read -r m k a1 a2 a3 b1 b2 b3 q; do
      [ "$q" = - ] || q=$(printf '%.2f' "$q")
      printf '%-13s %-30s %24s %30s %8s\n' "$m" "$k" "$(fmt3 "$a1" "$a2" "$a3")" "$(fmt3 "$b1" "$b2" "$b3")" "$q"
    done
if [ -s "$errlog" ]; then
  echo
  echo "failed runs:"
  cat "$errlog"
fi

if [ -n "$json_out" ]; then
  jq -s --arg cpu "$cpu" --arg s1 "$s1" --arg s1_cpu "${S1_CPU:-}" --arg kernels "$kernels" \
    --arg peer "$peer" --arg peer_info "$peer_info" --arg peer_wait "$peer_wait" --argjson threads "$threads" --argjson rounds "$rounds" \
    --argjson prompt "$prompt" --argjson gen "$gen" --argjson batch "$batch" --argjson batch_prompt "$batch_prompt" \
    --argjson elapsed "$elapsed" --argjson table "$summary" --arg load_start "$load_start" --arg load_end "$load_end" \
    '{cpu: $cpu, load_start: $load_start, load_end: $load_end, s1: $s1, s1_cpu: $s1_cpu, kernels: $kernels, peer: $peer, peer_info: $peer_info, peer_omp_wait_policy: $peer_wait,
      threads: $threads, rounds: $rounds, prompt: $prompt, gen: $gen, batch: $batch, batch_prompt: $batch_prompt,
      elapsed_s: $elapsed, table: $table, samples: .}' "$samples" > "$json_out"
  echo
  echo "JSON: $json_out"
fi
