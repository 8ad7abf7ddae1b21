#include "model/shapes.h"

#include <array>

#include "util/error.h"

namespace s1 {
namespace {

// From the models' config.json files on Hugging Face.
constexpr std::array<ModelShape, 10> kShapes = {{
    {"qwen2.5-0.5b", "qwen2",
     "block_count=24 embedding_length=896 attention.head_count=14 attention.head_count_kv=2 "
     "feed_forward_length=4864 context_length=32768 rope.freq_base=1000000",
     true},
    {"qwen2.5-1.5b", "qwen2",
     "block_count=28 embedding_length=1536 attention.head_count=12 attention.head_count_kv=2 "
     "feed_forward_length=8960 context_length=32768 rope.freq_base=1000000",
     true},
    {"qwen3-0.6b", "qwen3",
     "block_count=28 embedding_length=1024 attention.head_count=16 attention.head_count_kv=8 "
     "attention.key_length=128 attention.value_length=128 feed_forward_length=3072 context_length=40960 "
     "rope.freq_base=1000000",
     true},
    {"llama-3.2-1b", "llama",
     "block_count=16 embedding_length=2048 attention.head_count=32 attention.head_count_kv=8 "
     "feed_forward_length=8192 context_length=131072 rope.freq_base=500000",
     true},
    {"qwen3-30b-a3b", "qwen3moe",
     "block_count=48 embedding_length=2048 attention.head_count=32 attention.head_count_kv=4 "
     "attention.key_length=128 attention.value_length=128 feed_forward_length=6144 expert_count=128 "
     "expert_used_count=8 expert_feed_forward_length=768 context_length=40960 rope.freq_base=1000000",
     false},
    // Qwen3.5: three Gated DeltaNet layers to one gated-attention layer,
    // head size 256 with a quarter of it rotated.
    {"qwen3.5-0.8b", "qwen35",
     "block_count=24 embedding_length=1024 attention.head_count=8 attention.head_count_kv=2 "
     "attention.key_length=256 attention.value_length=256 rope.dimension_count=64 feed_forward_length=3584 "
     "ssm.conv_kernel=4 ssm.state_size=128 ssm.group_count=16 ssm.time_step_rank=16 full_attention_interval=4 "
     "context_length=262144 rope.freq_base=10000000",
     true},
    {"qwen3.5-4b", "qwen35",
     "block_count=32 embedding_length=2560 attention.head_count=16 attention.head_count_kv=4 "
     "attention.key_length=256 attention.value_length=256 rope.dimension_count=64 feed_forward_length=9216 "
     "ssm.conv_kernel=4 ssm.state_size=128 ssm.group_count=16 ssm.time_step_rank=32 full_attention_interval=4 "
     "context_length=262144 rope.freq_base=10000000",
     true},
    // Qwen3.5-35B-A3B: the hybrid layers with 256 experts of width 512, 8 used, and a shared one.
    {"qwen3.5-35b-a3b", "qwen35moe",
     "block_count=40 embedding_length=2048 attention.head_count=16 attention.head_count_kv=2 "
     "attention.key_length=256 attention.value_length=256 rope.dimension_count=64 expert_count=256 "
     "expert_used_count=8 expert_feed_forward_length=512 expert_shared_feed_forward_length=512 "
     "ssm.conv_kernel=4 ssm.state_size=128 ssm.group_count=16 ssm.time_step_rank=32 full_attention_interval=4 "
     "context_length=262144 rope.freq_base=10000000",
     false},
    // gpt-oss-20b: 32 experts of width 2880, 4 used; 128-position windows on every other layer; YaRN x32.
    {"gpt-oss-20b", "gpt-oss",
     "block_count=24 embedding_length=2880 attention.head_count=64 attention.head_count_kv=8 "
     "attention.key_length=64 attention.value_length=64 feed_forward_length=2880 expert_count=32 "
     "expert_used_count=4 expert_feed_forward_length=2880 attention.sliding_window=128 context_length=131072 "
     "rope.freq_base=150000 rope.scaling.factor=32 rope.scaling.original_context_length=4096",
     false},
    // DeepSeek-V2-Lite: MLA with a 512-wide latent and 64 rope dims, plain q; one dense layer, then
    // 64 experts of width 1408 (6 used) and 2 shared; YaRN x40 with mscale_all_dim 0.707.
    {"deepseek-v2-lite", "deepseek2",
     "block_count=27 embedding_length=2048 attention.head_count=16 attention.kv_lora_rank=512 "
     "attention.key_length_mla=192 attention.value_length_mla=128 rope.dimension_count=64 "
     "leading_dense_block_count=1 feed_forward_length=10944 expert_count=64 expert_used_count=6 "
     "expert_feed_forward_length=1408 expert_shared_count=2 expert_gating_func=1 context_length=163840 "
     "rope.scaling.factor=40 rope.scaling.original_context_length=4096 rope.scaling.yarn_log_multiplier=0.0707",
     false},
}};

// Small enough for a test to make in milliseconds, large enough that every
// kernel path (several blocks per row, grouped heads) is taken.
constexpr std::array<ModelShape, 8> kDefaults = {{
    {"qwen2-small", "qwen2",
     "block_count=2 embedding_length=64 attention.head_count=4 attention.head_count_kv=2 feed_forward_length=128",
     false},
    {"qwen3-small", "qwen3",
     "block_count=2 embedding_length=64 attention.head_count=4 attention.head_count_kv=2 "
     "attention.key_length=32 attention.value_length=32 feed_forward_length=128",
     false},
    {"llama-small", "llama",
     "block_count=2 embedding_length=64 attention.head_count=4 attention.head_count_kv=2 feed_forward_length=128",
     false},
    {"qwen3moe-small", "qwen3moe",
     "block_count=2 embedding_length=64 attention.head_count=4 attention.head_count_kv=2 "
     "attention.key_length=32 attention.value_length=32 feed_forward_length=64 expert_count=8 expert_used_count=2 "
     "expert_feed_forward_length=32",
     false},
    {"qwen35-small", "qwen35",
     "block_count=4 embedding_length=64 attention.head_count=4 attention.head_count_kv=2 "
     "attention.key_length=32 attention.value_length=32 rope.dimension_count=16 feed_forward_length=128 "
     "ssm.conv_kernel=4 ssm.state_size=16 ssm.group_count=2 ssm.time_step_rank=4",
     false},
    {"qwen35moe-small", "qwen35moe",
     "block_count=4 embedding_length=64 attention.head_count=4 attention.head_count_kv=2 "
     "attention.key_length=32 attention.value_length=32 rope.dimension_count=16 feed_forward_length=64 "
     "expert_count=8 expert_used_count=2 expert_feed_forward_length=32 expert_shared_feed_forward_length=32 "
     "ssm.conv_kernel=4 ssm.state_size=16 ssm.group_count=2 ssm.time_step_rank=4",
     false},
    {"gpt-oss-small", "gpt-oss",
     "block_count=2 embedding_length=64 attention.head_count=4 attention.head_count_kv=2 "
     "attention.key_length=32 attention.value_length=32 expert_count=8 expert_used_count=2 "
     "expert_feed_forward_length=32 attention.sliding_window=8 rope.freq_base=150000 rope.scaling.factor=32 "
     "rope.scaling.original_context_length=256",
     false},
    {"deepseek2-small", "deepseek2",
     "block_count=3 embedding_length=64 attention.head_count=4 attention.kv_lora_rank=32 "
     "attention.key_length_mla=48 attention.value_length_mla=32 rope.dimension_count=16 leading_dense_block_count=1 "
     "feed_forward_length=128 expert_count=8 expert_used_count=2 expert_feed_forward_length=32 expert_shared_count=1",
     false},
}};

}  // namespace

const ModelShape* find_model_shape(std::string_view name) {
  for (const auto& s : kShapes)
    if (s.name == name) return &s;
  return nullptr;
}

std::span<const ModelShape> model_shapes() { return kShapes; }

const ModelShape& default_shape(std::string_view arch) {
  for (const auto& s : kDefaults)
    if (s.arch == arch) return s;
  fail("architecture '{}' has no default shape", arch);
}

ModelConfig shape_config(const ModelShape& shape) {
  const ArchInfo* arch = find_arch(shape.arch);
  if (!arch) fail("shape {}: unknown architecture '{}'", shape.name, shape.arch);
  ModelConfig c = arch_config(*arch);
  std::string_view rest = shape.keys;
  while (!rest.empty()) {
    const size_t end = std::min(rest.find(' '), rest.size());
    const std::string_view pair = rest.substr(0, end);
    const size_t eq = pair.find('=');
    set_config_key(c, pair.substr(0, eq), pair.substr(eq + 1));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  c.tied_output = shape.tied_output;
  return c;
}

}  // namespace s1
