#pragma once
// The supervised fine-tuning loop of `s1 train`: data order, packing into
// micro-batches, gradient accumulation, AdamW with warmup + cosine decay,
// clipping, evaluation, logging, checkpoints and resume.
//
// Reproducibility: every quantity a step uses is a function of the seed and
// the step number (data order per epoch, packing) or is saved in the
// checkpoint (weights, AdamW moments and step count), and every kernel sums in
// a fixed order for a given thread count. So a run resumed from a checkpoint
// after kill -9 ends with the same bits as one that was never interrupted.
#include <cstdint>
#include <string>
#include <vector>

namespace s1::train {

struct TrainConfig {
  std::string base;               // model GGUF to start from (`s1 mkmodel` makes a fresh one)
  std::vector<std::string> data;  // JSONL files
  std::string out;                // output directory
  int epochs = 5;
  int64_t steps = 0;              // > 0: exactly this many optimizer steps (overrides epochs)
  double lr = 1e-5;
  double min_lr = 0.0;
  double warmup = 0.05;           // fraction of the steps
  double weight_decay = 1e-4;
  double beta1 = 0.9, beta2 = 0.95;
  double grad_clip = 1.0;         // 0: no clipping
  int batch = 16;                 // examples per optimizer step
  int64_t batch_tokens = 0;       // > 0: instead, whole examples up to this many tokens per step
  int micro_tokens = 0;           // tokens per forward pass (packing capacity); 0: max_len
  int max_len = 4096;             // longer examples are dropped (counted), never truncated
  double eval_split = 0.0;        // fraction of examples held out for eval loss
  int eval_every = 0;             // steps between evaluations (0: only at the end)
  int save_every = 50;            // steps between checkpoints
  uint64_t seed = 1;
  int threads = 0;                // 0: every available core
  bool skip_bad = false;          // skip malformed JSONL lines instead of failing
  std::vector<std::string> freeze;  // groups kept fixed: embeddings, output, norms, attention, ffn
  int lora_rank = 0;              // > 0: train LoRA adapters of this rank instead of the weights
  double lora_alpha = 16.0;       // adapter scale is alpha / rank
  bool bf16 = false;              // matrix products in bfloat16 (AVX512-BF16); weights stay f32
  bool progress = true;           // progress bar on a terminal
};

struct TrainSummary {
  int64_t steps = 0;
  double final_loss = 0;
  double eval_loss = -1;  // < 0: no eval split
  double tokens_per_second = 0;
};

// Runs (or resumes, when out/checkpoint.gguf exists) the training; writes
// out/final.gguf, out/checkpoint.gguf and out/log.jsonl (and, with LoRA,
// out/adapter.gguf; final.gguf is then the base with the adapter merged).
TrainSummary run_training(const TrainConfig& config);

}  // namespace s1::train
