#pragma once
// Model files with one metadata key changed, and what loading them says: the
// bad-input tests of the architectures (tests/model/*_test.cpp).
#include <string>

#include "gguf/gguf.h"
#include "model/model.h"
#include "support/test_support.h"
#include "util/error.h"

namespace s1test {

// A copy of the file at src_path with `key` set to `value`.
inline std::string with_key(const std::string& src_path, const std::string& key, s1::gguf::Value value) {
  auto src = s1::gguf::File::open(src_path);
  s1::gguf::Writer w = s1::gguf::Writer::copy_of(src);
  w.set(key, std::move(value));
  const auto path = (temp_dir("edited-key") / "edited.gguf").string();
  w.write(path);
  return path;
}

// The s1::Error loading the file throws ("" when it loads).
inline std::string load_error(const std::string& path) {
  try {
    s1::Model::load(path);
  } catch (const s1::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace s1test
