// `s1 logits`: the raw model output for a list of token ids, for conformance
// checks against llama.cpp and for debugging. Tokens go in at positions
// 0..n-1 (no BOS added); every position's logits are written as little-endian
// f32, row-major [n_tokens × n_vocab].
#include <algorithm>
#include <bit>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/command.h"
#include "cli/number_checks.h"
#include "model/context.h"
#include "model/model.h"
#include "util/error.h"

namespace {

struct LogitsOptions {
  std::string model;
  std::string tokens;
  std::string out;
  int greedy = 0;
  int threads = 0;
  int ctx = 0;
  std::string kv_type = "f16";
};

std::vector<int32_t> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) s1::fail("{}: cannot open the token file", path);
  std::vector<int32_t> tokens;
  std::string word;
  while (in >> word) {
    try {
      size_t used = 0;
      long long id = std::stoll(word, &used);
      if (used != word.size() || id < 0 || id > INT32_MAX) throw std::invalid_argument(word);
      tokens.push_back(int32_t(id));
    } catch (const std::exception&) {
      s1::fail("{}: '{}' is not a token id", path, word);
    }
  }
  if (tokens.empty()) s1::fail("{}: no token ids in the file", path);
  return tokens;
}

int argmax(std::span<const float> row) { return int(std::max_element(row.begin(), row.end()) - row.begin()); }

int run_logits(const LogitsOptions& o) {
  auto tokens = read_token_file(o.tokens);
  auto model = s1::Model::load(o.model);
  auto kv_type = s1::parse_dtype(o.kv_type);
  if (!kv_type) s1::fail("--kv-type '{}' is not a type (f16, f32)", o.kv_type);
  const int needed = int(tokens.size()) + o.greedy;
  s1::Context ctx(
      *model,
      {.n_ctx = o.ctx > 0 ? o.ctx : needed, .kv_type = *kv_type, .n_threads = o.threads, .max_sequences = 1});
  const int seq = ctx.new_sequence();

  s1::Batch batch;
  for (size_t i = 0; i < tokens.size(); ++i) batch.add(tokens[i], int32_t(i), seq, true);
  auto logits = ctx.decode(batch);

  std::ofstream out(o.out, std::ios::binary);
  if (!out) s1::fail("{}: cannot open for writing", o.out);
  static_assert(std::endian::native == std::endian::little, "logits are written as little-endian f32");
  out.write(reinterpret_cast<const char*>(logits.data()), std::streamsize(logits.size_bytes()));
  if (!out.flush()) s1::fail("{}: write failed", o.out);

  const size_t n_vocab = size_t(ctx.n_vocab());
  int next = argmax(logits.subspan(logits.size() - n_vocab));
  for (int i = 0; i < o.greedy; ++i) {
    std::printf("%d\n", next);
    if (i + 1 < o.greedy) next = argmax(ctx.append(seq, std::span<const int32_t>(&next, 1)));
  }
  return 0;
}

}  // namespace

S1_COMMAND(logits, "Write a model's logits for a list of token ids (conformance, debugging)") {
  auto o = std::make_shared<LogitsOptions>();
  app.add_option("-m,--model", o->model, "GGUF model file")->required();
  app.add_option("--tokens", o->tokens, "file of whitespace-separated token ids")->required();
  app.add_option("--out", o->out, "output file: f32 logits [n_tokens x n_vocab]")->required();
  app.add_option("--greedy", o->greedy, "also print this many greedy continuation ids")
      ->check(s1::cli::non_negative_number());
  app.add_option("-t,--threads", o->threads, "threads (default: all cores)")->check(s1::cli::non_negative_number());
  app.add_option("--ctx", o->ctx, "context size (default: the tokens plus --greedy)")
      ->check(s1::cli::non_negative_number());
  app.add_option("--kv-type", o->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  return [o] { return run_logits(*o); };
}
