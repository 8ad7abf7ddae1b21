#pragma once
// Converting a GGUF model to another weight format, choosing each tensor's type
// the way llama.cpp's llama-quantize does so our files match its files:
//
//   s1::quantize_file("model-f16.gguf", "model-q4_k_m.gguf", "Q4_K_M", 8);
//
// Recipes (case-insensitive): Q8_0, Q4_0, Q5_0, Q4_K_M, Q5_K_M, Q6_K, F16, BF16,
// MXFP4_MOE. 1-D tensors and norms keep their type; the output projection (or
// the tied token embedding) gets Q6_K in quantized recipes other than Q8_0 and
// MXFP4_MOE; Q4_K_M and Q5_K_M give attn_v and ffn_down Q6_K on the "more
// bits" layers; a model of exactly 8 experts gets attn_v and attn_k Q8_0 and,
// in Q4_K_M, attn_output Q5_K (llama.cpp's Mixtral rules); rows whose length
// does not fit a K block fall back to Q5_0
// (Q4_K, Q5_K) or Q8_0 (Q6_K). MXFP4_MOE (llama.cpp's, for gpt-oss) makes the
// expert stacks (3-D tensors with more than one expert: ffn_*_exps) MXFP4 and
// every other weight matrix Q8_0, the output and the token embedding included.
// Tensors are converted one at a time, straight into the output file.
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tensor/dtype.h"

namespace s1 {

// Throws s1::Error naming the input, the output or the recipe on failure; an
// unknown recipe's message lists the supported ones. n_threads <= 0: all cores.
void quantize_file(const std::string& in, const std::string& out, const std::string& recipe, int n_threads);

// The recipe names, as written in the usage ("Q8_0", "Q4_K_M", ...).
std::vector<std::string> quantize_recipes();

// The type quantize_file gives each tensor of `file` under `recipe`, in the
// order it writes them (llama.cpp's: non-layer tensors by name, then layers in
// order, each by name).
std::vector<std::pair<std::string, DType>> quantize_plan(const gguf::File& file, const std::string& recipe);

}  // namespace s1
