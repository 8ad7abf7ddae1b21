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

// Earlier turns put before an example (not learned): for what share of the
// examples, and how many, drawn uniformly.
struct HistoryMix {
  double share;
  int min_turns, max_turns;
};

struct MiniRecipe {
  // -- data: which tasks. add/sub/mul share one right-to-left column method;
  // word problems chain two or three of them in a story. Difficulty 1-3, level
  // 3 drawn twice as often (half the pool): 2-4 digit numbers, 2x1 to 4x1
  // products, three-step stories with 3-digit numbers. Level 3 is where the
  // answer cannot be guessed without the working, so thinking pays.
  std::string kinds = "add,sub,mul,word";
  std::string difficulty = "1,2,3,3";
  double slip_rate = 0.2;          // planted slips repaired with "Wait": the model learns to re-check
  int64_t pool_tasks = 100000;     // more than the steps x batch consume (3600 x 16 = 58K): no repeats
  uint64_t pool_seed = 11;
  int merges = 256;                // stops at 99 merges (360 tokens): digits stay single tokens, words merge
  // -- model: qwen3 (the engine's own architecture), 0.9M parameters, 3.5 MB f32.
  int layers = 4, embd = 128, heads = 4, kv_heads = 2, ff = 384, head_dim = 32, ctx = 1024;
  uint64_t model_seed = 1;
  // -- pretraining: 3600 steps, ~16M tokens (~4.5K per step), ~49 minutes on the
  // 2-core container (~5.5K tokens/s). On problems of all four kinds at levels
  // 1-3: natural thinking 83% at step 1560, 85% at 2323, 99.8% at 3600 (600
  // problems); 0-1% with thinking cut at 0 all along (the cut examples).
  int64_t pretrain_steps = 3600;
  int batch = 16;
  double lr = 3e-3, min_lr = 3e-4, warmup = 0.05;  // high for a tiny model, cosine to a tenth
  int max_len = 768;               // a level-3 story with a repair and two earlier turns stays under it
  int save_every = 500;
  // -- long context: 300 steps on 10K examples of the same mix, each after 3-7
  // earlier turns (not learned), up to 1024 tokens. Without it a second forced
  // "Wait" pushed the thinking past the ~600 positions training reached and the
  // copies failed (levels 1-3: 97.8% with two Waits vs 99.8% without; level 4:
  // 21.3% vs 27.5%); with it: 99.2% vs 99.8%, 22.8% vs 23.5% (models/README.md).
  int64_t long_tasks = 10000;
  uint64_t long_seed = 13;
  int64_t long_steps = 300;
  double long_lr = 1e-3, long_min_lr = 1e-4;
  int long_max_len = 1024;
  HistoryMix long_history = {1.0, 3, 7};
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
  // and of all examples: one or two earlier turns (a question and its answer,
  // not learned) before the question, so a conversation does not change answers.
  double recheck_share = 0.25, repair_share = 0.125, cut_share = 0.15;
  HistoryMix history = {0.25, 1, 2};
  uint64_t augment_stream = 0x6175;  // the choices per example: derive_seed(seed, this)
  // 2 epochs: after 8 (the old recipe's count) the model re-checked by itself in
  // 42% of natural runs and scored 96.5% naturally, 89.8% with two forced Waits
  // (600 problems, levels 1-3); after 2 it does not (99.8% / 97.8%), the
  // pretrained model's behaviour, with its answer after a cut kept at 12 tokens.
  int sft_epochs = 2;
  double sft_lr = 3e-4, sft_min_lr = 3e-5;  // continues from where pretraining's decay ended
  // -- threads: 2. With examples of ~280 tokens two threads train faster than
  // one (5.1K vs 3.8K tokens/s on the 2-core container; for the old ~170-token
  // examples it was the other way round). The result's bits depend on the count.
  int threads = 2;

  // The pipeline CI runs: the same steps on a tiny pool and model, a few steps each.
  static MiniRecipe quick();
};

// Runs the recipe into `out_dir`; returns the path of the final model.
std::string run_mini_recipe(const MiniRecipe& recipe, const std::string& out_dir);

}  // namespace s1::cli
