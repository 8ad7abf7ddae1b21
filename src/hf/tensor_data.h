#pragma once
// Byte-level tensor work shared by `s1 convert` and `s1 export-hf`: the row
// order of q and k (hf/hf_names.h's rows_reordered) and element types.
#include <cstdint>
#include <span>
#include <vector>

#include "tensor/dtype.h"

namespace s1::hf {

enum class RowOrder {
  hf_to_gguf,  // each head's rows [first halves..., second halves...] -> pairs side by side
  gguf_to_hf,  // the inverse
};

// Reorders the rows (`row_bytes` each) of `heads` equal heads: within a head
// of 2h rows, HF's row p·h + i is GGUF's row 2i + p (p = 0, 1; i < h). A
// bias reorders with row_bytes = one element.
std::vector<uint8_t> reorder_rows(std::span<const uint8_t> bytes, uint64_t row_bytes, int heads, RowOrder order);

// `n` elements of `from` as `to`, through f32: F32, F16 and BF16 both ways,
// and any type quant.h can dequantize to F32.
std::vector<uint8_t> convert_elements(std::span<const uint8_t> bytes, DType from, DType to, uint64_t n);

}  // namespace s1::hf
