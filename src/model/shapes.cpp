#include "model/shapes.h"

#include <array>

namespace s1 {
namespace {

constexpr std::array<ArchTraits, 3> kArchs = {{
    {"qwen2", true, false, "neox", 1e6, 1e-6},
    {"qwen3", false, true, "neox", 1e6, 1e-6},
    {"llama", false, false, "normal", 5e5, 1e-5},
}};

// From the models' config.json files on Hugging Face.
constexpr std::array<ModelShape, 4> kShapes = {{
    {"qwen2.5-0.5b", "qwen2", 24, 896, 14, 2, 64, 4864, true, 32768, 1e6},
    {"qwen2.5-1.5b", "qwen2", 28, 1536, 12, 2, 128, 8960, true, 32768, 1e6},
    {"qwen3-0.6b", "qwen3", 28, 1024, 16, 8, 128, 3072, true, 40960, 1e6},
    {"llama-3.2-1b", "llama", 16, 2048, 32, 8, 64, 8192, true, 131072, 5e5},
}};

}  // namespace

std::optional<ArchTraits> arch_traits(std::string_view arch) {
  for (const auto& a : kArchs)
    if (a.arch == arch) return a;
  return std::nullopt;
}

std::span<const ArchTraits> known_archs() { return kArchs; }

const ModelShape* find_model_shape(std::string_view name) {
  for (const auto& s : kShapes)
    if (s.name == name) return &s;
  return nullptr;
}

std::span<const ModelShape> model_shapes() { return kShapes; }

}  // namespace s1
