#include "hf/tensor_data.h"

#include <cstring>

#include "tensor/quant.h"
#include "util/error.h"

namespace s1::hf {

std::vector<uint8_t> reorder_rows(std::span<const uint8_t> bytes, uint64_t row_bytes, int heads, RowOrder order) {
  const uint64_t rows = row_bytes ? bytes.size() / row_bytes : 0;
  if (heads <= 0 || rows * row_bytes != bytes.size() || rows % (2 * uint64_t(heads)) != 0)
    fail("cannot split {} rows into {} heads of row pairs", rows, heads);
  const uint64_t half = rows / uint64_t(heads) / 2;
  std::vector<uint8_t> out(bytes.size());
  for (uint64_t head = 0; head < uint64_t(heads); ++head)
    for (uint64_t p = 0; p < 2; ++p)
      for (uint64_t i = 0; i < half; ++i) {
        const uint64_t hf_row = head * 2 * half + p * half + i, gguf_row = head * 2 * half + 2 * i + p;
        const uint64_t from = order == RowOrder::hf_to_gguf ? hf_row : gguf_row;
        const uint64_t to = order == RowOrder::hf_to_gguf ? gguf_row : hf_row;
        std::memcpy(out.data() + to * row_bytes, bytes.data() + from * row_bytes, row_bytes);
      }
  return out;
}

std::vector<uint8_t> convert_elements(std::span<const uint8_t> bytes, DType from, DType to, uint64_t n) {
  if (!quant_supported(from) || !(to == DType::F32 || to == DType::F16 || to == DType::BF16))
    fail("cannot convert {} elements to {}", dtype_name(from), dtype_name(to));
  if (bytes.size() != row_bytes(from, n)) fail("{} bytes are not {} {} elements", bytes.size(), n, dtype_name(from));
  constexpr uint64_t kChunk = 1 << 16;  // a multiple of every block size
  std::vector<uint8_t> out(row_bytes(to, n));
  std::vector<float> f32(kChunk);
  for (uint64_t i = 0; i < n; i += kChunk) {
    const uint64_t k = std::min(kChunk, n - i);
    dequantize_row(from, bytes.data() + row_bytes(from, i), f32.data(), int64_t(k));
    quantize_row(to, f32.data(), out.data() + row_bytes(to, i), int64_t(k));
  }
  return out;
}

}  // namespace s1::hf
