// Does the engine compute what llama.cpp computes? Every model in
// ../shared/conformance/models against llama.cpp's logits and greedy tokens
// (see ../shared/README.md for how the references were made and the bounds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "model/context.h"
#include "model/model.h"
#include "conformance/reference_files.h"
#include "support/test_support.h"

namespace {

std::filesystem::path conformance_dir() { return s1test::shared_dir() / "conformance"; }

using s1test::argmax;
using s1test::read_f32;
using s1test::read_ids;

struct Case {
  const char* model;
  const char* ref;     // reference name in ref/
  const char* prompt;  // prompt file in ref/
  bool exact;          // F32/F16: max error and greedy tokens; else RMS error and argmax agreement
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string name = info.param.ref;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

class Conformance : public testing::TestWithParam<Case> {};

TEST_P(Conformance, LogitsAndGreedyMatchLlamaCpp) {
  const Case& c = GetParam();
  const auto ref_dir = conformance_dir() / "ref";
  const auto prompt = read_ids(ref_dir / c.prompt);
  const auto ref = read_f32(ref_dir / (std::string(c.ref) + ".logits.f32"));
  const auto ref_greedy = read_ids(ref_dir / (std::string(c.ref) + ".greedy.txt"));

  auto model = s1::Model::load((conformance_dir() / "models" / (std::string(c.model) + ".gguf")).string());
  const int n_vocab = model->config().n_vocab;
  const int n = int(prompt.size());
  ASSERT_EQ(ref.size(), size_t(n) * size_t(n_vocab));

  s1::Context ctx(*model, {.n_ctx = n + 64, .max_sequences = 1});
  const int seq = ctx.new_sequence();
  s1::Batch batch;
  for (int i = 0; i < n; ++i) batch.add(prompt[size_t(i)], i, seq, true);
  auto logits = ctx.decode(batch);
  ASSERT_EQ(logits.size(), ref.size());

  const auto distance = s1test::logit_distance(logits.data(), ref.data(), n, n_vocab);
  const double rel_max = distance.rel_max, rel_rms = distance.rel_rms;
  const double agreement = distance.argmax_agreement;
  const int agree = int(std::lround(agreement * n));
  std::printf("[ figures  ] %s: max error %.2e of max |ref|, relative RMS %.2e, argmax %d/%d\n", c.ref,
              rel_max, rel_rms, agree, n);
  RecordProperty("max_rel_error", std::to_string(rel_max));
  RecordProperty("rms_rel_error", std::to_string(rel_rms));

  if (c.exact) {
    EXPECT_LE(rel_max, 1e-3);
    std::vector<int32_t> greedy;
    int next = argmax(logits.data() + size_t(n - 1) * n_vocab, n_vocab);
    for (size_t i = 0; i < ref_greedy.size(); ++i) {
      greedy.push_back(next);
      next = argmax(ctx.append(seq, std::span<const int32_t>(&greedy.back(), 1)).data(), n_vocab);
    }
    EXPECT_EQ(greedy, ref_greedy);
  } else {
    EXPECT_LE(rel_rms, 3e-2);
    EXPECT_GE(agreement, 0.95);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Conformance,
                         testing::Values(Case{"qwen2-f32", "qwen2-f32", "prompt64.txt", true},
                                         Case{"qwen2-f32", "qwen2-f32.long", "prompt700.txt", true},
                                         Case{"qwen2-f16", "qwen2-f16", "prompt64.txt", true},
                                         Case{"qwen2-bf16", "qwen2-bf16", "prompt64.txt", false},
                                         Case{"qwen2-q8_0", "qwen2-q8_0", "prompt64.txt", false},
                                         Case{"qwen2-q4_0", "qwen2-q4_0", "prompt64.txt", false},
                                         Case{"qwen2-q6_k", "qwen2-q6_k", "prompt64.txt", false},
                                         Case{"qwen2-q4_k_m", "qwen2-q4_k_m", "prompt64.txt", false},
                                         Case{"qwen2-q5_k_m", "qwen2-q5_k_m", "prompt64.txt", false},
                                         Case{"qwen2odd-q4_k_m", "qwen2odd-q4_k_m", "prompt64.txt", false},
                                         Case{"qwen3-f32", "qwen3-f32", "prompt64.txt", true},
                                         Case{"qwen3-q4_k_m", "qwen3-q4_k_m", "prompt64.txt", false},
                                         Case{"llama-f32", "llama-f32", "prompt64.txt", true},
                                         Case{"llama-q8_0", "llama-q8_0", "prompt64.txt", false}),
                         case_name);

// Every model file in the folder has a test case above (a new file is not silently skipped).
TEST(Conformance, EveryModelIsCovered) {
  std::set<std::string> covered = {"qwen2-f32",       "qwen2-f16",  "qwen2-bf16",   "qwen2-q8_0",
                                   "qwen2-q4_0",      "qwen2-q6_k", "qwen2-q4_k_m", "qwen2-q5_k_m",
                                   "qwen2odd-q4_k_m", "qwen3-f32",  "qwen3-q4_k_m", "llama-f32",
                                   "llama-q8_0"};
  for (const auto& entry : std::filesystem::directory_iterator(conformance_dir() / "models"))
    EXPECT_TRUE(covered.count(entry.path().stem().string())) << entry.path();
}

// The CLI writes the same bytes the reference has the shape of, and prints the greedy tokens.
TEST(Conformance, LogitsCommandWritesRowsAndGreedyTokens) {
  const auto dir = s1test::temp_dir("logits");
  const auto ref_dir = conformance_dir() / "ref";
  auto r = s1test::run_s1({"logits", "-m", (conformance_dir() / "models" / "qwen2-f32.gguf").string(),
                           "--tokens", (ref_dir / "prompt64.txt").string(), "--out",
                           (dir / "out.f32").string(), "--greedy", "32", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = read_f32(dir / "out.f32");
  const auto ref = read_f32(ref_dir / "qwen2-f32.logits.f32");
  ASSERT_EQ(got.size(), ref.size());
  float max_ref = 0, max_err = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(ref[i]));
    max_err = std::max(max_err, std::fabs(got[i] - ref[i]));
  }
  EXPECT_LE(max_err, 1e-3f * max_ref);
  std::istringstream out(r.out);
  std::vector<int32_t> greedy;
  for (int32_t id; out >> id;) greedy.push_back(id);
  EXPECT_EQ(greedy, read_ids(ref_dir / "qwen2-f32.greedy.txt"));
}

TEST(Conformance, LogitsCommandRejectsBadTokenFile) {
  const auto dir = s1test::temp_dir("logits-bad");
  s1test::write_file(dir / "t.txt", "1 2 banana 4");
  auto r = s1test::run_s1({"logits", "-m", (conformance_dir() / "models" / "qwen2-f32.gguf").string(),
                           "--tokens", (dir / "t.txt").string(), "--out", (dir / "out.f32").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'banana' is not a token id"), std::string::npos) << r.err;
}

}  // namespace
