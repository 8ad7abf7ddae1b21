// `s1 quantize IN.gguf OUT.gguf TYPE [--threads N]`: writes the model with its
// weights in another format, choosing per-tensor types as llama-quantize does.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "cli/number_checks.h"
#include "gguf/gguf.h"
#include "model/quantize.h"

namespace s1::cli {
namespace {

struct QuantizeOptions {
  std::string input;
  std::string output;
  std::string recipe;
  int threads = 0;
};

std::string recipe_list() {
  std::string list;
  for (const auto& name : quantize_recipes()) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(quantize, "Convert a GGUF model's weights to another format (Q4_K_M, Q8_0, F16, ...)") {
  auto opts = std::make_shared<s1::cli::QuantizeOptions>();
  app.add_option("input", opts->input, "Model to read (GGUF)")->required();
  app.add_option("output", opts->output, "Model to write (GGUF)")->required();
  app.add_option("type", opts->recipe,
                 "Weight format, case-insensitive: " + s1::cli::recipe_list() +
                     " (MXFP4_MOE: expert tensors MXFP4, every other matrix Q8_0, as llama.cpp's)")
      ->required();
  app.add_option("-t,--threads", opts->threads, "Threads (default: all cores)")->check(s1::cli::non_negative_number());
  return [opts] {
    s1::quantize_file(opts->input, opts->output, opts->recipe, opts->threads);
    const auto written = s1::gguf::File::open(opts->output);
    fmt::print("{}: {} tensors, {:.1f} MiB\n", opts->output, written.tensors().size(),
               double(written.file_size()) / (1 << 20));
    return 0;
  };
}
