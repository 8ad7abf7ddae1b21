#pragma once
// Byte-level GGUF assembly for tests that need files the Writer refuses to
// produce (wrong counts, bad type ids, misplaced offsets).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace s1test {

struct GgufBytes {
  std::vector<uint8_t> bytes;

  template <typename T>
  GgufBytes& pod(T v) {
    size_t at = bytes.size();
    bytes.resize(at + sizeof v);
    std::memcpy(bytes.data() + at, &v, sizeof v);
    return *this;
  }
  GgufBytes& str(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return pod<uint32_t>(version).pod<uint64_t>(n_tensors).pod<uint64_t>(n_kv);
  }
  GgufBytes& kv_u32(const std::string& key, uint32_t v) { return str(key).pod<uint32_t>(4).pod<uint32_t>(v); }
  GgufBytes& tensor_info(const std::string& name, std::vector<uint64_t> shape, uint32_t type, uint64_t offset) {
    str(name).pod<uint32_t>(uint32_t(shape.size()));
    for (uint64_t d : shape) pod<uint64_t>(d);
    return pod<uint32_t>(type).pod<uint64_t>(offset);
  }
  GgufBytes& pad(size_t alignment = 32) {
    while (bytes.size() % alignment) bytes.push_back(0);
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    bytes.resize(bytes.size() + n, 0);
    return *this;
  }
};

}  // namespace s1test
