#include "model/context.h"

#include <algorithm>
#include <cmath>
#include <functional>
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

}  // namespace

Context::Context(const Model& model, ContextParams params)
    : model_(model),
      params_(params),
      pool_(std::make_unique<ThreadPool>(resolve_threads(params.n_threads))),
      kv_(model.config().n_layer, model.config().kv_dim(), params.n_ctx, params.max_sequences,
          params.kv_type) {
  const ModelConfig& c = config();
  if (params_.n_ctx <= 0) fail("context size {} is not positive", params_.n_ctx);
  params_.n_threads = pool_->size();
  params_.max_chunk = std::clamp(params_.max_chunk, 1, 4096);
  max_seq_len_ = std::min(params_.n_ctx, c.n_ctx_train);
  rope_ = ops::Rope(c.rope_style, c.n_rot, c.rope_theta, c.rope_freq_scale, model.rope_freq_factors());

  const size_t t = size_t(params_.max_chunk);
  x_.resize(t * size_t(c.n_embd));
  xn_.resize(t * size_t(c.n_embd));
  proj_.resize(t * size_t(c.n_embd));
  q_.resize(t * size_t(c.q_dim()));
  att_.resize(t * size_t(c.q_dim()));
  k_.resize(t * size_t(c.kv_dim()));
  v_.resize(t * size_t(c.kv_dim()));
  const size_t ff = size_t(std::max(c.n_ff, c.n_ff_exp));
  gate_.resize(t * ff);
  up_.resize(t * ff);
  if (c.moe()) {
    router_.resize(t * size_t(c.n_expert));
    routes_.resize(size_t(c.n_expert));
    expert_order_.resize(size_t(c.n_expert));
    expert_in_.resize(t * size_t(c.n_embd));
    expert_out_.resize(t * size_t(c.n_embd));
  }
  scores_.resize(size_t(pool_->size()) * size_t(max_seq_len_));
}

Context::~Context() = default;

int Context::n_threads() const { return pool_->size(); }
int Context::new_sequence() { return kv_.new_sequence(); }
int Context::fork(int seq) { return kv_.fork(seq); }
void Context::remove(int seq) { kv_.remove(seq); }
int Context::length(int seq) const { return kv_.length(seq); }
void Context::truncate(int seq, int length) { kv_.truncate(seq, length); }
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
//   for each layer:  x += attention(rmsnorm(x))      (attention_block)
//                    x += ffn(rmsnorm(x))            (ffn_block)
//   logits = output(rmsnorm(x)) for the flagged tokens

int Context::forward(const Batch::Token* tokens, int n, float* logits_out) {
  embed(tokens, n);
  for (int layer = 0; layer < config().n_layer; ++layer) {
    attention_block(layer, tokens, n);
    if (config().moe())
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

  norm_rows(w.attn_norm, n);

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
    store_row(k, kv_.k_row(layer, tokens[i].seq, tokens[i].pos), c.kv_dim(), kv_.type());
    store_row(v, kv_.v_row(layer, tokens[i].seq, tokens[i].pos), c.kv_dim(), kv_.type());
  });

  attend(layer, tokens, n);
  multiply(w.wo, att_.data(), n, proj_.data());
  ops::add(x_.data(), proj_.data(), int64_t(n) * d);
}

// att[i, head h] = softmax(q·k / sqrt(head_dim)) · v over positions 0..pos of
// token i's own sequence, with KV head h / (n_head / n_head_kv).
void Context::attend(int layer, const Batch::Token* tokens, int n) {
  const ModelConfig& c = config();
  const int group = c.n_head / c.n_head_kv;
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  const int64_t items = int64_t(n) * c.n_head;
  const int64_t grain = std::max<int64_t>(1, items / (4 * pool_->size()));
  pool_->for_chunks(items, grain, [&](int64_t begin, int64_t end, int thread) {
    std::vector<ops::KvRun> runs;
    int runs_token = -1;
    float* scores = &scores_[size_t(thread) * size_t(max_seq_len_)];
    for (int64_t item = begin; item < end; ++item) {
      const int i = int(item / c.n_head), h = int(item % c.n_head);
      if (i != runs_token) {
        kv_.runs(layer, tokens[i].seq, tokens[i].pos + 1, runs);
        runs_token = i;
      }
      const size_t q_at = size_t(i) * c.q_dim() + size_t(h) * c.head_dim;
      ops::attention_head(&q_[q_at], c.head_dim, scale, kv_.type(), runs, size_t(c.kv_dim()),
                          size_t(h / group) * c.head_dim, scores, &att_[q_at]);
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
    ops::swiglu(&gate_[at], &up_[at], &gate_[at], c.n_ff);
  });
  multiply(w.w_down, gate_.data(), n, proj_.data());
  ops::add(x_.data(), proj_.data(), int64_t(n) * d);
}

// x += Σ over the token's top-k experts e of p_e · W_down,e · (silu(W_gate,e · h) * (W_up,e · h)),
// h = rmsnorm(x), p = the router's softmax probabilities of the chosen
// experts, renormalized to sum to 1 (qwen3moe's norm_topk_prob).
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
    for (int j = 0; j < m; ++j) {
      const size_t at = size_t(j) * ff;
      ops::swiglu(&gate_[at], &up_[at], &gate_[at], ff);
    }
    multiply(w.down_exps.expert(e), gate_.data(), m, expert_out_.data());
    for (int j = 0; j < m; ++j) {
      const Route& r = routed[size_t(j)];
      kernels().axpy_f32(r.weight, &expert_out_[size_t(j) * d], &proj_[size_t(r.token) * d], d);
    }
  }
  ops::add(x_.data(), proj_.data(), int64_t(n) * d);
}

// Fills routes_: for every token of the chunk (normalized input in xn_), its
// n_expert_used most probable experts and their renormalized weights.
void Context::route_tokens(const LayerWeights& w, int n) {
  const ModelConfig& c = config();
  const int n_expert = c.n_expert, k = c.n_expert_used;
  multiply(w.router, xn_.data(), n, router_.data());
  for (auto& routed : routes_) routed.clear();
  std::vector<int>& order = expert_order_;
  for (int i = 0; i < n; ++i) {
    float* p = &router_[size_t(i) * n_expert];
    ops::softmax(p, n_expert);
    for (int e = 0; e < n_expert; ++e) order[size_t(e)] = e;
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [p](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    float sum = 0;
    for (int j = 0; j < k; ++j) sum += p[order[size_t(j)]];
    sum = std::max(sum, 6.103515625e-5f);  // as llama.cpp clamps it (the smallest normal f16)
    for (int j = 0; j < k; ++j) routes_[size_t(order[size_t(j)])].push_back({i, p[order[size_t(j)]] / sum});
  }
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
