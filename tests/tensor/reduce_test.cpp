#include "tensor/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/test_support.h"

namespace {

namespace reduce = s1::reduce;
const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> random_row(int n, uint32_t seed) { return s1test::gaussian_values(n, 4.0f, seed); }

TEST(Reduce, MaxAndArgmaxOnEveryTailLength) {
  for (int n = 1; n <= 70; ++n) {
    auto x = random_row(n, uint32_t(n));
    const size_t best = size_t(std::max_element(x.begin(), x.end()) - x.begin());
    EXPECT_EQ(reduce::max_value(x.data(), n), x[best]) << n;
    EXPECT_EQ(reduce::argmax(x.data(), n), int64_t(best)) << n;
  }
}

TEST(Reduce, ArgmaxTakesTheFirstOfTiesAndSkipsNaN) {
  std::vector<float> x(40, 1.0f);
  x[7] = kNaN;
  x[20] = 3.0f;
  x[33] = 3.0f;
  EXPECT_EQ(reduce::argmax(x.data(), 40), 20);
  std::vector<float> none{kNaN, -kInf, kNaN};
  EXPECT_EQ(reduce::argmax(none.data(), 3), -1);
  EXPECT_EQ(reduce::max_value(none.data(), 3), -kInf);
}

TEST(Reduce, LogSumExpMatchesDoubleArithmetic) {
  for (int n : {1, 15, 16, 17, 33, 1000, 151936}) {
    auto x = random_row(n, 99);
    double max = -1e300, sum = 0.0;
    for (float v : x) max = std::max(max, double(v));
    for (float v : x) sum += std::exp(double(v) - max);
    EXPECT_NEAR(reduce::log_sum_exp(x.data(), n), max + std::log(sum), 1e-5) << n;
  }
  std::vector<float> x{0.0f, -kInf, kNaN, std::log(3.0f)};
  EXPECT_NEAR(reduce::log_sum_exp(x.data(), 4), std::log(4.0), 1e-6);
  std::vector<float> none{-kInf, kNaN};
  EXPECT_EQ(reduce::log_sum_exp(none.data(), 2), -std::numeric_limits<double>::infinity());
}

TEST(Reduce, IndicesAtLeastKeepsOrderAndAppends) {
  auto x = random_row(1001, 5);
  std::vector<int32_t> got{-7};
  reduce::indices_at_least(x.data(), 1001, 2.5f, got);
  std::vector<int32_t> want{-7};
  for (int i = 0; i < 1001; ++i)
    if (x[size_t(i)] >= 2.5f) want.push_back(i);
  EXPECT_EQ(got, want);
}

}  // namespace
