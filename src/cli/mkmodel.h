#pragma once
// `s1 mkmodel`'s model writer, shared with `s1 train --recipe` (cli/train_recipe.h),
// which builds its starting model the same way.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace s1::cli {

struct MkmodelOptions {
  std::string arch;
  std::string shape;
  int layers = 0, embd = 0, heads = 0, kv_heads = 0, ff = 0, head_dim = 0;
  std::vector<std::string> sets;  // --set KEY=VALUE
  std::string vocab_from;
  std::string chat_template;  // a Jinja file for tokenizer.chat_template
  bool tied = false;
  uint64_t seed = 1;
  float stddev = 0.02f;  // of the random weights (norms are 1)
  std::string type = "f32";
  int ctx = 0;
  std::string name;
  std::string output;
};

// Writes the random-weight model `o` describes to o.output; s1::Error on bad options.
int run_mkmodel(const MkmodelOptions& o);

// The options that say what model to make (architecture or named shape, sizes,
// vocabulary, context), under `arch_flag` and `shape_flag` for the first two:
// `s1 mkmodel` (--arch/--shape) and `s1 train` (--fresh-arch/--fresh-shape).
void add_model_shape_options(CLI::App& app, MkmodelOptions& o, const std::string& arch_flag,
                             const std::string& shape_flag);

}  // namespace s1::cli
