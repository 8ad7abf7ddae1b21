// The sampling flags are shared by the generating commands; `s1 run` carries them.
// Out-of-range values must fail at parse time with a message naming the flag.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace {

void expect_rejected(const std::vector<std::string>& flags, const std::string& message) {
  std::vector<std::string> args{"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  auto result = s1test::run_s1(args);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find(message), std::string::npos) << "stderr: " << result.err;
}

TEST(SamplingFlags, OutOfRangeValuesAreClearErrors) {
  expect_rejected({"--top-p", "1.5"}, "--top-p: must be in [0, 1], got 1.5");
  expect_rejected({"--min-p", "-0.1"}, "--min-p: must be in [0, 1], got -0.1");
  expect_rejected({"--temp", "-1"}, "--temp: must be >= 0, got -1");
  expect_rejected({"--temp", "hot"}, "--temp: 'hot' is not a number");
  expect_rejected({"--top-k", "-3"}, "--top-k: must be >= 0, got -3");
  expect_rejected({"--repeat-penalty", "0"}, "--repeat-penalty: must be > 0, got 0");
  expect_rejected({"--repeat-last-n", "-2"}, "--repeat-last-n: must be >= -1, got -2");
  expect_rejected({"--logit-bias", "15043*1"}, "--logit-bias '15043*1': expected TOKEN+BIAS or TOKEN-BIAS");
  expect_rejected({"--logit-bias", "15043+big"}, "--logit-bias '15043+big': 'big' is not a number");
}

TEST(SamplingFlags, HelpListsThem) {
  auto help = s1test::run_s1({"run", "--help"});
  for (const char* flag : {"--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n",
                           "--presence-penalty", "--frequency-penalty", "--seed", "--logit-bias"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
}

}  // namespace
