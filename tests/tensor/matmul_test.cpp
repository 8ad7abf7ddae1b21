// matmul() against the scalar reference: dequantize_row, then a double-precision
// dot product. Weights are random bytes with sane scale fields, so every bit
// pattern of the quantized values is exercised, not only what a quantizer emits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tensor/blocks.h"
#include "tensor/matmul.h"
#include "tensor/quant.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace {

using s1::DType;

// Random row bytes of `type` whose float fields (scales, or the values of the
// plain types) are finite numbers of a moderate size.
std::vector<uint8_t> random_rows(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const size_t stride = s1::row_bytes(type, uint64_t(cols));
  std::vector<uint8_t> data(stride * size_t(rows));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : data) b = uint8_t(byte(rng));
  std::uniform_real_distribution<float> scale(0.001f, 0.05f), value(-1.0f, 1.0f);
  auto f16 = [&](float lo_hi_scale) { return s1::f32_to_f16(lo_hi_scale); };
  const int64_t n = int64_t(data.size());
  auto each_block = [&](size_t block_bytes, auto&& fix) {
    for (int64_t off = 0; off + int64_t(block_bytes) <= n; off += int64_t(block_bytes)) fix(data.data() + off);
  };
  switch (type) {
    case DType::F32:
      for (int64_t i = 0; i < n / 4; ++i) {
        const float v = value(rng);
        std::memcpy(data.data() + 4 * i, &v, 4);
      }
      break;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n / 2; ++i) {
        const uint16_t h = type == DType::F16 ? s1::f32_to_f16(value(rng)) : s1::f32_to_bf16(value(rng));
        std::memcpy(data.data() + 2 * i, &h, 2);
      }
      break;
    case DType::Q4_0: each_block(sizeof(s1::block_q4_0), [&](uint8_t* b) { ((s1::block_q4_0*)b)->d = f16(scale(rng)); }); break;
    case DType::Q5_0: each_block(sizeof(s1::block_q5_0), [&](uint8_t* b) { ((s1::block_q5_0*)b)->d = f16(scale(rng)); }); break;
    case DType::Q8_0: each_block(sizeof(s1::block_q8_0), [&](uint8_t* b) { ((s1::block_q8_0*)b)->d = f16(scale(rng)); }); break;
    case DType::MXFP4: {  // scales 2^-10 .. 2^-5, the range of `scale` above
      std::uniform_int_distribution<int> exponent(118, 123);
      each_block(sizeof(s1::block_mxfp4), [&](uint8_t* b) { ((s1::block_mxfp4*)b)->e = uint8_t(exponent(rng)); });
      break;
    }
    case DType::Q4_K:
      each_block(sizeof(s1::block_q4_K), [&](uint8_t* b) {
        ((s1::block_q4_K*)b)->d = f16(scale(rng));
        ((s1::block_q4_K*)b)->dmin = f16(scale(rng));
      });
      break;
    case DType::Q5_K:
      each_block(sizeof(s1::block_q5_K), [&](uint8_t* b) {
        ((s1::block_q5_K*)b)->d = f16(scale(rng));
        ((s1::block_q5_K*)b)->dmin = f16(scale(rng));
      });
      break;
    case DType::Q6_K: each_block(sizeof(s1::block_q6_K), [&](uint8_t* b) { ((s1::block_q6_K*)b)->d = f16(scale(rng)); }); break;
    default: break;
  }
  return data;
}

struct Reference {
  std::vector<double> out;  // [t * rows + r]
  std::vector<double> magnitude;  // sum |w| |x|, the scale of the rounding error
};

Reference reference(DType type, const std::vector<uint8_t>& w, int64_t rows, int64_t cols, const std::vector<float>& x,
                    int64_t n_tokens) {
  const size_t stride = s1::row_bytes(type, uint64_t(cols));
  Reference ref{std::vector<double>(size_t(rows * n_tokens)), std::vector<double>(size_t(rows * n_tokens))};
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    s1::dequantize_row(type, w.data() + r * stride, row.data(), cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double sum = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        sum += double(row[c]) * x[t * cols + c];
        mag += std::fabs(double(row[c]) * x[t * cols + c]);
      }
      ref.out[t * rows + r] = sum;
      ref.magnitude[t * rows + r] = mag;
    }
  }
  return ref;
}

bool is_quantized(DType type) { return type != DType::F32 && type != DType::F16 && type != DType::BF16; }

int64_t block_of(DType type) { return s1::traits(type).block_elems; }

// Activations: gaussian, or (exact = true) integers in [-127, 127] with a 127 in
// every 32 elements, which int8 quantization represents without error.
std::vector<float> activations(int64_t n_tokens, int64_t cols, bool exact, std::mt19937& rng) {
  std::vector<float> x(size_t(n_tokens * cols));
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::uniform_int_distribution<int> level(-127, 127);
  for (size_t i = 0; i < x.size(); ++i) x[i] = exact ? (i % 32 == 5 ? -127.0f : float(level(rng))) : gauss(rng);
  return x;
}

struct Case {
  DType type;
  int64_t n_tokens;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return std::string(s1::dtype_name(info.param.type)) + "_tokens" + std::to_string(info.param.n_tokens);
}

class MatmulTest : public testing::TestWithParam<Case> {};

// cols per type: several blocks, an odd number of 32-blocks for the *_0 types
// and MXFP4 (and gpt-oss's 2880: 11.25 activation groups of 256, the last one
// two blocks), a partial 16-lane vector for the plain types; for a few tokens
// also rows long enough that matmul takes them in column slices (ffn_down's
// 4864 and an odd number of 32-blocks).
std::vector<int64_t> cols_for(DType type, int64_t n_tokens) {
  std::vector<int64_t> cols;
  if (block_of(type) == 256) cols = {256, 768};
  else if (is_quantized(type)) cols = {32, 96, 416, 2880};
  else cols = {100, 256};
  if (n_tokens >= 3 && n_tokens <= 13) {  // column slices, also within slices of tokens
    cols.push_back(4864);
    if (block_of(type) != 256) cols.push_back(4896);
  }
  return cols;
}

void check(DType type, int64_t rows, int64_t cols, int64_t n_tokens, bool exact, int threads, uint32_t seed) {
  std::mt19937 rng(seed);
  const auto w = random_rows(type, rows, cols, rng);
  const auto x = activations(n_tokens, cols, exact, rng);
  const auto ref = reference(type, w, rows, cols, x, n_tokens);
  s1::WeightMatrix m{type, w.data(), rows, cols, s1::row_bytes(type, uint64_t(cols))};
  std::vector<float> out(size_t(rows * n_tokens), NAN);
  s1::ThreadPool pool(threads);
  s1::matmul(m, x.data(), n_tokens, out.data(), pool);

  const bool rounded_activations = is_quantized(type) && !exact;
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(std::isfinite(out[i])) << "output " << i;
    err2 += (out[i] - ref.out[i]) * (out[i] - ref.out[i]);
    ref2 += ref.out[i] * ref.out[i];
    if (!rounded_activations) {
      ASSERT_NEAR(out[i], ref.out[i], 1e-5 * ref.magnitude[i] + 1e-6)
          << "row " << i % rows << " token " << i / rows << " cols " << cols << " threads " << threads;
    }
  }
  if (rounded_activations) {
    EXPECT_LT(std::sqrt(err2 / ref2), 0.02) << "cols " << cols << " threads " << threads;
  }
}

TEST_P(MatmulTest, MatchesReferenceWithExactActivations) {
  const auto [type, n_tokens] = GetParam();
  uint32_t seed = 1;
  for (int64_t cols : cols_for(type, n_tokens))
    for (int64_t rows : {1, 7, 37})
      for (int threads : {1, 2}) check(type, rows, cols, n_tokens, true, threads, seed++);
}

// int8 activations (one scale per 32 or 256 elements) cost under 1% relative RMS on
// random data; 2% leaves room for the small samples of 1-token cases.
TEST_P(MatmulTest, MatchesReferenceWithinActivationRounding) {
  const auto [type, n_tokens] = GetParam();
  uint32_t seed = 100;
  for (int64_t cols : cols_for(type, n_tokens))
    for (int64_t rows : {37, 67})
      for (int threads : {1, 2}) check(type, rows, cols, n_tokens, false, threads, seed++);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::MXFP4,
                     DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (int64_t n : {1, 3, 8, 13, 33, 128}) cases.push_back({type, n});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTest, testing::ValuesIn(all_cases()), case_name);

TEST(Matmul, ReportsSupportedTypes) {
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::MXFP4,
                     DType::Q4_K, DType::Q5_K, DType::Q6_K})
    EXPECT_TRUE(s1::matmul_supports(type)) << s1::dtype_name(type);
  EXPECT_FALSE(s1::matmul_supports(DType::Q2_K));
  EXPECT_FALSE(s1::matmul_supports(DType::IQ4_NL));
}

// MXFP4 scales span 2^-128 (subnormal) to 2^127; each row here has one
// exponent in all its blocks, and the activations are exact integers times a
// power of two chosen so the products stay normal floats: the kernels' scale
// from the exponent byte must be exact at both ends. The reference decodes in
// double: dequantize_row's floats overflow from 8 * 2^125 on (e 253 and up).
TEST(Matmul, Mxfp4ExtremeExponentsMatchTheReference) {
  const int64_t cols = 2880;
  const uint8_t exponents[] = {0, 1, 2, 3, 126, 127, 128, 129, 200, 253, 254};
  const int64_t rows = int64_t(std::size(exponents));
  for (int64_t n_tokens : {1, 5, 8, 9, 40}) {
    for (int sign : {1, -1}) {  // activations scaled up for small exponents, down for large ones
      std::mt19937 rng(uint32_t(n_tokens * 2 + (sign > 0)));
      auto w = random_rows(DType::MXFP4, rows, cols, rng);
      const size_t stride = s1::row_bytes(DType::MXFP4, cols);
      for (int64_t r = 0; r < rows; ++r)
        for (size_t b = 0; b < stride / sizeof(s1::block_mxfp4); ++b)
          reinterpret_cast<s1::block_mxfp4*>(w.data() + r * stride)[b].e = exponents[r];
      auto x = activations(n_tokens, cols, true, rng);
      for (float& v : x) v = std::ldexp(v, sign * 30);
      Reference ref{std::vector<double>(size_t(rows * n_tokens)), std::vector<double>(size_t(rows * n_tokens))};
      for (int64_t r = 0; r < rows; ++r) {
        const auto* blocks = reinterpret_cast<const s1::block_mxfp4*>(w.data() + r * stride);
        for (int64_t c = 0; c < cols; ++c) {
          const s1::block_mxfp4& b = blocks[c / 32];
          const int j = int(c % 32);
          const int code = j < 16 ? b.qs[j] & 0x0f : b.qs[j - 16] >> 4;
          const double value = std::ldexp(double(s1::kMxfp4Values[code]), int(b.e) - 128);
          for (int64_t t = 0; t < n_tokens; ++t) {
            ref.out[size_t(t * rows + r)] += value * x[size_t(t * cols + c)];
            ref.magnitude[size_t(t * rows + r)] += std::fabs(value * x[size_t(t * cols + c)]);
          }
        }
      }
      std::vector<float> out(size_t(rows * n_tokens), NAN);
      s1::ThreadPool pool(1);
      s1::matmul({DType::MXFP4, w.data(), rows, cols, stride}, x.data(), n_tokens, out.data(), pool);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          const size_t i = size_t(t * rows + r);
          // Only the exponents whose products stay in range for this scaling.
          if ((sign > 0) != (exponents[r] < 128)) continue;
          ASSERT_NEAR(out[i], ref.out[i], 1e-5 * ref.magnitude[i])
              << "e " << int(exponents[r]) << " token " << t << " of " << n_tokens;
          ASSERT_GT(ref.magnitude[i], 0.0);
        }
      }
    }
  }
}

TEST(Matmul, RejectsUnsupportedTypeByName) {
  std::vector<uint8_t> w(1024);
  std::vector<float> x(256), out(1);
  s1::ThreadPool pool(1);
  s1::WeightMatrix m{DType::Q2_K, w.data(), 1, 256, s1::row_bytes(DType::Q2_K, 256)};
  try {
    s1::matmul(m, x.data(), 1, out.data(), pool);
    FAIL() << "no error";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("q2_K"), std::string::npos) << e.what();
  }
}

TEST(Matmul, RejectsColumnsOffTheBlockSize) {
  std::vector<uint8_t> w(1024);
  std::vector<float> x(300), out(1);
  s1::ThreadPool pool(1);
  s1::WeightMatrix m{DType::Q4_K, w.data(), 1, 300, 1024};
  EXPECT_THROW(s1::matmul(m, x.data(), 1, out.data(), pool), s1::Error);
}

TEST(Matmul, HonoursRowStrideWiderThanARow) {
  // A view of every other row of a matrix: row_stride is twice the row size.
  std::mt19937 rng(7);
  const int64_t rows = 9, cols = 256;
  const auto w = random_rows(DType::Q6_K, rows * 2, cols, rng);
  const size_t row = s1::row_bytes(DType::Q6_K, cols);
  const auto x = activations(2, cols, true, rng);
  std::vector<float> strided(rows * 2), packed(rows * 2);
  std::vector<uint8_t> compact;
  for (int64_t r = 0; r < rows; ++r) compact.insert(compact.end(), w.begin() + 2 * r * row, w.begin() + (2 * r + 1) * row);
  s1::ThreadPool pool(2);
  s1::matmul({DType::Q6_K, w.data(), rows, cols, 2 * row}, x.data(), 2, strided.data(), pool);
  s1::matmul({DType::Q6_K, compact.data(), rows, cols, row}, x.data(), 2, packed.data(), pool);
  EXPECT_EQ(strided, packed);
}

}  // namespace
