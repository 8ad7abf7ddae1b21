// `s1 mkmodel`: tensor names, shapes, types and metadata as llama.cpp expects.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "gguf/gguf.h"
#include "model/config.h"
#include "model/shapes.h"
#include "support/test_support.h"
#include "tensor/blocks.h"

using s1::DType;
using s1::gguf::File;

namespace {

std::string make_model(const std::vector<std::string>& args, const std::string& name = "m.gguf") {
  auto path = (s1test::temp_dir("mkmodel") / name).string();
  std::vector<std::string> all = {"mkmodel"};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"-o", path});
  auto r = s1test::run_s1(all);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

const std::vector<std::string> kSmallQwen2 = {"--arch", "qwen2", "--layers", "2", "--embd", "64",
                                              "--heads", "4", "--kv-heads", "2", "--ff", "96"};

void expect_tensor(const File& f, const std::string& name, std::vector<uint64_t> shape, DType type) {
  const auto* t = f.find_tensor(name);
  ASSERT_NE(t, nullptr) << name;
  EXPECT_EQ(t->shape, shape) << name;
  EXPECT_EQ(t->type, type) << name;
}

std::span<const float> floats(const s1::gguf::TensorInfo& t) {
  return {reinterpret_cast<const float*>(t.data), size_t(t.n_elements)};
}

}  // namespace

TEST(CliMkmodel, Qwen2TensorsAndMetadata) {
  File f = File::open(make_model(kSmallQwen2));
  EXPECT_EQ(f.get_string("general.architecture"), "qwen2");
  EXPECT_EQ(f.get_int("qwen2.block_count"), 2);
  EXPECT_EQ(f.get_int("qwen2.embedding_length"), 64);
  EXPECT_EQ(f.get_int("qwen2.attention.head_count"), 4);
  EXPECT_EQ(f.get_int("qwen2.attention.head_count_kv"), 2);
  EXPECT_EQ(f.get_int("qwen2.feed_forward_length"), 96);
  EXPECT_EQ(f.get_int("qwen2.context_length"), 4096);
  EXPECT_EQ(f.get_float("qwen2.rope.freq_base"), 1e6);
  EXPECT_FLOAT_EQ(float(*f.get_float("qwen2.attention.layer_norm_rms_epsilon")), 1e-6f);
  EXPECT_EQ(f.get_int("general.file_type"), 0);
  EXPECT_EQ(f.find("qwen2.attention.key_length"), nullptr);
  // Tiny byte vocabulary: 256 bytes + 8 merged tokens + 5 specials.
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "qwen2");
  const auto* tokens = f.get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->items.size(), 269u);
  EXPECT_EQ(*tokens->items[0].as_string(), "\xc4\x80");  // byte 0 -> U+0100
  EXPECT_EQ(*tokens->items['A'].as_string(), "A");
  EXPECT_EQ(*tokens->items[' '].as_string(), "\xc4\xa0");  // 'Ġ'
  EXPECT_EQ(*tokens->items[264].as_string(), "<|endoftext|>");
  EXPECT_EQ(*tokens->items[267].as_string(), "<think>");
  EXPECT_EQ(f.get_int("tokenizer.ggml.eos_token_id"), 266);  // <|im_end|>
  EXPECT_EQ(f.get_array("tokenizer.ggml.merges")->items.size(), 8u);
  EXPECT_TRUE(f.get_string("tokenizer.chat_template").has_value());

  EXPECT_EQ(f.tensors().size(), 3u + 2 * 12);
  expect_tensor(f, "token_embd.weight", {64, 269}, DType::F32);
  expect_tensor(f, "output_norm.weight", {64}, DType::F32);
  expect_tensor(f, "output.weight", {64, 269}, DType::F32);
  for (int l = 0; l < 2; ++l) {
    auto n = [&](const char* s) { return "blk." + std::to_string(l) + "." + s; };
    expect_tensor(f, n("attn_norm.weight"), {64}, DType::F32);
    expect_tensor(f, n("attn_q.weight"), {64, 64}, DType::F32);
    expect_tensor(f, n("attn_k.weight"), {64, 32}, DType::F32);
    expect_tensor(f, n("attn_v.weight"), {64, 32}, DType::F32);
    expect_tensor(f, n("attn_q.bias"), {64}, DType::F32);
    expect_tensor(f, n("attn_k.bias"), {32}, DType::F32);
    expect_tensor(f, n("attn_v.bias"), {32}, DType::F32);
    expect_tensor(f, n("attn_output.weight"), {64, 64}, DType::F32);
    expect_tensor(f, n("ffn_norm.weight"), {64}, DType::F32);
    expect_tensor(f, n("ffn_gate.weight"), {64, 96}, DType::F32);
    expect_tensor(f, n("ffn_up.weight"), {64, 96}, DType::F32);
    expect_tensor(f, n("ffn_down.weight"), {96, 64}, DType::F32);
  }
  for (float v : floats(*f.find_tensor("blk.1.ffn_norm.weight"))) EXPECT_EQ(v, 1.0f);
}

TEST(CliMkmodel, WeightsAreNormalWithStd002) {
  File f = File::open(make_model({"--arch", "llama", "--layers", "1", "--embd", "256", "--heads", "4",
                                  "--kv-heads", "4", "--ff", "1024"}));
  double sum = 0, sq = 0;
  auto w = floats(*f.find_tensor("blk.0.ffn_up.weight"));
  for (float v : w) {
    sum += v;
    sq += double(v) * v;
  }
  double mean = sum / double(w.size()), std = std::sqrt(sq / double(w.size()) - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(std, 0.02, 0.0005);
}

TEST(CliMkmodel, Qwen3HasHeadNormsAndDecoupledHeadDim) {
  File f = File::open(make_model({"--arch", "qwen3", "--layers", "1", "--embd", "64", "--heads", "4", "--kv-heads",
                                  "2", "--ff", "96", "--head-dim", "32", "--tied"}));
  EXPECT_EQ(f.get_int("qwen3.attention.key_length"), 32);
  EXPECT_EQ(f.get_int("qwen3.attention.value_length"), 32);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied
  expect_tensor(f, "blk.0.attn_q.weight", {64, 128}, DType::F32);
  expect_tensor(f, "blk.0.attn_k.weight", {64, 64}, DType::F32);
  expect_tensor(f, "blk.0.attn_output.weight", {128, 64}, DType::F32);
  expect_tensor(f, "blk.0.attn_q_norm.weight", {32}, DType::F32);
  expect_tensor(f, "blk.0.attn_k_norm.weight", {32}, DType::F32);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.bias"), nullptr);
}

TEST(CliMkmodel, LlamaDefaults) {
  File f = File::open(make_model({"--arch", "llama", "--layers", "1", "--embd", "64", "--heads", "4", "--kv-heads",
                                  "1", "--ff", "96", "--ctx", "2048"}));
  EXPECT_EQ(f.get_float("llama.rope.freq_base"), 5e5);
  EXPECT_FLOAT_EQ(float(*f.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(f.get_int("llama.context_length"), 2048);
  EXPECT_EQ(f.get_int("llama.rope.dimension_count"), 16);
  EXPECT_EQ(f.get_int("llama.vocab_size"), 269);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.bias"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q_norm.weight"), nullptr);
}

TEST(CliMkmodel, SameSeedSameFileAndF16IsF32Rounded) {
  auto a = make_model(kSmallQwen2, "a.gguf");
  auto b = make_model(kSmallQwen2, "b.gguf");
  EXPECT_EQ(s1test::read_file(a), s1test::read_file(b));
  auto args = kSmallQwen2;
  args.insert(args.end(), {"--seed", "7"});
  auto c = make_model(args, "c.gguf");
  EXPECT_NE(s1test::read_file(a), s1test::read_file(c));

  for (const char* type : {"f16", "bf16"}) {
    auto half_args = kSmallQwen2;
    half_args.insert(half_args.end(), {"--type", type});
    File f32 = File::open(a);
    File half = File::open(make_model(half_args, std::string(type) + ".gguf"));
    bool is_f16 = std::string(type) == "f16";
    EXPECT_EQ(half.get_int("general.file_type"), is_f16 ? 1 : 32);
    for (const auto& t : f32.tensors()) {
      const auto* h = half.find_tensor(t.name);
      ASSERT_NE(h, nullptr);
      if (t.shape.size() == 1) {  // norms and biases stay f32
        EXPECT_EQ(h->type, DType::F32) << t.name;
        continue;
      }
      ASSERT_EQ(h->type, is_f16 ? DType::F16 : DType::BF16) << t.name;
      auto full = floats(t);
      auto* bits = reinterpret_cast<const uint16_t*>(h->data);
      for (size_t i = 0; i < full.size(); ++i)
        ASSERT_EQ(bits[i], is_f16 ? s1::f32_to_f16(full[i]) : s1::f32_to_bf16(full[i])) << t.name << " " << i;
    }
  }
}

TEST(CliMkmodel, VocabFromCopiesTokenizer) {
  auto vocab = (s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string();
  auto args = kSmallQwen2;
  args.insert(args.end(), {"--vocab-from", vocab, "--type", "f16", "--tied"});
  File f = File::open(make_model(args));
  File v = File::open(vocab);
  for (const auto& [key, value] : v.metadata()) {
    if (!key.starts_with("tokenizer.")) continue;
    const auto* copied = f.find(key);
    ASSERT_NE(copied, nullptr) << key;
    EXPECT_TRUE(*copied == value) << key;
  }
  expect_tensor(f, "token_embd.weight", {64, 151936}, DType::F16);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
}

TEST(CliMkmodel, NamedShapesMatchTheRealModels) {
  auto config = [](const char* name) {
    const auto* shape = s1::find_model_shape(name);
    EXPECT_NE(shape, nullptr) << name;
    s1::ModelConfig c = s1::shape_config(*shape);
    s1::complete_config(c, name);
    return c;
  };
  const auto q = config("qwen2.5-0.5b");
  EXPECT_EQ(q.n_layer, 24);
  EXPECT_EQ(q.n_embd, 896);
  EXPECT_EQ(q.head_dim, 64);
  EXPECT_TRUE(q.tied_output);
  EXPECT_EQ(config("qwen3-0.6b").q_dim(), 2048);  // decoupled from embd 1024
  EXPECT_EQ(config("llama-3.2-1b").rope_theta, 5e5);
  const auto moe = config("qwen3-30b-a3b");
  EXPECT_EQ(moe.n_expert, 128);
  EXPECT_EQ(moe.n_expert_used, 8);
  EXPECT_EQ(moe.n_ff_exp, 768);
  EXPECT_FALSE(moe.tied_output);
  for (const auto& s : s1::model_shapes()) {
    ASSERT_NE(s1::find_arch(s.arch), nullptr) << s.name;
    config(std::string(s.name).c_str());
  }
  // Every architecture has a default shape that is a complete configuration.
  for (const auto& a : s1::architectures()) {
    s1::ModelConfig c = s1::shape_config(s1::default_shape(a.name));
    s1::complete_config(c, a.name);
  }
}

// `--set KEY=VALUE` writes any metadata key of the architecture; a model of
// every architecture's default shape loads.
TEST(CliMkmodel, SetKeysAndDefaultShapes) {
  File f = File::open(make_model({"--arch", "qwen3moe", "--set", "expert_count=4", "--set", "expert_used_count=3",
                                  "--set", "rope.freq_base=10000", "--layers", "3"}));
  EXPECT_EQ(f.get_int("qwen3moe.block_count"), 3);
  EXPECT_EQ(f.get_int("qwen3moe.expert_count"), 4);
  EXPECT_EQ(f.get_int("qwen3moe.expert_used_count"), 3);
  EXPECT_EQ(f.get_int("qwen3moe.expert_feed_forward_length"), 32);
  EXPECT_EQ(f.get_float("qwen3moe.rope.freq_base"), 1e4);
  expect_tensor(f, "blk.2.ffn_gate_inp.weight", {64, 4}, DType::F32);
  expect_tensor(f, "blk.2.ffn_gate_exps.weight", {64, 32, 4}, DType::F32);
  expect_tensor(f, "blk.2.ffn_up_exps.weight", {64, 32, 4}, DType::F32);
  expect_tensor(f, "blk.2.ffn_down_exps.weight", {32, 64, 4}, DType::F32);
  EXPECT_EQ(f.find_tensor("blk.0.ffn_up.weight"), nullptr);
  expect_tensor(f, "blk.0.attn_q_norm.weight", {32}, DType::F32);

  for (const auto& a : s1::architectures()) {
    const std::string arch(a.name);
    for (const char* type : {"f16", "q4_k_m"}) {
      auto path = make_model({"--arch", arch, "--type", type}, arch + "-" + type + ".gguf");
      auto r = s1test::run_s1({"run", "-m", path, "-p", "hello", "-n", "4", "--temp", "0"});
      EXPECT_EQ(r.exit_code, 0) << arch << " " << type << ": " << r.err;
    }
  }
}

TEST(CliMkmodel, BadArgumentsAreErrors) {
  auto dir = s1test::temp_dir("mkmodel");
  auto out = (dir / "x.gguf").string();
  struct Case {
    std::vector<std::string> args;
    const char* expected;
  };
  std::vector<Case> cases = {
      {{"--arch", "gpt9", "--layers", "1", "--embd", "64", "--heads", "4", "--kv-heads", "2", "--ff", "8"},
       "unknown --arch 'gpt9'"},
      {{"--layers", "1"}, "needs --arch ARCH or --shape NAME"},
      {{"--arch", "qwen2", "--layers", "1", "--embd", "64", "--heads", "4", "--kv-heads", "3", "--ff", "8"},
       "cannot be grouped over 3 KV heads"},
      {{"--arch", "qwen2", "--layers", "1", "--embd", "66", "--heads", "4", "--kv-heads", "2", "--ff", "8"},
       "embedding length 66 is not a multiple of 4 heads"},
      {{"--arch", "qwen2", "--set", "expert_count=8"}, "'expert_count' is not a qwen2 metadata key (known: block_count"},
      {{"--arch", "qwen2", "--set", "block_count"}, "--set 'block_count' is not KEY=VALUE"},
      {{"--arch", "qwen2", "--set", "block_count=two"}, "'two' is not an integer"},
      {{"--arch", "qwen3moe", "--set", "expert_used_count=9"}, "expert_used_count 9 is more than expert_count 8"},
      {{"--shape", "qwen9-7b"}, "unknown --shape 'qwen9-7b'"},
      {{"--shape", "qwen3-0.6b", "--arch", "llama"}, "is a qwen3 model"},
      {{"--arch", "qwen2", "--layers", "1", "--embd", "64", "--heads", "4", "--kv-heads", "2", "--ff", "8", "--type",
        "q3_k_xl"},
       "unknown --type 'q3_k_xl'"},
      {{"--arch", "qwen2", "--layers", "1", "--embd", "64", "--heads", "4", "--kv-heads", "2", "--ff", "8",
        "--vocab-from", (dir / "none.gguf").string()},
       "none.gguf"},
  };
  for (auto& c : cases) {
    std::vector<std::string> args = {"mkmodel"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"-o", out});
    auto r = s1test::run_s1(args);
    EXPECT_EQ(r.exit_code, 1) << c.expected;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

#if __has_include("model/quantize.h")
TEST(CliMkmodel, QuantizedTypesGoThroughTheQuantizer) {
  auto args = kSmallQwen2;
  args[5] = "256";   // --embd and --ff: whole K blocks per row
  args[11] = "256";
  args.insert(args.end(), {"--type", "q4_k_m"});
  auto path = make_model(args);
  File f = File::open(path);
  EXPECT_EQ(f.get_int("general.file_type"), 15);  // Q4_K - Medium
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight")->type, DType::Q4_K);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.bias")->type, DType::F32);
  EXPECT_EQ(f.find_tensor("output.weight")->type, DType::Q6_K);
  // The f32 intermediate is gone.
  auto dir = std::filesystem::path(path).parent_path();
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
}
#endif
