#include "model/recurrent_state.h"

#include <algorithm>

#include "util/error.h"

namespace s1 {

RecurrentState::RecurrentState(int n_layers, size_t floats_per_layer, int max_sequences)
    : n_layers_(n_layers), floats_per_layer_(floats_per_layer), blocks_(size_t(std::max(max_sequences, 0))) {}

void RecurrentState::start(int seq) {
  if (empty()) return;
  auto& block = blocks_.at(size_t(seq));
  const size_t n = size_t(n_layers_) * floats_per_layer_;
  if (!block) block = std::make_unique<float[]>(n);  // value-initialized: zeros
  else std::fill_n(block.get(), n, 0.0f);
}

void RecurrentState::copy(int from, int to) {
  if (empty()) return;
  const auto& source = blocks_.at(size_t(from));
  if (!source) fail("recurrent state: sequence {} has no state to copy", from);
  auto& block = blocks_.at(size_t(to));
  const size_t n = size_t(n_layers_) * floats_per_layer_;
  if (!block) block = std::make_unique_for_overwrite<float[]>(n);
  std::copy_n(source.get(), n, block.get());
}

void RecurrentState::release(int seq) {
  if (!empty()) blocks_.at(size_t(seq)).reset();
}

float* RecurrentState::layer(int seq, int slot) {
  return blocks_[size_t(seq)].get() + size_t(slot) * floats_per_layer_;
}

}  // namespace s1
