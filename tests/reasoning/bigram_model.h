#pragma once
// A real qwen2 GGUF whose next token depends only on the current one: a
// bigram table written into the weights. Every attention and MLP matrix is
// zero, so the residual stream is the token's embedding (a one-hot row) and
// the logits are the output row of that one-hot: output[next][current].
// Tests script the "model" exactly (greedy) or give it odds (sampling).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/context.h"
#include "model/model.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"
#include "reasoning/test_vocab.h"
#include "util/error.h"

namespace s1test {

struct BigramModel {
  // transitions[current] = {next token: logit}; unlisted tokens get logit 0.
  std::map<int, std::map<int, float>> transitions;
  std::string chat_template;  // empty: none
  // Up to 4 user-defined tokens after the byte vocabulary's (ids 260...):
  // whole phrases a test scripts as one step, such as a tool call.
  std::vector<std::string> extra_tokens;

  void write(const std::string& path) const {
    s1::Vocab vocab = byte_vocab();
    for (const std::string& text : extra_tokens) {
      vocab.tokens.push_back(text);
      vocab.types.push_back(int32_t(s1::TokenType::user_defined));
    }
    const int n_vocab = int(vocab.tokens.size());
    const int n_embd = 264;  // >= n_vocab so each token gets its own axis; a multiple of 2 heads
    if (n_vocab > n_embd) throw s1::Error("a bigram test model holds at most 4 extra tokens");
    const int n_ff = 16;
    using s1::gguf::Value;
    s1::gguf::Writer w;
    w.set("general.architecture", Value{std::string("qwen2")});
    w.set("general.name", Value{std::string("bigram test model")});
    w.set("qwen2.block_count", Value{uint32_t(1)});
    w.set("qwen2.context_length", Value{uint32_t(4096)});
    w.set("qwen2.embedding_length", Value{uint32_t(n_embd)});
    w.set("qwen2.feed_forward_length", Value{uint32_t(n_ff)});
    w.set("qwen2.attention.head_count", Value{uint32_t(2)});
    w.set("qwen2.attention.head_count_kv", Value{uint32_t(1)});
    w.set("qwen2.rope.freq_base", Value{1000000.0f});
    w.set("qwen2.attention.layer_norm_rms_epsilon", Value{1e-6f});
    w.set("tokenizer.ggml.model", Value{std::string("gpt2")});
    w.set("tokenizer.ggml.pre", Value{std::string("qwen2")});
    w.set("tokenizer.ggml.tokens", s1::gguf::make_string_array(vocab.tokens));
    w.set("tokenizer.ggml.token_type", s1::gguf::make_int_array(vocab.types));
    w.set("tokenizer.ggml.merges", s1::gguf::make_string_array({}));
    w.set("tokenizer.ggml.eos_token_id", Value{uint32_t(kImEnd)});
    if (!chat_template.empty()) w.set("tokenizer.chat_template", Value{chat_template});

    auto f32 = [](const std::vector<float>& v) {
      std::vector<uint8_t> bytes(v.size() * 4);
      std::memcpy(bytes.data(), v.data(), bytes.size());
      return bytes;
    };
    auto zeros = [&](uint64_t rows, uint64_t cols) { return f32(std::vector<float>(rows * cols, 0.0f)); };
    auto ones = [&](uint64_t n) { return f32(std::vector<float>(n, 1.0f)); };
    const uint64_t E = n_embd, V = uint64_t(n_vocab), H = E / 2;

    std::vector<float> embd(V * E, 0.0f), out(V * E, 0.0f);
    for (uint64_t t = 0; t < V; ++t) embd[t * E + t] = 1.0f;
    // After the RMS norm a one-hot row is sqrt(E) on its axis: scale so the
    // listed logits come out exactly.
    const float unit = 1.0f / std::sqrt(float(E));
    for (const auto& [current, nexts] : transitions)
      for (const auto& [next, logit] : nexts) out[uint64_t(next) * E + uint64_t(current)] = logit * unit;

    w.add_tensor("token_embd.weight", s1::DType::F32, {E, V}, f32(embd));
    w.add_tensor("output_norm.weight", s1::DType::F32, {E}, ones(E));
    w.add_tensor("output.weight", s1::DType::F32, {E, V}, f32(out));
    w.add_tensor("blk.0.attn_norm.weight", s1::DType::F32, {E}, ones(E));
    w.add_tensor("blk.0.attn_q.weight", s1::DType::F32, {E, E}, zeros(E, E));
    w.add_tensor("blk.0.attn_q.bias", s1::DType::F32, {E}, zeros(1, E));
    w.add_tensor("blk.0.attn_k.weight", s1::DType::F32, {E, H}, zeros(H, E));
    w.add_tensor("blk.0.attn_k.bias", s1::DType::F32, {H}, zeros(1, H));
    w.add_tensor("blk.0.attn_v.weight", s1::DType::F32, {E, H}, zeros(H, E));
    w.add_tensor("blk.0.attn_v.bias", s1::DType::F32, {H}, zeros(1, H));
    w.add_tensor("blk.0.attn_output.weight", s1::DType::F32, {E, E}, zeros(E, E));
    w.add_tensor("blk.0.ffn_norm.weight", s1::DType::F32, {E}, ones(E));
    w.add_tensor("blk.0.ffn_gate.weight", s1::DType::F32, {E, uint64_t(n_ff)}, zeros(n_ff, E));
    w.add_tensor("blk.0.ffn_up.weight", s1::DType::F32, {E, uint64_t(n_ff)}, zeros(n_ff, E));
    w.add_tensor("blk.0.ffn_down.weight", s1::DType::F32, {uint64_t(n_ff), E}, zeros(E, n_ff));
    w.write(path);
  }
};

// A bigram model written to a temporary file and loaded, with a context.
struct LoadedBigram {
  std::unique_ptr<s1::Model> model;
  std::unique_ptr<s1::Tokenizer> tokenizer;
  std::unique_ptr<s1::Context> context;
};

inline LoadedBigram load(const BigramModel& spec, const std::string& tag) {
  const auto path = (temp_dir(tag) / "model.gguf").string();
  spec.write(path);
  LoadedBigram l;
  l.model = s1::Model::load(path);
  l.tokenizer = std::make_unique<s1::Tokenizer>(s1::Tokenizer::load(path));
  l.context = std::make_unique<s1::Context>(*l.model, s1::ContextParams{.n_ctx = 2048, .n_threads = 1});
  return l;
}

}  // namespace s1test
