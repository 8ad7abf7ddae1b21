// matmul(): picks the kernel family for the weight type, prepares the
// activations once (quantized to int8 for the block formats, shared by all
// threads), then hands out the output rows in contiguous chunks, so each
// thread streams its own parts of the weights.
#include "tensor/matmul.h"

#include <algorithm>
#include <memory>

#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace s1 {

namespace matmul_kernels {

uint8_t* scratch(int slot, size_t bytes) {
  struct Buffer {
    std::unique_ptr<uint8_t[]> storage;
    size_t capacity = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[slot];
  if (b.capacity < bytes) {
    b.capacity = std::max(bytes, b.capacity * 2);
    b.storage.reset(new uint8_t[b.capacity + 64]);
  }
  auto address = reinterpret_cast<uintptr_t>(b.storage.get());
  return reinterpret_cast<uint8_t*>((address + 63) & ~uintptr_t(63));
}

}  // namespace matmul_kernels

namespace {

using matmul_kernels::Family;

const Family* family_of(DType type) {
  switch (type) {
    case DType::F32:
    case DType::F16:
    case DType::BF16: return &matmul_kernels::kFloatFamily;
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0: return &matmul_kernels::kBlock32Family;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return &matmul_kernels::kSuperBlockFamily;
    default: return nullptr;
  }
}

// Rows per thread are a multiple of this, so the register tiles stay whole.
constexpr int64_t kRowAlign = 4;
constexpr int64_t kChunksPerThread = 8;

}  // namespace

bool matmul_supports(DType type) { return family_of(type) != nullptr; }

void matmul(const WeightMatrix& w, const float* in, int64_t n_tokens, float* out, ThreadPool& pool) {
  const Family* family = family_of(w.type);
  if (!family)
    fail("matmul: weight type {} is not supported (supported: f32 f16 bf16 q8_0 q4_0 q5_0 q4_K q5_K q6_K)",
         dtype_name(w.type));
  const uint32_t block = traits(w.type).block_elems;
  if (w.cols <= 0 || w.cols % block != 0)
    fail("matmul: {} weight has {} columns, not a positive multiple of its block size {}", dtype_name(w.type),
         w.cols, block);
  if (w.row_stride < row_bytes(w.type, uint64_t(w.cols)))
    fail("matmul: {} weight row stride {} is shorter than a row of {} columns", dtype_name(w.type), w.row_stride,
         w.cols);
  if (n_tokens <= 0 || w.rows <= 0) return;

  matmul_kernels::Activations act;
  act.n_tokens = n_tokens;
  const size_t act_bytes = family->act_bytes(w.cols);
  if (act_bytes == 0) {
    act.data = reinterpret_cast<const uint8_t*>(in);
    act.stride = size_t(w.cols) * sizeof(float);
  } else {
    uint8_t* prepared = matmul_kernels::scratch(0, act_bytes * size_t(n_tokens));
    auto prepare_tokens = [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) family->prepare(w.type, in + t * w.cols, w.cols, prepared + t * act_bytes);
    };
    pool.for_chunks(n_tokens, std::max<int64_t>(4, n_tokens / (4 * pool.size())),
                    [&](int64_t begin, int64_t end, int) { prepare_tokens(begin, end); });
    act.data = prepared;
    act.stride = act_bytes;
  }

  // About kChunksPerThread chunks of whole row tiles per thread: enough for a
  // thread that started late to be balanced by the others, few enough that
  // claiming them costs nothing next to the rows' work.
  const int64_t row_units = (w.rows + kRowAlign - 1) / kRowAlign;
  const int64_t grain = std::max<int64_t>(1, row_units / (kChunksPerThread * pool.size()));
  pool.for_chunks(row_units, grain, [&](int64_t begin, int64_t end, int) {
    family->rows(w, act, out, begin * kRowAlign, std::min(w.rows, end * kRowAlign));
  });
}

}  // namespace s1
