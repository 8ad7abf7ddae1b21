#pragma once
// Curation's difficulty filter needs a reference model's answers: this runs a
// GGUF model through s1::Engine on each question, greedy, with its thinking
// capped (0: it must answer at once, as s1 judged difficulty with
// non-reasoning models), batched through the Generator.
#include <functional>
#include <string>
#include <vector>

namespace s1::data {

struct ReferenceModelOptions {
  std::string model_path;
  int think_max = 0;      // thinking tokens allowed (when the model has a thinking format)
  int max_tokens = 256;   // per question, thinking and answer together
  int batch = 16;         // questions decoded together
  int n_threads = 0;      // 0: every core
};

// Answer texts, one per question, in order. `progress(done, total)` is called after each batch.
std::vector<std::string> solve_with_reference_model(
    const ReferenceModelOptions& options, const std::vector<std::string>& questions,
    const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace s1::data
