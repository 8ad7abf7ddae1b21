// The command line as llama.cpp users type it: a mistyped subcommand names
// the nearest one; llama.cpp's short flags work; a renamed flag says what it became.
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

TEST(LlamaCppSpellings, ShortFlagsAndTheRenamedSamples) {
  auto renamed = s1test::run_s1({"run", "--n", "3", "-p", "x"});
  EXPECT_NE(renamed.exit_code, 0);
  EXPECT_NE(renamed.err.find("--n: is now --samples (-n is --n-predict, as in llama.cpp)"), std::string::npos)
      << renamed.err;
  auto short_flags = s1test::run_s1({"run", "-c", "256", "-s", "7", "--samples", "2", "-n", "3", "--temp", "0", "-p", "1+1"});
  EXPECT_EQ(short_flags.exit_code, 0) << short_flags.err;
  EXPECT_NE(short_flags.out.find("(2 of 2)"), std::string::npos) << short_flags.out;
}

}  // namespace
