#pragma once
// The per-sequence state of a model's recurrent layers (Qwen3.5's Gated
// DeltaNet): unlike attention's KV cache it does not grow with the sequence;
// each sequence holds, per recurrent layer, a fixed block of floats (the
// causal convolution's last inputs and each value head's state matrix,
// ModelConfig::recurrent_state_floats). A sequence's block is allocated when
// it starts and freed when it is removed, so idle sequence slots cost nothing.
//
// Forking copies the block (a fork then evolves on its own, token for token
// as the parent would). The state is that of the sequence's last position:
// it cannot be rolled back to an earlier one (Context::can_truncate).
#include <cstddef>
#include <memory>
#include <vector>

namespace s1 {

class RecurrentState {
 public:
  // n_layers recurrent layers of `floats_per_layer` each; sequence ids below max_sequences.
  RecurrentState(int n_layers, size_t floats_per_layer, int max_sequences);

  bool empty() const { return n_layers_ == 0; }
  size_t bytes_per_sequence() const { return size_t(n_layers_) * floats_per_layer_ * sizeof(float); }

  void start(int seq);                // zeroed state
  void copy(int from, int to);        // `to` becomes a copy of `from`
  void release(int seq);              // frees seq's block
  float* layer(int seq, int slot);    // recurrent layer `slot`'s floats of seq

 private:
  int n_layers_;
  size_t floats_per_layer_;
  std::vector<std::unique_ptr<float[]>> blocks_;  // per sequence id
};

}  // namespace s1
