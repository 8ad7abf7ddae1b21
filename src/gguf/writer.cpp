// GGUF v3 writer: metadata in insertion order, tensors padded to the
// alignment, written to a temporary file and renamed into place.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "gguf/gguf.h"
#include "util/error.h"

namespace s1::gguf {
namespace {

constexpr uint64_t kDefaultAlignment = 32;

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t align_up(uint64_t v, uint64_t alignment) { return (v + alignment - 1) / alignment * alignment; }

// A buffered output file that reports the first failure with the path.
class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) fail("{}: cannot create: {}", path, std::strerror(errno));
    file_ = fdopen(fd, "wb");
    if (!file_) {
      ::close(fd);
      fail("{}: cannot open for writing: {}", path, std::strerror(errno));
    }
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  }
  ~Output() {
    if (file_) std::fclose(file_);
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void bytes(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, file_) != n) fail("{}: write failed: {}", path_, std::strerror(errno));
    written_ += n;
  }
  template <typename T>
  void pod(T v) { bytes(&v, sizeof v); }
  void string(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(uint64_t alignment) {
    static const uint8_t zeros[256] = {};
    uint64_t n = align_up(written_, alignment) - written_;
    while (n) {
      uint64_t k = std::min<uint64_t>(n, sizeof zeros);
      bytes(zeros, k);
      n -= k;
    }
  }
  void close() {
    int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) fail("{}: write failed: {}", path_, std::strerror(errno));
  }

 private:
  std::string path_;
  FILE* file_ = nullptr;
  uint64_t written_ = 0;
};

void write_value(Output& out, const Value& v);

void write_array(Output& out, const Array& a) {
  out.pod<uint32_t>(uint32_t(a.elem_type));
  out.pod<uint64_t>(a.items.size());
  for (const auto& item : a.items) write_value(out, item);
}

void write_value(Output& out, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out.string(x);
        } else if constexpr (std::is_same_v<T, Array>) {
          write_array(out, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.pod<uint8_t>(x ? 1 : 0);
        } else {
          out.pod<T>(x);
        }
      },
      v.data);
}

// Items of an array must all have its element type, or readers misparse it.
void check_value(const std::string& key, const Value& v) {
  const Array* a = v.as_array();
  if (!a) return;
  for (const auto& item : a->items) {
    if (item.type() != a->elem_type)
      fail("gguf writer: metadata key '{}': array of {} holds a {} item", key, value_type_name(a->elem_type),
           value_type_name(item.type()));
    check_value(key, item);
  }
}

}  // namespace

Writer Writer::copy_of(const File& file) {
  for (const auto& [key, value] : file.metadata())
    if (const Array* a = value.as_array(); a && a->skipped_items > 0)
      fail("{}: cannot copy {}: the file was opened for its weights only", file.path(), key);
  Writer w;
  w.metadata_ = file.metadata();
  w.alignment_ = file.alignment();
  for (const auto& t : file.tensors())
    w.add_tensor_view(t.name, t.type, t.shape, std::span<const uint8_t>(t.data, size_t(t.n_bytes)));
  return w;
}

void Writer::set(const std::string& key, Value value) {
  check_value(key, value);
  if (key == "general.alignment") {
    auto a = value.as_int();
    if (!a || *a <= 0 || !is_power_of_two(uint64_t(*a)))
      fail("gguf writer: general.alignment must be a nonzero power of two");
    alignment_ = uint64_t(*a);
  }
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata_.emplace_back(key, std::move(value));
}

void Writer::remove(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
  if (key == "general.alignment") alignment_ = kDefaultAlignment;
}

void Writer::set_alignment(uint64_t alignment) {
  if (!is_power_of_two(alignment) || alignment > std::numeric_limits<uint32_t>::max())
    fail("gguf writer: alignment {} is not a nonzero 32-bit power of two", alignment);
  if (alignment == kDefaultAlignment)
    remove("general.alignment");
  else
    set("general.alignment", Value{uint32_t(alignment)});
}

Writer::PendingTensor& Writer::add_pending(std::string name, DType type, std::vector<uint64_t> shape) {
  if (name.empty()) fail("gguf writer: tensor with an empty name");
  for (const auto& t : tensors_)
    if (t.name == name) fail("gguf writer: duplicate tensor '{}'", name);
  if (shape.size() > 4) fail("gguf writer: tensor '{}' has {} dimensions (at most 4)", name, shape.size());
  const auto& tr = traits(type);
  uint64_t n = 1;
  for (uint64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) fail("gguf writer: tensor '{}' shape overflows", name);
  if (!shape.empty() && shape[0] % tr.block_elems != 0)
    fail("gguf writer: tensor '{}' row length {} is not a multiple of the {} block size {}", name, shape[0],
         tr.name, tr.block_elems);
  auto& t = tensors_.emplace_back();
  t.name = std::move(name);
  t.type = type;
  t.shape = std::move(shape);
  t.n_bytes = n / tr.block_elems * tr.block_bytes;
  return t;
}

void Writer::add_tensor(std::string name, DType type, std::vector<uint64_t> shape, std::vector<uint8_t> bytes) {
  add_tensor_view(std::move(name), type, std::move(shape), bytes);  // checks the size
  PendingTensor& t = tensors_.back();
  t.owned = std::move(bytes);
  t.bytes = t.owned;
}

void Writer::add_tensor_view(std::string name, DType type, std::vector<uint64_t> shape,
                             std::span<const uint8_t> bytes) {
  auto& t = add_pending(std::move(name), type, std::move(shape));
  if (bytes.size() != t.n_bytes) {
    std::string n = t.name;
    uint64_t want = t.n_bytes;
    tensors_.pop_back();
    fail("gguf writer: tensor '{}' has {} bytes but its shape and type need {}", n, bytes.size(), want);
  }
  t.bytes = bytes;
}

void Writer::add_tensor_generated(std::string name, DType type, std::vector<uint64_t> shape, TensorFill fill) {
  add_pending(std::move(name), type, std::move(shape)).fill = std::move(fill);
}

void Writer::write(const std::string& path) const {
  static std::atomic<int> counter{0};
  std::string temp = fmt::format("{}.tmp-{}-{}", path, getpid(), counter++);
  try {
    Output out(temp);
    out.bytes("GGUF", 4);
    out.pod<uint32_t>(3);
    out.pod<uint64_t>(tensors_.size());
    out.pod<uint64_t>(metadata_.size());
    for (const auto& [key, value] : metadata_) {
      out.string(key);
      out.pod<uint32_t>(uint32_t(value.type()));
      write_value(out, value);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
      out.string(t.name);
      out.pod<uint32_t>(uint32_t(t.shape.size()));
      for (uint64_t d : t.shape) out.pod<uint64_t>(d);
      out.pod<uint32_t>(uint32_t(t.type));
      out.pod<uint64_t>(offset);
      offset = align_up(offset + t.n_bytes, alignment_);
    }
    out.pad_to(alignment_);
    std::vector<uint8_t> generated;
    for (const auto& t : tensors_) {
      if (t.fill) {
        generated.assign(size_t(t.n_bytes), 0);
        t.fill(generated);
        out.bytes(generated.data(), generated.size());
      } else {
        out.bytes(t.bytes.data(), t.bytes.size());
      }
      out.pad_to(alignment_);
    }
    out.close();
    if (std::rename(temp.c_str(), path.c_str()) != 0)
      fail("{}: cannot rename {} into place: {}", path, temp, std::strerror(errno));
  } catch (...) {
    std::remove(temp.c_str());
    throw;
  }
}

}  // namespace s1::gguf
