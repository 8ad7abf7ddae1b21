#pragma once
// Model shapes `s1 mkmodel` can imitate with random weights: the real models'
// sizes (from their config.json files) and, per architecture, a small default
// for tests. A shape is a list of metadata keys (model/config.h), the same
// KEY=VALUE pairs `s1 mkmodel --set` takes.
#include <span>
#include <string_view>

#include "model/config.h"

namespace s1 {

struct ModelShape {
  std::string_view name;  // "qwen2.5-0.5b"
  std::string_view arch;
  std::string_view keys;  // "block_count=24 embedding_length=896 ..."
  bool tied_output;
};
const ModelShape* find_model_shape(std::string_view name);
std::span<const ModelShape> model_shapes();

// The small shape of an architecture (every architecture has one).
const ModelShape& default_shape(std::string_view arch);

// The shape's configuration: the architecture's switches and the shape's
// keys (complete_config not yet applied, so more keys can still be set).
ModelConfig shape_config(const ModelShape& shape);

}  // namespace s1
