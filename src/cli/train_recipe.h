#pragma once
// `s1 train --recipe mini`: the whole pipeline that makes the bundled model
// models/mini.gguf from nothing, in-process, with the same library calls the
// `s1 data generate|vocab|curate`, `s1 mkmodel` and `s1 train` commands make:
//
//   1. a pretraining pool of generated traces       (s1 data generate, + re-checks)
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
  // -- data: which tasks. add/sub/mul share one right-to-left column method;
  // word problems chain two or three of them in a story. Difficulty 1-3, level
  // 3 drawn twice as often (half the pool): 2-4 digit numbers, 2x1 to 4x1
  // products, three-step stories with 3-digit numbers. Level 3 is where the
  // answer cannot be guessed without the working, so thinking pays.
  std::string kinds = "add,sub,mul,word";
  std::string difficulty = "1,2,3,3";
  double slip_rate = 0.2;          // planted slips repaired with "Wait": the model learns to re-check
  int64_t pool_tasks = 100000;     // more than the steps x batch consume (5500 x 16 = 88K): no repeats
  uint64_t pool_seed = 11;
  int merges = 256;                // stops at 99 merges (360 tokens): digits stay single tokens, words merge
  // -- model: qwen3 (the engine's own architecture), 0.9M parameters, 3.5 MB f32.
  int layers = 4, embd = 128, heads = 4, kv_heads = 2, ff = 384, head_dim = 32, ctx = 1024;
  uint64_t model_seed = 1;
  // -- pretraining: ~15M tokens, ~31 minutes on one thread of the 2-core container
  // (8K tokens/s). On 200 level-3 problems: natural thinking 86.5% at step 2500,
  // 99% at 4000. The no-thinking score (which the evaluation wants low) rises with
  // the steps, unevenly: 20.5% at 2500, 26% at 3000, 15% at 4000, 31.7% at 5500.
  int64_t pretrain_steps = 3600;
  int batch = 16;
  double lr = 3e-3, min_lr = 3e-4, warmup = 0.05;  // high for a tiny model, cosine to a tenth
  int max_len = 768;               // a level-3 story with a repair and two earlier turns stays under it
  int save_every = 500;
  // -- SFT: s1's step, 1K curated examples (correct, long, domain-balanced)
  // from a pool the pretraining never saw.
  int64_t sft_pool_tasks = 20000;
  uint64_t sft_pool_seed = 12;
  int64_t sft_examples = 1000;
  uint64_t curate_seed = 1;
  // What budget forcing needs the model to have seen (data/augment.h), as
  // shares of the slip-free examples of the pool and of the curated set:
  //   re-checks: after the result, "Wait" and a check of the last step by its
  //     inverse that finds it right, 1-3 times. A quarter: enough to learn,
  //     few enough that greedy decoding still stops by itself.
  //   repairs: a wrong result, a "Wait", a check that finds it, the step again.
  //   cuts: thinking ended at a random token, then at once the answer, so a
  //     cut model answers in a few tokens instead of deriving in the answer.
  // and of all examples: earlier turns (a question and its answer, not
  // learned) before the question, so a conversation does not change answers.
  double recheck_share = 0.25, repair_share = 0.125, cut_share = 0.15, history_share = 0.25;
  uint64_t augment_stream = 0x6175;  // the choices per example: derive_seed(seed, this)
  // 8 epochs: with the old 1-2 recipe (re-checks in SFT only), accuracy with one
  // forced Wait vs none on 200 d2 tasks was 87.5% vs 95.5% after 3 epochs, 91.5%
  // vs 97% after 5, 95% vs 98.5% after 8. Now (600 level-3 problems) SFT takes
  // natural thinking from 100% to 99.3% and no thinking from 31.7% to 24.5%.
  int sft_epochs = 8;
  double sft_lr = 3e-4, sft_min_lr = 3e-5;  // continues from where pretraining's decay ended
  // -- threads: 1 by default; for this tiny model one thread trains faster than
  // two (5.4K vs 3.1K tokens/s measured on the 2-core container), and the
  // result's bits depend on the thread count.
  int threads = 2;

  // The pipeline CI runs: the same steps on a tiny pool and model, a few steps each.
  static MiniRecipe quick();
};

// Runs the recipe into `out_dir`; returns the path of the final model.
std::string run_mini_recipe(const MiniRecipe& recipe, const std::string& out_dir);

}  // namespace s1::cli
