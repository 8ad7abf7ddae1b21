// GGUF -> Hugging Face -> GGUF: `s1 export-hf` then `s1 convert` gives back
// the same tensors (bytes), configuration, vocabulary, merges and chat
// template, and the same logits, for random-weight models on the real qwen2 and
// Llama 3 vocabularies. The HF side is checked against outside conventions:
// a standard-library Python reader of the safetensors file
// (safetensors_probe.py), and, for llama's reordered q/k rows, transformers'
// rope (rotate-half: the engine's neox style) on the exported rows scoring
// queries against keys exactly as the engine's interleaved rope does on GGUF's.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "gguf/gguf.h"
#include "hf/safetensors.h"
#include "model/config.h"
#include "model/context.h"
#include "model/model.h"
#include "support/test_support.h"
#include "tensor/ops.h"
#include "tensor/quant.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using s1test::run_s1;

struct Case {
  const char* arch;
  const char* type;
  const char* vocab;          // in ../shared/tokenizer
  const char* chat_template;  // in ../shared/templates; "" keeps the vocabulary's
  bool tied;
};

constexpr std::array<Case, 4> kCases = {{
    {"qwen2", "bf16", "ggml-vocab-qwen2.gguf", "", false},
    {"qwen3", "f32", "ggml-vocab-qwen2.gguf", "Qwen-Qwen3-0.6B.jinja", true},
    {"llama", "f16", "ggml-vocab-llama-bpe.gguf", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", false},
    {"qwen3moe", "bf16", "ggml-vocab-qwen2.gguf", "", false},
}};

struct RoundTrip {
  fs::path original, hf_dir, back;
};

// Makes the case's model, exports it and converts it back (once per case).
const RoundTrip& round_trip(const Case& c) {
  static std::map<std::string, RoundTrip> done;
  if (auto it = done.find(c.arch); it != done.end()) return it->second;
  const fs::path dir = s1test::temp_dir(std::string("hf-") + c.arch);
  RoundTrip r{dir / "original.gguf", dir / "hf", dir / "back.gguf"};
  std::vector<std::string> args = {"mkmodel", "--arch", c.arch, "--type", c.type, "--seed", "7", "--stddev", "0.2",
                                   "--vocab-from", (s1test::shared_dir() / "tokenizer" / c.vocab).string(),
                                   "-o", r.original.string()};
  if (*c.chat_template) args.insert(args.end(), {"--chat-template", (s1test::shared_dir() / "templates" / c.chat_template).string()});
  if (c.tied) args.push_back("--tied");
  auto made = run_s1(args);
  EXPECT_EQ(made.exit_code, 0) << made.err;
  auto exported = run_s1({"export-hf", r.original.string(), r.hf_dir.string()});
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  auto converted = run_s1({"convert", r.hf_dir.string(), "-o", r.back.string()});
  EXPECT_EQ(converted.exit_code, 0) << converted.err;
  return done[c.arch] = r;
}

class HfRoundTrip : public testing::TestWithParam<Case> {};

TEST_P(HfRoundTrip, TensorsAreIdentical) {
  const RoundTrip& r = round_trip(GetParam());
  const auto a = s1::gguf::File::open(r.original.string()), b = s1::gguf::File::open(r.back.string());
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& t : a.tensors()) {
    const auto* u = b.find_tensor(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->type, t.type) << t.name;
    EXPECT_EQ(u->shape, t.shape) << t.name;
    ASSERT_EQ(u->n_bytes, t.n_bytes) << t.name;
    EXPECT_EQ(std::memcmp(u->data, t.data, t.n_bytes), 0) << t.name;
  }
}

TEST_P(HfRoundTrip, MetadataIsIdentical) {
  const RoundTrip& r = round_trip(GetParam());
  const auto a = s1::gguf::File::open(r.original.string()), b = s1::gguf::File::open(r.back.string());
  // Every key of the original comes back with its value (the name is the folder's).
  for (const auto& [key, value] : a.metadata()) {
    if (key == "general.name") continue;
    const auto* v = b.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_TRUE(*v == value) << key;
  }
  // The vocabulary as the engine reads it: tokens, types, merges, pre-tokenizer, special ids.
  const s1::Vocab va = s1::read_vocab(a), vb = s1::read_vocab(b);
  EXPECT_EQ(va.tokens, vb.tokens);
  EXPECT_EQ(va.types, vb.types);
  EXPECT_EQ(va.merges, vb.merges);
  EXPECT_EQ(va.pre, vb.pre);
  EXPECT_EQ(va.bos, vb.bos);
  EXPECT_EQ(va.eos, vb.eos);
  EXPECT_EQ(va.pad, vb.pad);
  EXPECT_EQ(va.add_bos, vb.add_bos);
  ASSERT_TRUE(a.get_string("tokenizer.chat_template").has_value());
  EXPECT_EQ(a.get_string("tokenizer.chat_template"), b.get_string("tokenizer.chat_template"));
}

TEST_P(HfRoundTrip, LogitsAreIdentical) {
  const RoundTrip& r = round_trip(GetParam());
  const std::vector<int32_t> prompt = {9707, 11, 1879, 0, 220, 16, 17, 18, 4340, 525};
  std::vector<std::vector<float>> logits;
  for (const fs::path& path : {r.original, r.back}) {
    const auto model = s1::Model::load(path.string());
    s1::Context ctx(*model, {.n_ctx = 32, .max_sequences = 1});
    const int seq = ctx.new_sequence();
    s1::Batch batch;
    for (int i = 0; i < int(prompt.size()); ++i) batch.add(prompt[size_t(i)], i, seq, true);
    const auto rows = ctx.decode(batch);
    logits.emplace_back(rows.begin(), rows.end());
  }
  ASSERT_EQ(logits[0].size(), prompt.size() * size_t(s1::Model::load(r.back.string())->config().n_vocab));
  EXPECT_TRUE(logits[0] == logits[1]);  // bit for bit: the same file contents
}

// The Python reader agrees with GGUF on every tensor's name, type, shape and
// values (first, middle, last element in row-major order), with llama's q/k
// rows mapped by the reordering transformers' layout needs.
TEST_P(HfRoundTrip, AnIndependentReaderSeesTheGgufValues) {
  if (std::system("python3 -c 'import json, struct' 2>/dev/null") != 0) GTEST_SKIP() << "no python3";
  const Case& c = GetParam();
  const RoundTrip& r = round_trip(c);
  const fs::path listing = r.hf_dir.parent_path() / "probe.txt";
  const std::string command = "python3 " + (s1test::source_dir() / "tests" / "hf" / "safetensors_probe.py").string() +
                              " " + (r.hf_dir / "model.safetensors").string() + " > " + listing.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto gguf = s1::gguf::File::open(r.original.string());
  const s1::ModelConfig config = s1::read_model_config(gguf);

  // Where HF's flat element i of `hf_name` lives in GGUF: tensor, flat index.
  auto gguf_element = [&](const std::string& hf_name, uint64_t i, uint64_t cols) -> float {
    std::string name;
    int expert = -1, layer = -1;
    char role[64] = {};
    if (hf_name == "model.embed_tokens.weight") name = "token_embd.weight";
    else if (hf_name == "model.norm.weight") name = "output_norm.weight";
    else if (hf_name == "lm_head.weight") name = "output.weight";
    else if (std::sscanf(hf_name.c_str(), "model.layers.%d.mlp.experts.%d.%63s", &layer, &expert, role) == 3 ||
             std::sscanf(hf_name.c_str(), "model.layers.%d.%63s", &layer, role) == 2) {
      static const std::map<std::string, std::string> kRoles = {
          {"input_layernorm.weight", "attn_norm.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
          {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.k_proj.weight", "attn_k.weight"},
          {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.o_proj.weight", "attn_output.weight"},
          {"self_attn.q_proj.bias", "attn_q.bias"},       {"self_attn.k_proj.bias", "attn_k.bias"},
          {"self_attn.v_proj.bias", "attn_v.bias"},       {"self_attn.q_norm.weight", "attn_q_norm.weight"},
          {"self_attn.k_norm.weight", "attn_k_norm.weight"}, {"mlp.gate_proj.weight", "ffn_gate.weight"},
          {"mlp.up_proj.weight", "ffn_up.weight"},        {"mlp.down_proj.weight", "ffn_down.weight"},
          {"mlp.gate.weight", "ffn_gate_inp.weight"},     {"gate_proj.weight", "ffn_gate_exps.weight"},
          {"up_proj.weight", "ffn_up_exps.weight"},       {"down_proj.weight", "ffn_down_exps.weight"}};
      const auto it = kRoles.find(role);
      if (it == kRoles.end()) ADD_FAILURE() << "unexpected HF tensor " << hf_name;
      name = "blk." + std::to_string(layer) + "." + (it == kRoles.end() ? "" : it->second);
    }
    const auto* t = gguf.find_tensor(name);
    if (!t) {
      ADD_FAILURE() << hf_name << " -> " << name << " is not in the GGUF";
      return NAN;
    }
    uint64_t row = i / cols;
    const uint64_t col = i % cols;
    // transformers keeps each head's rotated halves apart; llama.cpp interleaves llama's pairs.
    const bool q = name.ends_with("attn_q.weight") || name.ends_with("attn_q.bias");
    const bool k = name.ends_with("attn_k.weight") || name.ends_with("attn_k.bias");
    if (c.arch == std::string("llama") && (q || k)) {
      const uint64_t half = uint64_t(config.head_dim) / 2, head = row / (2 * half), p = row % (2 * half) / half,
                     j = row % half;
      row = head * 2 * half + 2 * j + p;
    }
    uint64_t flat = row * cols + col;
    if (expert >= 0) flat += uint64_t(expert) * t->shape[0] * t->shape[1];
    float v = 0;
    s1::dequantize_row(t->type, t->data + s1::row_bytes(t->type, flat), &v, 1);
    return v;
  };

  std::istringstream lines(s1test::read_file(listing));
  int seen = 0;
  for (std::string line; std::getline(lines, line); ++seen) {
    std::istringstream f(line);
    std::string name, dtype, shape_text;
    std::array<std::string, 3> values;
    f >> name >> dtype >> shape_text >> values[0] >> values[1] >> values[2];
    std::vector<uint64_t> shape;
    for (std::istringstream s(shape_text); s.good();) {
      uint64_t d = 0;
      char x;
      s >> d;
      shape.push_back(d);
      s >> x;
    }
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    const uint64_t cols = shape.back();
    const std::array<uint64_t, 3> at = {0, n / 2, n - 1};
    for (size_t i = 0; i < 3; ++i)
      EXPECT_EQ(std::stod(values[i]), double(gguf_element(name, at[i], cols))) << name << " element " << at[i];
  }
  // Every GGUF tensor but the MoE experts is one HF tensor; each expert is one more.
  size_t expected = gguf.tensors().size();
  if (config.moe()) expected += size_t(config.n_layer) * 3 * size_t(config.n_expert - 1);
  EXPECT_EQ(size_t(seen), expected);
}

INSTANTIATE_TEST_SUITE_P(Architectures, HfRoundTrip, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return std::string(info.param.arch); });

// q·k after rope does not depend on the layout: HF's rows with transformers'
// rotate-half rope (the engine's neox) give the scores GGUF's reordered rows
// give with llama's interleaved rope (the engine's normal style), for every
// query head against its key head, at several position pairs.
TEST(HfLlamaRows, ReorderedQKRowsScoreAlikeUnderEachLayoutsRope) {
  const RoundTrip& r = round_trip(kCases[2]);
  const auto gguf = s1::gguf::File::open(r.original.string());
  const auto hf = s1::safetensors::File::open((r.hf_dir / "model.safetensors").string());
  const s1::ModelConfig c = s1::read_model_config(gguf);
  const int hd = c.head_dim, d = c.n_embd;

  auto matrix = [](const uint8_t* data, s1::DType type, int rows, int cols) {
    std::vector<float> m(size_t(rows) * size_t(cols));
    s1::dequantize_row(type, data, m.data(), int64_t(m.size()));
    return m;
  };
  auto times = [&](const std::vector<float>& m, const std::vector<float>& x, int rows) {
    std::vector<float> y(static_cast<size_t>(rows), 0.0f);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < d; ++j) y[size_t(i)] += m[size_t(i) * size_t(d) + size_t(j)] * x[size_t(j)];
    return y;
  };
  const auto x = s1test::gaussian_values(d, 1.0f, 3);
  const int nq = c.n_head * hd, nk = c.n_head_kv * hd;
  const auto* gq = gguf.find_tensor("blk.1.attn_q.weight");
  const auto* gk = gguf.find_tensor("blk.1.attn_k.weight");
  const auto* hq = hf.find("model.layers.1.self_attn.q_proj.weight");
  const auto* hk = hf.find("model.layers.1.self_attn.k_proj.weight");
  ASSERT_TRUE(gq && gk && hq && hk);
  ASSERT_EQ(hq->dtype, "F16");
  const auto q_gguf = times(matrix(gq->data, gq->type, nq, d), x, nq), k_gguf = times(matrix(gk->data, gk->type, nk, d), x, nk);
  const auto q_hf = times(matrix(hq->data, s1::DType::F16, nq, d), x, nq),
             k_hf = times(matrix(hk->data, s1::DType::F16, nk, d), x, nk);
  EXPECT_FALSE(q_gguf == q_hf);  // the rows really are in another order

  const s1::ops::Rope interleaved(s1::ops::RopeStyle::normal, c.n_rot, c.rope_theta, 1.0, {});
  const s1::ops::Rope halves(s1::ops::RopeStyle::neox, c.n_rot, c.rope_theta, 1.0, {});
  for (auto [pq, pk] : {std::pair{5, 2}, std::pair{17, 17}, std::pair{300, 41}}) {
    auto qg = q_gguf, kg = k_gguf, qh = q_hf, kh = k_hf;
    interleaved.apply(qg.data(), c.n_head, hd, pq);
    interleaved.apply(kg.data(), c.n_head_kv, hd, pk);
    halves.apply(qh.data(), c.n_head, hd, pq);
    halves.apply(kh.data(), c.n_head_kv, hd, pk);
    for (int h = 0; h < c.n_head; ++h) {
      const int kv = h / (c.n_head / c.n_head_kv);
      double sg = 0, sh = 0, scale = 0;
      for (int i = 0; i < hd; ++i) {
        sg += double(qg[size_t(h * hd + i)]) * kg[size_t(kv * hd + i)];
        sh += double(qh[size_t(h * hd + i)]) * kh[size_t(kv * hd + i)];
        scale += std::abs(double(qg[size_t(h * hd + i)]) * kg[size_t(kv * hd + i)]);
      }
      EXPECT_NEAR(sg, sh, 1e-5 * scale) << "head " << h << " positions " << pq << ", " << pk;
    }
  }
}

}  // namespace
