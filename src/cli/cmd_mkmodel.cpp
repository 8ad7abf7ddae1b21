// `s1 mkmodel`: a random-weight model with exactly the tensor names, shapes
// and metadata llama.cpp expects (model/config.h, model/tensors.h), for tests and
// benchmarks at real sizes without downloading weights. Tensors are generated
// while the file is written (one at a time), so memory stays near the largest
// single tensor even for billion-parameter shapes.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/command.h"
#include "cli/mkmodel.h"
#include "cli/number_checks.h"
#include "gguf/gguf.h"
#include "model/shapes.h"
#include "model/tensors.h"
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

// The model's configuration: the shape (--shape, or the architecture's small
// default), then the size flags, then each --set, then what is derived.
ModelConfig make_config(const MkmodelOptions& o) {
  ModelConfig c;
  if (!o.shape.empty()) {
    const ModelShape* s = find_model_shape(o.shape);
    if (!s) {
      std::string names;
      for (const auto& m : model_shapes()) names += fmt::format("{}{}", names.empty() ? "" : ", ", m.name);
      fail("unknown --shape '{}' (known: {})", o.shape, names);
    }
    if (!o.arch.empty() && o.arch != s->arch)
      fail("--shape {} is a {} model but --arch says {}", o.shape, s->arch, o.arch);
    c = shape_config(*s);
  } else {
    if (o.arch.empty()) fail("mkmodel needs --arch ARCH or --shape NAME");
    if (!find_arch(o.arch)) fail("unknown --arch '{}' (known: {})", o.arch, supported_architectures());
    c = shape_config(default_shape(o.arch));
  }
  const std::pair<const char*, int> aliases[] = {
      {"block_count", o.layers},          {"embedding_length", o.embd},
      {"attention.head_count", o.heads},  {"attention.head_count_kv", o.kv_heads},
      {"feed_forward_length", o.ff},      {"attention.key_length", o.head_dim},
      {"attention.value_length", o.head_dim}, {"context_length", o.ctx}};
  for (auto [key, value] : aliases)
    if (value != 0) set_config_key(c, key, std::to_string(value));
  // An --embd / --heads pair without --head-dim keeps heads of embd / heads.
  if (o.head_dim == 0 && (o.embd != 0 || o.heads != 0)) c.head_dim = c.value_dim = 0;
  for (const std::string& pair : o.sets) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) fail("--set '{}' is not KEY=VALUE", pair);
    set_config_key(c, std::string_view(pair).substr(0, eq), std::string_view(pair).substr(eq + 1));
  }
  if (o.tied) c.tied_output = true;
  complete_config(c, "mkmodel");
  return c;
}

fs::path find_shared_vocab(std::string_view arch) {
  const std::string file(find_arch(arch)->vocab_file);
  if (file.empty()) return {};
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
  ModelBuilder(gguf::Writer& w, uint64_t seed, float stddev) : w_(w), seed_(seed), stddev_(stddev) {}

  void norm(const std::string& name, std::vector<uint64_t> shape) {
    w_.add_tensor_generated(name, DType::F32, std::move(shape), [](std::span<uint8_t> out) {
      std::span<float> v(reinterpret_cast<float*>(out.data()), out.size() / 4);
      std::fill(v.begin(), v.end(), 1.0f);
    });
  }

  // Per-step decay rates a < 0 (Gated DeltaNet's ssm_a, −exp(A_log)): with
  // a around −0.1 a recurrent state keeps ~93 % per step, so what a test
  // feeds in early still shows many tokens later.
  void decay(const std::string& name, std::vector<uint64_t> shape) {
    uint64_t seed = tensor_seed(seed_, name);
    w_.add_tensor_generated(name, DType::F32, std::move(shape), [seed](std::span<uint8_t> out) {
      std::span<float> v(reinterpret_cast<float*>(out.data()), out.size() / 4);
      fill_normal(v, seed, 1.0f);
      for (float& x : v) x = -0.1f * std::exp(x);
    });
  }

  void random(const std::string& name, DType type, std::vector<uint64_t> shape) {
    uint64_t seed = tensor_seed(seed_, name);
    w_.add_tensor_generated(name, type, std::move(shape),
                            [seed, type, stddev = stddev_](std::span<uint8_t> out) { fill_random(out, type, seed, stddev); });
  }

  // Values come in fixed-size chunks, each from its own seed, and are then
  // stored as f32, f16 or bf16: the f16 file of a seed is the f32 file rounded,
  // and no f32 copy of a whole tensor is ever held.

 private:
  static void fill_random(std::span<uint8_t> out, DType type, uint64_t seed, float stddev) {
    constexpr size_t kChunk = 1 << 16;
    std::vector<float> f(kChunk);
    size_t n = out.size() / (type == DType::F32 ? 4 : 2);
    Rng chunk_seeds{seed};
    for (size_t i = 0; i < n; i += kChunk) {
      size_t k = std::min(kChunk, n - i);
      fill_normal({f.data(), k}, chunk_seeds.next(), stddev);
      if (type == DType::F32) {
        std::memcpy(out.data() + 4 * i, f.data(), 4 * k);
        continue;
      }
      auto* dst = reinterpret_cast<uint16_t*>(out.data()) + i;
      for (size_t j = 0; j < k; ++j) dst[j] = type == DType::F16 ? f32_to_f16(f[j]) : f32_to_bf16(f[j]);
    }
  }

  gguf::Writer& w_;
  uint64_t seed_;
  float stddev_;
};

void build_model(gguf::Writer& w, ModelConfig& c, const MkmodelOptions& o, DType weight_type) {
  std::string vocab_path = o.vocab_from;
  if (vocab_path.empty() && !o.shape.empty()) {
    vocab_path = find_shared_vocab(c.arch).string();
    if (vocab_path.empty()) log_warn("no shared vocabulary found for {}; using the tiny byte vocabulary", o.shape);
  }
  w.set("general.architecture", Value{c.arch});
  const std::string name = o.shape.empty() ? fmt::format("random-{}-{}x{}", c.arch, c.n_layer, c.n_embd)
                                           : fmt::format("random-{}", o.shape);
  w.set("general.name", Value{o.name.empty() ? name : o.name});
  w.set("general.file_type", Value{float_file_type(weight_type)});
  c.n_vocab = int(vocab_path.empty() ? set_tiny_vocab(w) : copy_vocab(w, vocab_path));
  if (!o.chat_template.empty()) {
    std::ifstream in(o.chat_template, std::ios::binary);
    if (!in) fail("--chat-template {}: cannot read the file", o.chat_template);
    w.set("tokenizer.chat_template", Value{std::string(std::istreambuf_iterator<char>(in), {})});
  }
  write_model_config(c, w);

  ModelBuilder b(w, o.seed, o.stddev);
  for_each_tensor(c, [&](const TensorSpec& t) {
    switch (t.kind) {
      case TensorKind::matrix:
      case TensorKind::experts: b.random(t.name, weight_type, t.shape); break;
      case TensorKind::router:
      case TensorKind::vector: b.random(t.name, DType::F32, t.shape); break;
      case TensorKind::norm: b.norm(t.name, t.shape); break;
      case TensorKind::decay: b.decay(t.name, t.shape); break;
    }
  });
}

}  // namespace

int run_mkmodel(const MkmodelOptions& o) {
  ModelConfig config = make_config(o);
  auto type = parse_dtype(o.type);
  bool direct = type && (*type == DType::F32 || *type == DType::F16 || *type == DType::BF16);
  static const char* kQuantRecipes[] = {"q8_0", "q4_0", "q5_0", "q4_k_m", "q5_k_m", "q6_k", "mxfp4_moe"};
  bool quantized = std::find(std::begin(kQuantRecipes), std::end(kQuantRecipes), o.type) != std::end(kQuantRecipes);
  if (!direct && !quantized)
    fail("unknown --type '{}' (f32, f16, bf16, q8_0, q4_0, q5_0, q4_k_m, q5_k_m, q6_k, mxfp4_moe)", o.type);

  gguf::Writer w;
  build_model(w, config, o, direct ? *type : DType::F32);
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
  const ModelConfig& c = config;
  if (c.moe())
    log_info("wrote {} ({} {}: {} layers, embd {}, {} heads / {} kv, {} experts of ff {}, {} used)", o.output, c.arch,
             o.type, c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.n_expert, c.n_ff_exp, c.n_expert_used);
  else
    log_info("wrote {} ({} {}: {} layers, embd {}, {} heads / {} kv, ff {})", o.output, c.arch, o.type, c.n_layer,
             c.n_embd, c.n_head, c.n_head_kv, c.n_ff);
  return 0;
}

void add_model_shape_options(CLI::App& app, MkmodelOptions& o, const std::string& arch_flag,
                             const std::string& shape_flag) {
  std::string shapes;
  for (const auto& m : model_shapes()) shapes += fmt::format("{}{}", shapes.empty() ? "" : ", ", m.name);
  app.add_option(arch_flag, o.arch, "Architecture: " + supported_architectures() + " (small default shape)");
  app.add_option(shape_flag, o.shape, "A real model's shape: " + shapes);
  app.add_option("--set", o.sets,
                 "KEY=VALUE: any {arch}. metadata key without the prefix (block_count, expert_count, ...); repeatable");
  app.add_option("--layers", o.layers, "Transformer blocks (= --set block_count=N)");
  app.add_option("--embd", o.embd, "Embedding width (= --set embedding_length=N)");
  app.add_option("--heads", o.heads, "Attention heads (= --set attention.head_count=N)");
  app.add_option("--kv-heads", o.kv_heads, "Key/value heads (= --set attention.head_count_kv=N)");
  app.add_option("--ff", o.ff, "Feed-forward width (= --set feed_forward_length=N)");
  app.add_option("--head-dim", o.head_dim, "Head dimension (default embd / heads; = --set attention.key_length=N)");
  app.add_option("--chat-template", o.chat_template, "Jinja chat template file to store (after --vocab-from's)");
  app.add_option("--vocab-from", o.vocab_from, "Copy the tokenizer from this GGUF (default: tiny byte vocab)");
  app.add_flag("--tied", o.tied, "Share token_embd as the output projection");
  app.add_option("--ctx", o.ctx, "Context length to record (= --set context_length=N)");
}

}  // namespace s1::cli

S1_COMMAND(mkmodel, "Write a random-weight GGUF of any supported architecture that llama.cpp can load") {
  auto o = std::make_shared<s1::cli::MkmodelOptions>();
  s1::cli::add_model_shape_options(app, *o, "--arch", "--shape");
  app.add_option("--seed", o->seed, "Random seed (same seed, same file)");
  app.add_option("--stddev", o->stddev, "Standard deviation of the random weights (default 0.02)")
      ->check(s1::cli::positive_number());
  app.add_option("--type", o->type, "f32, f16, bf16, q8_0, q4_0, q5_0, q4_k_m, q5_k_m, q6_k or mxfp4_moe");
  app.add_option("--name", o->name, "general.name");
  app.add_option("-o,--output", o->output, "Output GGUF file")->required();
  return [o] { return s1::cli::run_mkmodel(*o); };
}
