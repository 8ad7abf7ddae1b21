// quantize_row / dequantize_row on synthetic data: error bounds per format,
// hand-built blocks decoded by the ggml formulas, and argument checking.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "support/test_support.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"
#include "util/error.h"

namespace s1 {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  return s1test::gaussian_values(int(n), sigma, seed);
}

std::vector<float> roundtrip(DType type, const std::vector<float>& x, const float* importance = nullptr) {
  std::vector<uint8_t> q(row_bytes(type, x.size()));
  quantize_row(type, x.data(), q.data(), int64_t(x.size()), importance);
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), int64_t(x.size()));
  return y;
}

double relative_rms_error(const std::vector<float>& x, const std::vector<float>& y, const float* w = nullptr) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double wi = w ? w[i] : 1.0;
    err += wi * (x[i] - y[i]) * (x[i] - y[i]);
    ref += wi * x[i] * x[i];
  }
  return std::sqrt(err / ref);
}

struct ErrorBound {
  DType type;
  double max_relative_rms;
};

void PrintTo(const ErrorBound& bound, std::ostream* os) {
  *os << dtype_name(bound.type) << " < " << bound.max_relative_rms;
}

class QuantRoundTrip : public testing::TestWithParam<ErrorBound> {};

TEST_P(QuantRoundTrip, GaussianRowsStayWithinTheFormatsErrorBound) {
  const auto [type, bound] = GetParam();
  for (uint32_t seed : {1u, 2u, 3u}) {
    const auto x = gaussian(4096, seed, 0.02f + seed);  // scale must not matter
    const double err = relative_rms_error(x, roundtrip(type, x));
    EXPECT_LT(err, bound) << dtype_name(type) << " seed " << seed;
    EXPECT_GT(err, 0.0) << "a lossy format reproduced Gaussian data exactly";
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantRoundTrip,
                         testing::Values(ErrorBound{DType::F16, 0.0005}, ErrorBound{DType::BF16, 0.004},
                                         ErrorBound{DType::Q8_0, 0.006}, ErrorBound{DType::Q6_K, 0.02},
                                         ErrorBound{DType::Q5_K, 0.04}, ErrorBound{DType::Q5_0, 0.06},
                                         ErrorBound{DType::Q4_K, 0.08}, ErrorBound{DType::Q4_0, 0.12},
                                         ErrorBound{DType::MXFP4, 0.14}),
                         [](const auto& info) { return std::string(dtype_name(info.param.type)); });

TEST(Quant, MoreBitsGiveLessError) {
  const auto x = gaussian(8192, 7);
  auto err = [&](DType t) { return relative_rms_error(x, roundtrip(t, x)); };
  EXPECT_LT(err(DType::Q8_0), err(DType::Q6_K));
  EXPECT_LT(err(DType::Q6_K), err(DType::Q5_K));
  EXPECT_LT(err(DType::Q5_K), err(DType::Q4_K));
  EXPECT_LT(err(DType::Q5_0), err(DType::Q4_0));
  EXPECT_LT(err(DType::Q4_K), err(DType::Q4_0));
}

TEST(Quant, F32IsCopiedExactly) {
  const auto x = gaussian(64, 3);
  EXPECT_EQ(roundtrip(DType::F32, x), x);
}

TEST(Quant, ZeroRowsStayZero) {
  const std::vector<float> zeros(512, 0.0f);
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K, DType::MXFP4}) {
    for (float v : roundtrip(t, zeros)) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

TEST(Quant, ValuesOnTheGridSurviveQ8_0) {
  // Largest magnitude 127 makes the scale exactly 1, so every integer comes back.
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = float(i * 8 - 127);
  EXPECT_EQ(roundtrip(DType::Q8_0, x), x);
}

TEST(Quant, ImportanceLowersTheWeightedError) {
  // Half of each block matters 100x more: the weighted search should trade
  // error on the unimportant half for accuracy on the important one.
  const auto x = gaussian(4096, 11);
  std::vector<float> importance(x.size());
  for (size_t i = 0; i < x.size(); ++i) importance[i] = (i / 8) % 2 ? 100.0f : 1.0f;
  for (DType t : {DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    const double plain = relative_rms_error(x, roundtrip(t, x), importance.data());
    const double weighted = relative_rms_error(x, roundtrip(t, x, importance.data()), importance.data());
    EXPECT_LT(weighted, plain) << dtype_name(t);
  }
}

TEST(Quant, DequantizesHandBuiltQ4_0AndQ5_0Blocks) {
  block_q4_0 b4{};
  b4.d = f32_to_f16(0.5f);
  for (int j = 0; j < 16; ++j) b4.qs[j] = uint8_t(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(DType::Q4_0, reinterpret_cast<const uint8_t*>(&b4), y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f);
    EXPECT_EQ(y[j + 16], (7 - j) * 0.5f);
  }

  block_q5_0 b5{};
  b5.d = f32_to_f16(0.25f);
  const uint32_t qh = 0x80000001u;  // fifth bit set for element 0 and element 31
  std::memcpy(b5.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b5.qs[j] = 0xff;
  dequantize_row(DType::Q5_0, reinterpret_cast<const uint8_t*>(&b5), y, 32);
  EXPECT_EQ(y[0], (31 - 16) * 0.25f);
  EXPECT_EQ(y[1], (15 - 16) * 0.25f);
  EXPECT_EQ(y[31], (31 - 16) * 0.25f);
  EXPECT_EQ(y[30], (15 - 16) * 0.25f);
}

// A block of codes 0..15 (low nibbles) and 15..0 (high) at the exponents
// whose scales 2^(e - 128) are subnormal (0, 1), one half (127) and the
// largest quantize can write plus one (254: 4 * 2^126 and beyond overflow to
// inf in float, as in ggml), and 255 (NaN in the OCP format, 2^127 in ggml).
TEST(Quant, DequantizesHandBuiltMxfp4Blocks) {
  const int values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
  for (int e : {0, 1, 2, 127, 128, 254, 255}) {
    block_mxfp4 b{};
    b.e = uint8_t(e);
    for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | ((15 - j) << 4));
    float y[32];
    dequantize_row(DType::MXFP4, reinterpret_cast<const uint8_t*>(&b), y, 32);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[j], float(std::ldexp(double(values[j]), e - 128))) << "e " << e << " code " << j;
      EXPECT_EQ(y[j + 16], float(std::ldexp(double(values[15 - j]), e - 128))) << "e " << e << " code " << 15 - j;
    }
  }
  // Spot checks of the table above written out.
  block_mxfp4 b{};
  b.e = 0;
  b.qs[0] = 0x71;  // element 0: code 1 (+1), element 16: code 7 (+12)
  b.qs[1] = 0xf9;  // element 1: code 9 (-1), element 17: code 15 (-12)
  float y[32];
  dequantize_row(DType::MXFP4, reinterpret_cast<const uint8_t*>(&b), y, 32);
  EXPECT_EQ(y[0], 0x1p-128f);  // the smallest scale, a subnormal
  EXPECT_EQ(y[16], 0x1.8p-125f);
  EXPECT_EQ(y[1], -0x1p-128f);
  EXPECT_EQ(y[17], -0x1.8p-125f);
  b.e = 127;
  dequantize_row(DType::MXFP4, reinterpret_cast<const uint8_t*>(&b), y, 32);
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_EQ(y[16], 6.0f);
  EXPECT_EQ(y[17], -6.0f);
  b.e = 254;
  dequantize_row(DType::MXFP4, reinterpret_cast<const uint8_t*>(&b), y, 32);
  EXPECT_EQ(y[0], 0x1p126f);
  EXPECT_EQ(y[16], INFINITY);
  EXPECT_EQ(y[17], -INFINITY);
  EXPECT_EQ(y[2], 0.0f);  // code 0
}

// Hand-worked quantizations, the bytes ggml's quantize_row_mxfp4_ref writes:
// e = floor(log2(amax)) - 2 + 127, each value to the nearest code of
// value * 2^(e - 128), ties to the lower code.
TEST(Quant, QuantizesMxfp4AsGgml) {
  auto quantize = [](const std::vector<float>& x) {
    std::vector<uint8_t> q(row_bytes(DType::MXFP4, x.size()));
    quantize_row(DType::MXFP4, x.data(), q.data(), int64_t(x.size()));
    return q;
  };
  // amax 6: e = 2 - 2 + 127 = 127, step 0.5; every code's value exactly.
  {
    std::vector<float> x(32, 0.0f);
    const float grid[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
    for (int j = 0; j < 16; ++j) x[j] = grid[j];
    // Elements 16..31: ties (0.25 between 0 and 0.5, 5 between 4 and 6, and
    // their negatives) go to the lower code; 7 saturates to 6; 2.4 rounds to 2.
    const float rest[16] = {0.25f, -0.25f, 5, -5, 7, -7, 2.4f, -2.6f, 0.74f, 0.76f, 3.5f, -3.5f, 1.25f, 0, 0, 0};
    for (int j = 0; j < 16; ++j) x[16 + j] = rest[j];
    const auto q = quantize(x);
    ASSERT_EQ(q.size(), 17u);
    EXPECT_EQ(q[0], 127);
    const uint8_t high[16] = {0, 0, 6, 14, 7, 15, 4, 13, 1, 2, 5, 13, 2, 0, 0, 0};
    for (int j = 0; j < 16; ++j) {
      const uint8_t low = j == 8 ? 0 : uint8_t(j);  // -0 is code 0 (code 8 is no nearer)
      EXPECT_EQ(q[1 + j], uint8_t(low | (high[j] << 4))) << "byte " << j;
    }
  }
  // amax 8 (a power of two): e = 3 - 2 + 127 = 128, step 1; amax 7.99 stays at 127.
  {
    std::vector<float> x(64, 0.0f);
    x[3] = -8.0f;
    x[4] = 1.0f;
    x[32 + 5] = 7.99f;
    const auto q = quantize(x);
    EXPECT_EQ(q[0], 128);
    EXPECT_EQ(q[1 + 3], 14);      // -8 / 1: code 14 (-8)
    EXPECT_EQ(q[1 + 4], 1);       // 1 / 1: code 1 (1)
    EXPECT_EQ(q[17], 127);        // second block
    EXPECT_EQ(q[17 + 1 + 5], 7);  // 7.99 / 0.5 = 15.98, nearest 12: code 7
  }
  // A zero block: e 0, codes 0. The largest floats: 1.5 * 2^127 gives e 252.
  {
    std::vector<float> x(64, 0.0f);
    x[32] = 0x1.8p127f;
    x[33] = -0x1p125f;
    const auto q = quantize(x);
    for (int i = 0; i < 17; ++i) EXPECT_EQ(q[size_t(i)], 0) << "byte " << i;
    EXPECT_EQ(q[17], 252);
    EXPECT_EQ(q[18], 7);   // 1.5 * 2^127 / 2^124 = 12: code 7
    EXPECT_EQ(q[19], 10);  // -2^125 / 2^124 = -2: code 10
  }
  // Below 2^-125 the exponent is negative; ggml's float-to-uint8 conversion
  // wraps it on x86 (2^-130: -5 -> 251), and the block decodes to zeros.
  {
    std::vector<float> x(32, 0.0f);
    x[0] = 0x1p-130f;
    const auto q = quantize(x);
    EXPECT_EQ(q[0], 251);
    std::vector<float> y(32);
    dequantize_row(DType::MXFP4, q.data(), y.data(), 32);
    for (float v : y) EXPECT_EQ(v, 0.0f);
  }
}

TEST(Quant, DequantizesHandBuiltQ4_KBlock) {
  // Sub-block j gets scale j+1 and min 2j+3 (6 bits), packed the way
  // get_scale_min_k4 unpacks them; all quants 5 in the low and 9 in the high nibble.
  block_q4_K b{};
  b.d = f32_to_f16(0.5f);
  b.dmin = f32_to_f16(0.25f);
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = uint8_t(8 * j + 1);  // uses the high bits for j >= 2
    mn[j] = uint8_t(60 - 7 * j);
  }
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = uint8_t((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    b.scales[j + 4] = uint8_t((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    b.scales[j + 8] = uint8_t((sc[j + 4] & 0xf) | ((mn[j + 4] & 0xf) << 4));
  }
  std::memset(b.qs, 0x95, sizeof b.qs);
  std::vector<float> y(256);
  dequantize_row(DType::Q4_K, reinterpret_cast<const uint8_t*>(&b), y.data(), 256);
  for (int i = 0; i < 256; ++i) {
    const int sub = i / 32;
    const int q = sub % 2 ? 9 : 5;
    EXPECT_EQ(y[i], 0.5f * sc[sub] * q - 0.25f * mn[sub]) << "element " << i;
  }
}

TEST(Quant, DequantizesHandBuiltQ6_KBlock) {
  // Every quant is 63 (value +31); group g of 16 has scale g - 8.
  block_q6_K b{};
  b.d = f32_to_f16(0.125f);
  std::memset(b.ql, 0xff, sizeof b.ql);
  std::memset(b.qh, 0xff, sizeof b.qh);
  for (int g = 0; g < 16; ++g) b.scales[g] = int8_t(g - 8);
  std::vector<float> y(256);
  dequantize_row(DType::Q6_K, reinterpret_cast<const uint8_t*>(&b), y.data(), 256);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], 0.125f * float(i / 16 - 8) * 31) << "element " << i;
}

TEST(Quant, DequantizesHandBuiltQ5_KBlockHighBits) {
  // All scales 1, mins 0, d 1: values are the 5-bit quants themselves.
  block_q5_K b{};
  b.d = f32_to_f16(1.0f);
  b.dmin = f32_to_f16(0.0f);
  for (int j = 0; j < 4; ++j) b.scales[j] = 1;
  for (int j = 8; j < 12; ++j) b.scales[j] = 1;
  for (int l = 0; l < 32; ++l) b.qs[l] = uint8_t(l % 16 | ((15 - l % 16) << 4));
  b.qh[3] = 0x03;  // element 3 and element 35 get +16
  std::vector<float> y(256);
  dequantize_row(DType::Q5_K, reinterpret_cast<const uint8_t*>(&b), y.data(), 256);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[3], 19.0f);
  EXPECT_EQ(y[35], 16.0f + 12.0f);
  EXPECT_EQ(y[36], 11.0f);
}

TEST(Quant, KQuantScaleSearchIsNearOptimalOnASmoothRow) {
  // A ramp is the easy case: 4-bit quants of a 256-ramp lose little.
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = -1.0f + 2.0f * float(i) / 255.0f;
  EXPECT_LT(relative_rms_error(x, roundtrip(DType::Q4_K, x)), 0.02);
  EXPECT_LT(relative_rms_error(x, roundtrip(DType::Q6_K, x)), 0.012);
}

TEST(Quant, RejectsUnsupportedTypesAndRaggedRows) {
  std::vector<float> x(256, 1.0f);
  std::vector<uint8_t> q(2048);
  EXPECT_FALSE(quant_supported(DType::Q2_K));
  EXPECT_TRUE(quant_supported(DType::Q4_K));
  EXPECT_THROW(quantize_row(DType::Q2_K, x.data(), q.data(), 256), Error);
  EXPECT_THROW(quantize_row(DType::Q4_K, x.data(), q.data(), 96), Error);
  EXPECT_THROW(dequantize_row(DType::Q8_0, q.data(), x.data(), 33), Error);
  try {
    quantize_row(DType::Q6_K, x.data(), q.data(), 100);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 256"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace s1
