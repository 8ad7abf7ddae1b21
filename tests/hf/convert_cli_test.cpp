// `s1 convert` and `s1 export-hf` beyond the plain round trip: sharded
// folders, --type, quantized models, and folders that do not fit (each a
// one-line error naming the file).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/gguf.h"
#include "hf/hf_config.h"
#include "hf/safetensors.h"
#include "support/test_support.h"
#include "tensor/quant.h"

namespace {

namespace fs = std::filesystem;
using s1test::run_s1;

// A small qwen2 model on mkmodel's tiny vocabulary, exported to `dir`/hf.
fs::path exported_folder(const fs::path& dir, const std::string& type = "bf16") {
  const auto model = (dir / "model.gguf").string();
  auto made = run_s1({"mkmodel", "--arch", "qwen2", "--type", type, "-o", model});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  auto exported = run_s1({"export-hf", model, (dir / "hf").string()});
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  return dir / "hf";
}

// Rewrites the folder's model.safetensors through `edit` (which gets every tensor and adds to the writer).
template <typename Edit>
void rewrite_weights(const fs::path& hf, Edit edit) {
  const auto path = (hf / "model.safetensors").string();
  const auto file = s1::safetensors::File::open(path);
  s1::safetensors::Writer w;
  w.set_metadata("format", "pt");
  for (const auto& t : file.tensors()) edit(t, w);
  w.write(path);  // the file's bytes are mapped: the writer renames a new file over it
}

void add_as_is(const s1::safetensors::Tensor& t, s1::safetensors::Writer& w) {
  w.add_tensor(t.name, *s1::safetensors::float_dtype(t.dtype), t.shape, {t.data, t.data + t.n_bytes});
}

std::string one_line_error(const s1test::CliResult& r) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  return r.err;
}

TEST(HfFolderConvert, ShardedFolderConvertsLikeOneFile) {
  const auto dir = s1test::temp_dir("hf-shards");
  const auto hf = exported_folder(dir);
  ASSERT_EQ(run_s1({"convert", hf.string(), "-o", (dir / "one.gguf").string()}).exit_code, 0);

  const auto whole = s1::safetensors::File::open((hf / "model.safetensors").string());
  s1::safetensors::Writer first, second;
  nlohmann::json map = nlohmann::json::object();
  for (size_t i = 0; i < whole.tensors().size(); ++i) {
    const auto& t = whole.tensors()[i];
    const bool in_first = i % 2 == 0;
    add_as_is(t, in_first ? first : second);
    map[t.name] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  const fs::path sharded = dir / "sharded";
  fs::create_directories(sharded);
  first.set_metadata("format", "pt");
  second.set_metadata("format", "pt");
  first.write((sharded / "model-00001-of-00002.safetensors").string());
  second.write((sharded / "model-00002-of-00002.safetensors").string());
  s1test::write_file(sharded / "model.safetensors.index.json", nlohmann::json{{"weight_map", map}}.dump());
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"}) fs::copy(hf / f, sharded / f);

  auto r = run_s1({"convert", sharded.string(), "-o", (dir / "two.gguf").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = s1::gguf::File::open((dir / "one.gguf").string()), b = s1::gguf::File::open((dir / "two.gguf").string());
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& t : a.tensors()) {
    const auto* u = b.find_tensor(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(std::memcmp(u->data, t.data, t.n_bytes), 0) << t.name;
  }

  // An index that names a shard the tensor is not in.
  map[whole.tensors()[0].name] = "model-00002-of-00002.safetensors";
  s1test::write_file(sharded / "model.safetensors.index.json", nlohmann::json{{"weight_map", map}}.dump());
  const auto err = one_line_error(run_s1({"convert", sharded.string(), "-o", (dir / "bad.gguf").string()}));
  EXPECT_NE(err.find("model.safetensors.index.json: tensor '" + whole.tensors()[0].name + "' is not in"), std::string::npos)
      << err;
}

TEST(HfFolderConvert, TypeFlagConvertsTheMatrices) {
  const auto dir = s1test::temp_dir("hf-type");
  const auto hf = exported_folder(dir, "bf16");
  auto r = run_s1({"convert", hf.string(), "--type", "f32", "-o", (dir / "f32.gguf").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bf16 = s1::gguf::File::open((dir / "model.gguf").string());
  const auto f32 = s1::gguf::File::open((dir / "f32.gguf").string());
  EXPECT_EQ(f32.get_int("general.file_type"), 0);
  const auto* a = bf16.find_tensor("blk.0.ffn_up.weight");
  const auto* b = f32.find_tensor("blk.0.ffn_up.weight");
  ASSERT_EQ(a->type, s1::DType::BF16);
  ASSERT_EQ(b->type, s1::DType::F32);
  std::vector<float> expected(a->n_elements);
  s1::dequantize_row(a->type, a->data, expected.data(), int64_t(expected.size()));
  EXPECT_EQ(std::memcmp(b->data, expected.data(), b->n_bytes), 0);  // bf16 widens exactly
  EXPECT_NE(one_line_error(run_s1({"convert", hf.string(), "--type", "q8_0", "-o", (dir / "q.gguf").string()}))
                .find("--type 'q8_0' is not f32, f16 or bf16"),
            std::string::npos);
}

TEST(HfExport, QuantizedTensorsNeedDequantize) {
  const auto dir = s1test::temp_dir("hf-quantized");
  const auto model = (dir / "q8.gguf").string();
  ASSERT_EQ(run_s1({"mkmodel", "--arch", "qwen3", "--type", "q8_0", "-o", model}).exit_code, 0);
  const auto err = one_line_error(run_s1({"export-hf", model, (dir / "hf").string()}));
  EXPECT_NE(err.find("is q8_0; Hugging Face folders hold F32, F16 or BF16 (--dequantize"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir / "hf" / "model.safetensors"));

  auto r = run_s1({"export-hf", "--dequantize", model, (dir / "hf").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(run_s1({"convert", (dir / "hf").string(), "-o", (dir / "back.gguf").string()}).exit_code, 0);
  const auto q = s1::gguf::File::open(model), back = s1::gguf::File::open((dir / "back.gguf").string());
  const auto* t = q.find_tensor("blk.1.attn_v.weight");
  const auto* u = back.find_tensor("blk.1.attn_v.weight");
  ASSERT_EQ(t->type, s1::DType::Q8_0);
  ASSERT_EQ(u->type, s1::DType::F32);
  std::vector<float> expected(t->n_elements);
  s1::dequantize_row(t->type, t->data, expected.data(), int64_t(expected.size()));
  EXPECT_EQ(std::memcmp(u->data, expected.data(), u->n_bytes), 0);
}

TEST(HfFolderConvert, FoldersThatDoNotFitAreOneLineErrors) {
  const auto dir = s1test::temp_dir("hf-bad");
  const auto hf = exported_folder(dir);
  const auto out = (dir / "x.gguf").string();

  rewrite_weights(hf, [](const s1::safetensors::Tensor& t, s1::safetensors::Writer& w) {
    add_as_is(t, w);
    if (t.name == "model.norm.weight") w.add_tensor("model.layers.0.mlp.extra.weight", s1::DType::F32, {1}, {0, 0, 0, 0});
  });
  auto err = one_line_error(run_s1({"convert", hf.string(), "-o", out}));
  EXPECT_NE(err.find("model.safetensors: tensor 'model.layers.0.mlp.extra.weight' has no place in s1's qwen2"),
            std::string::npos)
      << err;

  rewrite_weights(hf, [](const s1::safetensors::Tensor& t, s1::safetensors::Writer& w) {
    if (t.name != "model.layers.1.self_attn.k_proj.bias" && t.name != "model.layers.0.mlp.extra.weight") add_as_is(t, w);
  });
  err = one_line_error(run_s1({"convert", hf.string(), "-o", out}));
  EXPECT_NE(err.find("tensor 'model.layers.1.self_attn.k_proj.bias' (for blk.1.attn_k.bias) is missing"),
            std::string::npos)
      << err;

  auto config = nlohmann::json::parse(s1test::read_file(hf / "config.json"));
  config["num_hidden_layers"] = 1;  // the weights have two
  s1test::write_file(hf / "config.json", config.dump());
  err = one_line_error(run_s1({"convert", hf.string(), "-o", out}));
  EXPECT_NE(err.find("has no place in s1's qwen2"), std::string::npos) << err;

  config["model_type"] = "gemma";
  s1test::write_file(hf / "config.json", config.dump());
  err = one_line_error(run_s1({"convert", hf.string(), "-o", out}));
  EXPECT_NE(err.find("config.json: model_type 'gemma' is not supported (supported: qwen2, qwen3, llama, qwen3_moe)"),
            std::string::npos)
      << err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(HfExport, ArchitecturesWithoutAnHfFormAreRefused) {
  const auto dir = s1test::temp_dir("hf-arch");
  const auto model = (dir / "g.gguf").string();
  ASSERT_EQ(run_s1({"mkmodel", "--arch", "gpt-oss", "-o", model}).exit_code, 0);
  const auto err = one_line_error(run_s1({"export-hf", model, (dir / "hf").string()}));
  EXPECT_NE(err.find("architecture 'gpt-oss' has no Hugging Face form in s1 (supported: qwen2, qwen3, llama, qwen3moe)"),
            std::string::npos)
      << err;
}

// Llama 3.1's published rope scaling (8B: theta 500000, 128 dims, factor 8,
// low 1, high 4, 8192 original positions): the fastest pairs keep their
// frequency, the slowest are slowed 8 times, the band between blends
// monotonically, and the pair whose wavelength is exactly the midpoint of the
// blend is where 1/f = (1 - s)/8 + s.
TEST(HfConfig, Llama3RopeFactors) {
  s1::ModelConfig c;
  c.n_rot = 128;
  c.rope_theta = 500000;
  const auto f = s1::hf::llama3_rope_factors(c, {8, 1, 4, 8192});
  ASSERT_EQ(f.size(), 64u);
  EXPECT_EQ(f.front(), 1.0f);
  EXPECT_EQ(f.back(), 8.0f);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]);
  for (size_t i = 0; i < f.size(); ++i) {
    const double wavelen = 2 * M_PI * std::pow(500000.0, 2.0 * double(i) / 128);
    if (wavelen >= 8192.0 / 4 && wavelen <= 8192.0) {
      const double s = (8192 / wavelen - 1) / 3;
      EXPECT_NEAR(f[i], 1 / ((1 - s) / 8 + s), 1e-5) << i;
    }
  }
}

}  // namespace

namespace {

// Llama 3's own tokenizer_config.json has no add_bos_token: its tokenizer.json
// post-processor prepends BOS, and the conversion must keep that.
TEST(HfFolderConvert, BosFromThePostProcessorWhenTheConfigIsSilent) {
  const auto dir = s1test::temp_dir("hf-bos");
  const auto model = (dir / "llama.gguf").string();
  ASSERT_EQ(run_s1({"mkmodel", "--arch", "llama", "--vocab-from",
                    (s1test::shared_dir() / "tokenizer" / "ggml-vocab-llama-bpe.gguf").string(), "-o", model})
                .exit_code,
            0);
  const auto hf = dir / "hf";
  ASSERT_EQ(run_s1({"export-hf", model, hf.string()}).exit_code, 0);
  auto config = nlohmann::json::parse(s1test::read_file(hf / "tokenizer_config.json"));
  ASSERT_EQ(config["add_bos_token"], true);
  config.erase("add_bos_token");
  s1test::write_file(hf / "tokenizer_config.json", config.dump());
  ASSERT_EQ(run_s1({"convert", hf.string(), "-o", (dir / "back.gguf").string()}).exit_code, 0);
  EXPECT_EQ(s1::gguf::File::open((dir / "back.gguf").string()).get_bool("tokenizer.ggml.add_bos_token"), true);
}

}  // namespace
