#pragma once
// GGUF v2/v3 files: a validated, zero-copy reader over an mmap and a writer.
//
// Reading checks everything it trusts: string and array lengths, nesting,
// value and tensor types, tensor shapes (overflow), offsets, alignment and
// sizes against the file. Any problem throws s1::Error whose message names the
// file and the problem ("x.gguf: tensor 'blk.0.attn_q.weight' ends at byte
// 9000 but the file has 8000").
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tensor/dtype.h"
#include "util/mmap.h"

namespace s1::gguf {

// Numbering as in the GGUF spec; Value::data's variant index equals it.
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view value_type_name(ValueType type);

struct Value;
struct Array {
  ValueType elem_type = ValueType::U8;
  std::vector<Value> items;  // arrays may nest
  // Items validated but not kept (a File opened with Metadata::small): then
  // `items` is empty and File::get_array refuses the array.
  uint64_t skipped_items = 0;
  bool operator==(const Array&) const;
};

struct Value {
  std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string, Array,
               uint64_t, int64_t, double>
      data;

  ValueType type() const { return ValueType(data.index()); }
  bool operator==(const Value&) const = default;

  // Typed reads that accept any type of the same family (e.g. an int from
  // U32 or I64); nullopt when the family differs or the value does not fit.
  std::optional<int64_t> as_int() const;
  std::optional<double> as_float() const;  // ints convert too
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const Array* as_array() const;
};

inline bool Array::operator==(const Array& o) const {
  return elem_type == o.elem_type && items == o.items && skipped_items == o.skipped_items;
}

// What File::open keeps of the metadata. A vocabulary's arrays (the tokens and
// merges of a 248K-token tokenizer: half a million strings, 18 MB as Values)
// are only read while a tokenizer is built; a model that holds its file for
// the weights needs none of it.
enum class Metadata {
  all,
  small,  // top-level string arrays of more than kLargeStringArray items are validated, not kept
};
inline constexpr uint64_t kLargeStringArray = 4096;

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> shape;  // ggml order: shape[0] is the contiguous (row) dimension
  DType type = DType::F32;
  uint64_t offset = 0;          // from the start of the data section
  const uint8_t* data = nullptr;  // points into the file's bytes
  uint64_t n_bytes = 0;
  uint64_t n_elements = 0;
};

class File {
 public:
  static File open(const std::string& path, Metadata metadata = Metadata::all);  // mmap + parse + validate
  // Parses bytes already in memory (fuzzing, tests); `name` is used in errors.
  static File from_bytes(std::vector<uint8_t> bytes, const std::string& name = "<memory>");

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t file_size() const { return size_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section

  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;
  // Convenience reads; nullopt when the key is absent, s1::Error when it has
  // the wrong type (naming the key and both types).
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  const Array* get_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

 private:
  void parse(Metadata metadata = Metadata::all);
  std::string path_;
  std::shared_ptr<MappedFile> map_;   // set when opened from disk
  std::shared_ptr<std::vector<uint8_t>> owned_;  // set for from_bytes
  const uint8_t* bytes_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorInfo> tensors_;
};

// Writes GGUF v3. Metadata keeps insertion order; set() on an existing key
// replaces its value in place. Tensor bytes are either owned by the writer or
// borrowed (the caller keeps them alive until write() returns).
class Writer {
 public:
  Writer() = default;
  // Starts from a file's metadata and tensors (borrowed from `file`).
  static Writer copy_of(const File& file);

  void set(const std::string& key, Value value);
  void remove(const std::string& key);
  void add_tensor(std::string name, DType type, std::vector<uint64_t> shape, std::vector<uint8_t> bytes);
  void add_tensor_view(std::string name, DType type, std::vector<uint64_t> shape, std::span<const uint8_t> bytes);
  // A tensor whose bytes `fill` produces during write(), one tensor at a time,
  // so generating a large model never holds all of its weights in memory.
  using TensorFill = std::function<void(std::span<uint8_t> bytes)>;
  void add_tensor_generated(std::string name, DType type, std::vector<uint64_t> shape, TensorFill fill);
  void set_alignment(uint64_t alignment);  // also written as general.alignment when not 32

  // Writes to a temporary file beside `path` and renames it into place, so a
  // crash never leaves a half-written model under the final name.
  void write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<uint64_t> shape;
    std::vector<uint8_t> owned;
    std::span<const uint8_t> bytes;
    TensorFill fill;
    uint64_t n_bytes = 0;
  };
  PendingTensor& add_pending(std::string name, DType type, std::vector<uint64_t> shape);
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
  uint64_t alignment_ = 32;
};

// Helpers for building values.
Value make_string_array(const std::vector<std::string>& items);
Value make_float_array(const std::vector<float>& items);
Value make_int_array(const std::vector<int32_t>& items);

}  // namespace s1::gguf
