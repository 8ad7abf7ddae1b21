#!/usr/bin/env bash
# Fine-tunes a model folder from `s1 export-hf` on rows from `make_text.py`
# with the s1 repository's train/sft.py (TRL's SFTTrainer under torchrun and
# FSDP), with s1's hyperparameters (its train/sft.sh): learning rate 1e-5
# with cosine decay to 0 after 5 % warmup, 5 epochs, weight decay 1e-4,
# Adam betas 0.9 / 0.95, bf16, one sequence per GPU, sequences up to
# BLOCK_SIZE tokens (s1: 32768; s1.1 used 20000 to fit 16 H100s).
# GRAD_CHECKPOINTING=True trades compute for memory (s1 suggests it on 8 H100s).
#
#   S1_REPO=~/s1 MODEL=ckpts/Qwen-base DATA=data/s1k-text bash sft.sh
#
# MODEL's path must contain "Qwen" or "Llama": sft.py picks its chat markers
# (the loss is computed on the assistant turns only) and pad token by that name.
set -euo pipefail

: "${S1_REPO:?set S1_REPO to a clone of github.com/simplescaling/s1}"
: "${MODEL:?set MODEL to the folder s1 export-hf wrote}"
: "${DATA:?set DATA to the folder make_text.py wrote}"
gpus="${GPUS:-$(nvidia-smi -L | wc -l)}"
out="${OUT:-ckpts/s1cpp-$(date +%Y%m%d_%H%M%S)}"
block_size="${BLOCK_SIZE:-32768}"
accumulation="${GRAD_ACCUM:-1}"  # s1: global batch 16 = 16 GPUs x 1 sequence x 1 step

# FSDP wraps each decoder layer; its class follows the folder's model_type.
layer_class=$(python3 -c '
import json, sys
names = {"qwen2": "Qwen2DecoderLayer", "qwen3": "Qwen3DecoderLayer", "llama": "LlamaDecoderLayer",
         "qwen3_moe": "Qwen3MoeDecoderLayer"}
print(names[json.load(open(sys.argv[1]))["model_type"]])' "$MODEL/config.json")
# sft.py names a W&B project and entity of its own; REPORT_TO=wandb with WANDB_PROJECT/WANDB_ENTITY uses yours.
wandb=()
if [ -n "${WANDB_PROJECT:-}" ]; then wandb+=(--wandb_project="$WANDB_PROJECT"); fi
if [ -n "${WANDB_ENTITY:-}" ]; then wandb+=(--wandb_entity="$WANDB_ENTITY"); fi
fsdp_config="$(mktemp --suffix=.json)"
echo "{\"transformer_layer_cls_to_wrap\": \"$layer_class\"}" > "$fsdp_config"

torchrun --nproc-per-node "$gpus" --master_port 12345 \
  "$S1_REPO/train/sft.py" \
  --model_name="$MODEL" \
  --train_file_path="$DATA" \
  --block_size="$block_size" \
  --per_device_train_batch_size=1 \
  --per_device_eval_batch_size=1 \
  --gradient_accumulation_steps="$accumulation" \
  --num_train_epochs=5 \
  --learning_rate=1e-5 \
  --lr_scheduler_type=cosine \
  --warmup_ratio=0.05 \
  --weight_decay=1e-4 \
  --adam_beta1=0.9 \
  --adam_beta2=0.95 \
  --bf16=True \
  --fsdp="full_shard auto_wrap" \
  --fsdp_config="$fsdp_config" \
  --gradient_checkpointing="${GRAD_CHECKPOINTING:-False}" \
  --eval_strategy=no \
  --save_strategy=no \
  --logging_steps=1 \
  --output_dir="$out" \
  --push_to_hub=false \
  --save_only_model=True \
  --report_to="${REPORT_TO:-none}" \
  "${wandb[@]}"

echo "trained model in $out; back to GGUF: s1 convert $out -o $out.gguf"
