// GGUF reader: every count, length, type and offset read from the file is
// checked against what the file can hold before it is used, so a hostile or
// truncated file ends in s1::Error and never in a crash or a giant allocation.
#include "gguf/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "util/error.h"

namespace s1::gguf {
namespace {

constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 8;      // deeper nesting is never legitimate; bounds recursion
constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;

bool is_integer(ValueType t) {
  switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
    case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
      return true;
    default:
      return false;
  }
}

// The fewest bytes one value of `type` can occupy; bounds element counts.
uint64_t min_value_bytes(ValueType type) {
  switch (type) {
    case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
    case ValueType::STRING: return 8;       // the length
    case ValueType::ARRAY: return 4 + 8;    // element type + count
  }
  return 1;
}

bool valid_value_type(uint32_t id) { return id <= uint32_t(ValueType::F64); }

class Reader {
 public:
  Reader(const uint8_t* bytes, uint64_t size, const std::string& path, Metadata metadata)
      : p_(bytes), size_(size), path_(path), metadata_(metadata) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  void set_context(std::string context) { context_ = std::move(context); }

  void need(uint64_t n) const {
    if (n > remaining())
      fail("{}: truncated file: {} needs {} bytes at offset {} but the file has {}", path_, context_, n, pos_,
           size_);
  }

  template <typename T>
  T read() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // The next string's bytes in the file, checked against its end.
  std::string_view next_string() {
    uint64_t len = read<uint64_t>();
    if (len > remaining())
      fail("{}: {}: string length {} at offset {} exceeds the {} bytes left in the file", path_, context_, len,
           pos_ - 8, remaining());
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += len;
    return s;
  }
  std::string read_string() { return std::string(next_string()); }

  ValueType read_type() {
    uint32_t id = read<uint32_t>();
    if (!valid_value_type(id)) fail("{}: {}: unknown value type {} at offset {}", path_, context_, id, pos_ - 4);
    return ValueType(id);
  }

  Value read_value(ValueType type, int depth) {
    Value v;
    switch (type) {
      case ValueType::U8: v.data = read<uint8_t>(); break;
      case ValueType::I8: v.data = read<int8_t>(); break;
      case ValueType::U16: v.data = read<uint16_t>(); break;
      case ValueType::I16: v.data = read<int16_t>(); break;
      case ValueType::U32: v.data = read<uint32_t>(); break;
      case ValueType::I32: v.data = read<int32_t>(); break;
      case ValueType::F32: v.data = read<float>(); break;
      case ValueType::BOOL: v.data = read<uint8_t>() != 0; break;
      case ValueType::STRING: v.data = read_string(); break;
      case ValueType::U64: v.data = read<uint64_t>(); break;
      case ValueType::I64: v.data = read<int64_t>(); break;
      case ValueType::F64: v.data = read<double>(); break;
      case ValueType::ARRAY: v.data = read_array(depth + 1); break;
    }
    return v;
  }

 private:
  Array read_array(int depth) {
    if (depth > kMaxArrayNesting)
      fail("{}: {}: arrays nested deeper than {} levels", path_, context_, kMaxArrayNesting);
    Array a;
    a.elem_type = read_type();
    uint64_t count = read<uint64_t>();
    // Each element occupies at least min_value_bytes, so the count is bounded by
    // the bytes left: a hostile count fails here instead of in reserve().
    if (count > remaining() / min_value_bytes(a.elem_type))
      fail("{}: {}: array of {} {} values at offset {} cannot fit in the {} bytes left in the file", path_,
           context_, count, value_type_name(a.elem_type), pos_ - 8, remaining());
    if (depth == 1 && a.elem_type == ValueType::STRING && count > kLargeStringArray &&
        metadata_ == Metadata::small) {
      for (uint64_t i = 0; i < count; ++i) next_string();
      a.skipped_items = count;
      return a;
    }
    a.items.reserve(size_t(count));
    for (uint64_t i = 0; i < count; ++i) a.items.push_back(read_value(a.elem_type, depth));
    return a;
  }


  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
  Metadata metadata_;
  std::string context_ = "header";
};

// Checked a*b and a+b; false on overflow.
bool mul_ok(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
bool add_ok(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::U8: return "u8";
    case ValueType::I8: return "i8";
    case ValueType::U16: return "u16";
    case ValueType::I16: return "i16";
    case ValueType::U32: return "u32";
    case ValueType::I32: return "i32";
    case ValueType::F32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::U64: return "u64";
    case ValueType::I64: return "i64";
    case ValueType::F64: return "f64";
  }
  return "unknown";
}

std::optional<int64_t> Value::as_int() const {
  return std::visit(
      [](const auto& x) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || !std::is_integral_v<T>) {
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          if (x > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
          return int64_t(x);
        } else {
          return int64_t(x);
        }
      },
      data);
}

std::optional<double> Value::as_float() const {
  if (auto* f = std::get_if<float>(&data)) return double(*f);
  if (auto* d = std::get_if<double>(&data)) return *d;
  if (type() == ValueType::U64) return double(std::get<uint64_t>(data));
  if (auto i = as_int()) return double(*i);
  return std::nullopt;
}

std::optional<bool> Value::as_bool() const {
  if (auto* b = std::get_if<bool>(&data)) return *b;
  return std::nullopt;
}

const std::string* Value::as_string() const { return std::get_if<std::string>(&data); }
const Array* Value::as_array() const { return std::get_if<Array>(&data); }

File File::open(const std::string& path, Metadata metadata) {
  File f;
  f.path_ = path;
  f.map_ = std::make_shared<MappedFile>(path);
  f.bytes_ = f.map_->data();
  f.size_ = f.map_->size();
  f.parse(metadata);
  return f;
}

File File::from_bytes(std::vector<uint8_t> bytes, const std::string& name) {
  File f;
  f.path_ = name;
  f.owned_ = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  f.bytes_ = f.owned_->data();
  f.size_ = f.owned_->size();
  f.parse();
  return f;
}

void File::parse(Metadata metadata) {
  const std::string& path = path_;
  if (size_ < kHeaderBytes) fail("{}: not a GGUF file: only {} bytes", path, size_);
  if (std::memcmp(bytes_, "GGUF", 4) != 0) fail("{}: not a GGUF file (bad magic)", path);
  Reader r(bytes_, size_, path, metadata);
  r.read<uint32_t>();  // magic
  version_ = r.read<uint32_t>();
  if (version_ == 1) fail("{}: GGUF version 1 is not supported (only versions 2 and 3)", path);
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xffff) == 0 && version_ != 0)
      fail("{}: big-endian GGUF files are not supported", path);
    fail("{}: unsupported GGUF version {} (only versions 2 and 3)", path, version_);
  }
  uint64_t n_tensors = r.read<uint64_t>();
  uint64_t n_kv = r.read<uint64_t>();
  // A key is at least its 8-byte length, 4-byte type and 1 byte of value; a
  // tensor info at least its name length, n_dims, type and offset.
  if (n_kv > r.remaining() / 13)
    fail("{}: header claims {} metadata keys but the file has room for at most {}", path, n_kv,
         r.remaining() / 13);
  if (n_tensors > r.remaining() / 24)
    fail("{}: header claims {} tensors but the file has room for at most {}", path, n_tensors,
         r.remaining() / 24);

  std::unordered_set<std::string> keys;
  metadata_.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    r.set_context(fmt::format("metadata key #{}", i));
    std::string key = r.read_string();
    r.set_context(fmt::format("metadata key '{}'", key));
    if (!keys.insert(key).second) fail("{}: duplicate metadata key '{}'", path, key);
    ValueType type = r.read_type();
    metadata_.emplace_back(std::move(key), r.read_value(type, 0));
  }

  if (const Value* a = find("general.alignment")) {
    auto v = a->as_int();
    if (!v) fail("{}: general.alignment has type {}, expected an integer", path, value_type_name(a->type()));
    if (*v <= 0 || (*v & (*v - 1)) != 0)
      fail("{}: general.alignment {} is not a nonzero power of two", path, *v);
    alignment_ = uint64_t(*v);
  }

  std::unordered_set<std::string> names;
  tensors_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    r.set_context(fmt::format("tensor info #{}", i));
    TensorInfo t;
    t.name = r.read_string();
    r.set_context(fmt::format("tensor '{}'", t.name));
    if (!names.insert(t.name).second) fail("{}: duplicate tensor name '{}'", path, t.name);
    uint32_t n_dims = r.read<uint32_t>();
    if (n_dims > kMaxDims) fail("{}: tensor '{}' has {} dimensions (at most {})", path, t.name, n_dims, kMaxDims);
    t.shape.resize(n_dims);
    for (auto& d : t.shape) d = r.read<uint64_t>();
    uint32_t type_id = r.read<uint32_t>();
    auto traits = dtype_traits(type_id);
    if (!traits) fail("{}: tensor '{}' has unknown type id {}", path, t.name, type_id);
    t.type = DType(type_id);
    t.offset = r.read<uint64_t>();
    t.n_elements = 1;
    for (uint64_t d : t.shape)
      if (d > uint64_t(std::numeric_limits<int64_t>::max()) || !mul_ok(t.n_elements, d, t.n_elements) ||
          t.n_elements > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("{}: tensor '{}' shape {} overflows", path, t.name, shape_text(t.shape));
    uint64_t row = t.shape.empty() ? 1 : t.shape[0];
    if (row % traits->block_elems != 0)
      fail("{}: tensor '{}' row length {} is not a multiple of the {} block size {}", path, t.name, row,
           traits->name, traits->block_elems);
    if (!mul_ok(t.n_elements / traits->block_elems, traits->block_bytes, t.n_bytes))
      fail("{}: tensor '{}' shape {} overflows", path, t.name, shape_text(t.shape));
    if (t.offset % alignment_ != 0)
      fail("{}: tensor '{}' offset {} is not a multiple of the alignment {}", path, t.name, t.offset, alignment_);
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t end_of_infos = r.pos();
  uint64_t padded;
  if (!add_ok(end_of_infos, alignment_ - 1, padded))
    fail("{}: alignment {} puts the data section past the end of the file", path, alignment_);
  data_offset_ = padded / alignment_ * alignment_;
  if (data_offset_ > size_ && !tensors_.empty())
    fail("{}: the data section starts at byte {} but the file has {}", path, data_offset_, size_);
  for (auto& t : tensors_) {
    uint64_t start, end;
    if (!add_ok(data_offset_, t.offset, start) || !add_ok(start, t.n_bytes, end) || end > size_)
      fail("{}: tensor '{}' ({} bytes at data offset {}) ends past the end of the file ({} bytes)", path, t.name,
           t.n_bytes, t.offset, size_);
    t.data = bytes_ + start;
  }
}

const Value* File::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_)
    if (k == key) return &v;
  return nullptr;
}

namespace {
[[noreturn]] void wrong_type(const std::string& path, std::string_view key, const Value& v, const char* wanted) {
  fail("{}: metadata key '{}' has type {}, expected {}", path, key, value_type_name(v.type()), wanted);
}
}  // namespace

std::optional<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!is_integer(v->type())) wrong_type(path_, key, *v, "an integer");
  auto i = v->as_int();
  if (!i) fail("{}: metadata key '{}' value does not fit in a signed 64-bit integer", path_, key);
  return i;
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  auto f = v->as_float();
  if (!f) wrong_type(path_, key, *v, "a number");
  return f;
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  auto b = v->as_bool();
  if (!b) wrong_type(path_, key, *v, "a bool");
  return b;
}

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  const std::string* s = v->as_string();
  if (!s) wrong_type(path_, key, *v, "a string");
  return *s;
}

const Array* File::get_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return nullptr;
  const Array* a = v->as_array();
  if (!a) wrong_type(path_, key, *v, "an array");
  if (a->skipped_items > 0)
    fail("{}: {} ({} items) was not loaded: the file was opened for its weights only", path_, key,
         a->skipped_items);
  return a;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

Value make_string_array(const std::vector<std::string>& items) {
  Array a{ValueType::STRING, {}};
  a.items.reserve(items.size());
  for (const auto& s : items) a.items.push_back(Value{s});
  return Value{std::move(a)};
}

Value make_float_array(const std::vector<float>& items) {
  Array a{ValueType::F32, {}};
  a.items.reserve(items.size());
  for (float f : items) a.items.push_back(Value{f});
  return Value{std::move(a)};
}

Value make_int_array(const std::vector<int32_t>& items) {
  Array a{ValueType::I32, {}};
  a.items.reserve(items.size());
  for (int32_t i : items) a.items.push_back(Value{i});
  return Value{std::move(a)};
}

}  // namespace s1::gguf
