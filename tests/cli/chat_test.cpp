// s1 chat fed from a pipe: turns keep the conversation, commands between
// turns set the next turns' thinking, /clear forgets, a bad command is
// reported and the chat goes on.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "support/test_support.h"

namespace {

TEST(ChatCommand, TurnsCommandsAndClear) {
  const auto result = s1test::run_s1({"chat", "--json", "--temp", "0"},
                                     "What is 2 + 3?\n/think 8\nAnd 4 + 4?\n/bogus\n/clear\n/answer\n1 + 1?\n/quit\nignored\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<nlohmann::json> turns;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) turns.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(turns.size(), 3u) << result.out;
  EXPECT_LE(turns[1]["thinking_tokens"].get<int>(), 8);
  EXPECT_GT(turns[1]["prompt_tokens"].get<int>(), turns[0]["prompt_tokens"].get<int>()) << "the second turn sees the first";
  EXPECT_EQ(turns[2]["thinking_tokens"], 0) << "/answer: no thinking";
  EXPECT_LT(turns[2]["prompt_tokens"].get<int>(), turns[1]["prompt_tokens"].get<int>()) << "/clear forgot the turns";
  EXPECT_NE(result.err.find("unknown command /bogus"), std::string::npos);
}

}  // namespace
