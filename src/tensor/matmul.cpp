// matmul(): picks the kernel family for the weight type (from the instruction
// set in use, tensor/kernel_set.h), prepares the
// activations once (quantized to int8 for the block formats, shared by all
// threads), then hands out the output rows in contiguous chunks, so each
// thread streams its own parts of the weights.
#include "tensor/matmul.h"

#include <algorithm>
#include <memory>

#include "tensor/blocks.h"
#include "tensor/kernel_set.h"
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
  thread_local Buffer buffers[3];
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
    case DType::BF16: return kernels().float_family;
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0:
    case DType::MXFP4: return kernels().block32_family;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return kernels().superblock_family;
    default: return nullptr;
  }
}

// Rows per thread are a multiple of this, so the register tiles stay whole.
constexpr int64_t kRowAlign = 4;
constexpr int64_t kChunksPerThread = 8;

// A few tokens against long rows (ffn_down): their prepared activations do not
// fit in L1 beside the weight stream, and every row would reload them from L2.
// The columns are then taken in slices whose activations fit, each slice's
// products adding into the output.
constexpr size_t kActivationL1Bytes = size_t(32) << 10;  // measured best of 12-40 KB, 8 tokens x 4864 columns
constexpr int64_t kSliceUnit = matmul_kernels::kGroupCols;  // columns; whole blocks and activation groups
constexpr int64_t kMaxSlicedTokens = 8;
constexpr int64_t kMaxDecodeSlicedTokens = 32;  // measured: 9-32 tokens faster in decode slices, 48 even

// Columns per slice for this call, or 0 to take whole rows.
int64_t slice_columns(const Family& family, const WeightMatrix& w, int64_t n_tokens) {
  if (n_tokens < 2 || n_tokens > kMaxSlicedTokens || w.cols < 2 * kSliceUnit) return 0;
  const double bytes_per_column =
      family.group_bytes ? double(family.group_bytes) / double(matmul_kernels::kGroupCols) : double(sizeof(float));
  if (bytes_per_column * double(w.cols) * double(n_tokens) <= double(kActivationL1Bytes)) return 0;
  const int64_t units = int64_t(double(kActivationL1Bytes) / (bytes_per_column * double(n_tokens))) / kSliceUnit;
  return std::max<int64_t>(1, units) * kSliceUnit;
}

void rows_in_slices(const Family& family, const WeightMatrix& w, const matmul_kernels::Activations& act, float* out,
                    int64_t row_begin, int64_t row_end, int64_t slice_cols) {
  const int64_t n_rows = row_end - row_begin, n_tokens = act.n_tokens;
  auto* partial = reinterpret_cast<float*>(matmul_kernels::scratch(2, size_t(n_rows * n_tokens) * sizeof(float)));
  for (int64_t k0 = 0; k0 < w.cols; k0 += slice_cols) {
    const int64_t k1 = std::min(w.cols, k0 + slice_cols);
    const WeightMatrix slice{w.type, w.data + row_begin * w.row_stride + row_bytes(w.type, uint64_t(k0)), n_rows,
                             k1 - k0, w.row_stride};
    matmul_kernels::Activations a = act;
    a.data += family.group_bytes ? size_t(k0 / matmul_kernels::kGroupCols) * act.group_stride
                                 : size_t(k0) * sizeof(float);
    family.rows(slice, a, partial, 0, n_rows);
    for (int64_t t = 0; t < n_tokens; ++t) {
      float* o = out + t * w.rows + row_begin;
      const float* p = partial + t * n_rows;
      for (int64_t r = 0; r < n_rows; ++r) o[r] = (k0 == 0 ? 0.0f : o[r]) + p[r];
    }
  }
}

}  // namespace

bool matmul_supports(DType type) { return family_of(type) != nullptr; }

void matmul(const WeightMatrix& w, const float* in, int64_t n_tokens, float* out, ThreadPool& pool) {
  const Family* family = family_of(w.type);
  if (!family)
    fail("matmul: weight type {} is not supported (supported: f32 f16 bf16 q8_0 q4_0 q5_0 mxfp4 q4_K q5_K q6_K)",
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
  if (family->group_bytes == 0) {
    act.data = reinterpret_cast<const uint8_t*>(in);
    act.stride = size_t(w.cols) * sizeof(float);
  } else {
    const int64_t n_groups = (w.cols + matmul_kernels::kGroupCols - 1) / matmul_kernels::kGroupCols;
    act.group_stride = family->group_bytes * size_t(n_tokens);
    uint8_t* prepared = matmul_kernels::scratch(0, act.group_stride * size_t(n_groups));
    auto prepare_tokens = [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t)
        family->prepare(w.type, in + t * w.cols, w.cols, prepared + size_t(t) * family->group_bytes, act.group_stride);
    };
    pool.for_chunks(n_tokens, std::max<int64_t>(4, n_tokens / (4 * pool.size())),
                    [&](int64_t begin, int64_t end, int) { prepare_tokens(begin, end); });
    act.data = prepared;
  }

  // About kChunksPerThread chunks of whole row tiles per thread: enough for a
  // thread that started late to be balanced by the others, few enough that
  // claiming them costs nothing next to the rows' work.
  const int64_t row_units = (w.rows + kRowAlign - 1) / kRowAlign;
  const int64_t grain = std::max<int64_t>(1, row_units / (kChunksPerThread * pool.size()));
  // A few more tokens than the decode kernels take (continuous batching of
  // 9-32 sequences) go through them in slices of kDecodeTokens, each thread's
  // rows staying in its cache between slices: faster than the prefill tiles,
  // which pay for writing every unpacked row out and reading it back.
  const int64_t token_slice =
      family->group_bytes && n_tokens <= kMaxDecodeSlicedTokens ? matmul_kernels::kDecodeTokens : n_tokens;
  const int64_t slice_cols = slice_columns(*family, w, std::min(n_tokens, token_slice));
  pool.for_chunks(row_units, grain, [&](int64_t begin, int64_t end, int) {
    const int64_t row_begin = begin * kRowAlign, row_end = std::min(w.rows, end * kRowAlign);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += token_slice) {
      matmul_kernels::Activations a = act;
      a.data += size_t(t0) * family->group_bytes;
      a.n_tokens = std::min(token_slice, n_tokens - t0);
      float* o = out + t0 * w.rows;
      if (slice_cols > 0) {
        rows_in_slices(*family, w, a, o, row_begin, row_end, slice_cols);
      } else {
        family->rows(w, a, o, row_begin, row_end);
      }
    }
  });
}

}  // namespace s1
