#include "train/trainer.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <climits>
#include <cstring>
#include <optional>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "train/optimizer.h"
#include "train/sft_data.h"
#include "train/transformer.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace s1::train {

namespace {

namespace fs = std::filesystem;
using gguf::Value;

constexpr const char* kMomentPrefix[2] = {"train.adam_m.", "train.adam_v."};

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A permutation of [0, n) that depends only on (seed, stream).
std::vector<int> shuffled(int n, uint64_t seed, uint64_t stream) {
  std::vector<int> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) order[size_t(i)] = i;
  uint64_t state = seed ^ (stream * 0xd1b54a32d192ed03ull);
  for (int i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(splitmix(state) % uint64_t(i + 1))]);
  return order;
}

bool in_group(const std::string& name, const std::string& group, bool tied) {
  if (group == "embeddings") return name == "token_embd.weight";
  if (group == "output") return name == "output.weight" || name == "output_norm.weight" || (tied && name == "token_embd.weight");
  if (group == "norms") return name.find("norm.weight") != std::string::npos;
  if (group == "attention") return name.find(".attn_") != std::string::npos && name.find("attn_norm") == std::string::npos;
  if (group == "ffn") return name.find(".ffn_") != std::string::npos && name.find("ffn_norm") == std::string::npos;
  fail("unknown --freeze group '{}' (known: embeddings, output, norms, attention, ffn)", group);
}

void apply_freeze(Weights& w, const std::vector<std::string>& groups) {
  for (auto& t : w.tensors())
    for (const auto& g : groups)
      if (in_group(t->name, g, w.config().tied_output)) t->trainable = false;
  if (w.trainable_count() == 0) fail("--freeze leaves no tensor to train");
}

uint64_t available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

// Bytes training will hold, from the file alone (checked before any weight is
// loaded): per trainable weight its value, gradient, two moments and a
// transposed copy (frozen: value and transpose); the saved activations of one
// micro-batch; the logits and their gradient.
struct MemoryPlan {
  uint64_t weights = 0, activations = 0;
  uint64_t total() const { return weights + activations; }
};

MemoryPlan plan_memory(const gguf::File& file, const TrainConfig& cfg, int micro_tokens) {
  const ModelConfig c = read_model_config(file);
  MemoryPlan p;
  for (const auto& t : file.tensors()) {
    if (t.name.starts_with("train.") || t.name.ends_with(".lora_a") || t.name.ends_with(".lora_b")) continue;
    bool trains = cfg.lora_rank == 0;
    for (const auto& g : cfg.freeze) trains = trains && !in_group(t.name, g, c.tied_output);
    p.weights += t.n_elements * 4 * (trains ? 5 : 2);
    if (cfg.lora_rank > 0 && t.shape.size() == 2 && t.name.starts_with("blk."))  // adapters on the projections
      p.weights += uint64_t(cfg.lora_rank) * (t.shape[0] + t.shape[1]) * 4 * 5;
  }
  const uint64_t per_token_layer = 4ull * c.n_embd + 3ull * c.q_dim() + 3ull * c.kv_dim() + 3ull * c.n_ff +
                                   uint64_t(c.n_head) * uint64_t(cfg.max_len);
  p.activations = 4ull * uint64_t(micro_tokens) * (per_token_layer * uint64_t(c.n_layer) + 3ull * c.n_vocab);
  return p;
}

std::string gib(uint64_t bytes) { return fmt::format("{:.2f} GiB", double(bytes) / double(1ull << 30)); }

void save_checkpoint(const std::string& path, const Weights& w, AdamW& opt, const gguf::File& base, int64_t step,
                     int64_t total, uint64_t seed) {
  gguf::Writer writer;
  w.add_to(writer, &base, true);
  writer.set("train.step", Value{uint64_t(step)});
  writer.set("train.total_steps", Value{uint64_t(total)});
  writer.set("train.seed", Value{seed});
  const auto moments = std::array{&opt.first_moments(), &opt.second_moments()};
  for (int which = 0; which < 2; ++which) {
    const auto& per_tensor = *moments[size_t(which)];
    for (size_t k = 0; k < w.tensors().size(); ++k) {
      const Tensor& t = *w.tensors()[k];
      if (!t.trainable) continue;
      writer.add_tensor_view(kMomentPrefix[which] + t.name, DType::F32, t.shape,
                             {reinterpret_cast<const uint8_t*>(per_tensor[k].data()), per_tensor[k].size() * 4});
    }
  }
  writer.write(path);
}

// The AdamW moments and step count saved by save_checkpoint().
int64_t load_checkpoint_state(const gguf::File& file, Weights& w, AdamW& opt) {
  auto moments = std::array{&opt.first_moments(), &opt.second_moments()};
  for (int which = 0; which < 2; ++which) {
    for (size_t k = 0; k < w.tensors().size(); ++k) {
      const Tensor& t = *w.tensors()[k];
      if (!t.trainable) continue;
      const std::string name = kMomentPrefix[which] + t.name;
      const gguf::TensorInfo* info = file.find_tensor(name);
      if (!info || info->type != DType::F32 || info->n_elements != uint64_t(t.size()))
        fail("{}: tensor '{}' is missing or has the wrong shape; was the checkpoint made with other --freeze groups?",
             file.path(), name);
      std::memcpy((*moments[size_t(which)])[k].data(), info->data, size_t(t.size()) * 4);
    }
  }
  const int64_t step = file.get_int("train.step").value_or(-1);
  if (step < 0) fail("{}: no train.step; not a training checkpoint", file.path());
  opt.set_steps_taken(step);
  return step;
}

// Greedy packing, in order: a micro-batch takes examples while their inputs fit.
std::vector<TokenBatch> pack(const std::vector<const SftExample*>& examples, int micro_tokens) {
  std::vector<TokenBatch> batches;
  for (const SftExample* ex : examples) {
    const int inputs = int(ex->tokens.size()) - 1;
    if (batches.empty() || batches.back().size() + inputs > micro_tokens) batches.emplace_back();
    batches.back().add_example(ex->tokens, ex->loss_mask);
  }
  return batches;
}

// Where each step starts in the run's stream of examples (and, last, where
// the run ends): --batch examples per step, or with --batch-tokens as many
// whole examples as fit that many tokens (at least one). The run covers
// --epochs passes, or exactly --steps steps.
template <typename ExampleAt>
std::vector<int64_t> plan_steps(const TrainConfig& cfg, int64_t n_train, ExampleAt example_at) {
  std::vector<int64_t> begin = {0};
  const int64_t end = cfg.steps > 0 ? INT64_MAX : n_train * cfg.epochs;
  int64_t i = 0;
  while (i < end && (cfg.steps <= 0 || int64_t(begin.size()) <= cfg.steps)) {
    if (cfg.batch_tokens > 0) {
      int64_t tokens = int64_t(example_at(i)->tokens.size());
      ++i;
      while (i < end && tokens + int64_t(example_at(i)->tokens.size()) <= cfg.batch_tokens)
        tokens += int64_t(example_at(i++)->tokens.size());
    } else {
      i = std::min(end, i + cfg.batch);
    }
    begin.push_back(i);
  }
  return begin;
}

std::string duration(double seconds) {
  const int64_t s = int64_t(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  return fmt::format("{}m{:02}s", s / 60, s % 60);
}

void draw_progress(int64_t step, int64_t total, double loss, double lr, double tokens_per_s, double eta) {
  constexpr int kWidth = 30;
  const int filled = int(double(kWidth) * double(step) / double(std::max<int64_t>(total, 1)));
  fmt::print(stderr, "\r[{}{}] step {}/{} loss {:.4f} lr {:.2e} {:.0f} tok/s ETA {}  ", std::string(size_t(filled), '#'),
             std::string(size_t(kWidth - filled), '.'), step, total, loss, lr, tokens_per_s, duration(eta));
  std::fflush(stderr);
}

// Keeps the log lines of steps up to `step` (a resumed run rewrites the rest).
void trim_log(const fs::path& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line, nullptr, false);
    if (!row.is_discarded() && row.contains("step") && row["step"].is_number() && row["step"].get<int64_t>() <= step)
      kept += line + "\n";
  }
  in.close();
  std::ofstream(path, std::ios::trunc) << kept;
}

}  // namespace

TrainSummary run_training(const TrainConfig& cfg) {
  if (cfg.base.empty()) fail("train needs --base MODEL.gguf (make a fresh one with `s1 mkmodel`)");
  if (cfg.data.empty()) fail("train needs --data FILE.jsonl");
  if (cfg.out.empty()) fail("train needs --out DIR");
  if (cfg.batch <= 0) fail("--batch {} is not positive", cfg.batch);
  if (cfg.batch_tokens < 0) fail("--batch-tokens {} is negative", cfg.batch_tokens);
  if (cfg.max_len < 2) fail("--max-len {} is too small", cfg.max_len);
  if (cfg.epochs <= 0 && cfg.steps <= 0) fail("train needs a positive --epochs or --steps");
  if (cfg.lr <= 0) fail("--lr {} is not positive", cfg.lr);
  if (cfg.eval_split < 0 || cfg.eval_split >= 1) fail("--eval-split {} is not in [0, 1)", cfg.eval_split);
  const int micro_tokens = cfg.micro_tokens > 0 ? cfg.micro_tokens : cfg.max_len;
  if (micro_tokens < cfg.max_len) fail("--micro-tokens {} is below --max-len {}", micro_tokens, cfg.max_len);

  fs::create_directories(cfg.out);
  // A run killed while writing leaves a temporary file beside the checkpoint
  // (gguf::Writer writes NAME.tmp-PID-N, then renames it): never a valid file.
  for (const auto& entry : fs::directory_iterator(cfg.out)) {
    const std::string name = entry.path().filename().string();
    for (const char* output : {"checkpoint.gguf.tmp-", "final.gguf.tmp-", "adapter.gguf.tmp-"})
      if (name.starts_with(output)) fs::remove(entry.path());
  }
  const fs::path checkpoint_path = fs::path(cfg.out) / "checkpoint.gguf";
  const fs::path final_path = fs::path(cfg.out) / "final.gguf";
  const fs::path log_path = fs::path(cfg.out) / "log.jsonl";

  const gguf::File base = gguf::File::open(cfg.base);
  const Tokenizer tokenizer = Tokenizer::from_gguf(base);
  const ModelChatTemplate chat_template = load_chat_template(base);
  SftFormat format{&tokenizer, &chat_template, detect_thinking_format(base, tokenizer)};
  if (!format.thinking.has_thinking()) format.thinking = think_tag_format();

  std::vector<SftExample> all;
  for (const auto& path : cfg.data) {
    SftData d = load_sft_jsonl(path, format, cfg.max_len, cfg.skip_bad);
    for (auto& ex : d.examples) all.push_back(std::move(ex));
  }
  if (all.empty()) fail("{}: no training examples (after dropping those over --max-len {})", cfg.data[0], cfg.max_len);
  std::vector<const SftExample*> train, eval;
  {
    const std::vector<int> order = shuffled(int(all.size()), cfg.seed, ~0ull);
    const size_t n_eval = size_t(std::llround(cfg.eval_split * double(all.size())));
    for (size_t i = 0; i < order.size(); ++i) (i < n_eval ? eval : train).push_back(&all[size_t(order[i])]);
    if (train.empty()) fail("--eval-split {} leaves no training examples", cfg.eval_split);
  }
  const int64_t n_train = int64_t(train.size());
  std::map<int64_t, std::vector<int>> orders;  // per epoch
  auto example_at = [&](int64_t i) {  // the i-th example of the run, over all epochs
    const int64_t epoch = i / n_train;
    auto it = orders.find(epoch);
    if (it == orders.end()) it = orders.emplace(epoch, shuffled(int(n_train), cfg.seed, uint64_t(epoch))).first;
    return train[size_t(it->second[size_t(i % n_train)])];
  };
  const std::vector<int64_t> step_begin = plan_steps(cfg, n_train, example_at);
  const int64_t total = int64_t(step_begin.size()) - 1;
  const int64_t warmup = std::llround(cfg.warmup * double(total));

  const MemoryPlan mem = plan_memory(base, cfg, micro_tokens);
  const uint64_t avail = available_memory();
  if (avail > 0 && mem.total() > avail)
    fail("training would need about {} (weights, gradients and AdamW state {}, activations {}) but {} is available; "
         "lower --micro-tokens/--max-len, --freeze some tensors or use --lora-rank",
         gib(mem.total()), gib(mem.weights), gib(mem.activations), gib(avail));

  const bool resume = fs::exists(checkpoint_path);
  std::optional<gguf::File> checkpoint;
  if (resume) checkpoint = gguf::File::open(checkpoint_path.string());
  Weights w = Weights::from_gguf(resume ? *checkpoint : base);
  apply_freeze(w, cfg.freeze);
  if (cfg.lora_rank > 0) {
    if (!cfg.freeze.empty()) fail("--freeze and --lora-rank do not combine (LoRA freezes every base weight)");
    w.add_lora(cfg.lora_rank, float(cfg.lora_alpha), cfg.seed);
    if (resume) w.load_lora(*checkpoint);
  }

  AdamW opt(w, {.beta1 = cfg.beta1, .beta2 = cfg.beta2, .eps = 1e-8, .weight_decay = cfg.weight_decay});
  int64_t start = 0;
  if (resume) {
    start = load_checkpoint_state(*checkpoint, w, opt);
    const int64_t saved_total = checkpoint->get_int("train.total_steps").value_or(-1);
    if (saved_total != total || uint64_t(checkpoint->get_int("train.seed").value_or(-1)) != cfg.seed)
      fail("{}: the checkpoint is from a run of {} steps with another seed or data; use a new --out or delete it",
           checkpoint_path.string(), saved_total);
    log_info("resuming from {} at step {} of {}", checkpoint_path.string(), start, total);
    trim_log(log_path, start);
  }
  log_info("training {} of {} parameters on {} examples ({} held out), {} steps, lr {} ({} warmup)",
           w.trainable_count(), w.parameter_count(), n_train, eval.size(), total, cfg.lr, warmup);

  ThreadPool pool(cfg.threads > 0 ? cfg.threads : std::max(available_cores(), 1));
  Transformer model(w, pool, cfg.bf16);
  std::ofstream log(log_path, std::ios::app);
  auto evaluate = [&] {
    double sum = 0;
    int64_t n = 0;
    for (const TokenBatch& mb : pack(eval, micro_tokens)) {
      sum += model.forward(mb);
      n += mb.loss_tokens();
    }
    return n > 0 ? sum / double(n) : 0.0;
  };

  TrainSummary summary;
  const bool show_progress = cfg.progress && isatty(STDERR_FILENO);
  const auto started = std::chrono::steady_clock::now();
  int64_t tokens_done = 0;
  for (int64_t step = start; step < total; ++step) {
    const auto step_start = std::chrono::steady_clock::now();
    std::vector<const SftExample*> examples;
    for (int64_t i = step_begin[size_t(step)]; i < step_begin[size_t(step) + 1]; ++i) examples.push_back(example_at(i));
    const std::vector<TokenBatch> micro = pack(examples, micro_tokens);
    int64_t loss_tokens = 0, tokens = 0;
    for (const auto& mb : micro) {
      loss_tokens += mb.loss_tokens();
      tokens += mb.size();
    }
    w.zero_grad();
    double loss_sum = 0;
    for (const auto& mb : micro) {
      loss_sum += model.forward(mb);
      model.backward(loss_tokens > 0 ? float(1.0 / double(loss_tokens)) : 0.0f);
    }
    const double grad_norm = clip_grad_norm(w, cfg.grad_clip, pool);
    const double lr = learning_rate(step, total, warmup, cfg.lr, cfg.min_lr);
    opt.step(lr, pool);

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    tokens_done += tokens;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    summary.final_loss = loss_tokens > 0 ? loss_sum / double(loss_tokens) : 0.0;
    summary.tokens_per_second = double(tokens_done) / std::max(elapsed, 1e-9);
    nlohmann::json row = {{"step", step + 1},
                          {"epoch", double(step_begin[size_t(step)]) / double(n_train)},
                          {"loss", summary.final_loss},
                          {"lr", lr},
                          {"grad_norm", grad_norm},
                          {"tokens", tokens},
                          {"tokens_per_s", double(tokens) / std::max(seconds, 1e-9)}};
    const bool last = step + 1 == total;
    if (!eval.empty() && (last || (cfg.eval_every > 0 && (step + 1) % cfg.eval_every == 0))) {
      summary.eval_loss = evaluate();
      row["eval_loss"] = summary.eval_loss;
    }
    log << row.dump() << "\n" << std::flush;
    if (last || (cfg.save_every > 0 && (step + 1) % cfg.save_every == 0))
      save_checkpoint(checkpoint_path.string(), w, opt, base, step + 1, total, cfg.seed);
    if (show_progress)
      draw_progress(step + 1, total, summary.final_loss, lr, summary.tokens_per_second,
                    elapsed / double(step + 1 - start) * double(total - step - 1));
  }
  if (show_progress) fmt::print(stderr, "\n");

  if (w.lora_rank() > 0) {
    gguf::Writer adapter;
    w.add_lora_to(adapter);
    adapter.write((fs::path(cfg.out) / "adapter.gguf").string());
    w.merge_lora();
  }
  gguf::Writer writer;
  w.add_to(writer, &base);
  writer.write(final_path.string());
  summary.steps = total;
  log_info("wrote {} (loss {:.4f}{})", final_path.string(), summary.final_loss,
           summary.eval_loss >= 0 ? fmt::format(", eval loss {:.4f}", summary.eval_loss) : "");
  return summary;
}

}  // namespace s1::train
