#pragma once
// Reading llama.cpp's reference outputs (token id lists, float32 logit rows)
// and comparing logit rows with them, shared by the conformance suites.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "support/test_support.h"

namespace s1test {

inline std::vector<int32_t> read_ids(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

inline std::vector<float> read_f32(const std::filesystem::path& path) {
  std::string bytes = read_file(path);
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

inline int argmax(const float* row, int n) { return int(std::max_element(row, row + n) - row); }

// How far `got` is from `want` over `rows` rows of n_vocab logits.
struct LogitDistance {
  double rel_max = 0;  // max |got - want| / max |want|
  double rel_rms = 0;  // RMS(got - want) / RMS(want)
  double mean_kl = 0;  // mean over rows of KL(softmax(want) || softmax(got)), nats
  double argmax_agreement = 0;
};

inline LogitDistance logit_distance(const float* got, const float* want, int rows, int n_vocab) {
  double max_ref = 0, max_err = 0, sq_err = 0, sq_ref = 0, kl = 0;
  int agree = 0;
  for (int p = 0; p < rows; ++p) {
    const float* g = got + size_t(p) * n_vocab;
    const float* w = want + size_t(p) * n_vocab;
    double mg = g[0], mw = w[0];
    for (int j = 0; j < n_vocab; ++j) {
      max_ref = std::max(max_ref, double(std::fabs(w[j])));
      max_err = std::max(max_err, double(std::fabs(g[j] - w[j])));
      sq_err += double(g[j] - w[j]) * (g[j] - w[j]);
      sq_ref += double(w[j]) * w[j];
      mg = std::max(mg, double(g[j]));
      mw = std::max(mw, double(w[j]));
    }
    double zg = 0, zw = 0;
    for (int j = 0; j < n_vocab; ++j) {
      zg += std::exp(g[j] - mg);
      zw += std::exp(w[j] - mw);
    }
    const double lg = std::log(zg), lw = std::log(zw);
    for (int j = 0; j < n_vocab; ++j) {
      const double log_pw = w[j] - mw - lw, log_pg = g[j] - mg - lg;
      kl += std::exp(log_pw) * (log_pw - log_pg);
    }
    agree += argmax(g, n_vocab) == argmax(w, n_vocab);
  }
  return {max_err / max_ref, std::sqrt(sq_err / sq_ref), kl / rows, double(agree) / rows};
}

}  // namespace s1test
