#include "train/transformer.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "tensor/matmul.h"
#include "train/backward_ops.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace s1::train {

void TokenBatch::add_example(std::span<const int32_t> example, std::span<const uint8_t> loss_mask) {
  if (example.size() < 2) fail("training example of {} tokens: at least 2 are needed", example.size());
  const int32_t first = int32_t(tokens.size());
  for (size_t t = 0; t + 1 < example.size(); ++t) {
    tokens.push_back(example[t]);
    targets.push_back(loss_mask[t + 1] ? example[t + 1] : -1);
    pos.push_back(int32_t(t));
    start.push_back(first);
  }
}

int64_t TokenBatch::loss_tokens() const {
  return std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t >= 0; });
}

Transformer::Transformer(Weights& weights, ThreadPool& pool, bool bf16)
    : w_(weights), pool_(pool), use_bf16_(bf16) {
  if (bf16 && !bf16_matmul_available()) fail("bf16 training needs a CPU and build with AVX512-BF16");
  const ModelConfig& c = w_.config();
  rope_ = ops::Rope(c.rope_style, c.n_rot, c.rope_theta, c.rope_freq_scale, w_.rope_freq_factors());
  layers_.resize(size_t(c.n_layer));
}

Transformer::~Transformer() = default;

void Transformer::for_tokens(int n, const std::function<void(int)>& fn) {
  pool_.run([&](int thread, int n_threads) {
    for (int i = thread; i < n; i += n_threads) fn(i);
  });
}

void Transformer::linear(const Tensor& w, const float* in, int n, float* out) {
  product(w.value().data(), use_bf16_ ? &bf16_of(w, false) : nullptr, w.rows(), w.cols(), in, n, out);
  if (!w.lora_a) return;
  // out += scale · B·(A·x); A·x is kept for backward.
  std::vector<float>& hidden = lora_hidden_[&w];
  hidden.resize(size_t(n) * size_t(w.lora_a->rows()));
  matmul(w.lora_a->matrix(), in, n, hidden.data(), pool_);
  std::vector<float> up(size_t(n) * size_t(w.rows()));
  matmul(w.lora_b->matrix(), hidden.data(), n, up.data(), pool_);
  for (size_t i = 0; i < up.size(); ++i) out[i] += w.lora_scale * up[i];
}

// transpose() split over the threads by blocks of source rows.
void Transformer::transpose_rows(const float* src, int64_t rows, int64_t cols, float* dst) {
  constexpr int64_t kBlock = 32;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  pool_.run([&](int thread, int n_threads) {
    for (int64_t b = thread; b < blocks; b += n_threads)
      transpose(src, rows, cols, dst, b * kBlock, std::min(rows, (b + 1) * kBlock));
  });
}

const std::vector<float>& Transformer::transposed(const Tensor& w) {
  Cached& c = transposes_[&w];
  if (c.version != w.version() || c.data.size() != w.value().size()) {
    c.data.resize(w.value().size());
    transpose_rows(w.value().data(), w.rows(), w.cols(), c.data.data());
    c.version = w.version();
  }
  return c.data;
}

const Bf16Rows& Transformer::bf16_of(const Tensor& w, bool transpose) {
  Cached16& c = bf16_[transpose][&w];
  if (c.version != w.version()) {
    if (transpose)
      to_bf16_rows(transposed(w).data(), w.cols(), w.rows(), c.rows);
    else
      to_bf16_rows(w.value().data(), w.rows(), w.cols(), c.rows);
    c.version = w.version();
  }
  return c.rows;
}

namespace {

WeightMatrix f32_matrix(const float* data, int64_t rows, int64_t cols) {
  return {DType::F32, reinterpret_cast<const uint8_t*>(data), rows, cols, size_t(cols) * sizeof(float)};
}

void add_into(float* x, const float* y, int64_t n, ThreadPool& pool) {
  pool.run([&](int thread, int n_threads) {
    const int64_t begin = n * thread / n_threads, end = n * (thread + 1) / n_threads;
    ops::add(x + begin, y + begin, end - begin);
  });
}

}  // namespace

void Transformer::product(const float* w, const Bf16Rows* w16, int64_t rows, int64_t cols, const float* x,
                          int64_t n, float* out) {
  if (!use_bf16_) {
    matmul(f32_matrix(w, rows, cols), x, n, out, pool_);
    return;
  }
  if (!w16) {
    to_bf16_rows(w, rows, cols, w16_scratch_);
    w16 = &w16_scratch_;
  }
  to_bf16_rows(x, n, cols, x16_scratch_);
  matmul_bf16(*w16, x16_scratch_, out, pool_);
}

void Transformer::linear_backward(Tensor& w, const float* in, const float* dout, int n, float* din,
                                  bool accumulate) {
  const int64_t rows = w.rows(), cols = w.cols();
  if (w.trainable) {
    // grad[r][c] += Σ_t dout[t][r] in[t][c]: a matmul whose "weight" is inᵀ
    // (cols × n) and whose "tokens" are the rows of doutᵀ (rows × n).
    // q/k/v (and gate/up) share their input: transpose it once per backward.
    if (in != input_t_of_ || int64_t(input_t_.size()) != cols * n) {
      input_t_.resize(size_t(cols) * size_t(n));
      transpose_rows(in, n, cols, input_t_.data());
      input_t_of_ = in;
    }
    scratch_b_.resize(size_t(rows) * size_t(n));
    scratch_c_.resize(size_t(rows) * size_t(cols));
    transpose_rows(dout, n, rows, scratch_b_.data());
    product(input_t_.data(), nullptr, cols, n, scratch_b_.data(), rows, scratch_c_.data());
    add_into(w.grad.data(), scratch_c_.data(), rows * cols, pool_);
  }
  if (din) {
    // din[t][c] = Σ_r dout[t][r] W[r][c]: a matmul with Wᵀ (cols × rows).
    const std::vector<float>& wt = transposed(w);
    const Bf16Rows* wt16 = use_bf16_ ? &bf16_of(w, true) : nullptr;
    if (accumulate) {
      scratch_c_.resize(size_t(n) * size_t(cols));
      product(wt.data(), wt16, cols, rows, dout, n, scratch_c_.data());
      add_into(din, scratch_c_.data(), int64_t(n) * cols, pool_);
    } else {
      product(wt.data(), wt16, cols, rows, dout, n, din);
    }
  }
  if (w.lora_a) {
    // The adapter is two more linears: h = A·x, out += scale · B·h.
    const int64_t rank = w.lora_a->rows();
    std::vector<float> scaled(dout, dout + size_t(n) * size_t(rows)), dhidden(size_t(n) * size_t(rank));
    for (float& g : scaled) g *= w.lora_scale;
    linear_backward(*w.lora_b, lora_hidden_.at(&w).data(), scaled.data(), n, dhidden.data(), false);
    linear_backward(*w.lora_a, in, dhidden.data(), n, din, din != nullptr);
  }
}

// ---- Forward -------------------------------------------------------------------

double Transformer::forward(const TokenBatch& batch) {
  const ModelConfig& c = w_.config();
  const int n = batch.size();
  if (n == 0) fail("training forward: the batch is empty");
  batch_ = &batch;
  const int d = c.n_embd;
  const int64_t nd = int64_t(n) * d;

  end_.assign(size_t(n), 0);
  for (int i = n - 1; i >= 0; --i)
    end_[size_t(i)] = (i + 1 < n && batch.start[size_t(i) + 1] == batch.start[size_t(i)]) ? end_[size_t(i) + 1] : i + 1;
  probs_at_.assign(size_t(n) + 1, 0);
  for (int i = 0; i < n; ++i)
    probs_at_[size_t(i) + 1] = probs_at_[size_t(i)] + int64_t(c.n_head) * (i - batch.start[size_t(i)] + 1);

  std::vector<float> x(static_cast<size_t>(nd));
  const Tensor& embd = w_.token_embd();
  for (int i = 0; i < n; ++i) {
    const int32_t tok = batch.tokens[size_t(i)];
    if (tok < 0 || tok >= c.n_vocab) fail("training batch: token {} is outside the vocabulary [0, {})", tok, c.n_vocab);
    std::copy_n(&embd.value()[size_t(tok) * d], d, &x[size_t(i) * d]);
  }
  std::vector<float> proj(static_cast<size_t>(nd));

  for (int l = 0; l < c.n_layer; ++l) {
    LayerTensors& lw = w_.layer(l);
    LayerActivations& a = layers_[size_t(l)];
    // x += Wo · attention(rope(q), rope(k), v), q/k/v = W · rmsnorm(x) (+ bias)
    a.x_in = x;
    a.xn_attn.resize(static_cast<size_t>(nd));
    for_tokens(n, [&](int i) {
      ops::rmsnorm(&x[size_t(i) * d], lw.attn_norm->value().data(), &a.xn_attn[size_t(i) * d], d, c.rms_eps);
    });
    a.q.resize(size_t(n) * c.q_dim());
    a.k.resize(size_t(n) * c.kv_dim());
    a.v.resize(size_t(n) * c.kv_dim());
    linear(*lw.wq, a.xn_attn.data(), n, a.q.data());
    linear(*lw.wk, a.xn_attn.data(), n, a.k.data());
    linear(*lw.wv, a.xn_attn.data(), n, a.v.data());
    if (c.qkv_bias) {
      ops::add_bias(a.q.data(), lw.bq->value().data(), n, c.q_dim());
      ops::add_bias(a.k.data(), lw.bk->value().data(), n, c.kv_dim());
      ops::add_bias(a.v.data(), lw.bv->value().data(), n, c.kv_dim());
    }
    if (c.qk_norm) {
      a.q_pre = a.q;
      a.k_pre = a.k;
    }
    for_tokens(n, [&](int i) {
      float* q = &a.q[size_t(i) * c.q_dim()];
      float* k = &a.k[size_t(i) * c.kv_dim()];
      if (c.qk_norm) {
        for (int h = 0; h < c.n_head; ++h)
          ops::rmsnorm(q + h * c.head_dim, lw.q_norm->value().data(), q + h * c.head_dim, c.head_dim, c.rms_eps);
        for (int h = 0; h < c.n_head_kv; ++h)
          ops::rmsnorm(k + h * c.head_dim, lw.k_norm->value().data(), k + h * c.head_dim, c.head_dim, c.rms_eps);
      }
      rope_.apply(q, c.n_head, c.head_dim, batch.pos[size_t(i)]);
      rope_.apply(k, c.n_head_kv, c.head_dim, batch.pos[size_t(i)]);
    });
    attention_forward(a);
    linear(*lw.wo, a.att.data(), n, proj.data());
    ops::add(x.data(), proj.data(), nd);

    // x += W_down · (silu(W_gate · rmsnorm(x)) * (W_up · rmsnorm(x)))
    a.x_mid = x;
    a.xn_ffn.resize(static_cast<size_t>(nd));
    for_tokens(n, [&](int i) {
      ops::rmsnorm(&x[size_t(i) * d], lw.ffn_norm->value().data(), &a.xn_ffn[size_t(i) * d], d, c.rms_eps);
    });
    const size_t nff = size_t(n) * c.n_ff;
    a.gate.resize(nff);
    a.up.resize(nff);
    a.hidden.resize(nff);
    linear(*lw.w_gate, a.xn_ffn.data(), n, a.gate.data());
    linear(*lw.w_up, a.xn_ffn.data(), n, a.up.data());
    for_tokens(n, [&](int i) {
      const size_t at = size_t(i) * c.n_ff;
      ops::swiglu(&a.gate[at], &a.up[at], &a.hidden[at], c.n_ff);
    });
    linear(*lw.w_down, a.hidden.data(), n, proj.data());
    ops::add(x.data(), proj.data(), nd);
  }
  x_final_ = std::move(x);

  // logits = W_out · rmsnorm(x) only where there is a target (as the engine
  // computes only flagged rows), then the loss and its gradient per row.
  out_rows_.clear();
  for (int i = 0; i < n; ++i)
    if (batch.targets[size_t(i)] >= 0) out_rows_.push_back(i);
  const int m = int(out_rows_.size());
  xn_out_.resize(size_t(m) * d);
  for (int r = 0; r < m; ++r)
    ops::rmsnorm(&x_final_[size_t(out_rows_[size_t(r)]) * d], w_.output_norm().value().data(), &xn_out_[size_t(r) * d],
                 d, c.rms_eps);
  logits_.resize(size_t(m) * c.n_vocab);
  dlogits_.resize(size_t(m) * c.n_vocab);
  if (m == 0) return 0.0;
  linear(w_.output(), xn_out_.data(), m, logits_.data());
  std::vector<float> losses(static_cast<size_t>(m));
  for_tokens(m, [&](int r) {
    const size_t at = size_t(r) * c.n_vocab;
    losses[size_t(r)] = cross_entropy(&logits_[at], c.n_vocab, batch.targets[size_t(out_rows_[size_t(r)])], 1.0f,
                                      &dlogits_[at]);
  });
  double total = 0.0;
  for (float loss : losses) total += loss;  // in row order: the same sum on any thread count
  return total;
}

// att[i, head h] = softmax(q·k / sqrt(head_dim)) · v over the positions of
// token i's example up to i: the engine's ops::attention_head, whose scores
// (the attention probabilities) are kept for backward.
void Transformer::attention_forward(LayerActivations& a) {
  const ModelConfig& c = w_.config();
  const int n = batch_->size();
  const int group = c.n_head / c.n_head_kv;
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  a.att.resize(size_t(n) * c.q_dim());
  a.probs.resize(size_t(probs_at_[size_t(n)]));
  const int64_t items = int64_t(n) * c.n_head;
  pool_.run([&](int thread, int n_threads) {
    for (int64_t item = thread; item < items; item += n_threads) {
      const int i = int(item / c.n_head), h = int(item % c.n_head);
      const int first = batch_->start[size_t(i)], len = i - first + 1;
      const KvRun run{reinterpret_cast<const uint8_t*>(&a.k[size_t(first) * c.kv_dim()]),
                           reinterpret_cast<const uint8_t*>(&a.v[size_t(first) * c.kv_dim()]), len};
      const size_t q_at = size_t(i) * c.q_dim() + size_t(h) * c.head_dim;
      ops::attention_head(&a.q[q_at], c.head_dim, scale, DType::F32, {&run, 1}, size_t(c.kv_dim()),
                          size_t(h / group) * c.head_dim, &a.probs[size_t(probs_at_[size_t(i)]) + size_t(h) * len],
                          &a.att[q_at]);
    }
  });
}

// ---- Backward ------------------------------------------------------------------

// With p = softmax(s), s_j = scale q·k_j, out = Σ p_j v_j:
//   dv_j += p_j dout;  dp_j = dout·v_j;  ds_j = p_j (dp_j - Σ p dp);
//   dq = scale Σ ds_j k_j;  dk_j += scale ds_j q.
// Pass 1 (per query token and head) computes ds and dq; pass 2 (per key token
// and KV head) sums dk and dv over the queries that saw it, so no two threads
// write the same row and the sums run in a fixed order.
void Transformer::attention_backward(const LayerActivations& a, const float* datt, float* dq, float* dk,
                                     float* dv) {
  const ModelConfig& c = w_.config();
  const int n = batch_->size(), hd = c.head_dim, qd = c.q_dim(), kvd = c.kv_dim();
  const int group = c.n_head / c.n_head_kv;
  const float scale = 1.0f / std::sqrt(float(hd));
  std::vector<float> dscores(a.probs.size());
  auto probs_of = [&](int i, int h) { return size_t(probs_at_[size_t(i)]) + size_t(h) * (i - batch_->start[size_t(i)] + 1); };

  const int64_t queries = int64_t(n) * c.n_head;
  pool_.run([&](int thread, int n_threads) {
    for (int64_t item = thread; item < queries; item += n_threads) {
      const int i = int(item / c.n_head), h = int(item % c.n_head), g = h / group;
      const int first = batch_->start[size_t(i)], len = i - first + 1;
      const float* p = &a.probs[probs_of(i, h)];
      float* ds = &dscores[probs_of(i, h)];
      const float* dout = datt + size_t(i) * qd + size_t(h) * hd;
      double sum = 0.0;
      for (int j = 0; j < len; ++j) {
        ds[j] = dot(dout, &a.v[size_t(first + j) * kvd + size_t(g) * hd], hd);
        sum += double(p[j]) * ds[j];
      }
      float* dqh = dq + size_t(i) * qd + size_t(h) * hd;
      std::fill(dqh, dqh + hd, 0.0f);
      for (int j = 0; j < len; ++j) {
        ds[j] = p[j] * (ds[j] - float(sum));
        axpy(scale * ds[j], &a.k[size_t(first + j) * kvd + size_t(g) * hd], dqh, hd);
      }
    }
  });

  const int64_t keys = int64_t(n) * c.n_head_kv;
  pool_.run([&](int thread, int n_threads) {
    for (int64_t item = thread; item < keys; item += n_threads) {
      const int j = int(item / c.n_head_kv), g = int(item % c.n_head_kv);
      const int first = batch_->start[size_t(j)];
      float* dkj = dk + size_t(j) * kvd + size_t(g) * hd;
      float* dvj = dv + size_t(j) * kvd + size_t(g) * hd;
      std::fill(dkj, dkj + hd, 0.0f);
      std::fill(dvj, dvj + hd, 0.0f);
      for (int i = j; i < end_[size_t(j)]; ++i) {
        for (int h = g * group; h < (g + 1) * group; ++h) {
          const float p = a.probs[probs_of(i, h) + size_t(j - first)];
          const float ds = scale * dscores[probs_of(i, h) + size_t(j - first)];
          axpy(ds, &a.q[size_t(i) * qd + size_t(h) * hd], dkj, hd);
          axpy(p, datt + size_t(i) * qd + size_t(h) * hd, dvj, hd);
        }
      }
    }
  });
}

void Transformer::backward(float loss_scale) {
  if (!batch_) fail("training backward: no forward pass to differentiate");
  input_t_of_ = nullptr;  // activations are new since the last backward
  const ModelConfig& c = w_.config();
  const TokenBatch& batch = *batch_;
  const int n = batch.size(), d = c.n_embd, m = int(out_rows_.size());
  const int64_t nd = int64_t(n) * d;
  std::vector<float> dx(size_t(nd), 0.0f);
  auto grad_of = [](Tensor* t) { return t && t->trainable ? t->grad.data() : nullptr; };

  if (m > 0) {
    for (float& g : dlogits_) g *= loss_scale;
    std::vector<float> dxn(size_t(m) * d);
    linear_backward(w_.output(), xn_out_.data(), dlogits_.data(), m, dxn.data(), false);
    for (int r = 0; r < m; ++r) {
      const size_t i = size_t(out_rows_[size_t(r)]);
      rmsnorm_backward(&x_final_[i * d], w_.output_norm().value().data(), &dxn[size_t(r) * d], &dx[i * d],
                       grad_of(&w_.output_norm()), d, c.rms_eps);
    }
  }

  std::vector<float> dxn(static_cast<size_t>(nd)), dq, dk, dv, datt, dq_post, dk_post;
  for (int l = c.n_layer - 1; l >= 0; --l) {
    LayerTensors& lw = w_.layer(l);
    const LayerActivations& a = layers_[size_t(l)];
    const size_t nff = size_t(n) * c.n_ff;

    // FFN: x_out = x_mid + W_down · swiglu(W_gate · xn, W_up · xn), xn = rmsnorm(x_mid)
    std::vector<float> dhidden(nff), dgate(nff), dup(nff);
    linear_backward(*lw.w_down, a.hidden.data(), dx.data(), n, dhidden.data(), false);
    for_tokens(n, [&](int i) {
      const size_t at = size_t(i) * c.n_ff;
      swiglu_backward(&a.gate[at], &a.up[at], &dhidden[at], &dgate[at], &dup[at], c.n_ff);
    });
    linear_backward(*lw.w_gate, a.xn_ffn.data(), dgate.data(), n, dxn.data(), false);
    linear_backward(*lw.w_up, a.xn_ffn.data(), dup.data(), n, dxn.data(), true);
    for (int i = 0; i < n; ++i)
      rmsnorm_backward(&a.x_mid[size_t(i) * d], lw.ffn_norm->value().data(), &dxn[size_t(i) * d], &dx[size_t(i) * d],
                       grad_of(lw.ffn_norm), d, c.rms_eps);

    // Attention: x_mid = x_in + Wo · attention(...)
    datt.resize(size_t(n) * c.q_dim());
    dq.resize(size_t(n) * c.q_dim());
    dk.resize(size_t(n) * c.kv_dim());
    dv.resize(size_t(n) * c.kv_dim());
    linear_backward(*lw.wo, a.att.data(), dx.data(), n, datt.data(), false);
    attention_backward(a, datt.data(), dq.data(), dk.data(), dv.data());
    for_tokens(n, [&](int i) {
      rope_backward(rope_, &dq[size_t(i) * c.q_dim()], c.n_head, c.head_dim, batch.pos[size_t(i)]);
      rope_backward(rope_, &dk[size_t(i) * c.kv_dim()], c.n_head_kv, c.head_dim, batch.pos[size_t(i)]);
    });
    if (c.qk_norm) {  // per head, in token order (the norm weights' gradient sums over all of them)
      dq_post.swap(dq);
      dk_post.swap(dk);
      dq.assign(dq_post.size(), 0.0f);
      dk.assign(dk_post.size(), 0.0f);
      for (size_t at = 0; at < dq.size(); at += size_t(c.head_dim))
        rmsnorm_backward(&a.q_pre[at], lw.q_norm->value().data(), &dq_post[at], &dq[at], grad_of(lw.q_norm),
                         c.head_dim, c.rms_eps);
      for (size_t at = 0; at < dk.size(); at += size_t(c.head_dim))
        rmsnorm_backward(&a.k_pre[at], lw.k_norm->value().data(), &dk_post[at], &dk[at], grad_of(lw.k_norm),
                         c.head_dim, c.rms_eps);
    }
    if (c.qkv_bias) {
      const std::pair<Tensor*, const std::vector<float>*> biases[] = {{lw.bq, &dq}, {lw.bk, &dk}, {lw.bv, &dv}};
      for (auto [bias, grad] : biases) {
        if (!bias->trainable) continue;
        const int64_t width = bias->size();
        for (int i = 0; i < n; ++i) ops::add(bias->grad.data(), grad->data() + size_t(i) * width, width);
      }
    }
    linear_backward(*lw.wq, a.xn_attn.data(), dq.data(), n, dxn.data(), false);
    linear_backward(*lw.wk, a.xn_attn.data(), dk.data(), n, dxn.data(), true);
    linear_backward(*lw.wv, a.xn_attn.data(), dv.data(), n, dxn.data(), true);
    for (int i = 0; i < n; ++i)
      rmsnorm_backward(&a.x_in[size_t(i) * d], lw.attn_norm->value().data(), &dxn[size_t(i) * d], &dx[size_t(i) * d],
                       grad_of(lw.attn_norm), d, c.rms_eps);
  }

  Tensor& embd = w_.token_embd();
  if (embd.trainable)
    for (int i = 0; i < n; ++i) ops::add(&embd.grad[size_t(batch.tokens[size_t(i)]) * d], &dx[size_t(i) * d], d);
}

}  // namespace s1::train
