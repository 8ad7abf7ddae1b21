#include "model/context.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "tensor/blocks.h"
#include "tensor/kernel_set.h"
#include "tensor/matmul.h"
#include "tensor/quant.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace s1 {

namespace {

// A stretch of a prompt this long or longer goes through attention blocks.
constexpr int kAttentionBlockTokens = 4;
// Query rows per attention block: enough that reading its keys and values
// once is a small part of the block's work, few enough to keep threads busy.
constexpr int kAttentionBlockQueries = 128;

int resolve_threads(int requested) {
  const int cores = std::max(available_cores(), 1);
  if (requested <= 0) return cores;
  if (requested > cores) {
    log_warn("{} threads requested but {} cores are available; using {}", requested, cores, cores);
    return cores;
  }
  return requested;
}

// Writes n floats into a KV row of the cache's type.
void store_row(const float* src, uint8_t* dst, int n, DType type) {
  if (type == DType::F32) {
    std::copy(src, src + n, reinterpret_cast<float*>(dst));
  } else {
    auto* out = reinterpret_cast<f16_bits*>(dst);
    for (int i = 0; i < n; ++i) out[i] = f32_to_f16(src[i]);
  }
}

// Per layer, its index among the layers of its kind (attention or recurrent).
std::vector<int> layer_slots(const ModelConfig& c) {
  std::vector<int> slots;
  int attention = 0, recurrent = 0;
  for (int i = 0; i < c.n_layer; ++i) slots.push_back(c.is_recurrent(i) ? recurrent++ : attention++);
  return slots;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// gate[i] = act(gate[i], up[i]) for i in [0, n): the FFNs' gated activation.
void gated_activation(const ModelConfig& c, float* gate, const float* up, int64_t n) {
  if (c.ffn_activation == FfnActivation::swiglu_clamped)
    ops::swiglu_clamped(gate, up, gate, n, 1.702f, 7.0f);  // gpt-oss's alpha and limit, as llama.cpp fixes them
  else
    ops::swiglu(gate, up, gate, n);
}
// log(1 + e^x), as ggml computes it (linear above 20).
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace

Context::Context(const Model& model, ContextParams params)
    : model_(model),
      params_(params),
      pool_(std::make_unique<ThreadPool>(resolve_threads(params.n_threads))),
      layer_slot_(layer_slots(model.config())),
      kv_(model.config().n_layer - model.config().n_recurrent_layers(), model.config().kv_dim(), params.n_ctx,
          params.max_sequences, params.kv_type, /*values_in_keys=*/model.config().mla()),
      recurrent_(model.config().n_recurrent_layers(), model.config().recurrent_state_floats(), params.max_sequences) {
  const ModelConfig& c = config();
  if (params_.n_ctx <= 0) fail("context size {} is not positive", params_.n_ctx);
  params_.n_threads = pool_->size();
  params_.max_chunk = std::clamp(params_.max_chunk, 1, 4096);
  max_seq_len_ = std::min(params_.n_ctx, c.n_ctx_train);
  rope_ = ops::Rope(c.rope_style, c.n_rot, c.rope_theta, c.rope_freq_scale, model.rope_freq_factors());
  if (c.rope_scaling == RopeScaling::yarn)
    rope_.use_yarn(c.rope_theta, c.rope_freq_scale, model.rope_freq_factors(), c.rope_orig_ctx,
                   /*beta_fast=*/32, /*beta_slow=*/1, c.rope_mscale());  // llama.cpp's defaults
  else
    rope_.mscale = c.rope_mscale();
  if (c.gated_delta_net()) rope_.keep_text_sections(c.rope_sections);

  const size_t t = size_t(params_.max_chunk);
  x_.resize(t * size_t(c.n_embd));
  xn_.resize(t * size_t(c.n_embd));
  proj_.resize(t * size_t(c.n_embd));
  allocate_phase_scratch();
  if (c.moe()) {
    routes_.resize(size_t(c.n_expert));
    expert_order_.resize(size_t(c.n_expert));
    expert_scores_.resize(size_t(c.n_expert));
    expert_weights_.resize(size_t(c.n_expert_used));
  }
  scores_.resize(size_t(pool_->size()) * size_t(max_seq_len_));
  block_scratch_.resize(size_t(pool_->size()));
}

// Lays each phase's buffers out from the start of phase_scratch_, sized for the
// largest phase. A buffer the architecture does not use stays empty.
void Context::allocate_phase_scratch() {
  const ModelConfig& c = config();
  const size_t t = size_t(params_.max_chunk);
  struct Part {
    std::span<float>* buffer;
    size_t floats;
  };
  const bool gated = c.attn_output_gate, delta = c.gated_delta_net(), moe = c.moe();
  const size_t ff = size_t(std::max({c.n_ff, c.n_ff_exp, c.n_ff_shexp}));
  const bool mla = c.mla();
  const size_t head_io = size_t(std::max({c.mla_nope_dim(), c.kv_lora_rank, c.mla_value_dim, 0}));
  const std::vector<std::vector<Part>> phases = {
      {{&q_, t * size_t(c.q_dim())},
       {&att_, t * size_t(std::max(c.q_dim(), c.attn_out_dim()))},
       {&mla_q_a_, mla ? t * size_t(c.q_lora_rank) : 0},
       {&mla_q_, mla ? t * size_t(c.n_head) * size_t(c.head_dim) : 0},
       {&mla_latent_, mla ? t * size_t(c.n_head) * size_t(c.kv_lora_rank) : 0},
       {&mla_head_in_, mla ? t * head_io : 0},
       {&mla_head_out_, mla ? t * head_io : 0},
       {&k_, t * size_t(c.kv_dim())},
       {&v_, t * size_t(c.kv_dim())},
       {&q_gated_, gated ? t * size_t(2 * c.q_dim()) : 0},
       {&attn_gate_, gated ? t * size_t(c.q_dim()) : 0}},
      {{&delta_qkv_, delta ? t * size_t(c.delta_conv_dim()) : 0},
       {&delta_z_, delta ? t * size_t(c.delta_value_dim()) : 0},
       {&delta_out_, delta ? t * size_t(c.delta_value_dim()) : 0},
       {&delta_beta_, delta ? t * size_t(c.ssm_time_step_rank) : 0},
       {&delta_decay_, delta ? t * size_t(c.ssm_time_step_rank) : 0}},
      {{&gate_, t * ff},
       {&up_, t * ff},
       {&router_, moe ? t * size_t(c.n_expert) : 0},
       {&expert_in_, moe ? t * size_t(c.n_embd) : 0},
       {&expert_out_, moe ? t * size_t(c.n_embd) : 0}},
  };
  size_t largest = 0;
  for (const auto& phase : phases) {
    size_t floats = 0;
    for (const Part& part : phase) floats += part.floats;
    largest = std::max(largest, floats);
  }
  phase_scratch_.resize(largest);
  for (const auto& phase : phases) {
    size_t offset = 0;
    for (const Part& part : phase) {
      *part.buffer = std::span<float>(phase_scratch_).subspan(offset, part.floats);
      offset += part.floats;
    }
  }
}

Context::~Context() = default;

int Context::n_threads() const { return pool_->size(); }
int Context::new_sequence() {
  const int seq = kv_.new_sequence();
  recurrent_.start(seq);
  return seq;
}

int Context::fork(int seq) {
  const int child = kv_.fork(seq);
  recurrent_.copy(seq, child);
  return child;
}

void Context::remove(int seq) {
  kv_.remove(seq);
  recurrent_.release(seq);
}

int Context::length(int seq) const { return kv_.length(seq); }

bool Context::can_truncate(int seq, int length) const {
  return recurrent_.empty() || (kv_.exists(seq) && length == kv_.length(seq));
}

void Context::truncate(int seq, int length) {
  if (!can_truncate(seq, length))
    fail("truncate: sequence {} cannot go back from {} to {} positions: {}'s recurrent layers keep only the "
         "last position's state",
         seq, kv_.exists(seq) ? kv_.length(seq) : 0, length, config().arch);
  kv_.truncate(seq, length);
}
int64_t Context::computed(int seq) const { return kv_.computed(seq); }

void Context::check_batch(const Batch& batch) const {
  if (batch.tokens.empty()) fail("decode: the batch is empty");
  std::map<int, int> appended;  // per sequence: tokens of this batch so far
  for (size_t i = 0; i < batch.tokens.size(); ++i) {
    const Batch::Token& t = batch.tokens[i];
    if (t.token < 0 || t.token >= n_vocab())
      fail("decode: token {} at batch index {} is outside the vocabulary [0, {})", t.token, i, n_vocab());
    if (!kv_.exists(t.seq)) fail("decode: sequence {} at batch index {} does not exist", t.seq, i);
    const int expected = kv_.length(t.seq) + appended[t.seq]++;
    if (t.pos != expected)
      fail("decode: batch index {} puts sequence {} at position {}, but its next position is {}", i, t.seq,
           t.pos, expected);
    if (t.pos >= max_seq_len_) {
      if (max_seq_len_ == config().n_ctx_train)
        fail("decode: sequence {} would be {} tokens long, but the model was trained for {} tokens", t.seq,
             t.pos + 1, config().n_ctx_train);
      fail("decode: sequence {} would be {} tokens long, but the context holds {} tokens (raise --ctx)",
           t.seq, t.pos + 1, params_.n_ctx);
    }
  }
  int blocks = 0;
  for (auto [seq, n] : appended) blocks += kv_.blocks_needed(seq, n);
  if (blocks > kv_.free_blocks())
    fail(
        "decode: the KV cache is full: the batch needs {} tokens of room but {} of {} are free (raise --ctx)",
        blocks * KvCache::kBlockTokens, kv_.free_tokens(), kv_.capacity_tokens());
}

std::span<const float> Context::decode(const Batch& batch) {
  check_batch(batch);
  const int64_t n_out = std::count_if(batch.tokens.begin(), batch.tokens.end(),
                                      [](const Batch::Token& t) { return t.want_logits; });
  logits_.resize(size_t(n_out) * size_t(n_vocab()));

  // Reserve every position first, so that attention in any chunk finds its
  // sequence's earlier positions in place.
  std::map<int, int> appended;
  for (const auto& t : batch.tokens) ++appended[t.seq];
  for (auto [seq, n] : appended) kv_.append(seq, n);

  float* out = logits_.data();
  const int n = int(batch.tokens.size());
  for (int start = 0; start < n; start += params_.max_chunk) {
    const int chunk = std::min(params_.max_chunk, n - start);
    out += size_t(forward(batch.tokens.data() + start, chunk, out)) * size_t(n_vocab());
  }
  total_computed_ += n;
  return logits_;
}

std::span<const float> Context::append(int seq, std::span<const int32_t> tokens) {
  if (tokens.empty()) fail("append: no tokens for sequence {}", seq);
  Batch batch;
  const int start = length(seq);
  for (size_t i = 0; i < tokens.size(); ++i)
    batch.add(tokens[i], start + int(i), seq, i + 1 == tokens.size());
  return decode(batch);
}

// ---- The forward pass of one chunk of tokens -----------------------------------
//
//   x = embed(tokens)
//   for each layer:  x += attention(rmsnorm(x))      (attention_block, or
//                                                     delta_net_block on recurrent layers)
//                    x += ffn(rmsnorm(x))            (ffn_block)
//   logits = output(rmsnorm(x)) for the flagged tokens

int Context::forward(const Batch::Token* tokens, int n, float* logits_out) {
  embed(tokens, n);
  if (!recurrent_.empty()) {
    seq_tokens_.clear();
    for (int i = 0; i < n; ++i) {
      auto group = std::find_if(seq_tokens_.begin(), seq_tokens_.end(),
                                [&](const auto& g) { return g.first == tokens[i].seq; });
      if (group == seq_tokens_.end()) group = seq_tokens_.insert(seq_tokens_.end(), {tokens[i].seq, {}});
      group->second.push_back(i);
    }
  }
  for (int layer = 0; layer < config().n_layer; ++layer) {
    if (config().is_recurrent(layer))
      delta_net_block(layer, n);
    else if (config().mla())
      mla_block(layer, tokens, n);
    else
      attention_block(layer, tokens, n);
    if (config().is_moe_layer(layer))
      moe_block(layer, n);
    else
      ffn_block(layer, n);
  }
  return output_logits(tokens, n, logits_out);
}

// Per-token work of a chunk (norms, rope, activations) spread over the
// threads; a decode step's few tokens stay on the calling thread.
void Context::for_each_token(int n, const std::function<void(int)>& fn) {
  if (n < 4 * pool_->size()) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  pool_->for_chunks(n, std::max(1, n / (4 * pool_->size())), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) fn(int(i));
  });
}

// out = w · in for n tokens, counting the weight bytes read.
void Context::multiply(const WeightMatrix& w, const float* in, int n, float* out) {
  weight_bytes_read_ += uint64_t(w.rows) * w.row_stride;
  matmul(w, in, n, out, *pool_);
}

// xn[i] = rmsnorm(x[i]) · weight for the chunk's n tokens.
void Context::norm_rows(const std::vector<float>& weight, int n) {
  const int d = config().n_embd;
  const float eps = config().rms_eps;
  for_each_token(n, [&](int i) { ops::rmsnorm(&x_[size_t(i) * d], weight.data(), &xn_[size_t(i) * d], d, eps); });
}

// x[i] = row tokens[i] of the token embedding.
void Context::embed(const Batch::Token* tokens, int n) {
  const WeightMatrix& e = model_.token_embd();
  const int d = config().n_embd;
  weight_bytes_read_ += uint64_t(n) * e.row_stride;
  for (int i = 0; i < n; ++i)
    dequantize_row(e.type, e.data + size_t(tokens[i].token) * e.row_stride, &x_[size_t(i) * d], d);
}

// x += Wo · attention(rope(q), rope(k), v), q/k/v = W · rmsnorm(x) (+ bias)
void Context::attention_block(int layer, const Batch::Token* tokens, int n) {
  const ModelConfig& c = config();
  const LayerWeights& w = model_.layers()[size_t(layer)];
  const int d = c.n_embd;

  const int kv_layer = layer_slot_[size_t(layer)];
  norm_rows(w.attn_norm, n);

  if (c.attn_output_gate)
    project_gated_query(w, n);
  else
    multiply(w.wq, xn_.data(), n, q_.data());
  multiply(w.wk, xn_.data(), n, k_.data());
  multiply(w.wv, xn_.data(), n, v_.data());
  for_each_token(n, [&](int i) {
    float* q = &q_[size_t(i) * c.q_dim()];
    float* k = &k_[size_t(i) * c.kv_dim()];
    float* v = &v_[size_t(i) * c.kv_dim()];
    if (c.qkv_bias) {
      ops::add(q, w.bq.data(), c.q_dim());
      ops::add(k, w.bk.data(), c.kv_dim());
      ops::add(v, w.bv.data(), c.kv_dim());
    }
    if (c.qk_norm) {  // every head of q and k normalized on its own
      for (int h = 0; h < c.n_head; ++h)
        ops::rmsnorm(q + h * c.head_dim, w.q_norm.data(), q + h * c.head_dim, c.head_dim, c.rms_eps);
      for (int h = 0; h < c.n_head_kv; ++h)
        ops::rmsnorm(k + h * c.head_dim, w.k_norm.data(), k + h * c.head_dim, c.head_dim, c.rms_eps);
    }
    rope_.apply(q, c.n_head, c.head_dim, tokens[i].pos);
    rope_.apply(k, c.n_head_kv, c.head_dim, tokens[i].pos);
    store_row(k, kv_.k_row(kv_layer, tokens[i].seq, tokens[i].pos), c.kv_dim(), kv_.type());
    store_row(v, kv_.v_row(kv_layer, tokens[i].seq, tokens[i].pos), c.kv_dim(), kv_.type());
  });

  attend(layer, tokens, n);
  if (c.attn_output_gate)
    for_each_token(n, [&](int i) {
      float* out = &att_[size_t(i) * c.q_dim()];
      const float* gate = &attn_gate_[size_t(i) * c.q_dim()];
      for (int j = 0; j < c.q_dim(); ++j) out[j] *= sigmoid(gate[j]);
    });
  multiply(w.wo, att_.data(), n, proj_.data());
  if (c.attn_output_bias) ops::add_bias(proj_.data(), w.bo.data(), n, d);
  ops::add(x_.data(), proj_.data(), int64_t(n) * d);
}

// q (and the output gate) from attn_q, whose rows hold per head [q_h | gate_h].
void Context::project_gated_query(const LayerWeights& w, int n) {
  const ModelConfig& c = config();
  const int hd = c.head_dim;
  multiply(w.wq, xn_.data(), n, q_gated_.data());
  for_each_token(n, [&](int i) {
    const float* row = &q_gated_[size_t(i) * 2 * c.q_dim()];
    for (int h = 0; h < c.n_head; ++h) {
      std::copy_n(row + 2 * h * hd, hd, &q_[size_t(i) * c.q_dim() + size_t(h) * hd]);
      std::copy_n(row + 2 * h * hd + hd, hd, &attn_gate_[size_t(i) * c.q_dim() + size_t(h) * hd]);
    }
  });
}

// ---- Multi-head latent attention: deepseek2 -------------------------------------
//
// For each token, with h = rmsnorm(x):
//   q = W_q · h, or W_q_b · rmsnorm(W_q_a · h)        per head [no-rope part | rope part]
//   [c | k_rope] = W_kv_a · h;  c = rmsnorm(c)        the latent and a rope key all heads share
//   cached: [c | rope(k_rope)], one row per token and layer
//   per head: score_j = scale · (q_nope · W_k_b,h c_j + rope(q_rope) · k_rope_j)
//             o_h = W_v_b,h · Σ_j softmax(score)_j c_j
//   x += W_o · [o_h]
// W_k_b,h goes into the query (q_nope · W_k_b,h c = (W_k_b,hᵀ q_nope) · c: one
// product per query instead of one per cached position, llama.cpp's
// absorption), and W_v_b,h applies once to the attended latent, so attention
// itself is multi-query attention over rows of kv_lora_rank + rope dims.
void Context::mla_block(int layer, const Batch::Token* tokens, int n) {
  const ModelConfig& c = config();
  const LayerWeights& w = model_.layers()[size_t(layer)];
  const MlaWeights& m = w.mla;
  const int kv_layer = layer_slot_[size_t(layer)];
  const int heads = c.n_head, key_dim = c.mla_key_dim, nope = c.mla_nope_dim(), latent = c.kv_lora_rank;
  const int row = c.head_dim;  // latent + rope dims: a cache row, and an absorbed query per head
  norm_rows(w.attn_norm, n);
  if (c.q_lora_rank > 0) {
    multiply(m.q_a, xn_.data(), n, mla_q_a_.data());
    for_each_token(n, [&](int i) {
      float* r = &mla_q_a_[size_t(i) * c.q_lora_rank];
      ops::rmsnorm(r, m.q_a_norm.data(), r, c.q_lora_rank, c.rms_eps);
    });
    multiply(m.q_b, mla_q_a_.data(), n, q_.data());
  } else {
    multiply(w.wq, xn_.data(), n, q_.data());
  }
  multiply(m.kv_a, xn_.data(), n, k_.data());
  for_each_token(n, [&](int i) {
    float* k = &k_[size_t(i) * row];
    ops::rmsnorm(k, m.kv_a_norm.data(), k, latent, c.rms_eps);
    rope_.apply(k + latent, 1, c.n_rot, tokens[i].pos);
    store_row(k, kv_.k_row(kv_layer, tokens[i].seq, tokens[i].pos), row, kv_.type());
    float* q = &q_[size_t(i) * c.q_dim()];
    rope_.apply(q + nope, heads, key_dim, tokens[i].pos);  // the rope part of every head
    for (int h = 0; h < heads; ++h)
      std::copy_n(q + size_t(h) * key_dim + nope, c.n_rot, &mla_q_[(size_t(i) * heads + size_t(h)) * row + latent]);
  });
  // Per head, over the chunk's tokens: q_nope -> latent space, then attention, then latent -> value.
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < n; ++i)
      std::copy_n(&q_[size_t(i) * c.q_dim() + size_t(h) * key_dim], nope, &mla_head_in_[size_t(i) * nope]);
    multiply(m.k_b.expert(h), mla_head_in_.data(), n, mla_head_out_.data());
    for (int i = 0; i < n; ++i)
      std::copy_n(&mla_head_out_[size_t(i) * latent], latent, &mla_q_[(size_t(i) * heads + size_t(h)) * row]);
  }
  const float scale = c.attention_scale();
  const int64_t items = int64_t(n) * heads;
  pool_->for_chunks(items, std::max<int64_t>(1, items / (4 * pool_->size())), [&](int64_t begin, int64_t end, int thread) {
    std::vector<KvRun> runs;
    int runs_token = -1;
    float* scores = &scores_[size_t(thread) * size_t(max_seq_len_)];
    for (int64_t item = begin; item < end; ++item) {
      const int i = int(item / heads), h = int(item % heads);
      if (i != runs_token) {
        kv_.runs(kv_layer, tokens[i].seq, 0, tokens[i].pos + 1, runs);
        runs_token = i;
      }
      const size_t at = size_t(i) * heads + size_t(h);
      ops::attention_head(&mla_q_[at * row], row, scale, kv_.type(), runs, size_t(row), 0, scores,
                          &mla_latent_[at * latent], -std::numeric_limits<float>::infinity(), latent);
    }
  });
  const int value = c.mla_value_dim;
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < n; ++i)
      std::copy_n(&mla_latent_[(size_t(i) * heads + size_t(h)) * latent], latent, &mla_head_in_[size_t(i) * latent]);
    multiply(m.v_b.expert(h), mla_head_in_.data(), n, mla_head_out_.data());
    for (int i = 0; i < n; ++i)
      std::copy_n(&mla_head_out_[size_t(i) * value], value, &att_[size_t(i) * c.attn_out_dim() + size_t(h) * value]);
  }
  multiply(w.wo, att_.data(), n, proj_.data());
  ops::add(x_.data(), proj_.data(), int64_t(n) * c.n_embd);
}

// att[i, head h] = softmax(q·k / sqrt(head_dim)) · v over positions 0..pos of
// token i's own sequence (on a sliding-window layer, its last sliding_window
// positions), with KV head h / (n_head / n_head_kv) and the head's sink logit
// where the model has them.
//
// A stretch of a prompt (kAttentionBlockTokens or more consecutive positions
// of one sequence) goes by blocks: a KV head with the queries of its heads over
// up to `block_tokens` positions, its keys and values read once for them all
// (ops::attention_block). Other tokens (decode steps, one per sequence) go a
// query head at a time.
void Context::attend(int model_layer, const Batch::Token* tokens, int n) {
  const ModelConfig& c = config();
  const int layer = layer_slot_[size_t(model_layer)];  // among the attention layers, in the KV cache
  const int window = c.is_windowed(model_layer) ? c.sliding_window : 0;
  const std::vector<float>& sinks = model_.layers()[size_t(model_layer)].sinks;
  const float no_sink = -std::numeric_limits<float>::infinity();
  const int group = c.n_head / c.n_head_kv;
  const float scale = c.attention_scale();
  const auto first_visible = [window](int pos) { return window > 0 ? std::max(0, pos + 1 - window) : 0; };

  // Blocks of prompt stretches; the tokens they leave go one query head at a time.
  struct Block {
    int first, n_tokens;
  };
  std::vector<Block> blocks;
  std::vector<int> single;
  const int block_tokens = std::max(1, kAttentionBlockQueries / group);
  for (int i = 0; i < n;) {
    int end = i + 1;
    while (end < n && tokens[end].seq == tokens[i].seq && tokens[end].pos == tokens[end - 1].pos + 1) ++end;
    if (end - i >= kAttentionBlockTokens) {
      for (int b = i; b < end; b += block_tokens) blocks.push_back({b, std::min(block_tokens, end - b)});
    } else {
      for (int t = i; t < end; ++t) single.push_back(t);
    }
    i = end;
  }

  const int64_t block_items = int64_t(blocks.size()) * c.n_head_kv;
  pool_->for_chunks(block_items, 1, [&](int64_t begin, int64_t end, int thread) {
    std::vector<KvRun> runs;
    std::vector<AttentionQuery> queries;
    for (int64_t item = begin; item < end; ++item) {
      const Block& block = blocks[size_t(item / c.n_head_kv)];
      const int kv_head = int(item % c.n_head_kv);
      const Batch::Token& first = tokens[block.first];
      const int keys_begin = first_visible(first.pos), keys_end = first.pos + block.n_tokens;
      kv_.runs(layer, first.seq, keys_begin, keys_end, runs);
      queries.clear();
      for (int i = block.first; i < block.first + block.n_tokens; ++i) {
        for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
          const size_t at = size_t(i) * c.q_dim() + size_t(h) * c.head_dim;
          queries.push_back({&q_[at], &att_[at], first_visible(tokens[i].pos) - keys_begin,
                             tokens[i].pos + 1 - keys_begin, sinks.empty() ? no_sink : sinks[size_t(h)]});
        }
      }
      std::vector<float>& scratch = block_scratch_[size_t(thread)];
      scratch.resize(attention_block_scratch_floats(keys_end - keys_begin, c.head_dim, c.head_dim));
      ops::attention_block({queries.data(), int(queries.size()), runs.data(), int(runs.size()), kv_.type(),
                            size_t(c.kv_dim()), size_t(kv_head) * c.head_dim, c.head_dim, c.head_dim, scale,
                            scratch.data()});
    }
  });

  const int64_t items = int64_t(single.size()) * c.n_head;
  const int64_t grain = std::max<int64_t>(1, items / (4 * pool_->size()));
  pool_->for_chunks(items, grain, [&](int64_t begin, int64_t end, int thread) {
    std::vector<KvRun> runs;
    int runs_token = -1;
    float* scores = &scores_[size_t(thread) * size_t(max_seq_len_)];
    for (int64_t item = begin; item < end; ++item) {
      const int i = single[size_t(item / c.n_head)], h = int(item % c.n_head);
      if (i != runs_token) {
        kv_.runs(layer, tokens[i].seq, first_visible(tokens[i].pos), tokens[i].pos + 1, runs);
        runs_token = i;
      }
      const size_t q_at = size_t(i) * c.q_dim() + size_t(h) * c.head_dim;
      ops::attention_head(&q_[q_at], c.head_dim, scale, kv_.type(), runs, size_t(c.kv_dim()),
                          size_t(h / group) * c.head_dim, scores, &att_[q_at],
                          sinks.empty() ? no_sink : sinks[size_t(h)]);
    }
  });
}

// ---- Gated DeltaNet: qwen35's linear attention ---------------------------------
//
// For each token, with h = rmsnorm(x):
//   q|k|v = silu(conv(W_qkv · h))       a causal convolution per channel over the
//                                        sequence's last ssm_conv_kernel inputs
//   q, k  = L2-normalized per key head;  q /= sqrt(state size)
//   beta  = sigmoid(W_beta · h),  g = softplus(W_alpha · h + dt_bias) · a   (per value head)
//   per value head (with key head h % key heads) and its state S [value × key]:
//     S *= exp(g);   δ = (v − S·k) · beta;   S += δ kᵀ;   o = S·q
//   x += W_out · (rmsnorm(o) · silu(W_gate · h))   (the norm per head)
// The state is the sequence's (RecurrentState): a chunk of a prompt and a
// decode step run the same recurrence, token by token.
void Context::delta_net_block(int layer, int n) {
  const ModelConfig& c = config();
  const LayerWeights& lw = model_.layers()[size_t(layer)];
  const DeltaNetWeights& w = lw.delta;
  const int slot = layer_slot_[size_t(layer)];
  const int heads = c.ssm_time_step_rank, key_heads = c.ssm_group_count, dim = c.ssm_state_size;
  const int conv_dim = c.delta_conv_dim(), value_dim = c.delta_value_dim();

  norm_rows(lw.attn_norm, n);
  multiply(w.qkv, xn_.data(), n, delta_qkv_.data());
  multiply(w.gate, xn_.data(), n, delta_z_.data());
  multiply(w.beta, xn_.data(), n, delta_beta_.data());
  multiply(w.alpha, xn_.data(), n, delta_decay_.data());
  for_each_token(n, [&](int i) {
    for (int h = 0; h < heads; ++h) {
      const size_t at = size_t(i) * heads + size_t(h);
      delta_beta_[at] = sigmoid(delta_beta_[at]);
      delta_decay_[at] = std::exp(softplus(delta_decay_[at] + w.dt_bias[size_t(h)]) * w.decay[size_t(h)]);
    }
  });
  delta_conv(w, slot);
  const float q_scale = 1.0f / std::sqrt(float(dim));
  for_each_token(n, [&](int i) {
    float* qk = &delta_qkv_[size_t(i) * conv_dim];
    kernels().swiglu_f32(qk, nullptr, qk, conv_dim);  // SiLU
    for (int h = 0; h < 2 * key_heads; ++h) {  // the q heads, then the k heads
      float* v = qk + size_t(h) * dim;
      const float norm = 1.0f / std::sqrt(kernels().dot_f32(v, v, dim) + c.rms_eps);
      const float scale = h < key_heads ? norm * q_scale : norm;
      for (int j = 0; j < dim; ++j) v[j] *= scale;
    }
  });
  delta_rule(slot);
  for_each_token(n, [&](int i) {
    for (int h = 0; h < heads; ++h) {
      const size_t at = size_t(i) * value_dim + size_t(h) * dim;
      float* o = &delta_out_[at];
      ops::rmsnorm(o, w.norm.data(), o, dim, c.rms_eps);
      kernels().swiglu_f32(&delta_z_[at], o, o, dim);  // o · SiLU(z)
    }
  });
  multiply(w.out, delta_out_.data(), n, proj_.data());
  ops::add(x_.data(), proj_.data(), int64_t(n) * c.n_embd);
}

// The causal convolution, in place on delta_qkv_ (before the SiLU): channel
// ch of token t becomes Σ_k tap_k[ch] · input[t − taps + 1 + k], the inputs
// before the chunk coming from the sequence's state (its last taps − 1 raw
// inputs, oldest first, a row of channels each). Tokens go last to first, so
// every input a token needs is still raw when it is read, and each step is a
// loop over contiguous channels; threads take ranges of channels.
void Context::delta_conv(const DeltaNetWeights& w, int slot) {
  constexpr int64_t kRange = 256;  // channels per work item
  const ModelConfig& c = config();
  const int taps = c.ssm_conv_kernel, conv_dim = c.delta_conv_dim();
  const int64_t ranges = (conv_dim + kRange - 1) / kRange;
  pool_->for_chunks(int64_t(seq_tokens_.size()) * ranges, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      const auto& group = seq_tokens_[size_t(item / ranges)];  // no structured binding: the lambda below takes it
      const std::vector<int>& token_indices = group.second;
      const int64_t c0 = item % ranges * kRange, width = std::min<int64_t>(kRange, conv_dim - c0);
      const int n = int(token_indices.size());
      float* history = recurrent_.layer(group.first, slot) + c0;  // row r: input n_before - (taps - 1) + r
      // The input at position u of this chunk (u < 0: from the state), raw while unwritten.
      auto input = [&](int u) -> float* {
        return u >= 0 ? &delta_qkv_[size_t(token_indices[size_t(u)]) * conv_dim + size_t(c0)]
                      : history + size_t(taps - 1 + u) * conv_dim;
      };
      // The state after the chunk: its last taps - 1 inputs, saved before they are overwritten.
      float kept[16][kRange];
      for (int r = 0; r < taps - 1; ++r) std::copy_n(input(n - (taps - 1) + r), width, kept[r]);
      for (int t = n - 1; t >= 0; --t) {
        float sum[kRange] = {};
        for (int k = 0; k < taps; ++k) {
          const float* x = input(t - (taps - 1) + k);
          const float* tap = &w.conv[size_t(k) * conv_dim + size_t(c0)];
          for (int64_t j = 0; j < width; ++j) sum[j] += tap[j] * x[j];
        }
        std::copy_n(sum, width, input(t));
      }
      for (int r = 0; r < taps - 1; ++r) std::copy_n(kept[r], width, history + size_t(r) * conv_dim);
    }
  });
}

// The delta rule, per sequence and value head, over the sequence's tokens in
// order. A state row j (value dimension j) changes with v[j] alone, so rows
// are independent: a block of rows small enough for L1 goes through all the
// chunk's tokens before the next block, instead of every row being fetched
// again for every token. The decay is kept as one factor m per token (state
// = m · rows), applied to the rows at the end of the chunk or when m gets
// small; a token then costs two passes over each row (delta_rule_rows).
void Context::delta_rule(int slot) {
  constexpr int kBlockRows = 16;  // 16 rows of 128: 8 KB, beside the tokens' k and q in L1
  const ModelConfig& c = config();
  const int heads = c.ssm_time_step_rank, key_heads = c.ssm_group_count, dim = c.ssm_state_size;
  const int conv_dim = c.delta_conv_dim(), value_dim = c.delta_value_dim(), key_dim = c.delta_key_dim();
  const size_t conv_floats = size_t(c.ssm_conv_kernel - 1) * size_t(conv_dim);
  const int blocks = (dim + kBlockRows - 1) / kBlockRows;
  const KernelSet& kern = kernels();
  const int64_t items = int64_t(seq_tokens_.size()) * heads * blocks;
  pool_->for_chunks(items, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      const auto& [seq, token_indices] = seq_tokens_[size_t(item / (int64_t(heads) * blocks))];
      const int h = int(item / blocks % heads), kh = h % key_heads;
      const int row_begin = int(item % blocks) * kBlockRows, row_end = std::min(dim, row_begin + kBlockRows);
      float* state = recurrent_.layer(seq, slot) + conv_floats + (size_t(h) * dim + size_t(row_begin)) * dim;
      const size_t block_floats = size_t(row_end - row_begin) * dim;
      auto scale_rows = [&](float m) {
        for (size_t a = 0; a < block_floats; ++a) state[a] *= m;
      };
      float m = 1.0f;
      for (int i : token_indices) {
        m *= delta_decay_[size_t(i) * heads + size_t(h)];
        if (m < 1e-20f) {  // fold m into the rows before 1/m could overflow (a decay to 0 empties them)
          scale_rows(m);
          m = 1.0f;
        }
        const float* qkv = &delta_qkv_[size_t(i) * conv_dim];
        const float* q = qkv + size_t(kh) * dim;
        const float* k = qkv + size_t(key_dim) + size_t(kh) * dim;
        const float* v = qkv + size_t(2 * key_dim) + size_t(h) * dim;
        const float beta = delta_beta_[size_t(i) * heads + size_t(h)];
        float* o = &delta_out_[size_t(i) * value_dim + size_t(h) * dim];
        kern.delta_rule_rows(state, row_end - row_begin, dim, k, q, v + row_begin, m, beta, o + row_begin);
      }
      if (m != 1.0f) scale_rows(m);
    }
  });
}

// x += W_down · (silu(W_gate · rmsnorm(x)) * (W_up · rmsnorm(x)))
void Context::ffn_block(int layer, int n) {
  const ModelConfig& c = config();
  const LayerWeights& w = model_.layers()[size_t(layer)];
  const int d = c.n_embd;
  norm_rows(w.ffn_norm, n);
  multiply(w.w_gate, xn_.data(), n, gate_.data());
  multiply(w.w_up, xn_.data(), n, up_.data());
  for_each_token(n, [&](int i) {
    const size_t at = size_t(i) * c.n_ff;
    gated_activation(c, &gate_[at], &up_[at], c.n_ff);
  });
  multiply(w.w_down, gate_.data(), n, proj_.data());
  ops::add(x_.data(), proj_.data(), int64_t(n) * d);
}

// x += Σ over the token's top-k experts e of p_e · W_down,e · (silu(W_gate,e · h) * (W_up,e · h)),
// h = rmsnorm(x), p the chosen experts' weights (route_tokens); plus the
// shared expert where the architecture has one. gpt-oss adds each expert's
// biases to its three products and takes the clamped activation.
//
// The chunk's tokens are grouped by expert, so each chosen expert's matrices
// are read once for all the tokens routed to it, and experts no token chose
// are not read at all.
void Context::moe_block(int layer, int n) {
  const ModelConfig& c = config();
  const LayerWeights& w = model_.layers()[size_t(layer)];
  const int d = c.n_embd, ff = c.n_ff_exp;
  norm_rows(w.ffn_norm, n);
  route_tokens(w, n);

  std::fill(proj_.begin(), proj_.begin() + size_t(n) * d, 0.0f);
  for (int e = 0; e < c.n_expert; ++e) {
    const std::vector<Route>& routed = routes_[size_t(e)];
    const int m = int(routed.size());
    if (m == 0) continue;
    for (int j = 0; j < m; ++j)
      std::copy_n(&xn_[size_t(routed[size_t(j)].token) * d], d, &expert_in_[size_t(j) * d]);
    multiply(w.gate_exps.expert(e), expert_in_.data(), m, gate_.data());
    multiply(w.up_exps.expert(e), expert_in_.data(), m, up_.data());
    const ExpertBiases& b = w.expert_biases;
    if (c.expert_biases) {
      ops::add_bias(gate_.data(), &b.gate[size_t(e) * ff], m, ff);
      ops::add_bias(up_.data(), &b.up[size_t(e) * ff], m, ff);
    }
    for (int j = 0; j < m; ++j) {
      const size_t at = size_t(j) * ff;
      gated_activation(c, &gate_[at], &up_[at], ff);
    }
    multiply(w.down_exps.expert(e), gate_.data(), m, expert_out_.data());
    if (c.expert_biases) ops::add_bias(expert_out_.data(), &b.down[size_t(e) * d], m, d);
    for (int j = 0; j < m; ++j) {
      const Route& r = routed[size_t(j)];
      kernels().axpy_f32(r.weight, &expert_out_[size_t(j) * d], &proj_[size_t(r.token) * d], d);
    }
  }
  if (c.has_shared_expert) add_shared_expert(w.shared_expert, n);
  ops::add(x_.data(), proj_.data(), int64_t(n) * d);
}

// proj += sigmoid(gate_inp · h) · W_down · (silu(W_gate · h) * (W_up · h)) for
// every token, h = xn (qwen35moe's shared expert; DeepSeek's, without a gate, weigh 1).
void Context::add_shared_expert(const SharedExpertWeights& w, int n) {
  const ModelConfig& c = config();
  const int d = c.n_embd, ff = c.n_ff_shexp;
  multiply(w.gate, xn_.data(), n, gate_.data());
  multiply(w.up, xn_.data(), n, up_.data());
  for_each_token(n, [&](int i) {
    const size_t at = size_t(i) * ff;
    ops::swiglu(&gate_[at], &up_[at], &gate_[at], ff);
  });
  multiply(w.down, gate_.data(), n, expert_out_.data());
  for (int i = 0; i < n; ++i) {
    const float weight =
        w.gate_inp.empty() ? 1.0f : sigmoid(kernels().dot_f32(w.gate_inp.data(), &xn_[size_t(i) * d], d));
    kernels().axpy_f32(weight, &expert_out_[size_t(i) * d], &proj_[size_t(i) * d], d);
  }
}

namespace {

// order[0..k) = the k largest of p[0..n) (ties to the lower index).
void top_k(const float* p, int n, int k, std::vector<int>& order) {
  for (int e = 0; e < n; ++e) order[size_t(e)] = e;
  std::partial_sort(order.begin(), order.begin() + k, order.begin() + n,
                    [p](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
}

}  // namespace

// Fills routes_: for every token of the chunk (normalized input in xn_), its
// n_expert_used experts and their weights, as llama.cpp's build_moe_ffn: the
// router's logits (+ gpt-oss's bias) become scores by the gating (a softmax
// over all experts, a sigmoid each, or left as logits for softmax_chosen);
// the experts with the highest scores + DeepSeek-V3's selection bias are
// chosen, among the best n_group_used groups where the model has groups (a
// group's worth: its two best); their weights are their unbiased scores (a
// softmax over the chosen logits for softmax_chosen), renormalized to sum to
// 1 where the model says so, then scaled.
void Context::route_tokens(const LayerWeights& w, int n) {
  const ModelConfig& c = config();
  const int n_expert = c.n_expert, k = c.n_expert_used;
  multiply(w.router, xn_.data(), n, router_.data());
  if (c.expert_biases) ops::add_bias(router_.data(), w.expert_biases.router.data(), n, n_expert);
  for (auto& routed : routes_) routed.clear();
  std::vector<int>& order = expert_order_;
  std::vector<float>& chosen = expert_weights_;
  std::vector<float>& selection = expert_scores_;
  const std::vector<float>& selection_bias = w.expert_biases.selection;
  for (int i = 0; i < n; ++i) {
    float* p = &router_[size_t(i) * n_expert];
    if (c.gating == ExpertGating::softmax) ops::softmax(p, n_expert);
    if (c.gating == ExpertGating::sigmoid)
      for (int e = 0; e < n_expert; ++e) p[e] = sigmoid(p[e]);
    for (int e = 0; e < n_expert; ++e) selection[size_t(e)] = p[e] + (selection_bias.empty() ? 0.0f : selection_bias[size_t(e)]);
    if (c.n_expert_groups > 1) keep_best_groups(selection.data());
    top_k(selection.data(), n_expert, k, order);
    for (int j = 0; j < k; ++j) chosen[size_t(j)] = p[order[size_t(j)]];
    if (c.gating == ExpertGating::softmax_chosen) ops::softmax(chosen.data(), k);
    if (c.expert_weights_norm) {
      float sum = 0;
      for (float v : chosen) sum += v;
      sum = std::max(sum, 6.103515625e-5f);  // as llama.cpp clamps it (the smallest normal f16)
      for (float& v : chosen) v /= sum;
    }
    if (c.expert_weights_scale != 0 && c.expert_weights_scale != 1)
      for (float& v : chosen) v *= c.expert_weights_scale;
    for (int j = 0; j < k; ++j) routes_[size_t(order[size_t(j)])].push_back({i, chosen[size_t(j)]});
  }
}

// Sets the scores of every expert outside the n_group_used best groups to
// -inf; a group's worth is the sum of its two best scores (DeepSeek-V3).
void Context::keep_best_groups(float* scores) const {
  const ModelConfig& c = config();
  const int groups = c.n_expert_groups, per_group = c.n_expert / groups;
  std::vector<float> worth(static_cast<size_t>(groups));
  for (int g = 0; g < groups; ++g) {
    float best = -std::numeric_limits<float>::infinity(), second = best;
    for (int e = g * per_group; e < (g + 1) * per_group; ++e) {
      if (scores[e] > best) {
        second = best;
        best = scores[e];
      } else if (scores[e] > second) {
        second = scores[e];
      }
    }
    worth[size_t(g)] = best + (per_group > 1 ? second : 0.0f);
  }
  std::vector<int> order(static_cast<size_t>(groups));
  top_k(worth.data(), groups, c.n_group_used, order);
  std::vector<bool> kept(static_cast<size_t>(groups), false);
  for (int j = 0; j < c.n_group_used; ++j) kept[size_t(order[size_t(j)])] = true;
  for (int e = 0; e < c.n_expert; ++e)
    if (!kept[size_t(e / per_group)]) scores[e] = -std::numeric_limits<float>::infinity();
}

// logits = W_out · rmsnorm(x) for the flagged tokens only (the vocabulary
// projection is the largest matrix; unflagged prompt positions skip it).
int Context::output_logits(const Batch::Token* tokens, int n, float* logits_out) {
  const ModelConfig& c = config();
  const int d = c.n_embd;
  int m = 0;
  for (int i = 0; i < n; ++i) {
    if (!tokens[i].want_logits) continue;
    ops::rmsnorm(&x_[size_t(i) * d], model_.output_norm().data(), &xn_[size_t(m) * d], d, c.rms_eps);
    ++m;
  }
  if (m > 0) multiply(model_.output(), xn_.data(), m, logits_out);
  return m;
}

}  // namespace s1
