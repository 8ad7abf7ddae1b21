// `s1 mkmodel`: a random-weight model with exactly the tensor names, shapes
// and metadata llama.cpp expects for qwen2 / qwen3 / llama, for tests and
// benchmarks at real sizes without downloading weights. Tensors are generated
// while the file is written (one at a time), so memory stays near the largest
// single tensor even for billion-parameter shapes.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/command.h"
#include "cli/mkmodel.h"
#include "gguf/gguf.h"
#include "model/shapes.h"
#include "tensor/blocks.h"
#include "util/error.h"
#include "util/log.h"
#if __has_include("model/quantize.h")
#include "model/quantize.h"
#define S1_HAVE_QUANTIZE 1
#endif

namespace s1::cli {
namespace {

namespace fs = std::filesystem;
using gguf::Value;

struct Plan {
  ModelShape shape;
  ArchTraits arch;
};

// Splitmix64: tiny, fast and identical everywhere (std distributions are not).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return double((next() >> 11) + 1) * 0x1.0p-53; }  // (0, 1]
};

// Each tensor's stream depends only on the seed and its name, so the file is
// the same whatever order tensors are written in.
uint64_t tensor_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h ^ (seed * 0x9e3779b97f4a7c15ull);
}

void fill_normal(std::span<float> out, uint64_t seed, float stddev) {
  Rng rng{seed};
  for (size_t i = 0; i < out.size(); i += 2) {  // Box-Muller, two values per draw
    double r = std::sqrt(-2.0 * std::log(rng.uniform())) * stddev;
    double t = 2.0 * M_PI * rng.uniform();
    out[i] = float(r * std::cos(t));
    if (i + 1 < out.size()) out[i + 1] = float(r * std::sin(t));
  }
}

Plan make_plan(const MkmodelOptions& o) {
  Plan p{};
  if (!o.shape.empty()) {
    const ModelShape* s = find_model_shape(o.shape);
    if (!s) {
      std::string names;
      for (const auto& m : model_shapes()) names += fmt::format("{}{}", names.empty() ? "" : ", ", m.name);
      fail("unknown --shape '{}' (known: {})", o.shape, names);
    }
    if (!o.arch.empty() && o.arch != s->arch)
      fail("--shape {} is a {} model but --arch says {}", o.shape, s->arch, o.arch);
    p.shape = *s;
  } else {
    if (o.arch.empty()) fail("mkmodel needs --arch with custom dimensions (or --shape NAME)");
    if (o.layers <= 0 || o.embd <= 0 || o.heads <= 0 || o.kv_heads <= 0 || o.ff <= 0)
      fail("mkmodel needs --layers, --embd, --heads, --kv-heads and --ff (all positive), or --shape NAME");
    if (!o.head_dim && o.embd % o.heads != 0)
      fail("--embd {} is not a multiple of --heads {}; give --head-dim", o.embd, o.heads);
    auto traits = arch_traits(o.arch);
    p.shape = ModelShape{"custom", o.arch, o.layers, o.embd, o.heads, o.kv_heads,
                         o.head_dim ? o.head_dim : o.embd / o.heads, o.ff, o.tied, 4096,
                         traits ? traits->rope_theta : 0};
  }
  auto traits = arch_traits(p.shape.arch);
  if (!traits) fail("unknown --arch '{}' (known: qwen2, qwen3, llama)", p.shape.arch);
  p.arch = *traits;
  if (o.tied) p.shape.tied_output = true;
  if (o.ctx > 0) p.shape.context_length = o.ctx;
  if (p.shape.n_heads % p.shape.n_kv_heads != 0)
    fail("--heads {} is not a multiple of --kv-heads {}", p.shape.n_heads, p.shape.n_kv_heads);
  if (p.shape.head_dim <= 0 || p.shape.head_dim % 2 != 0)
    fail("head dim {} must be positive and even (rope rotates pairs)", p.shape.head_dim);
  return p;
}

fs::path find_shared_vocab(std::string_view arch) {
  std::string file = arch == "llama" ? "ggml-vocab-llama-bpe.gguf" : "ggml-vocab-qwen2.gguf";
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("S1_SHARED")) roots.emplace_back(env);
  roots.emplace_back("../shared");
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back(exe.parent_path().parent_path().parent_path() / "shared");
  for (const auto& root : roots)
    if (fs::exists(root / "tokenizer" / file, ec)) return root / "tokenizer" / file;
  return {};
}

// GPT-2's byte-to-unicode map: printable bytes stand for themselves, the rest
// are shifted to U+0100.. so every byte is a visible token.
std::vector<std::string> byte_tokens() {
  std::vector<std::string> tokens(256);
  int shifted = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    int cp = printable ? b : 256 + shifted++;
    std::string s;
    if (cp < 0x80) {
      s += char(cp);
    } else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    tokens[b] = s;
  }
  return tokens;
}

constexpr const char* kChatMlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// A vocabulary of the 256 bytes, a few merges and the chat/thinking specials,
// in the layout of the conformance models (gpt2 BPE, qwen2 pre-tokenizer).
// Returns the vocabulary size.
int64_t set_tiny_vocab(gguf::Writer& w) {
  std::vector<std::string> tokens = byte_tokens();
  const std::vector<std::string> merges = {"Ġ t", "h e", "i n", "Ġt he", "e r", "a n", "o n", "r e"};
  for (const auto& m : merges) tokens.push_back(m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1));
  std::vector<int32_t> types(tokens.size(), 1);  // normal
  int32_t first_special = int32_t(tokens.size());
  for (const char* s : {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"}) {
    tokens.push_back(s);
    types.push_back(3);  // control
  }
  w.set("tokenizer.ggml.model", Value{std::string("gpt2")});
  w.set("tokenizer.ggml.pre", Value{std::string("qwen2")});
  w.set("tokenizer.ggml.tokens", gguf::make_string_array(tokens));
  w.set("tokenizer.ggml.token_type", gguf::make_int_array(types));
  w.set("tokenizer.ggml.merges", gguf::make_string_array(merges));
  w.set("tokenizer.ggml.bos_token_id", Value{uint32_t(first_special)});      // <|endoftext|>
  w.set("tokenizer.ggml.eos_token_id", Value{uint32_t(first_special + 2)});  // <|im_end|>
  w.set("tokenizer.ggml.add_bos_token", Value{false});
  w.set("tokenizer.chat_template", Value{std::string(kChatMlTemplate)});
  return int64_t(tokens.size());
}

// Copies every tokenizer.* key; returns the vocabulary size.
int64_t copy_vocab(gguf::Writer& w, const std::string& path) {
  gguf::File vocab = gguf::File::open(path);
  const gguf::Array* tokens = vocab.get_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->items.empty()) fail("{}: no tokenizer.ggml.tokens to copy", path);
  for (const auto& [key, value] : vocab.metadata())
    if (key.starts_with("tokenizer.")) w.set(key, value);
  return int64_t(tokens->items.size());
}

// llama.cpp's general.file_type for the float types written directly.
uint32_t float_file_type(DType t) { return t == DType::F16 ? 1 : t == DType::BF16 ? 32 : 0; }

class ModelBuilder {
 public:
  ModelBuilder(gguf::Writer& w, DType weight_type, uint64_t seed) : w_(w), weight_type_(weight_type), seed_(seed) {}

  void matrix(const std::string& name, uint64_t cols, uint64_t rows) { random(name, weight_type_, {cols, rows}); }
  void bias(const std::string& name, uint64_t n) { random(name, DType::F32, {n}); }
  void norm(const std::string& name, uint64_t n) {
    w_.add_tensor_generated(name, DType::F32, {n}, [](std::span<uint8_t> out) {
      std::span<float> v(reinterpret_cast<float*>(out.data()), out.size() / 4);
      std::fill(v.begin(), v.end(), 1.0f);
    });
  }

 private:
  void random(const std::string& name, DType type, std::vector<uint64_t> shape) {
    uint64_t seed = tensor_seed(seed_, name);
    w_.add_tensor_generated(name, type, std::move(shape),
                            [seed, type](std::span<uint8_t> out) { fill_random(out, type, seed); });
  }

  // Values come in fixed-size chunks, each from its own seed, and are then
  // stored as f32, f16 or bf16: the f16 file of a seed is the f32 file rounded,
  // and no f32 copy of a whole tensor is ever held.
  static void fill_random(std::span<uint8_t> out, DType type, uint64_t seed) {
    constexpr size_t kChunk = 1 << 16;
    std::vector<float> f(kChunk);
    size_t n = out.size() / (type == DType::F32 ? 4 : 2);
    Rng chunk_seeds{seed};
    for (size_t i = 0; i < n; i += kChunk) {
      size_t k = std::min(kChunk, n - i);
      fill_normal({f.data(), k}, chunk_seeds.next(), 0.02f);
      if (type == DType::F32) {
        std::memcpy(out.data() + 4 * i, f.data(), 4 * k);
        continue;
      }
      auto* dst = reinterpret_cast<uint16_t*>(out.data()) + i;
      for (size_t j = 0; j < k; ++j) dst[j] = type == DType::F16 ? f32_to_f16(f[j]) : f32_to_bf16(f[j]);
    }
  }

  gguf::Writer& w_;
  DType weight_type_;
  uint64_t seed_;
};

void build_model(gguf::Writer& w, const Plan& p, const MkmodelOptions& o, DType weight_type) {
  const ModelShape& s = p.shape;
  const std::string a(s.arch);
  auto key = [&](const char* suffix) { return a + "." + suffix; };
  w.set("general.architecture", Value{a});
  std::string name = o.shape.empty() ? fmt::format("random-{}-{}x{}", a, s.n_layers, s.n_embd)
                                     : fmt::format("random-{}", s.name);
  w.set("general.name", Value{o.name.empty() ? name : o.name});
  w.set("general.file_type", Value{float_file_type(weight_type)});
  w.set(key("block_count"), Value{uint32_t(s.n_layers)});
  w.set(key("context_length"), Value{uint32_t(s.context_length)});
  w.set(key("embedding_length"), Value{uint32_t(s.n_embd)});
  w.set(key("feed_forward_length"), Value{uint32_t(s.n_ff)});
  w.set(key("attention.head_count"), Value{uint32_t(s.n_heads)});
  w.set(key("attention.head_count_kv"), Value{uint32_t(s.n_kv_heads)});
  w.set(key("rope.freq_base"), Value{float(s.rope_theta)});
  w.set(key("attention.layer_norm_rms_epsilon"), Value{float(p.arch.rms_eps)});
  if (p.arch.qk_norm || s.head_dim * s.n_heads != s.n_embd) {
    w.set(key("attention.key_length"), Value{uint32_t(s.head_dim)});
    w.set(key("attention.value_length"), Value{uint32_t(s.head_dim)});
  }
  if (a == "llama") w.set(key("rope.dimension_count"), Value{uint32_t(s.head_dim)});

  std::string vocab_path = o.vocab_from;
  if (vocab_path.empty() && !o.shape.empty()) {
    vocab_path = find_shared_vocab(s.arch).string();
    if (vocab_path.empty()) log_warn("no shared vocabulary found for {}; using the tiny byte vocabulary", s.name);
  }
  int64_t n_vocab = vocab_path.empty() ? set_tiny_vocab(w) : copy_vocab(w, vocab_path);
  if (a == "llama") w.set(key("vocab_size"), Value{uint32_t(n_vocab)});

  const uint64_t embd = s.n_embd, q_dim = uint64_t(s.n_heads) * s.head_dim,
                 kv_dim = uint64_t(s.n_kv_heads) * s.head_dim, vocab = uint64_t(n_vocab);
  ModelBuilder b(w, weight_type, o.seed);
  b.matrix("token_embd.weight", embd, vocab);
  b.norm("output_norm.weight", embd);
  if (!s.tied_output) b.matrix("output.weight", embd, vocab);
  for (int l = 0; l < s.n_layers; ++l) {
    auto t = [&](const char* name) { return fmt::format("blk.{}.{}", l, name); };
    b.norm(t("attn_norm.weight"), embd);
    b.matrix(t("attn_q.weight"), embd, q_dim);
    b.matrix(t("attn_k.weight"), embd, kv_dim);
    b.matrix(t("attn_v.weight"), embd, kv_dim);
    if (p.arch.qkv_bias) {
      b.bias(t("attn_q.bias"), q_dim);
      b.bias(t("attn_k.bias"), kv_dim);
      b.bias(t("attn_v.bias"), kv_dim);
    }
    if (p.arch.qk_norm) {
      b.norm(t("attn_q_norm.weight"), uint64_t(s.head_dim));
      b.norm(t("attn_k_norm.weight"), uint64_t(s.head_dim));
    }
    b.matrix(t("attn_output.weight"), q_dim, embd);
    b.norm(t("ffn_norm.weight"), embd);
    b.matrix(t("ffn_gate.weight"), embd, uint64_t(s.n_ff));
    b.matrix(t("ffn_up.weight"), embd, uint64_t(s.n_ff));
    b.matrix(t("ffn_down.weight"), uint64_t(s.n_ff), embd);
  }
}

}  // namespace

int run_mkmodel(const MkmodelOptions& o) {
  Plan plan = make_plan(o);
  auto type = parse_dtype(o.type);
  bool direct = type && (*type == DType::F32 || *type == DType::F16 || *type == DType::BF16);
  static const char* kQuantRecipes[] = {"q8_0", "q4_0", "q5_0", "q4_k_m", "q5_k_m", "q6_k"};
  bool quantized = std::find(std::begin(kQuantRecipes), std::end(kQuantRecipes), o.type) != std::end(kQuantRecipes);
  if (!direct && !quantized)
    fail("unknown --type '{}' (f32, f16, bf16, q8_0, q4_0, q5_0, q4_k_m, q5_k_m, q6_k)", o.type);

  gguf::Writer w;
  build_model(w, plan, o, direct ? *type : DType::F32);
  if (direct) {
    w.write(o.output);
  } else {
#ifdef S1_HAVE_QUANTIZE
    std::string temp = fmt::format("{}.f32-{}.tmp", o.output, getpid());
    try {
      w.write(temp);
      quantize_file(temp, o.output, o.type, 0);
    } catch (...) {
      std::remove(temp.c_str());
      throw;
    }
    std::remove(temp.c_str());
#else
    fail("--type {} needs the quantizer (model/quantize.h), which this build does not have", o.type);
#endif
  }
  const ModelShape& s = plan.shape;
  log_info("wrote {} ({} {}: {} layers, embd {}, {} heads / {} kv, ff {})", o.output, s.arch, o.type, s.n_layers,
           s.n_embd, s.n_heads, s.n_kv_heads, s.n_ff);
  return 0;
}

void add_model_shape_options(CLI::App& app, MkmodelOptions& o, const std::string& arch_flag,
                             const std::string& shape_flag) {
  app.add_option(arch_flag, o.arch, "Architecture: qwen2, qwen3 or llama");
  app.add_option(shape_flag, o.shape, "A real model's shape: qwen2.5-0.5b, qwen2.5-1.5b, qwen3-0.6b, llama-3.2-1b");
  app.add_option("--layers", o.layers, "Transformer blocks");
  app.add_option("--embd", o.embd, "Embedding width");
  app.add_option("--heads", o.heads, "Attention heads");
  app.add_option("--kv-heads", o.kv_heads, "Key/value heads");
  app.add_option("--ff", o.ff, "Feed-forward width");
  app.add_option("--head-dim", o.head_dim, "Head dimension (default embd / heads)");
  app.add_option("--vocab-from", o.vocab_from, "Copy the tokenizer from this GGUF (default: tiny byte vocab)");
  app.add_flag("--tied", o.tied, "Share token_embd as the output projection");
  app.add_option("--ctx", o.ctx, "Context length to record");
}

}  // namespace s1::cli

S1_COMMAND(mkmodel, "Write a random-weight qwen2/qwen3/llama GGUF that llama.cpp can load") {
  auto o = std::make_shared<s1::cli::MkmodelOptions>();
  s1::cli::add_model_shape_options(app, *o, "--arch", "--shape");
  app.add_option("--seed", o->seed, "Random seed (same seed, same file)");
  app.add_option("--type", o->type, "f32, f16, bf16, q8_0, q4_0, q5_0, q4_k_m, q5_k_m or q6_k");
  app.add_option("--name", o->name, "general.name");
  app.add_option("-o,--output", o->output, "Output GGUF file")->required();
  return [o] { return s1::cli::run_mkmodel(*o); };
}
