#pragma once
// A read-only memory map of a whole file. Model weights are used in place from
// this map, so a model larger than RAM still opens (pages come and go).
#include <cstddef>
#include <cstdint>
#include <string>

namespace s1 {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws s1::Error naming the path
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void release();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Bytes of physical memory on this machine (0 when the system does not say).
uint64_t physical_memory_bytes();

}  // namespace s1
