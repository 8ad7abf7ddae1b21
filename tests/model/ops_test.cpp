// The per-row operations of the forward pass against direct formulas.
#include "tensor/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tensor/blocks.h"

namespace {

using namespace s1;

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(Ops, RmsnormScalesToUnitRmsThenByWeight) {
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 1, 2, 0.5f}, out(4);
  ops::rmsnorm(x.data(), w.data(), out.data(), 4, 0.0f);
  const float rms = std::sqrt((1 + 4 + 9 + 16) / 4.0f);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], x[i] / rms * w[i], 1e-6);
}

TEST(Ops, SoftmaxSumsToOneAndSurvivesLargeInputs) {
  std::vector<float> x = {1000, 1001, 1002};
  ops::softmax(x.data(), 3);
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
  EXPECT_NEAR(x[0], e2 / z, 1e-6);
  EXPECT_NEAR(x[1], e1 / z, 1e-6);
  EXPECT_NEAR(x[2], 1 / z, 1e-6);
}

TEST(Ops, SwigluIsSiluOfGateTimesUp) {
  std::vector<float> gate = {-2, 0, 3}, up = {1, 5, -2}, out(3);
  ops::swiglu(gate.data(), up.data(), out.data(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(out[i], gate[i] / (1 + std::exp(-gate[i])) * up[i], 1e-6);
}

TEST(Ops, AddBiasAddsToEveryRow) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6}, b = {10, 20, 30};
  ops::add_bias(x.data(), b.data(), 2, 3);
  EXPECT_EQ(x, (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(Ops, RopeNeoxRotatesHalvesAndNormalRotatesPairs) {
  const int dim = 8;
  std::vector<float> base = random_vector(dim, 1);
  for (auto style : {ops::RopeStyle::neox, ops::RopeStyle::normal}) {
    ops::Rope rope(style, dim, 10000.0, 1.0, {});
    std::vector<float> x = base;
    rope.apply(x.data(), 1, dim, 7);
    for (int i = 0; i < dim / 2; ++i) {
      const double angle = 7 * std::pow(10000.0, -2.0 * i / dim);
      const int a = style == ops::RopeStyle::neox ? i : 2 * i;
      const int b = style == ops::RopeStyle::neox ? i + dim / 2 : 2 * i + 1;
      EXPECT_NEAR(x[a], base[a] * std::cos(angle) - base[b] * std::sin(angle), 1e-5);
      EXPECT_NEAR(x[b], base[a] * std::sin(angle) + base[b] * std::cos(angle), 1e-5);
    }
  }
}

TEST(Ops, RopeAtPositionZeroIsIdentityAndPartialRotationLeavesTheRest) {
  std::vector<float> x = random_vector(16, 2), y = x;
  ops::Rope rope(ops::RopeStyle::neox, 8, 10000.0, 1.0, {});
  rope.apply(y.data(), 2, 8, 0);
  for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(x[i], y[i]);
  ops::Rope partial(ops::RopeStyle::normal, 4, 10000.0, 1.0, {});
  partial.apply(y.data(), 1, 8, 3);
  for (int i = 4; i < 8; ++i) EXPECT_FLOAT_EQ(x[i], y[i]);
  EXPECT_NE(x[0], y[0]);
}

TEST(Ops, RopeFrequencyFactorsDivideTheAngle) {
  std::vector<float> factors = {1.0f, 4.0f};
  ops::Rope scaled(ops::RopeStyle::normal, 4, 500000.0, 1.0, factors);
  ops::Rope plain(ops::RopeStyle::normal, 4, 500000.0, 1.0, {});
  EXPECT_DOUBLE_EQ(scaled.inv_freq[0], plain.inv_freq[0]);
  EXPECT_DOUBLE_EQ(scaled.inv_freq[1], plain.inv_freq[1] / 4.0);
}

// Attention over paged runs equals a direct softmax(q·K/√d)·V, in F32 and F16.
TEST(Ops, AttentionHeadMatchesDirectComputationAcrossRuns) {
  const int head_dim = 24, n_kv_heads = 2, stride = head_dim * n_kv_heads, n = 37;
  const auto q = random_vector(head_dim, 3);
  const auto keys = random_vector(size_t(n) * stride, 4), values = random_vector(size_t(n) * stride, 5);
  const float scale = 1.0f / std::sqrt(float(head_dim));
  for (int head = 0; head < n_kv_heads; ++head) {
    std::vector<double> s(n), want(head_dim, 0.0);
    double z = 0, mx = -1e30;
    for (int j = 0; j < n; ++j) {
      s[j] = 0;
      for (int e = 0; e < head_dim; ++e)
        s[j] += double(q[e]) * keys[size_t(j) * stride + head * head_dim + e];
      s[j] *= scale;
      mx = std::max(mx, s[j]);
    }
    for (int j = 0; j < n; ++j) z += (s[j] = std::exp(s[j] - mx));
    for (int j = 0; j < n; ++j)
      for (int e = 0; e < head_dim; ++e)
        want[e] += s[j] / z * values[size_t(j) * stride + head * head_dim + e];

    for (DType type : {DType::F32, DType::F16}) {
      std::vector<uint8_t> k_bytes, v_bytes;
      if (type == DType::F32) {
        k_bytes.assign(reinterpret_cast<const uint8_t*>(keys.data()),
                       reinterpret_cast<const uint8_t*>(keys.data() + keys.size()));
        v_bytes.assign(reinterpret_cast<const uint8_t*>(values.data()),
                       reinterpret_cast<const uint8_t*>(values.data() + values.size()));
      } else {
        k_bytes.resize(keys.size() * 2);
        v_bytes.resize(values.size() * 2);
        for (size_t i = 0; i < keys.size(); ++i) {
          reinterpret_cast<f16_bits*>(k_bytes.data())[i] = f32_to_f16(keys[i]);
          reinterpret_cast<f16_bits*>(v_bytes.data())[i] = f32_to_f16(values[i]);
        }
      }
      const size_t row = size_t(stride) * (type == DType::F32 ? 4 : 2);
      // Three runs of uneven length, as a paged cache hands them over.
      std::vector<KvRun> runs = {{k_bytes.data(), v_bytes.data(), 16},
                                      {k_bytes.data() + 16 * row, v_bytes.data() + 16 * row, 16},
                                      {k_bytes.data() + 32 * row, v_bytes.data() + 32 * row, n - 32}};
      std::vector<float> scores(n), out(head_dim);
      ops::attention_head(q.data(), head_dim, scale, type, runs, stride, size_t(head) * head_dim,
                          scores.data(), out.data());
      const double tol = type == DType::F32 ? 1e-5 : 3e-3;
      for (int e = 0; e < head_dim; ++e) EXPECT_NEAR(out[e], want[e], tol) << "type " << int(type);
    }
  }
}

// A block of queries sharing a KV head (prompt processing's attention) gives
// what attention_head gives each of them over its own window, whatever the
// number of queries per register tile, the runs, a sink, and dimensions that
// are not multiples of the tiles.
TEST(Ops, AttentionBlockMatchesAttentionHeadPerQuery) {
  const int head_dim = 20, n_kv_heads = 2, stride = head_dim * n_kv_heads, n = 45, n_queries = 21;
  const auto keys = random_vector(size_t(n) * stride, 14), values = random_vector(size_t(n) * stride, 15);
  const auto q = random_vector(size_t(n_queries) * head_dim, 16);
  const float scale = 1.0f / std::sqrt(float(head_dim));
  for (DType type : {DType::F32, DType::F16}) {
    const size_t elem = type == DType::F32 ? 4 : 2;
    std::vector<uint8_t> k_bytes(keys.size() * elem), v_bytes(values.size() * elem);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (type == DType::F32) {
        reinterpret_cast<float*>(k_bytes.data())[i] = keys[i];
        reinterpret_cast<float*>(v_bytes.data())[i] = values[i];
      } else {
        reinterpret_cast<f16_bits*>(k_bytes.data())[i] = f32_to_f16(keys[i]);
        reinterpret_cast<f16_bits*>(v_bytes.data())[i] = f32_to_f16(values[i]);
      }
    }
    const size_t row = size_t(stride) * elem;
    const std::vector<KvRun> runs = {{k_bytes.data(), v_bytes.data(), 16},
                                     {k_bytes.data() + 16 * row, v_bytes.data() + 16 * row, 16},
                                     {k_bytes.data() + 32 * row, v_bytes.data() + 32 * row, n - 32}};
    for (int head = 0; head < n_kv_heads; ++head) {
      std::vector<float> got(size_t(n_queries) * head_dim, 0.0f);
      std::vector<AttentionQuery> queries;
      for (int i = 0; i < n_queries; ++i) {
        const int end = n - (i % 5), first = i % 3 == 0 ? 0 : i % 7;  // causal ends, windowed starts
        queries.push_back({&q[size_t(i) * head_dim], &got[size_t(i) * head_dim], first, end,
                           i % 4 == 1 ? 0.5f * float(i % 3) : -std::numeric_limits<float>::infinity()});
      }
      std::vector<float> scratch(attention_block_scratch_floats(n, head_dim, head_dim));
      ops::attention_block({queries.data(), n_queries, runs.data(), int(runs.size()), type, size_t(stride),
                            size_t(head) * head_dim, head_dim, head_dim, scale, scratch.data()});
      for (int i = 0; i < n_queries; ++i) {
        const AttentionQuery& query = queries[size_t(i)];
        const std::vector<KvRun> own = {{k_bytes.data() + size_t(query.first_key) * row,
                                         v_bytes.data() + size_t(query.first_key) * row,
                                         query.end_key - query.first_key}};
        std::vector<float> scores(n), want(head_dim);
        ops::attention_head(query.q, head_dim, scale, type, own, stride, size_t(head) * head_dim, scores.data(),
                            want.data(), query.sink);
        for (int e = 0; e < head_dim; ++e)
          ASSERT_NEAR(got[size_t(i) * head_dim + e], want[size_t(e)], 1e-5)
              << "type " << dtype_name(type) << ", head " << head << ", query " << i << ", element " << e;
      }
    }
  }
}

}  // namespace
