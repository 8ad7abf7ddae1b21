#pragma once
// One place that knows every architecture: its switches (ArchInfo), the GGUF
// metadata keys its configuration is read from and written to (one table, so
// reading and writing cannot drift apart), and, in model/tensors.h, the list
// of its tensors. Model loading, the trainer, the quantizer and `s1 mkmodel`
// all go through here; adding an architecture is a row in the table below and,
// if its blocks compute something new, a block function in model/context.cpp.
//
//   ModelConfig c = read_model_config(file);   // throws naming file and key
//   write_model_config(c, writer);             // the same keys, back
#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "tensor/ops.h"

namespace s1 {

// How a mixture of experts weighs a token's chosen experts.
enum class ExpertGating {
  softmax,         // softmax over every expert, the top k renormalized to sum to 1 (qwen3moe)
  softmax_chosen,  // the top k logits, then a softmax over those k (gpt-oss; llama.cpp's SOFTMAX_WEIGHT)
  sigmoid,         // a sigmoid per expert (DeepSeek-V3/R1)
};

// The feed-forward's gated activation.
enum class FfnActivation {
  swiglu,          // silu(gate) · up
  swiglu_clamped,  // gpt-oss: gate ≤ 7 and up in [-7, 7], gate · sigmoid(1.702 gate) · (up + 1)
};

// How positions beyond the trained context are reached (rope.scaling.type).
enum class RopeScaling { none, linear, yarn };

// What an architecture fixes; the sizes come from the file.
struct ArchInfo {
  std::string_view name;  // general.architecture, as llama.cpp writes it
  bool qkv_bias;          // attn_q/k/v.bias (qwen2)
  bool qk_norm;           // attn_q_norm/attn_k_norm per head (qwen3)
  ops::RopeStyle rope;    // as llama.cpp picks per architecture
  double rope_theta;      // default rope.freq_base
  double rms_eps;         // default attention.layer_norm_rms_epsilon
  bool moe;               // feed-forward is a mixture of experts (router + 3-D expert tensors)
  bool shared_expert;     // plus one expert every token takes, gated by sigmoid(w · x) (qwen35moe)
  // Qwen3.5's hybrid: Gated DeltaNet linear-attention layers (a fixed-size
  // recurrent state per sequence) between full-attention layers whose q
  // projection also yields a per-head output gate, and whose FFN norm is
  // named post_attention_norm.
  bool gated_delta_net;
  bool trainable;         // `s1 train` computes its gradients
  std::string_view vocab_file;  // ../shared/tokenizer vocabulary a named shape borrows
  std::string_view ffn_norm = "ffn_norm";  // the FFN norm's tensor name (Qwen3.5, gpt-oss: post_attention_norm)
  // gpt-oss: layers alternate between a sliding window of
  // attention.sliding_window positions and full attention, by this period
  // unless the file says otherwise (attention.sliding_window_pattern); 0: none.
  int sliding_window_pattern = 0;
  bool attn_sinks = false;        // a learned sink logit per head (attn_sinks.weight)
  bool attn_output_bias = false;  // attn_output.bias
  bool expert_biases = false;     // the router and every expert matrix have biases
  ExpertGating gating = ExpertGating::softmax;
  FfnActivation ffn_activation = FfnActivation::swiglu;
  // The scaling rope.scaling.factor means when `s1 mkmodel --set` gives one
  // (a file names its own; llama.cpp reads a factor without a type as linear).
  RopeScaling rope_scaling = RopeScaling::linear;
  // DeepSeek's multi-head latent attention (model/config.h's ModelConfig has
  // the shapes); its shared experts are plain FFNs every token takes, not gated.
  bool mla = false;
  bool shared_expert_gated = true;  // qwen35moe: sigmoid(ffn_gate_inp_shexp · x) weighs the shared expert
  bool expert_weights_norm = true;  // the chosen experts' weights renormalized to sum to 1 (DeepSeek: a key)
};

// nullptr for an architecture the engine does not run.
const ArchInfo* find_arch(std::string_view name);
std::span<const ArchInfo> architectures();
// For messages: "qwen2, qwen3, llama, qwen3moe".
std::string supported_architectures();

struct ModelConfig {
  std::string arch;  // an ArchInfo name
  int n_layer = 0;
  int n_embd = 0;
  int n_head = 0;
  int n_head_kv = 0;  // < n_head: grouped-query attention (1: multi-query)
  int head_dim = 0;   // may differ from n_embd / n_head (qwen3)
  int value_dim = 0;  // must equal head_dim (read to be checked)
  int n_ff = 0;       // dense feed-forward width
  int n_vocab = 0;
  int n_ctx_train = 0;  // the context length the model was trained for
  float rms_eps = 0;

  ops::RopeStyle rope_style = ops::RopeStyle::neox;
  int n_rot = 0;  // rotated dimensions per head
  double rope_theta = 0;
  RopeScaling rope_scaling = RopeScaling::none;
  double rope_scaling_factor = 0;  // > 1 stretches the trained positions; 0 when unscaled
  int rope_orig_ctx = 0;           // YaRN: the context the model was first trained for
  float rope_attn_factor = 0;      // rope.scaling.attn_factor; 1 when absent
  double rope_freq_scale = 1.0;    // 1 / rope_scaling_factor (derived)
  // The factor rope scales q and k by (YaRN's magnitude correction, as llama.cpp
  // computes it: attn_factor · (1 + 0.1 ln factor)); 1 for most models.
  float rope_mscale() const;

  // Sliding-window attention (gpt-oss): a windowed layer's token attends to
  // its own and the sliding_window - 1 positions before it.
  int sliding_window = 0;
  int sliding_window_pattern = 0;  // every n-th layer has full attention (ArchInfo's default)
  std::vector<bool> windowed_layers;  // per layer, filled by complete_config
  bool is_windowed(int layer) const { return !windowed_layers.empty() && windowed_layers[size_t(layer)]; }
  bool attn_sinks = false;
  bool attn_output_bias = false;
  bool expert_biases = false;
  ExpertGating gating = ExpertGating::softmax;
  FfnActivation ffn_activation = FfnActivation::swiglu;

  // Mixture of experts (ArchInfo::moe): each token's feed-forward is the
  // weighted sum of n_expert_used of n_expert expert FFNs of width n_ff_exp.
  int n_expert = 0;
  int n_expert_used = 0;
  int n_ff_exp = 0;
  int n_ff_shexp = 0;  // the shared expert's width (ArchInfo::shared_expert)
  bool has_shared_expert = false;

  // Gated DeltaNet (ArchInfo::gated_delta_net). Layer i is linear attention
  // unless recurrent_layers says otherwise or, when the file has no list,
  // (i + 1) % full_attention_interval == 0. Its heads: ssm_group_count key
  // heads and ssm_time_step_rank value heads (a multiple; value head h uses
  // key head h % ssm_group_count), all of size ssm_state_size; the causal
  // convolution over q|k|v is ssm_conv_kernel taps long.
  int ssm_conv_kernel = 0;
  int ssm_inner_size = 0;  // value heads × state size
  int ssm_state_size = 0;
  int ssm_time_step_rank = 0;
  int ssm_group_count = 0;
  int full_attention_interval = 0;
  std::vector<bool> recurrent_layers;  // per layer, filled by complete_config
  std::array<int, 4> rope_sections{};  // multi-section rope; with text positions it is plain neox over n_rot
  int n_layer_nextn = 0;               // multi-token-prediction blocks after the n_layer used ones (not run)

  bool qkv_bias = false;     // q/k/v projections have biases (qwen2)
  bool qk_norm = false;      // per-head RMS norm of q and k before rope (qwen3)
  bool attn_output_gate = false;  // attn_q yields [q | gate] per head; out *= sigmoid(gate) (qwen35)
  bool tied_output = false;  // the output projection is the token embedding
  bool rope_freqs = false;   // a rope_freqs.weight tensor scales the frequencies (llama 3)

  // Multi-head latent attention (deepseek2). q (through a rank-q_lora_rank
  // bottleneck when it is set) has per head mla_key_dim = no-rope dims + n_rot
  // rope dims; one latent per token, kv_lora_rank wide, plus the n_rot rope
  // dims of a key all heads share, is all the cache keeps: head_dim (key
  // length) is kv_lora_rank + n_rot, value_dim kv_lora_rank. Each head's keys
  // and values come from the latent through attn_k_b / attn_v_b, which the
  // engine folds into q and the output instead (llama.cpp's absorption).
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int mla_key_dim = 0;    // attention.key_length_mla
  int mla_value_dim = 0;  // attention.value_length_mla
  float rope_yarn_log_mul = 0;  // rope.scaling.yarn_log_multiplier (as the file has it, 0.1 × mscale_all_dim)
  bool mla() const { return kv_lora_rank > 0; }
  int mla_nope_dim() const { return mla_key_dim - n_rot; }
  // The softmax scale of q·k: 1/sqrt(the query's head size), with DeepSeek's
  // YaRN magnitude factor squared (as llama.cpp's deepseek2 graph computes it).
  float attention_scale() const;

  // DeepSeek's mixture of experts: dense FFNs in the first layers, shared
  // experts (n_expert_shared × n_ff_exp wide, every token) beside the routed
  // ones, routing by softmax or sigmoid with a per-expert selection bias
  // (ffn_exp_probs_b), optionally limited to the best n_group_used of
  // n_expert_groups groups, weights optionally renormalized and scaled.
  int n_layer_dense_lead = 0;
  int n_expert_shared = 0;
  int n_expert_groups = 0;
  int n_group_used = 0;
  int expert_gating_func = 0;  // the file's number: 1 softmax, 2 sigmoid (0: the architecture's)
  bool expert_weights_norm = false;
  float expert_weights_scale = 0;  // 0 or 1: unscaled
  bool expert_selection_bias = false;
  bool is_moe_layer(int layer) const { return moe() && layer >= n_layer_dense_lead; }

  bool gated_delta_net() const { return ssm_state_size > 0; }
  bool is_recurrent(int layer) const { return gated_delta_net() && recurrent_layers[size_t(layer)]; }
  int n_recurrent_layers() const { return int(std::count(recurrent_layers.begin(), recurrent_layers.end(), true)); }
  int delta_key_dim() const { return ssm_group_count * ssm_state_size; }
  int delta_value_dim() const { return ssm_time_step_rank * ssm_state_size; }
  int delta_conv_dim() const { return 2 * delta_key_dim() + delta_value_dim(); }  // q | k | v
  // Floats of one sequence's state in one recurrent layer: the convolution's
  // last ssm_conv_kernel - 1 inputs and each value head's state matrix.
  size_t recurrent_state_floats() const {
    return size_t(ssm_conv_kernel - 1) * size_t(delta_conv_dim()) +
           size_t(ssm_time_step_rank) * size_t(ssm_state_size) * size_t(ssm_state_size);
  }
  int q_dim() const { return n_head * (mla() ? mla_key_dim : head_dim); }
  int kv_dim() const { return n_head_kv * head_dim; }  // MLA: the latent and the shared rope key
  int attn_out_dim() const { return n_head * (mla() ? mla_value_dim : head_dim); }  // attn_output's input
  bool moe() const { return n_expert > 0; }
};

// Reads the configuration from GGUF metadata ({arch}.block_count, ...); the
// vocabulary size comes from token_embd.weight, tied_output and rope_freqs
// from which tensors exist. Errors name the file and the key.
ModelConfig read_model_config(const gguf::File& file);

// Writes general.architecture and the {arch}.* keys read_model_config reads
// (keys equal to what the reader would derive are left out where llama.cpp
// derives them the same way).
void write_model_config(const ModelConfig& config, gguf::Writer& writer);

// A configuration for `arch` with its switches and defaults set and no sizes.
ModelConfig arch_config(const ArchInfo& arch);

// `s1 mkmodel --set KEY=VALUE`: KEY is a metadata key of the architecture
// without the "{arch}." prefix. An unknown key or a malformed value is an
// s1::Error that lists the known keys.
void set_config_key(ModelConfig& config, std::string_view key, std::string_view value);
// The keys set_config_key accepts for this architecture.
std::vector<std::string> config_keys(const ModelConfig& config);

// Fills what is derived (head_dim from embd / heads, n_rot, value_dim, ...)
// and checks the sizes fit together; errors start with `where` (a file path or
// "mkmodel") and name the key.
void complete_config(ModelConfig& config, std::string_view where);

}  // namespace s1
