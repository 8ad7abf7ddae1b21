#pragma once
// `s1 train --recipe mini`: the whole pipeline that makes the bundled model
// models/mini.gguf from nothing, in-process, with the same library calls the
// `s1 data generate|vocab|curate`, `s1 mkmodel` and `s1 train` commands make:
//
//   1. a pretraining pool of generated traces       (s1 data generate)
//   2. a byte-level BPE vocabulary learned from it   (s1 data vocab)
//   3. a random-weight qwen3 model on that vocabulary (s1 mkmodel)
//   4. pretraining on the pool                       (s1 train)
//   5. a separately seeded pool, curated to 1K       (s1 data generate, curate)
//   6. SFT on the 1K                                 (s1 train)
//
// Every file lands in the output folder (DIR/final.gguf is the model); the
// training steps resume from their checkpoints when the same command is rerun.
#include <cstdint>
#include <string>

namespace s1::cli {

struct MiniRecipe {
  // -- data: which tasks. add/sub/mul share one right-to-left column method,
  // so a sub-million-parameter model masters all three in the time; the
  // other kinds (word, equation, count, order) need several times more
  // tokens (docs/data.md, "Training a tiny model"). Difficulty 1-2: 2-3 digit
  // numbers, 2x1 and 3x1 products, traces of ~100-150 tokens.
  std::string kinds = "add,sub,mul";
  std::string difficulty = "1-2";
  double slip_rate = 0.2;          // planted slips repaired with "Wait": the model learns to re-check
  int64_t pool_tasks = 100000;     // more than the steps x batch consume (5500 x 16 = 88K): no repeats
  uint64_t pool_seed = 11;
  int merges = 256;                // 517 tokens: digits stay single tokens, words merge
  // -- model: qwen3 (the engine's own architecture), 0.9M parameters, 3.5 MB f32.
  int layers = 4, embd = 128, heads = 4, kv_heads = 2, ff = 384, head_dim = 32, ctx = 1024;
  uint64_t model_seed = 1;
  // -- pretraining: ~12M tokens, ~42 minutes on one thread of this container.
  int64_t pretrain_steps = 5500;
  int batch = 16;
  double lr = 3e-3, min_lr = 3e-4, warmup = 0.05;  // high for a tiny model, cosine to a tenth
  int max_len = 512;               // the longest d2 traces are ~250 tokens
  int save_every = 500;
  // -- SFT: s1's step, 1K curated examples (correct, long, domain-balanced)
  // from a pool the pretraining never saw.
  int64_t sft_pool_tasks = 20000;
  uint64_t sft_pool_seed = 12;
  int64_t sft_examples = 1000;
  uint64_t curate_seed = 1;
  // Every recheck_every-th curated example (if slip-free) gets one to three
  // re-checks after a "Wait": what budget forcing's --wait needs the model to
  // do (see add_rechecks in train_recipe.cpp). A third: enough to learn it, few
  // enough that greedy decoding still stops by itself.
  int recheck_every = 3;
  // 8 epochs: on pretraining checkpoints, accuracy with one forced Wait vs none
  // on 200 d2 tasks was 87.5% vs 95.5% after 3 epochs (step 3000), 91.5% vs 97%
  // after 5 (step 3500), 95% vs 98.5% after 8 (step 4000).
  int sft_epochs = 8;
  double sft_lr = 3e-4, sft_min_lr = 3e-5;  // continues from where pretraining's decay ended
  // -- threads: 1 by default; for this tiny model one thread trains faster than
  // two (5.4K vs 3.1K tokens/s measured on the 2-core container), and the
  // result's bits depend on the thread count.
  int threads = 1;

  // The pipeline CI runs: the same steps on a tiny pool and model, a few steps each.
  static MiniRecipe quick();
};

// Runs the recipe into `out_dir`; returns the path of the final model.
std::string run_mini_recipe(const MiniRecipe& recipe, const std::string& out_dir);

}  // namespace s1::cli
