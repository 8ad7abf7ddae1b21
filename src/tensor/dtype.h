#pragma once
// Element types of tensors, numbered as GGUF/ggml number them, with the block
// geometry needed to size a row. Kernels for the types the engine computes
// with live beside this file; the table knows every type a GGUF file may hold
// so files can be read, described and rejected by name.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace s1 {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct DTypeTraits {
  std::string_view name;   // as llama.cpp prints it: "f32", "q4_K", ...
  uint32_t block_elems;    // elements per block (1 for plain types)
  uint32_t block_bytes;    // bytes per block
};

// Traits of a known type id; nullopt for ids no GGUF writer produces.
std::optional<DTypeTraits> dtype_traits(uint32_t id);
const DTypeTraits& traits(DType type);  // for a valid DType
std::string_view dtype_name(DType type);
// Parses "q4_k", "Q8_0", "bf16", ... (case-insensitive).
std::optional<DType> parse_dtype(std::string_view name);

// Bytes of `n` elements of `type`; n must be a multiple of the block size.
inline size_t row_bytes(DType type, uint64_t n) {
  const auto& t = traits(type);
  return size_t(n / t.block_elems) * t.block_bytes;
}

}  // namespace s1
