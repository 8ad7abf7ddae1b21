// `s1 train --recipe mini --quick`: the whole bundled-model pipeline (data,
// vocabulary, model, pretraining, curation, SFT) on a tiny pool and model, as
// CI runs it; the full recipe differs only in its sizes (cli/train_recipe.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "gguf/gguf.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using s1test::run_s1;

TEST(MiniRecipe, QuickPipelineMakesAModelThatThinks) {
  const fs::path dir = s1test::temp_dir("recipe");
  auto r = run_s1({"train", "--recipe", "mini", "--quick", "--out", dir.string(), "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* file : {"pretrain.jsonl", "vocab.gguf", "init.gguf", "pretrain/final.gguf", "sft-pool.jsonl",
                           "sft.jsonl", "sft/final.gguf", "final.gguf"})
    EXPECT_TRUE(fs::exists(dir / file)) << file;
  EXPECT_NE(r.err.find("recipe: SFT"), std::string::npos) << r.err;

  // The curated set is the size the quick recipe asks for, and SFT trained on it.
  const std::string curated = s1test::read_file(dir / "sft.jsonl");
  EXPECT_EQ(std::count(curated.begin(), curated.end(), '\n'), 20);
  // Pretraining already sees what budget forcing asks for (data/augment.h): checks
  // that confirm a result and ones that catch a wrong one, budget cuts, earlier turns.
  const std::string pool = s1test::read_file(dir / "pretrain.jsonl");
  for (const char* taught : {R"(Wait, let me check the answer.\nCheck: )", "That matches.", "That does not match",
                             R"("thinking_cut":true)", R"("weight":0)"})
    EXPECT_NE(pool.find(taught), std::string::npos) << taught;
  auto final_model = s1::gguf::File::open((dir / "final.gguf").string());
  EXPECT_EQ(final_model.get_string("general.architecture").value_or(""), "qwen3");
  EXPECT_EQ(final_model.get_string("general.name").value_or(""), "s1cpp-mini");

  // The engine loads it, detects <think>...</think> and forces the end of thinking.
  auto run = run_s1({"run", "-m", (dir / "final.gguf").string(), "--chat", "-p", "What is 12 + 34?", "--think-max",
                     "6", "--answer-max", "4", "--temp", "0"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("[think format | thinking: 6 tokens (forced end)"), std::string::npos) << run.err;
}

// A rerun from an empty folder writes the same bytes (the recipe's thread count
// included: the bits depend on it).
TEST(MiniRecipe, RerunWritesTheSameModel) {
  const fs::path a = s1test::temp_dir("recipe-a"), b = s1test::temp_dir("recipe-b");
  for (const fs::path& dir : {a, b})
    ASSERT_EQ(run_s1({"train", "--recipe", "mini", "--quick", "--out", dir.string(), "--no-progress"}).exit_code, 0);
  EXPECT_EQ(s1test::read_file(a / "sft.jsonl"), s1test::read_file(b / "sft.jsonl"));
  EXPECT_TRUE(s1test::read_file(a / "final.gguf") == s1test::read_file(b / "final.gguf"));
}

TEST(MiniRecipe, QuickWithoutRecipeAndRecipeWithDataAreErrors) {
  auto quick = run_s1({"train", "--quick", "--out", s1test::temp_dir("recipe-bad").string()});
  EXPECT_EQ(quick.exit_code, 1);
  EXPECT_NE(quick.err.find("--quick applies to --recipe only"), std::string::npos) << quick.err;
  auto with_data = run_s1({"train", "--recipe", "mini", "--data", "x.jsonl", "--out",
                           s1test::temp_dir("recipe-bad").string()});
  EXPECT_EQ(with_data.exit_code, 1);
  EXPECT_NE(with_data.err.find("drop --base/--data"), std::string::npos) << with_data.err;
  auto unknown = run_s1({"train", "--recipe", "huge"});
  EXPECT_NE(unknown.exit_code, 0);
}

}  // namespace
