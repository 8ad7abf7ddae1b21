// A mistyped subcommand is an error that names the nearest command.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace {

TEST(UnknownCommand, SuggestsTheNearest) {
  auto typo = s1test::run_s1({"quantise", "-m", "x.gguf"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("unknown command 'quantise'; did you mean 'quantize'?"), std::string::npos) << typo.err;
  auto far = s1test::run_s1({"frobnicate"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_NE(far.err.find("unknown command 'frobnicate' (s1 --help"), std::string::npos) << far.err;
  EXPECT_EQ(s1test::run_s1({"--version"}).exit_code, 0);
}

}  // namespace
