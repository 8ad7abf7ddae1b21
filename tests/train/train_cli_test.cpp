// `s1 train` end to end: a trained model `s1 run` loads, same seed same bits,
// resume after kill -9 ends with the bits of an uninterrupted run, config
// files, and bad input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstring>
#include <thread>

#include "gguf/gguf.h"
#include "train/matmul_bf16.h"

#include <fmt/format.h>

#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using s1test::run_s1;

struct Fixture {
  fs::path dir, model, data;
};

// A tiny random qwen2 model (byte vocabulary, ChatML) and 12 conversations.
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f;
    f.dir = s1test::temp_dir("train-cli");
    f.model = f.dir / "base.gguf";
    f.data = f.dir / "data.jsonl";
    auto r = run_s1({"mkmodel", "--arch", "qwen2", "--layers", "2", "--embd", "32", "--heads", "4", "--kv-heads", "2",
                     "--ff", "64", "-o", f.model.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string jsonl;
    for (int i = 0; i < 12; ++i)
      jsonl += fmt::format(R"({{"messages": [{{"role": "user", "content": "What is {0} plus {0}?"}}, )"
                           R"({{"role": "assistant", "thinking": "{0} and {0} make {1}.", "content": "{1}"}}]}})"
                           "\n",
                           i, 2 * i);
    s1test::write_file(f.data, jsonl);
    return f;
  }();
  return f;
}

std::vector<std::string> train_args(const fs::path& out, int steps) {
  const Fixture& f = fixture();
  return {"train", "--base", f.model.string(), "--data", f.data.string(), "--out", out.string(), "--steps",
          std::to_string(steps), "--batch", "4", "--lr", "1e-3", "--seed", "7", "--threads", "2", "--save-every", "1",
          "--no-progress"};
}

// A whole file (GGUFs compare equal only when metadata and every tensor byte match).
std::string file_bytes(const fs::path& p) { return s1test::read_file(p); }

TEST(TrainCli, TrainsAModelThatRunLoads) {
  const fs::path out = s1test::temp_dir("train-run");
  std::vector<std::string> args = train_args(out, 6);
  for (const char* a : {"--eval-split", "0.25", "--eval-every", "3"}) args.push_back(a);
  auto r = run_s1(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(out / "final.gguf"));
  const std::string log = s1test::read_file(out / "log.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 6);
  for (const char* key : {"\"step\":6", "\"loss\"", "\"lr\"", "\"grad_norm\"", "\"tokens_per_s\""})
    EXPECT_NE(log.find(key), std::string::npos) << key;
  size_t evals = 0;
  for (size_t at = log.find("eval_loss"); at != std::string::npos; at = log.find("eval_loss", at + 1)) ++evals;
  EXPECT_EQ(evals, 2u);  // steps 3 and 6
  for (const char* file : {"final.gguf", "checkpoint.gguf"}) {
    auto run = run_s1({"run", "-m", (out / file).string(), "-p", "hi", "-n", "3", "--seed", "1"});
    EXPECT_EQ(run.exit_code, 0) << file << ": " << run.err;
  }
}

TEST(TrainCli, FreshModelOfAGivenShapeAndVocabulary) {
  const fs::path out = s1test::temp_dir("train-fresh");
  const Fixture& f = fixture();
  auto r = run_s1({"train", "--fresh-arch", "qwen3", "--layers", "1", "--embd", "32", "--heads", "2", "--kv-heads",
                   "1", "--ff", "48", "--vocab-from", f.model.string(), "--data", f.data.string(), "--out",
                   out.string(), "--steps", "2", "--batch", "4", "--threads", "2", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(out / "init.gguf"));
  auto info = run_s1({"info", "-m", (out / "final.gguf").string(), "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("\"architecture\":\"qwen3\""), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("\"layers\":1,"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("\"embedding\":32,"), std::string::npos) << info.out;

  auto both = run_s1({"train", "--fresh-arch", "qwen3", "--base", f.model.string(), "--data", f.data.string(),
                      "--out", out.string()});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
}

// Training computes dense blocks only; a mixture of experts is refused before
// any step, naming the architecture and what does train.
TEST(TrainCli, MixtureOfExpertsIsRefusedClearly) {
  const fs::path out = s1test::temp_dir("train-moe");
  const Fixture& f = fixture();
  auto r = run_s1({"train", "--fresh-arch", "qwen3moe", "--vocab-from", f.model.string(), "--data", f.data.string(),
                   "--out", out.string(), "--steps", "1", "--threads", "2", "--no-progress"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("training does not support the qwen3moe architecture yet (it trains qwen2, qwen3, llama)"),
            std::string::npos)
      << r.err;
}

TEST(TrainCli, SameSeedSameBits) {
  const fs::path a = s1test::temp_dir("train-seed-a"), b = s1test::temp_dir("train-seed-b");
  ASSERT_EQ(run_s1(train_args(a, 4)).exit_code, 0);
  ASSERT_EQ(run_s1(train_args(b, 4)).exit_code, 0);
  EXPECT_TRUE(file_bytes(a / "final.gguf") == file_bytes(b / "final.gguf"));
}

TEST(TrainCli, ResumeAfterKill9MatchesUninterruptedRun) {
  const int steps = 120;
  const fs::path whole = s1test::temp_dir("train-whole"), killed = s1test::temp_dir("train-killed");
  ASSERT_EQ(run_s1(train_args(whole, steps)).exit_code, 0);

  const std::vector<std::string> args = train_args(killed, steps);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::string binary = S1_BINARY;
    std::vector<std::string> copy = args;
    std::vector<char*> argv = {binary.data()};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  // Kill it as soon as the first checkpoint is in place.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(killed / "checkpoint.gguf") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
  ASSERT_FALSE(fs::exists(killed / "final.gguf"));
  ASSERT_FALSE(s1test::read_file(killed / "log.jsonl").empty());

  auto r = run_s1(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(file_bytes(whole / "final.gguf") == file_bytes(killed / "final.gguf"));
  for (const auto& entry : fs::directory_iterator(killed))  // a write cut short leaves no temporary behind
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  // One line per step: the rerun continued the log from the checkpoint (a
  // fresh start would have appended all its steps after the killed run's).
  const std::string log = s1test::read_file(killed / "log.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), steps);
}

TEST(TrainCli, JsonAndTomlConfigsWithFlagsWinning) {
  const Fixture& f = fixture();
  const fs::path dir = s1test::temp_dir("train-config");
  s1test::write_file(dir / "c.json", fmt::format(R"({{"base": "{}", "data": ["{}"], "out": "{}", "steps": 2, )"
                                                 R"("batch": 2, "max_len": 512, "threads": 2, "lr": 0.5}})",
                                                 f.model.string(), f.data.string(), (dir / "j").string()));
  s1test::write_file(dir / "c.toml", fmt::format("# comment\nbase = \"{}\"\ndata = [\"{}\"]\nout = \"{}\"\nsteps = 2\n"
                                                 "batch = 2\nmax-len = 512\nthreads = 2\nno-progress = true\n",
                                                 f.model.string(), f.data.string(), (dir / "t").string()));
  ASSERT_EQ(run_s1({"train", "--config", (dir / "c.json").string(), "--lr", "0.25"}).exit_code, 0);
  ASSERT_EQ(run_s1({"train", "--config", (dir / "c.toml").string()}).exit_code, 0);
  EXPECT_NE(s1test::read_file(dir / "j" / "log.jsonl").find("\"lr\":0.25"), std::string::npos);
  EXPECT_NE(s1test::read_file(dir / "t" / "log.jsonl").find("\"lr\":1e-05"), std::string::npos);
  s1test::write_file(dir / "bad.json", R"({"bogus": 1})");
  auto r = run_s1({"train", "--config", (dir / "bad.json").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown key 'bogus'"), std::string::npos) << r.err;
}

TEST(TrainCli, MalformedLineNamedAndSkippedOnlyWithSkipBad) {
  const Fixture& f = fixture();
  const fs::path dir = s1test::temp_dir("train-bad");
  const std::string good = s1test::read_file(f.data);
  s1test::write_file(dir / "d.jsonl", good.substr(0, good.find('\n') + 1) + "{not json\n" + good);
  std::vector<std::string> args = {"train", "--base", f.model.string(), "--data", (dir / "d.jsonl").string(), "--out",
                                   (dir / "o").string(), "--steps", "1", "--batch", "2", "--threads", "2"};
  auto r = run_s1(args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("d.jsonl:2: the line is not valid JSON"), std::string::npos) << r.err;
  args.push_back("--skip-bad");
  r = run_s1(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("d.jsonl:2: skipped"), std::string::npos) << r.err;
}

TEST(TrainCli, LongExamplesDroppedWithACount) {
  const Fixture& f = fixture();
  const fs::path dir = s1test::temp_dir("train-long");
  auto r = run_s1({"train", "--base", f.model.string(), "--data", f.data.string(), "--out", (dir / "o").string(),
                   "--steps", "1", "--batch", "2", "--threads", "2", "--max-len", "40"});
  EXPECT_NE(r.err.find("dropped 12 examples longer than the maximum length of 40 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.exit_code, 0);  // nothing left to train on
}

TEST(TrainCli, OutOfMemoryPlanRefusedWithEstimate) {
  const Fixture& f = fixture();
  const fs::path dir = s1test::temp_dir("train-oom");
  auto r = run_s1({"train", "--base", f.model.string(), "--data", f.data.string(), "--out", (dir / "o").string(),
                   "--steps", "1", "--threads", "2", "--micro-tokens", "2000000000"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("training would need about"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o" / "checkpoint.gguf"));
}

TEST(TrainCli, ConversationWithoutAssistantIsAnError) {
  const Fixture& f = fixture();
  const fs::path dir = s1test::temp_dir("train-noassistant");
  s1test::write_file(dir / "d.jsonl", R"({"messages": [{"role": "user", "content": "hi"}]})" "\n");
  auto r = run_s1({"train", "--base", f.model.string(), "--data", (dir / "d.jsonl").string(), "--out",
                   (dir / "o").string(), "--steps", "1", "--skip-bad"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("d.jsonl:1: the conversation has no assistant turn"), std::string::npos) << r.err;
}

}  // namespace

namespace {

TEST(TrainCli, FrozenGroupsKeepTheirWeights) {
  const Fixture& f = fixture();
  const fs::path dir = s1test::temp_dir("train-freeze");
  std::vector<std::string> args = train_args(dir, 2);
  for (const char* g : {"--freeze", "embeddings", "--freeze", "norms"}) args.push_back(g);
  ASSERT_EQ(run_s1(args).exit_code, 0);
  const auto base = s1::gguf::File::open(f.model.string()), trained = s1::gguf::File::open((dir / "final.gguf").string());
  auto same = [&](const char* name) {
    const auto *x = base.find_tensor(name), *y = trained.find_tensor(name);
    return x && y && x->n_bytes == y->n_bytes && std::memcmp(x->data, y->data, x->n_bytes) == 0;
  };
  EXPECT_TRUE(same("token_embd.weight"));
  EXPECT_TRUE(same("blk.0.attn_norm.weight"));
  EXPECT_TRUE(same("output_norm.weight"));
  EXPECT_FALSE(same("blk.0.attn_q.weight"));
  EXPECT_FALSE(same("output.weight"));
}

}  // namespace

namespace {

// LoRA: training writes the adapter and the merged model; `s1 lora merge`
// of that adapter into the base gives the same model; rerunning the finished
// command resumes from the checkpoint (adapter included) to the same bits.
TEST(TrainCli, LoraAdapterMergesToTheTrainedModel) {
  const Fixture& f = fixture();
  const fs::path dir = s1test::temp_dir("train-lora");
  std::vector<std::string> args = train_args(dir / "o", 3);
  for (const char* a : {"--lora-rank", "4", "--lora-alpha", "8"}) args.push_back(a);
  auto r = run_s1(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(dir / "o" / "adapter.gguf"));
  const std::string trained = file_bytes(dir / "o" / "final.gguf");

  r = run_s1({"lora", "merge", "--base", f.model.string(), "--adapter", (dir / "o" / "adapter.gguf").string(), "-o",
              (dir / "merged.gguf").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(file_bytes(dir / "merged.gguf") == trained);
  EXPECT_FALSE(file_bytes(f.model) == trained);

  ASSERT_EQ(run_s1(args).exit_code, 0);
  EXPECT_TRUE(file_bytes(dir / "o" / "final.gguf") == trained);

  r = run_s1({"lora", "merge", "--base", f.model.string(), "--adapter", f.model.string(), "-o",
              (dir / "bad.gguf").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not a LoRA adapter"), std::string::npos) << r.err;
}

}  // namespace

namespace {

TEST(TrainCli, Bf16RunIsReproducible) {
  if (!s1::train::bf16_matmul_available()) GTEST_SKIP() << "no AVX512-BF16";
  const fs::path a = s1test::temp_dir("train-bf16-a"), b = s1test::temp_dir("train-bf16-b");
  std::vector<std::string> args_a = train_args(a, 3), args_b = train_args(b, 3);
  args_a.push_back("--bf16");
  args_b.push_back("--bf16");
  ASSERT_EQ(run_s1(args_a).exit_code, 0);
  ASSERT_EQ(run_s1(args_b).exit_code, 0);
  EXPECT_TRUE(file_bytes(a / "final.gguf") == file_bytes(b / "final.gguf"));
}

}  // namespace

namespace {

// --batch-tokens: a step takes whole examples up to that many tokens.
TEST(TrainCli, BatchByTokens) {
  const Fixture& f = fixture();
  auto steps_with = [&](const char* batch_tokens) {
    const fs::path dir = s1test::temp_dir("train-batch-tokens");
    auto r = run_s1({"train", "--base", f.model.string(), "--data", f.data.string(), "--out", dir.string(), "--epochs",
                     "1", "--batch-tokens", batch_tokens, "--threads", "2", "--no-progress"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string log = s1test::read_file(dir / "log.jsonl");
    return std::count(log.begin(), log.end(), '\n');
  };
  EXPECT_EQ(steps_with("1"), 12);      // one example per step, however long
  EXPECT_EQ(steps_with("100000"), 1);  // the whole epoch in one step
}

}  // namespace
