#pragma once
// Checks every architecture's tests make the same way: a random model made
// by `s1 mkmodel`; a prompt in one batch (in chunks) against the same tokens
// one at a time; a fork against the original.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/context.h"
#include "model/model.h"
#include "support/test_support.h"

namespace s1test {

// `s1 mkmodel --arch ARCH --seed 5 [extra...]` into a temp dir named `tag`.
inline std::string make_model(const std::string& tag, const std::string& arch,
                              const std::vector<std::string>& extra = {}) {
  const auto path = (temp_dir(tag) / (arch + ".gguf")).string();
  std::vector<std::string> args = {"mkmodel", "--arch", arch, "--seed", "5", "-o", path};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_s1(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

// Every position's logits of `prompt` decoded as one batch (in chunks of
// max_chunk) equal those of the same tokens appended one at a time.
inline void expect_batch_equals_single_tokens(const s1::Model& model, const std::vector<int32_t>& prompt,
                                              int max_chunk = 256) {
  const int n_vocab = model.config().n_vocab;
  s1::Context batched(model, {.n_ctx = 256, .n_threads = 2, .max_chunk = max_chunk});
  const int a = batched.new_sequence();
  s1::Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) batch.add(prompt[i], int(i), a, true);
  const auto all = batched.decode(batch);
  const std::vector<float> rows(all.begin(), all.end());
  s1::Context single(model, {.n_ctx = 256, .n_threads = 2});
  const int b = single.new_sequence();
  for (size_t i = 0; i < prompt.size(); ++i) {
    const auto row = single.append(b, std::span<const int32_t>(&prompt[i], 1));
    for (int j = 0; j < n_vocab; ++j)
      ASSERT_NEAR(row[size_t(j)], rows[i * size_t(n_vocab) + size_t(j)], 1e-4f) << "position " << i;
  }
}

// After `prompt`, a fork and the original given the same token give the same logits.
inline void expect_fork_continues_like_the_original(const s1::Model& model, const std::vector<int32_t>& prompt) {
  s1::Context ctx(model, {.n_ctx = 128, .n_threads = 2});
  const int seq = ctx.new_sequence();
  ctx.append(seq, prompt);
  const int child = ctx.fork(seq);
  EXPECT_EQ(ctx.computed(child), 0);
  const int32_t next = 42;
  const auto original = ctx.append(seq, std::span<const int32_t>(&next, 1));
  const std::vector<float> want(original.begin(), original.end());
  const auto forked = ctx.append(child, std::span<const int32_t>(&next, 1));
  for (size_t j = 0; j < want.size(); ++j) ASSERT_FLOAT_EQ(forked[j], want[j]);
}

}  // namespace s1test
