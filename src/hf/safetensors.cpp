// Safetensors reader: every length, offset, dtype and shape the header claims
// is checked against the file before it is used, so a hostile or truncated
// file ends in s1::Error, never in a crash or a giant allocation.
#include "hf/safetensors.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include "util/error.h"

namespace s1::safetensors {
namespace {

using nlohmann::json;

// The reference implementation refuses larger headers; a real one is a few MB.
constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;
constexpr size_t kMaxDims = 8;

struct DtypeInfo {
  std::string_view name;
  uint64_t size;
};
// Every dtype the format defines.
constexpr DtypeInfo kDtypes[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},      {"F8_E5M2", 1}, {"F8_E4M3", 1},
                                 {"I16", 2},  {"U16", 2}, {"F16", 2},     {"BF16", 2},    {"I32", 4},
                                 {"U32", 4},  {"F32", 4}, {"F64", 8},     {"I64", 8},     {"U64", 8}};

std::string shape_text(const std::vector<uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::vector<uint64_t> read_shape(const std::string& path, const std::string& name, const json& j) {
  if (!j.is_array()) fail("{}: tensor '{}': shape is not an array", path, name);
  if (j.size() > kMaxDims) fail("{}: tensor '{}' has {} dimensions (at most {})", path, name, j.size(), kMaxDims);
  std::vector<uint64_t> shape;
  for (const json& d : j) {
    if (!d.is_number_unsigned()) fail("{}: tensor '{}': shape holds {}, not a size", path, name, d.dump());
    shape.push_back(d.get<uint64_t>());
  }
  return shape;
}

}  // namespace

std::optional<uint64_t> dtype_size(std::string_view dtype) {
  for (const auto& d : kDtypes)
    if (d.name == dtype) return d.size;
  return std::nullopt;
}

std::optional<DType> float_dtype(std::string_view dtype) {
  if (dtype == "F32") return DType::F32;
  if (dtype == "F16") return DType::F16;
  if (dtype == "BF16") return DType::BF16;
  return std::nullopt;
}

std::string_view dtype_string(DType type) {
  switch (type) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    default: fail("safetensors: type {} has no safetensors dtype here (only f32, f16, bf16)", s1::dtype_name(type));
  }
}

File File::open(const std::string& path) {
  File f;
  f.path_ = path;
  f.map_ = std::make_shared<MappedFile>(path);
  f.bytes_ = f.map_->data();
  f.size_ = f.map_->size();
  f.parse();
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

void File::parse() {
  const std::string& path = path_;
  if (size_ < 8) fail("{}: not a safetensors file: only {} bytes", path, size_);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = header_bytes << 8 | bytes_[i];  // little-endian on any host
  if (header_bytes > kMaxHeaderBytes)
    fail("{}: header length {} is more than the {} bytes a safetensors header may have", path, header_bytes,
         kMaxHeaderBytes);
  if (header_bytes > size_ - 8)
    fail("{}: header length {} runs past the end of the file ({} bytes)", path, header_bytes, size_);
  const std::string_view text(reinterpret_cast<const char*>(bytes_ + 8), size_t(header_bytes));
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: the header is not valid JSON: {}", path, e.what());
  }
  if (!header.is_object()) fail("{}: the header is not a JSON object", path);

  const uint64_t data_start = 8 + header_bytes, data_size = size_ - data_start;
  struct Span {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("{}: __metadata__ is not an object", path);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail("{}: __metadata__ '{}' is not a string", path, key);
        metadata_.emplace_back(key, value.get<std::string>());
      }
      continue;
    }
    if (!entry.is_object()) fail("{}: tensor '{}' is not an object", path, name);
    Tensor t;
    t.name = name;
    const auto dtype = entry.find("dtype"), shape = entry.find("shape"), offsets = entry.find("data_offsets");
    if (dtype == entry.end() || shape == entry.end() || offsets == entry.end())
      fail("{}: tensor '{}' needs dtype, shape and data_offsets", path, name);
    if (!dtype->is_string()) fail("{}: tensor '{}': dtype is not a string", path, name);
    t.dtype = dtype->get<std::string>();
    const auto element_bytes = dtype_size(t.dtype);
    if (!element_bytes) fail("{}: tensor '{}' has unknown dtype '{}'", path, name, t.dtype);
    t.shape = read_shape(path, name, *shape);
    t.n_elements = 1;
    for (uint64_t d : t.shape)
      if (__builtin_mul_overflow(t.n_elements, d, &t.n_elements))
        fail("{}: tensor '{}' shape {} overflows", path, name, shape_text(t.shape));
    if (__builtin_mul_overflow(t.n_elements, *element_bytes, &t.n_bytes))
      fail("{}: tensor '{}' shape {} of {} overflows", path, name, shape_text(t.shape), t.dtype);
    if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
      fail("{}: tensor '{}': data_offsets is not a pair of byte offsets", path, name);
    const uint64_t begin = (*offsets)[0].get<uint64_t>(), end = (*offsets)[1].get<uint64_t>();
    if (begin > end || end > data_size)
      fail("{}: tensor '{}' spans bytes {}..{} but the data section has {}", path, name, begin, end, data_size);
    if (end - begin != t.n_bytes)
      fail("{}: tensor '{}' spans bytes {}..{} but shape {} of {} needs {}", path, name, begin, end,
           shape_text(t.shape), t.dtype, t.n_bytes);
    t.data = bytes_ + data_start + begin;
    spans.push_back({begin, end, tensors_.size()});
    tensors_.push_back(std::move(t));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end)
      fail("{}: tensors '{}' and '{}' overlap (bytes {}..{} and {}..{})", path, tensors_[spans[i - 1].tensor].name,
           tensors_[spans[i].tensor].name, spans[i - 1].begin, spans[i - 1].end, spans[i].begin, spans[i].end);
  // The header's key order is lost in the JSON object; the file's data order is the one worth keeping.
  std::vector<Tensor> ordered;
  ordered.reserve(tensors_.size());
  for (const Span& s : spans) ordered.push_back(std::move(tensors_[s.tensor]));
  tensors_ = std::move(ordered);
}

const Tensor* File::find(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

void Writer::set_metadata(const std::string& key, const std::string& value) {
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = value;
      return;
    }
  metadata_.emplace_back(key, value);
}

void Writer::add_tensor_view(std::string name, DType type, std::vector<uint64_t> shape,
                             std::span<const uint8_t> bytes) {
  if (name.empty() || name == "__metadata__") fail("safetensors writer: tensor name '{}' is not allowed", name);
  for (const auto& t : tensors_)
    if (t.name == name) fail("safetensors writer: duplicate tensor '{}'", name);
  uint64_t n = 1;
  for (uint64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) fail("safetensors writer: tensor '{}' shape overflows", name);
  const uint64_t want = n * traits(type).block_bytes;
  if (traits(type).block_elems != 1 || bytes.size() != want)
    fail("safetensors writer: tensor '{}' has {} bytes but shape {} of {} needs {}", name, bytes.size(),
         shape_text(shape), s1::dtype_name(type), want);
  dtype_string(type);  // refuses a type safetensors has no name for here
  tensors_.push_back({std::move(name), type, std::move(shape), nullptr, bytes});
}

void Writer::add_tensor(std::string name, DType type, std::vector<uint64_t> shape, std::vector<uint8_t> bytes) {
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  add_tensor_view(std::move(name), type, std::move(shape), *owned);
  tensors_.back().owned = std::move(owned);
}

void Writer::write(const std::string& path) const {
  json header = json::object();
  if (!metadata_.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    json entry = json::object();
    entry["dtype"] = dtype_string(t.type);
    entry["shape"] = t.shape;
    entry["data_offsets"] = json::array({offset, offset + uint64_t(t.bytes.size())});
    header[t.name] = std::move(entry);
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');  // the data section starts 8-byte aligned

  static std::atomic<int> counter{0};
  const std::string temp = fmt::format("{}.tmp-{}-{}", path, getpid(), counter++);
  try {
    std::ofstream out(temp, std::ios::binary);
    if (!out) fail("{}: cannot create the file", temp);
    uint8_t length[8];
    for (int i = 0; i < 8; ++i) length[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& t : tensors_) out.write(reinterpret_cast<const char*>(t.bytes.data()), std::streamsize(t.bytes.size()));
    out.close();
    if (!out) fail("{}: write failed (disk full?)", temp);
    if (std::rename(temp.c_str(), path.c_str()) != 0)
      fail("{}: cannot rename {} into place: {}", path, temp, std::strerror(errno));
  } catch (...) {
    std::remove(temp.c_str());
    throw;
  }
}

}  // namespace s1::safetensors
