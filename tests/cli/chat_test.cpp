// s1 chat fed from a pipe: turns keep the conversation, commands between
// turns set the next turns' thinking, /clear forgets, a bad command is
// reported and the chat goes on.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
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

namespace {

// `s1 run` with no prompt on a terminal (script(1) gives it one) opens the chat.
TEST(ChatCommand, RunWithoutAPromptOnATerminalChats) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) for a terminal";
  const auto out = s1test::temp_dir("run-chat") / "out.txt";
  const std::string command = "printf 'What is 2 + 3?\\n/think 4\\nAnd 1 + 1?\\n/quit\\n' | script -qec \"" +
                              std::string(S1_BINARY) + " run --temp 0\" /dev/null > " + out.string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string text = s1test::read_file(out);
  EXPECT_NE(text.find("commands: /think N"), std::string::npos) << text;
  EXPECT_NE(text.find("thinking: 4 tokens (forced end)"), std::string::npos) << "/think 4 held the second turn: " << text;
}

}  // namespace
