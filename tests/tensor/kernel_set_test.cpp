// The dispatch between instruction sets: which sets this CPU gets, how S1_CPU
// and bad names are answered, and every usable set's vector arithmetic against
// double-precision sums. (The matmul, reduction, model and conformance suites
// run once per set through S1_CPU: see tests/CMakeLists.txt.)
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "tensor/blocks.h"
#include "tensor/cpu_features.h"
#include "tensor/kernel_set.h"
#include "util/error.h"

namespace {

std::string error_of(std::string_view name) {
  try {
    s1::use_kernels(name);
  } catch (const s1::Error& e) {
    return e.what();
  }
  return "";
}

// Restores the set in use when a test that switches sets ends.
struct KeepKernels {
  std::string name{s1::kernels().name};
  ~KeepKernels() { s1::use_kernels(name); }
};

TEST(KernelSets, ScalarIsAlwaysUsableAndLast) {
  const auto sets = s1::usable_kernel_sets();
  ASSERT_FALSE(sets.empty());
  EXPECT_EQ(sets.back()->name, "scalar");
  const s1::CpuFeatures& f = s1::cpu_features();
  std::vector<std::string> names;
  for (const auto* set : sets) names.emplace_back(set->name);
#if defined(__x86_64__)
  const bool avx512 = f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
  EXPECT_EQ(avx512, names.front() == "avx512");
  EXPECT_EQ(f.avx2 && f.fma && f.f16c, std::find(names.begin(), names.end(), "avx2") != names.end());
#elif defined(__aarch64__)
  EXPECT_TRUE(f.neon);
  EXPECT_EQ(names.front(), "neon");
#endif
}

TEST(KernelSets, DefaultIsTheBestUnlessForced) {
  const char* forced = std::getenv("S1_CPU");
  if (forced && *forced)
    EXPECT_EQ(s1::kernels().name, forced);
  else
    EXPECT_EQ(s1::kernels().name, s1::usable_kernel_sets().front()->name);
}

TEST(KernelSets, UnknownNamesAndMissingSetsAreClearErrors) {
  KeepKernels keep;
  EXPECT_NE(error_of("sse9").find("unknown instruction set (expected avx512|avx2|neon|scalar)"), std::string::npos)
      << error_of("sse9");
#if defined(__x86_64__)
  EXPECT_NE(error_of("neon").find("this binary has no neon kernels"), std::string::npos) << error_of("neon");
  if (s1::usable_kernel_sets().front()->name != "avx512") {
    const std::string e = error_of("avx512");
    EXPECT_NE(e.find("this CPU cannot run the avx512 kernels"), std::string::npos) << e;
    EXPECT_NE(e.find("it has: " + s1::cpu_features().list()), std::string::npos) << e;
  }
#elif defined(__aarch64__)
  EXPECT_NE(error_of("avx2").find("this binary has no avx2 kernels"), std::string::npos) << error_of("avx2");
#endif
}

TEST(KernelSets, TheCliNamesTheSetAndRefusesABadOne) {
  const auto info = s1test::run_s1({"info", "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("\"kernels\":\"" + std::string(s1::kernels().name) + "\""), std::string::npos) << info.out;

  std::optional<std::string> before;
  if (const char* v = std::getenv("S1_CPU")) before = v;
  setenv("S1_CPU", "scalar", 1);
  const auto scalar = s1test::run_s1({"info", "--json"});
  setenv("S1_CPU", "bogus", 1);
  const auto bogus = s1test::run_s1({"info"});
  if (before) setenv("S1_CPU", before->c_str(), 1); else unsetenv("S1_CPU");
  EXPECT_NE(scalar.out.find("\"kernels\":\"scalar\""), std::string::npos) << scalar.out;
  EXPECT_EQ(bogus.exit_code, 1);
  EXPECT_EQ(bogus.err, "error: S1_CPU=bogus: unknown instruction set (expected avx512|avx2|neon|scalar)\n");
}

// The attention block is one template compiled for each set, whose sums run in
// the same order whatever the lane count: every set gives the scalar set's bits.
TEST(KernelSets, AttentionBlockGivesTheSameBitsInEverySet) {
  const int head_dim = 64, n = 70, n_queries = 37;
  const auto keys = s1test::gaussian_values(n * head_dim, 1.0f, 71u);
  const auto values = s1test::gaussian_values(n * head_dim, 1.0f, 72u);
  const auto q = s1test::gaussian_values(n_queries * head_dim, 1.0f, 73u);
  std::vector<uint16_t> k16(keys.size()), v16(values.size());
  for (size_t i = 0; i < keys.size(); ++i) k16[i] = s1::f32_to_f16(keys[i]), v16[i] = s1::f32_to_f16(values[i]);
  const s1::KvRun run{reinterpret_cast<const uint8_t*>(k16.data()), reinterpret_cast<const uint8_t*>(v16.data()), n};
  std::vector<float> scratch(s1::attention_block_scratch_floats(n, head_dim, head_dim));
  auto attend = [&](const s1::KernelSet& set) {
    std::vector<float> out(size_t(n_queries) * head_dim);
    std::vector<s1::AttentionQuery> queries;
    for (int i = 0; i < n_queries; ++i)
      queries.push_back({&q[size_t(i) * head_dim], &out[size_t(i) * head_dim], i % 4, n - n_queries + i + 1,
                         i % 2 ? 1.5f : -std::numeric_limits<float>::infinity()});
    set.attention_block({queries.data(), n_queries, &run, 1, s1::DType::F16, size_t(head_dim), 0, head_dim, head_dim,
                         0.125f, scratch.data()});
    return out;
  };
  const auto want = attend(s1::scalar_kernels());
  for (const auto* set : s1::usable_kernel_sets()) {
    const auto got = attend(*set);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << set->name << " element " << i;
  }
}

class VectorOps : public testing::TestWithParam<const s1::KernelSet*> {};

TEST_P(VectorOps, DotAndAxpyMatchDoubleArithmeticAtEveryTail) {
  const s1::KernelSet& k = *GetParam();
  for (int n = 0; n <= 70; ++n) {
    const auto a = s1test::gaussian_values(n, 1.0f, 7u + uint32_t(n));
    const auto b = s1test::gaussian_values(n, 1.0f, 1000u + uint32_t(n));
    std::vector<uint16_t> b16(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) b16[size_t(i)] = s1::f32_to_f16(b[size_t(i)]);
    double dot = 0, dot16 = 0, scale = 1e-30;
    for (int i = 0; i < n; ++i) {
      dot += double(a[size_t(i)]) * b[size_t(i)];
      dot16 += double(a[size_t(i)]) * s1::f16_to_f32(b16[size_t(i)]);
      scale += std::abs(double(a[size_t(i)]) * b[size_t(i)]);
    }
    EXPECT_NEAR(k.dot_f32(a.data(), b.data(), n), dot, 1e-6 * scale) << k.name << " n=" << n;
    EXPECT_NEAR(k.dot_f16(a.data(), b16.data(), n), dot16, 1e-6 * scale) << k.name << " n=" << n;

    std::vector<float> y(size_t(n) + 1, 0.5f), y16(size_t(n) + 1, 0.5f);  // one past the end must stay
    k.axpy_f32(0.25f, b.data(), y.data(), n);
    k.axpy_f16(0.25f, b16.data(), y16.data(), n);
    for (int i = 0; i < n; ++i) {
      EXPECT_FLOAT_EQ(y[size_t(i)], 0.5f + 0.25f * b[size_t(i)]) << k.name << " n=" << n;
      EXPECT_FLOAT_EQ(y16[size_t(i)], 0.5f + 0.25f * s1::f16_to_f32(b16[size_t(i)])) << k.name << " n=" << n;
    }
    EXPECT_EQ(y[size_t(n)], 0.5f);
    EXPECT_EQ(y16[size_t(n)], 0.5f);
  }
}

TEST_P(VectorOps, SwigluMatchesDoubleArithmeticAtEveryTail) {
  const s1::KernelSet& k = *GetParam();
  for (int n = 0; n <= 70; ++n) {
    auto gate = s1test::gaussian_values(n, 6.0f, 11u + uint32_t(n));
    const auto up = s1test::gaussian_values(n, 1.0f, 2000u + uint32_t(n));
    // Saturated both ways (exp clamps at -87: silu(-100) comes out as 1e-36, not 4e-42) and zero.
    if (n > 3) gate[0] = -100.0f, gate[1] = 100.0f, gate[2] = 0.0f;
    std::vector<float> out(size_t(n) + 1, 0.5f), in_place = gate;  // one past the end must stay
    k.swiglu_f32(gate.data(), up.data(), out.data(), n);
    k.swiglu_f32(in_place.data(), nullptr, in_place.data(), n);
    for (int i = 0; i < n; ++i) {
      const double x = gate[size_t(i)], silu = x / (1.0 + std::exp(-x));
      EXPECT_NEAR(out[size_t(i)], silu * up[size_t(i)], 1e-6 * std::abs(silu * up[size_t(i)]) + 1e-30)
          << k.name << " n=" << n << " x=" << x;
      EXPECT_NEAR(in_place[size_t(i)], silu, 1e-6 * std::abs(silu) + 1e-30) << k.name << " n=" << n << " x=" << x;
    }
    EXPECT_EQ(out[size_t(n)], 0.5f);
  }
}

// Against the rule computed in double, on row counts and sizes that take the
// sets' several-row and tail paths.
TEST_P(VectorOps, DeltaRuleRowsMatchDoubleArithmetic) {
  const s1::KernelSet& k = *GetParam();
  for (int n_rows : {1, 3, 4, 9}) {
    for (int dim : {5, 16, 37, 128}) {
      auto rows = s1test::gaussian_values(n_rows * dim, 0.5f, 31u + uint32_t(dim));
      const auto key = s1test::gaussian_values(dim, 0.2f, 41u + uint32_t(dim));
      const auto query = s1test::gaussian_values(dim, 0.2f, 51u + uint32_t(dim));
      const auto v = s1test::gaussian_values(n_rows, 1.0f, 61u + uint32_t(n_rows));
      const float m = 0.37f, beta = 0.6f;
      std::vector<double> want_rows(rows.begin(), rows.end());
      std::vector<double> want_o(static_cast<size_t>(n_rows));
      for (int j = 0; j < n_rows; ++j) {
        double* row = &want_rows[size_t(j) * dim];
        double a = 0, b = 0;
        for (int i = 0; i < dim; ++i) a += row[i] * key[size_t(i)];
        const double step = (v[size_t(j)] - m * a) * beta / m;
        for (int i = 0; i < dim; ++i) row[i] += step * key[size_t(i)], b += row[i] * query[size_t(i)];
        want_o[size_t(j)] = m * b;
      }
      std::vector<float> o(size_t(n_rows) + 1, 0.5f);  // one past the end must stay
      k.delta_rule_rows(rows.data(), n_rows, dim, key.data(), query.data(), v.data(), m, beta, o.data());
      for (size_t i = 0; i < rows.size(); ++i)
        ASSERT_NEAR(rows[i], want_rows[i], 1e-5 * (1 + std::abs(want_rows[i]))) << k.name << " " << n_rows << "x" << dim;
      for (int j = 0; j < n_rows; ++j)
        EXPECT_NEAR(o[size_t(j)], want_o[size_t(j)], 1e-5 * (1 + std::abs(want_o[size_t(j)]))) << k.name;
      EXPECT_EQ(o[size_t(n_rows)], 0.5f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Usable, VectorOps, testing::ValuesIn(s1::usable_kernel_sets().begin(),
                                                               s1::usable_kernel_sets().end()),
                         [](const auto& info) { return std::string(info.param->name); });

}  // namespace
