#pragma once
// An inference context: a model, a KV cache holding any number of sequences,
// a thread team, and the transformer forward pass over batches of tokens.
//
// A batch is a list of (token, position, sequence, want_logits), like
// llama.cpp's llama_batch. One decode() advances every sequence named in the
// batch: the matrix products run over all of the batch's tokens together (each
// weight is read once per step, whatever the number of sequences) and each
// token attends to its own sequence's cached positions. A prompt is a batch
// of many tokens of one sequence (processed in chunks of max_chunk tokens); a
// generation step of N parallel samples is a batch of N tokens, one per
// sequence. Positions are appended: a token's position must be the next one of
// its sequence.
//
//   s1::Context ctx(model, {.n_ctx = 4096, .n_threads = 8});
//   int seq = ctx.new_sequence();
//   std::span<const float> logits = ctx.append(seq, prompt_tokens);  // last position's logits
//   int sample = ctx.fork(seq);            // shares the prompt's KV, computes nothing
//   s1::Batch step;
//   step.add(tok_a, ctx.length(seq), seq, true);
//   step.add(tok_b, ctx.length(sample), sample, true);
//   auto rows = ctx.decode(step);          // 2 rows of n_vocab logits, in batch order
//
// A Context is used from one thread at a time; it parallelizes internally.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"
#include "model/recurrent_state.h"
#include "tensor/dtype.h"

namespace s1 {

class ThreadPool;

struct ContextParams {
  int n_ctx = 4096;            // KV capacity in tokens, shared by all sequences
  DType kv_type = DType::F16;  // F16 or F32
  int n_threads = 0;           // 0: every available core
  int max_sequences = 64;      // sequences alive at once
  int max_chunk = 256;         // tokens per forward pass; longer batches run in chunks
};

struct Batch {
  struct Token {
    int32_t token = 0;
    int32_t pos = 0;  // must equal the sequence's length at this token
    int seq = 0;
    bool want_logits = false;
  };
  std::vector<Token> tokens;

  void add(int32_t token, int32_t pos, int seq, bool want_logits) {
    tokens.push_back({token, pos, seq, want_logits});
  }
  void clear() { tokens.clear(); }
  size_t size() const { return tokens.size(); }
};

class Context {
 public:
  // The model must outlive the context.
  explicit Context(const Model& model, ContextParams params = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Model& model() const { return model_; }
  const ModelConfig& config() const { return model_.config(); }
  int n_vocab() const { return config().n_vocab; }
  const ContextParams& params() const { return params_; }
  int n_threads() const;
  ThreadPool& pool() { return *pool_; }

  // Sequences. Ids are small integers below max_sequences, reused after remove().
  int new_sequence();
  int fork(int seq);  // a copy of seq that shares its cached positions
  void remove(int seq);
  int length(int seq) const;  // positions in the cache (the next position to decode)
  // Drops positions length.. of seq (rollback of injected or rejected tokens);
  // the next token goes in at position `length`. computed() is not lowered.
  // s1::Error when can_truncate says no.
  void truncate(int seq, int length);
  // Whether truncate(seq, length) is possible: always for attention-only
  // models; with recurrent layers (qwen35) only at the sequence's length, since
  // their state is that of the last position alone.
  bool can_truncate(int seq, int length) const;
  // The longest a sequence may grow: min(n_ctx, the model's trained length).
  int max_sequence_length() const { return max_seq_len_; }
  // Positions this sequence computed itself: a fork starts at 0, so a caller can
  // check that a shared prompt was not computed again.
  int64_t computed(int seq) const;
  int64_t total_computed() const { return total_computed_; }  // over all sequences, ever
  // Weight bytes the forward passes have read so far (every matrix product's
  // weights, each embedding row): what a decode step really streams, e.g.
  // only the experts its tokens chose. `s1 bench` reports it per step.
  uint64_t weight_bytes_read() const { return weight_bytes_read_; }
  const KvCache& kv_cache() const { return kv_; }
  // Bytes of recurrent state each live sequence holds (0 without recurrent layers).
  size_t recurrent_bytes_per_sequence() const { return recurrent_.bytes_per_sequence(); }

  // Runs the batch. Returns the logits of the tokens with want_logits, in batch
  // order, as rows of n_vocab floats; valid until the next decode/append.
  // Throws s1::Error without changing any sequence when the batch is invalid
  // (unknown sequence, position not next, token out of range) or does not fit
  // (context or the model's trained length exceeded, cache full).
  std::span<const float> decode(const Batch& batch);

  // Appends tokens to one sequence; returns the last one's logits.
  std::span<const float> append(int seq, std::span<const int32_t> tokens);

 private:
  void check_batch(const Batch& batch) const;
  // Each returns the number of logit rows written.
  int forward(const Batch::Token* tokens, int n, float* logits_out);
  void embed(const Batch::Token* tokens, int n);
  void allocate_phase_scratch();
  void norm_rows(const std::vector<float>& weight, int n);
  void multiply(const WeightMatrix& w, const float* in, int n, float* out);
  void attention_block(int layer, const Batch::Token* tokens, int n);
  void project_gated_query(const LayerWeights& w, int n);
  void mla_block(int layer, const Batch::Token* tokens, int n);
  void delta_net_block(int layer, int n);
  void delta_conv(const DeltaNetWeights& w, int slot);
  void delta_rule(int slot);
  void ffn_block(int layer, int n);
  void moe_block(int layer, int n);
  void add_shared_expert(const SharedExpertWeights& w, int n);
  void route_tokens(const LayerWeights& w, int n);
  void keep_best_groups(float* scores) const;
  void attend(int model_layer, const Batch::Token* tokens, int n);
  int output_logits(const Batch::Token* tokens, int n, float* logits_out);
  void for_each_token(int n, const std::function<void(int)>& fn);

  const Model& model_;
  ContextParams params_;
  std::unique_ptr<ThreadPool> pool_;
  // Per layer: its index among the attention layers (in the KV cache) or
  // among the recurrent ones (in recurrent_).
  std::vector<int> layer_slot_;
  KvCache kv_;
  RecurrentState recurrent_;
  ops::Rope rope_;
  int max_seq_len_;  // min(n_ctx, the model's trained length)
  int64_t total_computed_ = 0;
  uint64_t weight_bytes_read_ = 0;

  // Activations of one chunk, row-major [n_tokens × width]. x_, xn_ and
  // proj_ live through a layer; the rest belong to one phase of it (the
  // attention or Gated DeltaNet mixer, then the feed-forward) and the phases
  // share one buffer, phase_scratch_ (for Qwen3.5-0.8B at 512 tokens a chunk,
  // 23 MB instead of 59).
  std::vector<float> x_, xn_, proj_;
  std::vector<float> phase_scratch_;
  std::span<float> q_, k_, v_, att_, gate_, up_;
  std::vector<float> scores_;  // per thread: attention scores of one head
  std::vector<std::vector<float>> block_scratch_;  // per thread: an attention block's keys, values and scores
  // Mixture of experts: router probabilities [n_tokens × n_expert]; per
  // expert, the chunk's tokens routed to it and their weights; one expert's
  // gathered inputs and outputs.
  struct Route {
    int token;
    float weight;
  };
  std::span<float> router_;
  std::vector<std::vector<Route>> routes_;
  // route_tokens' scratch: experts by score, the scores it chooses by, the chosen ones' weights.
  std::vector<int> expert_order_;
  std::vector<float> expert_scores_, expert_weights_;
  std::span<float> expert_in_, expert_out_;
  std::vector<float> logits_;
  // Multi-head latent attention, per token: q's bottleneck, the absorbed
  // queries [latent | rope] per head, the attended latents per head; one
  // head's inputs and outputs of its attn_k_b / attn_v_b product.
  std::span<float> mla_q_a_, mla_q_, mla_latent_, mla_head_in_, mla_head_out_;
  // Gated attention: the q projection's [q | gate] rows and the gates.
  std::span<float> q_gated_, attn_gate_;
  // Gated DeltaNet, per token: q|k|v (convolved in place), the norm's gate z,
  // beta and the decay factor e^g per value head, the heads' outputs; and the
  // chunk's tokens grouped by sequence, in order (a recurrence runs per sequence).
  std::span<float> delta_qkv_, delta_z_, delta_beta_, delta_decay_, delta_out_;
  std::vector<std::pair<int, std::vector<int>>> seq_tokens_;
};

}  // namespace s1
