// quantize_file / `s1 quantize` against llama-quantize's own outputs of the
// conformance models, plus the per-tensor type rules on synthetic models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/context.h"
#include "model/model.h"
#include "model/quantize.h"
#include "support/test_support.h"
#include "tensor/quant.h"
#include "util/error.h"

namespace s1 {
namespace {

std::string model_path(const std::string& name) {
  return (s1test::shared_dir() / "conformance" / "models" / (name + ".gguf")).string();
}

std::vector<std::pair<std::string, DType>> tensor_types(const gguf::File& file) {
  std::vector<std::pair<std::string, DType>> types;
  for (const auto& t : file.tensors()) types.emplace_back(t.name, t.type);
  return types;
}

struct RecipeFile {
  const char* source;
  const char* recipe;
  const char* expected;  // llama.cpp's file for this source and recipe
};

class QuantizeFile : public testing::TestWithParam<RecipeFile> {};

TEST_P(QuantizeFile, WritesTheFileLlamaQuantizeWrites) {
  const auto [source, recipe, expected] = GetParam();
  const auto out = s1test::temp_dir("quantize") / "out.gguf";
  quantize_file(model_path(source), out.string(), recipe, 3);
  // Same metadata (file type included), tensor order, types and bytes.
  EXPECT_TRUE(s1test::read_file(out) == s1test::read_file(model_path(expected)))
      << source << " as " << recipe << " differs from " << expected;
}

INSTANTIATE_TEST_SUITE_P(Recipes, QuantizeFile,
                         testing::Values(RecipeFile{"qwen2-f32", "Q8_0", "qwen2-q8_0"},
                                         RecipeFile{"qwen2-f32", "q4_0", "qwen2-q4_0"},
                                         RecipeFile{"qwen2-f32", "Q6_K", "qwen2-q6_k"},
                                         RecipeFile{"qwen2-f32", "Q4_K_M", "qwen2-q4_k_m"},
                                         RecipeFile{"qwen2-f32", "q5_k_m", "qwen2-q5_k_m"},
                                         RecipeFile{"qwen2-f32", "F16", "qwen2-f16"},
                                         RecipeFile{"qwen2-f32", "BF16", "qwen2-bf16"},
                                         RecipeFile{"qwen3-f32", "Q4_K_M", "qwen3-q4_k_m"},
                                         RecipeFile{"llama-f32", "Q8_0", "llama-q8_0"}),
                         [](const auto& info) {
                           std::string name = std::string(info.param.source) + "_" + info.param.recipe;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(Quantize, Q4_K_MTypesMatchLlamaCpp) {
  const auto f32 = gguf::File::open(model_path("qwen2-f32"));
  const auto reference = gguf::File::open(model_path("qwen2-q4_k_m"));
  EXPECT_EQ(quantize_plan(f32, "Q4_K_M"), tensor_types(reference));
}

TEST(Quantize, RowsThatDoNotFitKBlocksFallBackLikeTheQwen25Files) {
  // embd 384 and ff 1152 are not multiples of 256: Q4_K -> Q5_0, Q6_K -> Q8_0,
  // and the tied embedding (the output) -> Q8_0.
  const auto odd = gguf::File::open(model_path("qwen2odd-q4_k_m"));
  EXPECT_EQ(quantize_plan(odd, "Q4_K_M"), tensor_types(odd));
  for (const auto& [name, type] : quantize_plan(odd, "Q5_K_M"))
    EXPECT_TRUE(type == DType::F32 || type == DType::Q5_0 || type == DType::Q8_0) << name;
}

TEST(Quantize, EachRecipeReadsBackWithItsTypesAndFileType) {
  struct Expect {
    const char* recipe;
    DType matrix, output;
    int64_t file_type;
  };
  const Expect cases[] = {
      {"Q8_0", DType::Q8_0, DType::Q8_0, 7},   {"Q4_0", DType::Q4_0, DType::Q6_K, 2},
      {"Q5_0", DType::Q5_0, DType::Q6_K, 8},   {"Q4_K_M", DType::Q4_K, DType::Q6_K, 15},
      {"Q5_K_M", DType::Q5_K, DType::Q6_K, 17}, {"Q6_K", DType::Q6_K, DType::Q6_K, 18},
      {"F16", DType::F16, DType::F16, 1},      {"BF16", DType::BF16, DType::BF16, 32},
  };
  const auto source = gguf::File::open(model_path("qwen2-f32"));
  const auto dir = s1test::temp_dir("quantize-recipes");
  for (const auto& c : cases) {
    const auto out = (dir / (std::string(c.recipe) + ".gguf")).string();
    quantize_file(model_path("qwen2-f32"), out, c.recipe, 2);
    const auto file = gguf::File::open(out);
    EXPECT_EQ(file.get_int("general.file_type"), c.file_type) << c.recipe;
    EXPECT_EQ(file.get_int("general.quantization_version"), 2) << c.recipe;
    for (const auto& [key, value] : source.metadata()) {
      const auto* copied = file.find(key);
      ASSERT_NE(copied, nullptr) << c.recipe << " lost " << key;
      EXPECT_TRUE(*copied == value) << c.recipe << " changed " << key;
    }
    ASSERT_EQ(file.tensors().size(), source.tensors().size());
    for (const auto& t : file.tensors()) {
      const bool mixture_q6 = std::string(c.recipe).ends_with("_K_M") && t.name.starts_with("blk.1.") &&
                              (t.name.ends_with("attn_v.weight") || t.name.ends_with("ffn_down.weight"));
      const DType want = t.shape.size() < 2 ? DType::F32
                         : t.name == "output.weight" || mixture_q6 ? c.output
                                                                     : c.matrix;
      EXPECT_EQ(t.type, want) << c.recipe << " " << t.name;
      // The values are the source's, within the format's error.
      const auto* src = source.find_tensor(t.name);
      std::vector<float> a(src->n_elements), b(t.n_elements);
      dequantize_row(src->type, src->data, a.data(), int64_t(a.size()));
      dequantize_row(t.type, t.data, b.data(), int64_t(b.size()));
      double err = 0, ref = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        err += (a[i] - b[i]) * (a[i] - b[i]);
        ref += a[i] * a[i];
      }
      EXPECT_LE(err, 0.15 * 0.15 * ref) << c.recipe << " " << t.name;
    }
  }
}

// A synthetic model: n_layer layers of tiny attn_v / ffn_down / attn_q
// matrices with 256-element rows, plus a norm and a tied embedding.
std::string synthetic_model(const std::filesystem::path& dir, int n_layer, DType matrix_type = DType::F32) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value{std::string("llama")});
  w.set("llama.block_count", gguf::Value{uint32_t(n_layer)});
  auto add = [&](const std::string& name, std::vector<uint64_t> shape, DType type) {
    uint64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> values(n);
    for (uint64_t i = 0; i < n; ++i) values[i] = float((i * 7919) % 97) / 97.0f - 0.5f;
    std::vector<uint8_t> bytes(row_bytes(type, n));
    quantize_row(type, values.data(), bytes.data(), int64_t(n));
    w.add_tensor(name, type, std::move(shape), std::move(bytes));
  };
  add("token_embd.weight", {256, 4}, matrix_type);
  add("output_norm.weight", {256}, DType::F32);
  for (int i = 0; i < n_layer; ++i) {
    const std::string blk = "blk." + std::to_string(i) + ".";
    add(blk + "attn_q.weight", {256, 2}, matrix_type);
    add(blk + "attn_v.weight", {256, 2}, matrix_type);
    add(blk + "ffn_down.weight", {256, 2}, matrix_type);
    add(blk + "attn_norm.weight", {256, 1}, DType::F32);  // trailing 1: still 1-D
  }
  const auto path = (dir / "synthetic.gguf").string();
  w.write(path);
  return path;
}

TEST(Quantize, KMixtureGivesMoreBitsToTheFirstAndLastEighthAndEveryThirdLayer) {
  const auto path = synthetic_model(s1test::temp_dir("quantize-layers"), 16);
  const auto file = gguf::File::open(path);
  const auto plan = quantize_plan(file, "Q5_K_M");
  // llama.cpp's use_more_bits(i, 16): i < 2, i >= 14, or (i - 2) % 3 == 2.
  const std::vector<int> more_bits = {0, 1, 4, 7, 10, 13, 14, 15};
  int n_seen = 0;
  for (const auto& [name, type] : plan) {
    if (name == "token_embd.weight") {
      EXPECT_EQ(type, DType::Q6_K) << "tied output";
    }
    if (name.ends_with("_norm.weight")) {
      EXPECT_EQ(type, DType::F32) << name;
    }
    if (name.ends_with("attn_q.weight")) {
      EXPECT_EQ(type, DType::Q5_K) << name;
    }
    if (name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight")) {
      const int layer = std::stoi(name.substr(4));
      const bool more = std::find(more_bits.begin(), more_bits.end(), layer) != more_bits.end();
      EXPECT_EQ(type, more ? DType::Q6_K : DType::Q5_K) << name;
      ++n_seen;
    }
  }
  EXPECT_EQ(n_seen, 32);
  // Written in llama.cpp's order: non-layer tensors, then layer 0, 1, ..., 9, 10 (numerically).
  EXPECT_EQ(plan[0].first, "output_norm.weight");
  EXPECT_EQ(plan[1].first, "token_embd.weight");
  EXPECT_EQ(plan[2].first, "blk.0.attn_norm.weight");
  EXPECT_EQ(plan[2 + 4 * 2].first, "blk.2.attn_norm.weight");
}

// A random-weight qwen3moe model (8 experts of ff 32, embd 64) from `s1 mkmodel`.
std::string moe_model(const std::filesystem::path& dir, const std::vector<std::string>& extra = {}) {
  const auto path = (dir / "moe.gguf").string();
  std::vector<std::string> args = {"mkmodel", "--arch", "qwen3moe", "--seed", "5", "-o", path};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = s1test::run_s1(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

// llama.cpp's Mixtral rules, for exactly 8 experts: attn_v and attn_k Q8_0,
// attn_output Q5_K in Q4_K_M (byte-identical to llama-quantize's files on the
// deepseek2 conformance models, tests/conformance); with 16 experts, none.
TEST(Quantize, EightExpertsGetLlamaCppsMixtralTypes) {
  for (int experts : {8, 16}) {
    const auto dir = s1test::temp_dir("quantize-eight-experts");
    // Rows of 256, so no K block falls back.
    const auto file = gguf::File::open(moe_model(dir, {"--set", "expert_count=" + std::to_string(experts), "--set",
                                                       "embedding_length=256", "--set", "attention.key_length=64",
                                                       "--set", "attention.value_length=64"}));
    for (const auto& [name, type] : quantize_plan(file, "q4_k_m")) {
      if (name.ends_with("attn_k.weight")) {
        EXPECT_EQ(type, experts == 8 ? DType::Q8_0 : DType::Q4_K) << name;
      }
      if (name.ends_with("attn_output.weight")) {
        EXPECT_EQ(type, experts == 8 ? DType::Q5_K : DType::Q4_K) << name;
      }
      if (name.ends_with("attn_v.weight") && experts == 8) {
        EXPECT_EQ(type, DType::Q8_0) << name;
      }
    }
    for (const auto& [name, type] : quantize_plan(file, "q8_0")) EXPECT_NE(type, DType::Q5_K) << name;
  }
}

// llama.cpp's MXFP4_MOE: expert stacks (ne[2] > 1) MXFP4, every other weight
// matrix Q8_0 (the output and the embedding, tied or not), the router and 1-D
// tensors as they are.
TEST(Quantize, Mxfp4MoeGivesTheExpertsMxfp4AndEveryOtherMatrixQ8_0) {
  for (bool tied : {false, true}) {
    const auto dir = s1test::temp_dir("quantize-mxfp4-plan");
    const auto file = gguf::File::open(moe_model(dir, tied ? std::vector<std::string>{"--tied"} : std::vector<std::string>{}));
    const auto plan = quantize_plan(file, "mxfp4_moe");
    ASSERT_EQ(plan.size(), file.tensors().size());
    int n_experts = 0, n_q8 = 0;
    for (const auto& [name, type] : plan) {
      const auto* t = file.find_tensor(name);
      ASSERT_NE(t, nullptr) << name;
      DType want = DType::Q8_0;
      if (t->shape.size() < 2 || name.ends_with("_norm.weight") || name.ends_with("ffn_gate_inp.weight")) {
        want = t->type;
      } else if (t->shape.size() == 3 && t->shape[2] > 1) {
        want = DType::MXFP4;
        ++n_experts;
      } else {
        ++n_q8;
      }
      EXPECT_EQ(type, want) << name << (tied ? " (tied)" : "");
    }
    EXPECT_EQ(n_experts, 3 * int(*file.get_int("qwen3moe.block_count")));
    EXPECT_GT(n_q8, 0);
    EXPECT_EQ(file.find_tensor("output.weight") == nullptr, tied);
  }
}

TEST(Quantize, Mxfp4MoeFallsBackForRowsOffTheBlockAndKeepsSingleExpertStacksQ8_0) {
  // An architecture the engine does not know: llama.cpp's name rules decide
  // what is a matrix, the shape what is an expert stack.
  gguf::Writer w;
  w.set("general.architecture", gguf::Value{std::string("gpt-unknown")});
  auto add = [&](const std::string& name, std::vector<uint64_t> shape) {
    uint64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> values(n, 0.25f);
    std::vector<uint8_t> bytes(n * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    w.add_tensor(name, DType::F32, std::move(shape), std::move(bytes));
  };
  add("token_embd.weight", {64, 4});
  add("blk.0.ffn_up_exps.weight", {64, 16, 4});
  add("blk.0.ffn_down_exps.weight", {48, 64, 4});  // rows of 48: not a whole MXFP4 block -> F16
  add("blk.0.ffn_up_shexp.weight", {64, 16, 1});   // ne[2] == 1: not an expert stack
  add("blk.0.attn_q.weight", {64, 64});
  add("blk.0.attn_k.weight", {40, 64});  // rows of 40: not a whole Q8_0 block -> F16
  add("blk.0.attn_norm.weight", {64});
  const auto dir = s1test::temp_dir("quantize-mxfp4-rules");
  const auto path = (dir / "in.gguf").string();
  w.write(path);
  std::map<std::string, DType> plan;
  for (const auto& [name, type] : quantize_plan(gguf::File::open(path), "MXFP4_MOE")) plan[name] = type;
  EXPECT_EQ(plan["token_embd.weight"], DType::Q8_0);
  EXPECT_EQ(plan["blk.0.ffn_up_exps.weight"], DType::MXFP4);
  EXPECT_EQ(plan["blk.0.ffn_down_exps.weight"], DType::F16);
  EXPECT_EQ(plan["blk.0.ffn_up_shexp.weight"], DType::Q8_0);
  EXPECT_EQ(plan["blk.0.attn_q.weight"], DType::Q8_0);
  EXPECT_EQ(plan["blk.0.attn_k.weight"], DType::F16);
  EXPECT_EQ(plan["blk.0.attn_norm.weight"], DType::F32);
}

// The written file: file type 38, the expert bytes quantize_row's, and a model
// the engine runs. Its logits match those of the same model with every weight
// dequantized to F32 (the engine's only difference there is rounding the
// activations to int8), on whatever kernel set the suite runs with.
TEST(Quantize, Mxfp4MoeModelRunsLikeItsDequantizedWeights) {
  const auto dir = s1test::temp_dir("quantize-mxfp4-run");
  const auto source_path = moe_model(dir);
  const auto out = (dir / "mxfp4.gguf").string();
  quantize_file(source_path, out, "MXFP4_MOE", 2);
  const auto source = gguf::File::open(source_path);
  const auto file = gguf::File::open(out);
  EXPECT_EQ(file.get_int("general.file_type"), 38);
  const auto* experts = file.find_tensor("blk.0.ffn_down_exps.weight");
  ASSERT_NE(experts, nullptr);
  ASSERT_EQ(experts->type, DType::MXFP4);
  const auto* f32 = source.find_tensor("blk.0.ffn_down_exps.weight");
  std::vector<uint8_t> expected(row_bytes(DType::MXFP4, f32->n_elements));
  quantize_row(DType::MXFP4, reinterpret_cast<const float*>(f32->data), expected.data(), int64_t(f32->n_elements));
  ASSERT_EQ(size_t(experts->n_bytes), expected.size());
  EXPECT_EQ(std::memcmp(experts->data, expected.data(), expected.size()), 0);

  // The same model with its weights dequantized.
  gguf::Writer w;
  for (const auto& [key, value] : file.metadata()) w.set(key, value);
  for (const auto& t : file.tensors()) {
    std::vector<uint8_t> bytes(size_t(t.n_elements) * 4);
    dequantize_row(t.type, t.data, reinterpret_cast<float*>(bytes.data()), int64_t(t.n_elements));
    w.add_tensor(t.name, DType::F32, t.shape, std::move(bytes));
  }
  const auto dequantized = (dir / "dequantized.gguf").string();
  w.write(dequantized);

  const std::vector<int32_t> prompt = {5, 77, 101, 9, 200, 31, 64, 250, 18, 3, 140, 99};
  auto logits = [&](const std::string& path) {
    auto model = Model::load(path);
    Context ctx(*model, {.n_ctx = 64, .n_threads = 2});
    const int seq = ctx.new_sequence();
    std::vector<float> all;
    for (int32_t token : prompt) {  // one token at a time (decode kernels), then the prompt at once (prefill)
      const auto row = ctx.append(seq, std::span<const int32_t>(&token, 1));
      all.insert(all.end(), row.begin(), row.end());
    }
    const int batch = ctx.new_sequence();
    const auto row = ctx.append(batch, prompt);
    all.insert(all.end(), row.begin(), row.end());
    return all;
  };
  const auto a = logits(out), b = logits(dequantized);
  ASSERT_EQ(a.size(), b.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(std::isfinite(a[i])) << i;
    err += (a[i] - b[i]) * (a[i] - b[i]);
    ref += b[i] * b[i];
  }
  EXPECT_LT(std::sqrt(err / ref), 0.02);  // measured 0.008 on avx512, avx2 and scalar
}

TEST(Quantize, HalfPrecisionInputsAreDecodedFirst) {
  // Same per-tensor types as from F32, values within Q8_0 error of the F32 model.
  const auto f32 = gguf::File::open(model_path("qwen2-f32"));
  const auto dir = s1test::temp_dir("quantize-half");
  for (const char* source : {"qwen2-f16", "qwen2-bf16"}) {
    const auto out = (dir / (std::string(source) + ".gguf")).string();
    quantize_file(model_path(source), out, "Q8_0", 2);
    const auto file = gguf::File::open(out);
    EXPECT_EQ(tensor_types(file), quantize_plan(f32, "Q8_0")) << source;
    const auto* t = file.find_tensor("blk.0.ffn_up.weight");
    const auto* ref = f32.find_tensor("blk.0.ffn_up.weight");
    std::vector<float> a(ref->n_elements), b(t->n_elements);
    dequantize_row(ref->type, ref->data, a.data(), int64_t(a.size()));
    dequantize_row(t->type, t->data, b.data(), int64_t(b.size()));
    double err = 0, norm = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      err += (a[i] - b[i]) * (a[i] - b[i]);
      norm += a[i] * a[i];
    }
    EXPECT_LT(err, 0.01 * 0.01 * norm) << source;
  }
}

TEST(Quantize, RequantizesAQuantizedModel) {
  const auto dir = s1test::temp_dir("quantize-requant");
  const auto out = (dir / "q8.gguf").string();
  quantize_file(model_path("qwen2odd-q4_k_m"), out, "Q8_0", 1);
  const auto file = gguf::File::open(out);
  for (const auto& t : file.tensors()) EXPECT_EQ(t.type, t.shape.size() < 2 ? DType::F32 : DType::Q8_0) << t.name;
  EXPECT_EQ(file.get_int("general.file_type"), 7);
}

TEST(Quantize, RejectsUnknownRecipesListingTheSupportedOnes) {
  try {
    quantize_file(model_path("qwen2-f32"), "/nonexistent/out.gguf", "Q3_K_M", 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Q3_K_M"), std::string::npos) << msg;
    for (const auto& name : quantize_recipes()) EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

TEST(Quantize, RejectsTensorsItCannotDecode) {
  const auto dir = s1test::temp_dir("quantize-q4_1");
  gguf::Writer w;
  w.add_tensor("blk.0.attn_q.weight", DType::Q4_1, {32, 2}, std::vector<uint8_t>(40, 0));
  const auto in = (dir / "in.gguf").string();
  w.write(in);
  try {
    quantize_file(in, (dir / "out.gguf").string(), "Q8_0", 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("blk.0.attn_q.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("q4_1"), std::string::npos) << msg;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
}

TEST(QuantizeCli, WritesTheModelAndRejectsBadTypes) {
  const auto dir = s1test::temp_dir("quantize-cli");
  const auto out = (dir / "q4.gguf").string();
  auto ok = s1test::run_s1({"quantize", model_path("qwen2-f32"), out, "q4_k_m", "--threads", "2"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("27 tensors"), std::string::npos) << ok.out;
  EXPECT_TRUE(s1test::read_file(out) == s1test::read_file(model_path("qwen2-q4_k_m")));

  auto bad = s1test::run_s1({"quantize", model_path("qwen2-f32"), (dir / "x.gguf").string(), "q2_k"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown quantization type 'q2_k'"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("Q4_K_M"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.gguf"));
}

}  // namespace
}  // namespace s1
