#pragma once
// Safetensors files (Hugging Face's weight format): a validated, zero-copy
// reader over an mmap and a writer.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}), then the data section the offsets point
// into. Reading checks what it trusts as the GGUF reader does: the header
// length against the file, the JSON, every dtype, every shape (overflow),
// that shape × dtype size equals the byte span, that spans lie inside the data
// section and do not overlap. Any problem throws s1::Error naming the file and
// the tensor ("x.safetensors: tensor 'w' spans bytes 0..10 but shape [3] of F32
// needs 12").
//
//   auto f = s1::safetensors::File::open("model.safetensors");
//   const auto* t = f.find("model.embed_tokens.weight");  // t->shape is [vocab, hidden]
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/dtype.h"
#include "util/mmap.h"

namespace s1::safetensors {

// Bytes per element of a safetensors dtype name ("F32", "BF16", "I64", ...);
// nullopt for a name the format does not define.
std::optional<uint64_t> dtype_size(std::string_view dtype);
// The engine's type for a float dtype s1 converts (F32, F16, BF16); nullopt otherwise.
std::optional<DType> float_dtype(std::string_view dtype);
// The safetensors name of F32, F16 or BF16.
std::string_view dtype_string(DType type);

struct Tensor {
  std::string name;
  std::string dtype;            // as the header names it
  std::vector<uint64_t> shape;  // row-major: the last dimension is contiguous (PyTorch's order)
  const uint8_t* data = nullptr;
  uint64_t n_bytes = 0;
  uint64_t n_elements = 0;
};

class File {
 public:
  static File open(const std::string& path);
  // Parses bytes in memory (fuzzing, tests); `name` is used in errors.
  static File from_bytes(std::vector<uint8_t> bytes, const std::string& name = "<memory>");

  const std::string& path() const { return path_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }  // in header order
  const Tensor* find(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

 private:
  void parse();
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  std::shared_ptr<std::vector<uint8_t>> owned_;
  const uint8_t* bytes_ = nullptr;
  uint64_t size_ = 0;
  std::vector<Tensor> tensors_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

// Writes tensors in the order added, back to back, after a header padded to 8
// bytes. Tensor bytes are borrowed (kept alive by the caller until write()
// returns) or owned.
class Writer {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  void add_tensor_view(std::string name, DType type, std::vector<uint64_t> shape, std::span<const uint8_t> bytes);
  void add_tensor(std::string name, DType type, std::vector<uint64_t> shape, std::vector<uint8_t> bytes);
  // Writes to a temporary file beside `path` and renames it into place.
  void write(const std::string& path) const;

 private:
  struct Pending {
    std::string name;
    DType type;
    std::vector<uint64_t> shape;
    std::shared_ptr<std::vector<uint8_t>> owned;
    std::span<const uint8_t> bytes;
  };
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<Pending> tensors_;
};

}  // namespace s1::safetensors
