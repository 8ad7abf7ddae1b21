#include "gguf/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "gguf/gguf_builder.h"
#include "support/test_support.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace s1::gguf;
using s1::DType;
using s1test::GgufBytes;

namespace {

std::vector<fs::path> shared_ggufs() {
  std::vector<fs::path> files;
  for (const char* dir : {"conformance/models", "tokenizer"})
    for (const auto& e : fs::directory_iterator(s1test::shared_dir() / dir))
      if (e.path().extension() == ".gguf") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::string s = s1test::read_file(p);
  return {s.begin(), s.end()};
}

// The message of the s1::Error that parsing `bytes` throws ("" if none).
std::string parse_error(std::vector<uint8_t> bytes) {
  try {
    File::from_bytes(std::move(bytes), "bad.gguf");
  } catch (const s1::Error& e) {
    return e.what();
  }
  return "";
}

void expect_same_content(const File& a, const File& b) {
  EXPECT_EQ(a.metadata(), b.metadata());
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& x = a.tensors()[i];
    const auto& y = b.tensors()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.shape, y.shape);
    EXPECT_EQ(x.type, y.type);
    ASSERT_EQ(x.n_bytes, y.n_bytes);
    EXPECT_EQ(std::memcmp(x.data, y.data, x.n_bytes), 0) << x.name;
  }
}

// A small file exercising every value type, nested arrays and several tensor types.
Writer every_type_writer() {
  Writer w;
  w.set("general.architecture", Value{std::string("test")});
  w.set("u8", Value{uint8_t(200)});
  w.set("i8", Value{int8_t(-100)});
  w.set("u16", Value{uint16_t(60000)});
  w.set("i16", Value{int16_t(-30000)});
  w.set("u32", Value{uint32_t(4000000000u)});
  w.set("i32", Value{int32_t(-2000000000)});
  w.set("f32", Value{1.5f});
  w.set("bool", Value{true});
  w.set("string", Value{std::string("h\xc3\xa9llo")});
  w.set("u64", Value{uint64_t(1) << 63});
  w.set("i64", Value{int64_t(-5)});
  w.set("f64", Value{2.25});
  w.set("strings", make_string_array({"a", "", "ccc"}));
  w.set("floats", make_float_array({1.f, -2.f}));
  w.set("ints", make_int_array({}));
  Array inner1{ValueType::I32, {Value{int32_t(1)}, Value{int32_t(2)}}};
  Array inner2{ValueType::I32, {}};
  w.set("nested", Value{Array{ValueType::ARRAY, {Value{inner1}, Value{inner2}}}});
  std::vector<uint8_t> f32(4 * 8);
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = uint8_t(i);
  w.add_tensor("a", DType::F32, {4, 2}, f32);
  w.add_tensor("q", DType::Q8_0, {32, 3}, std::vector<uint8_t>(34 * 3, 7));
  w.add_tensor("scalar", DType::F16, {}, {1, 2});
  w.add_tensor("k", DType::Q4_K, {256}, std::vector<uint8_t>(144, 9));
  return w;
}

std::vector<uint8_t> every_type_bytes() {
  auto dir = s1test::temp_dir("gguf");
  every_type_writer().write(dir / "t.gguf");
  return file_bytes(dir / "t.gguf");
}

}  // namespace

TEST(Gguf, SharedFilesRoundTripThroughWriter) {
  auto files = shared_ggufs();
  ASSERT_GE(files.size(), 17u);
  auto dir = s1test::temp_dir("gguf-rt");
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    File original = File::open(path);
    EXPECT_TRUE(original.version() == 2 || original.version() == 3);
    EXPECT_TRUE(original.get_string("general.architecture").has_value());
    for (const auto& t : original.tensors()) EXPECT_EQ(uintptr_t(t.data) % original.alignment(), 0u) << t.name;
    auto out = dir / path.filename();
    Writer::copy_of(original).write(out);
    File copy = File::open(out);
    EXPECT_EQ(copy.version(), 3u);
    expect_same_content(original, copy);
  }
  // Nothing but the written files: no temporaries left behind.
  EXPECT_EQ(size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator())), files.size());
}

TEST(Gguf, ConformanceModelHasExpectedTensors) {
  File f = File::open(s1test::shared_dir() / "conformance/models/qwen2-f32.gguf");
  EXPECT_EQ(f.get_string("general.architecture"), "qwen2");
  EXPECT_EQ(f.get_int("qwen2.block_count"), 2);
  EXPECT_EQ(f.get_int("qwen2.embedding_length"), 256);
  const TensorInfo* q = f.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->shape, (std::vector<uint64_t>{256, 256}));
  EXPECT_EQ(q->type, DType::F32);
  EXPECT_EQ(q->n_bytes, 256u * 256 * 4);
  EXPECT_EQ(q->n_elements, 256u * 256);
  EXPECT_EQ(f.find_tensor("nope"), nullptr);
  const Array* tokens = f.get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->items.size(), 512u);
  EXPECT_EQ(*tokens->items[510].as_string(), "<think>");
}

TEST(Gguf, EveryValueTypeRoundTrips) {
  auto bytes = every_type_bytes();
  File f = File::from_bytes(bytes, "t.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_int("u8"), 200);
  EXPECT_EQ(f.get_int("i8"), -100);
  EXPECT_EQ(f.get_int("u16"), 60000);
  EXPECT_EQ(f.get_int("i16"), -30000);
  EXPECT_EQ(f.get_int("u32"), 4000000000LL);
  EXPECT_EQ(f.get_int("i32"), -2000000000);
  EXPECT_EQ(f.get_float("f32"), 1.5);
  EXPECT_EQ(f.get_bool("bool"), true);
  EXPECT_EQ(f.get_string("string"), "h\xc3\xa9llo");
  EXPECT_EQ(f.get_int("i64"), -5);
  EXPECT_EQ(f.get_float("f64"), 2.25);
  EXPECT_EQ(f.get_float("i32"), -2000000000.0);  // ints read as floats
  EXPECT_EQ(f.find("u64")->as_float(), 9223372036854775808.0);
  EXPECT_EQ(f.find("nested")->as_array()->items[0].as_array()->items[1].as_int(), 2);
  EXPECT_EQ(f.find("nested")->as_array()->items[1].as_array()->items.size(), 0u);
  EXPECT_EQ(f.get_array("ints")->elem_type, ValueType::I32);
  EXPECT_EQ(f.get_int("absent"), std::nullopt);
  // Order is insertion order.
  EXPECT_EQ(f.metadata()[0].first, "general.architecture");
  EXPECT_EQ(f.metadata().back().first, "nested");
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.find_tensor("scalar")->n_elements, 1u);
  EXPECT_EQ(f.find_tensor("a")->data[5], 5);
  EXPECT_EQ(f.find_tensor("k")->n_bytes, 144u);
  for (const auto& t : f.tensors()) EXPECT_EQ((f.data_offset() + t.offset) % 32, 0u);
}

TEST(Gguf, TypedGettersNameKeyAndTypes) {
  File f = File::from_bytes(every_type_bytes(), "t.gguf");
  try {
    f.get_int("string");
    FAIL() << "no error";
  } catch (const s1::Error& e) {
    EXPECT_EQ(std::string(e.what()), "t.gguf: metadata key 'string' has type string, expected an integer");
  }
  EXPECT_THROW(f.get_string("u8"), s1::Error);
  EXPECT_THROW(f.get_bool("u8"), s1::Error);
  EXPECT_THROW(f.get_array("f32"), s1::Error);
  EXPECT_THROW(f.get_float("strings"), s1::Error);
  EXPECT_THROW(f.get_int("u64"), s1::Error);  // 2^63 does not fit
}

TEST(Gguf, WriterReplacesInPlaceAndRemoves) {
  Writer w;
  w.set("a", Value{uint32_t(1)});
  w.set("b", Value{uint32_t(2)});
  w.set("a", Value{std::string("x")});
  w.remove("b");
  auto dir = s1test::temp_dir("gguf");
  w.write(dir / "w.gguf");
  File f = File::open(dir / "w.gguf");
  ASSERT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.get_string("a"), "x");
  EXPECT_THROW(w.add_tensor("t", DType::F32, {3}, std::vector<uint8_t>(11)), s1::Error);
  EXPECT_THROW(w.add_tensor("t", DType::Q4_0, {16}, std::vector<uint8_t>(9)), s1::Error);
  w.add_tensor("t", DType::F32, {3}, std::vector<uint8_t>(12));
  EXPECT_THROW(w.add_tensor("t", DType::F32, {3}, std::vector<uint8_t>(12)), s1::Error);
  EXPECT_THROW(w.set("bad", Value{Array{ValueType::I32, {Value{1.0f}}}}), s1::Error);
  EXPECT_THROW(w.set_alignment(48), s1::Error);
}

// A model that keeps its file for the weights opens it with Metadata::small:
// the vocabulary's big string arrays are checked but not kept, asking for one
// is a clear error, and copying such a file (which would drop them) is refused.
TEST(Gguf, WeightsOnlyOpenSkipsLargeStringArrays) {
  std::vector<std::string> tokens(kLargeStringArray + 1);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = "token" + std::to_string(i);
  Writer w;
  w.set("tokenizer.ggml.tokens", make_string_array(tokens));
  w.set("small", make_string_array({"a", "b"}));
  w.set("ints", make_int_array(std::vector<int32_t>(kLargeStringArray + 1, 7)));
  w.add_tensor("t", DType::F32, {3}, std::vector<uint8_t>(12));
  auto dir = s1test::temp_dir("gguf-small");
  w.write(dir / "w.gguf");

  const File all = File::open(dir / "w.gguf");
  ASSERT_NE(all.get_array("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(all.get_array("tokenizer.ggml.tokens")->items.size(), tokens.size());

  const File small = File::open(dir / "w.gguf", Metadata::small);
  EXPECT_EQ(small.get_array("small")->items.size(), 2u);
  EXPECT_EQ(small.get_array("ints")->items.size(), kLargeStringArray + 1);  // only strings are skipped
  EXPECT_EQ(small.tensors().size(), 1u);
  auto error_of = [](auto f) -> std::string {
    try {
      f();
    } catch (const s1::Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of([&] { small.get_array("tokenizer.ggml.tokens"); })
                .find("tokenizer.ggml.tokens (4097 items) was not loaded: the file was opened for its weights only"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Writer::copy_of(small); }).find("cannot copy tokenizer.ggml.tokens"), std::string::npos);

  // The skipped strings are still checked: a length past the end fails as before.
  auto bytes = file_bytes(dir / "w.gguf");
  const std::string last = tokens.back();
  auto at = std::search(bytes.begin(), bytes.end(), last.begin(), last.end());
  ASSERT_NE(at, bytes.end());
  const uint64_t too_long = bytes.size();
  std::memcpy(&*(at - 8), &too_long, 8);
  s1test::write_file(dir / "bad.gguf", std::string(bytes.begin(), bytes.end()));
  EXPECT_NE(error_of([&] { File::open(dir / "bad.gguf", Metadata::small); }).find("exceeds the"), std::string::npos);
}

TEST(Gguf, CustomAlignmentIsWrittenAndHonoured) {
  Writer w = every_type_writer();
  w.set_alignment(256);
  auto dir = s1test::temp_dir("gguf");
  w.write(dir / "a.gguf");
  File f = File::open(dir / "a.gguf");
  EXPECT_EQ(f.alignment(), 256u);
  EXPECT_EQ(f.get_int("general.alignment"), 256);
  EXPECT_EQ(f.data_offset() % 256, 0u);
  for (const auto& t : f.tensors()) EXPECT_EQ(t.offset % 256, 0u);
  Writer::copy_of(f).write(dir / "b.gguf");
  File g = File::open(dir / "b.gguf");
  EXPECT_EQ(g.alignment(), 256u);
  expect_same_content(f, g);
}

TEST(Gguf, GeneratedTensorsAreFilledAtWriteTime) {
  Writer w;
  w.add_tensor_generated("g", DType::F32, {2, 3}, [](std::span<uint8_t> out) {
    ASSERT_EQ(out.size(), 24u);
    for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(i * 3);
  });
  auto dir = s1test::temp_dir("gguf");
  w.write(dir / "g.gguf");
  File f = File::open(dir / "g.gguf");
  EXPECT_EQ(f.find_tensor("g")->data[7], 21);
}

TEST(Gguf, WriteFailureLeavesNothingBehind) {
  auto dir = s1test::temp_dir("gguf");
  Writer w = every_type_writer();
  EXPECT_THROW(w.write((dir / "missing" / "x.gguf").string()), s1::Error);
  w.add_tensor_generated("boom", DType::F32, {1}, [](std::span<uint8_t>) { s1::fail("generator failed"); });
  EXPECT_THROW(w.write((dir / "x.gguf").string()), s1::Error);
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(Gguf, OpenMissingFileNamesIt) {
  try {
    File::open("/nonexistent/m.gguf");
    FAIL();
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/m.gguf"), std::string::npos);
  }
}

TEST(Gguf, TruncatedFilesFailCleanly) {
  auto small = every_type_bytes();
  // Cutting only the padding after the last tensor leaves a valid file.
  File parsed = File::from_bytes(small);
  uint64_t data_end = 0;
  for (const auto& t : parsed.tensors())
    data_end = std::max(data_end, parsed.data_offset() + t.offset + t.n_bytes);
  for (size_t cut = 0; cut < data_end; ++cut) {
    std::vector<uint8_t> part(small.begin(), small.begin() + cut);
    std::string err = parse_error(part);
    EXPECT_EQ(err.rfind("bad.gguf: ", 0), 0u) << "cut at " << cut << ": " << err;
  }
  auto model = file_bytes(s1test::shared_dir() / "conformance/models/qwen2-q4_k_m.gguf");
  File whole = File::from_bytes(model);
  std::vector<size_t> cuts;
  for (size_t c = 0; c < whole.data_offset(); c += 97) cuts.push_back(c);
  for (size_t c = whole.data_offset(); c < model.size(); c += model.size() / 50) cuts.push_back(c);
  cuts.push_back(model.size() - 1);
  for (size_t cut : cuts) {
    std::vector<uint8_t> part(model.begin(), model.begin() + cut);
    EXPECT_NE(parse_error(part), "") << "cut at " << cut;
  }
}

TEST(Gguf, CorruptedHeadersNeverCrash) {
  auto good = every_type_bytes();
  File parsed = File::from_bytes(good);
  size_t header_end = parsed.data_offset();
  std::mt19937 rng(1234);
  int errors = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto bytes = good;
    int flips = 1 + int(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      size_t at = rng() % header_end;
      bytes[at] = (trial % 3 == 0) ? uint8_t(rng()) : uint8_t(bytes[at] ^ (1u << (rng() % 8)));
    }
    try {
      File::from_bytes(bytes, "bad.gguf");
    } catch (const s1::Error& e) {
      ++errors;
      EXPECT_EQ(std::string(e.what()).rfind("bad.gguf: ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(errors, 1000);
}

// Each hand-built file breaks one rule; the error must say which.
struct Malformed {
  const char* what;
  GgufBytes file;
  const char* expected;
};

TEST(Gguf, MalformedFilesNameTheProblem) {
  std::vector<Malformed> cases;
  cases.push_back({"bad magic", GgufBytes{{'G', 'G', 'M', 'L', 3, 0, 0, 0}}.zeros(16), "not a GGUF file"});
  cases.push_back({"v1", GgufBytes{}.header(0, 0, 1), "version 1 is not supported"});
  cases.push_back({"v7", GgufBytes{}.header(0, 0, 7), "unsupported GGUF version 7"});
  cases.push_back({"big endian", GgufBytes{}.header(0, 0, 0x03000000), "big-endian"});
  cases.push_back({"huge kv count", GgufBytes{}.header(0, uint64_t(1) << 60), "metadata keys"});
  cases.push_back({"huge tensor count", GgufBytes{}.header(uint64_t(1) << 40, 0), "tensors but the file"});
  cases.push_back({"huge key length", GgufBytes{}.header(0, 1).pod<uint64_t>(uint64_t(-1)).zeros(8),
                   "string length 18446744073709551615"});
  cases.push_back({"huge string value",
                   GgufBytes{}.header(0, 1).str("k").pod<uint32_t>(8).pod<uint64_t>(1ull << 62).zeros(4),
                   "string length"});
  cases.push_back({"bad value type", GgufBytes{}.header(0, 1).str("k").pod<uint32_t>(13).pod<uint32_t>(0),
                   "unknown value type 13"});
  cases.push_back({"bad array element type",
                   GgufBytes{}.header(0, 1).str("k").pod<uint32_t>(9).pod<uint32_t>(77).pod<uint64_t>(0),
                   "unknown value type 77"});
  cases.push_back({"huge array count",
                   GgufBytes{}.header(0, 1).str("k").pod<uint32_t>(9).pod<uint32_t>(4).pod<uint64_t>(1ull << 61),
                   "cannot fit"});
  {
    GgufBytes deep;
    deep.header(0, 1).str("k").pod<uint32_t>(9);
    for (int i = 0; i < 20; ++i) deep.pod<uint32_t>(9).pod<uint64_t>(1);
    deep.pod<uint32_t>(4).pod<uint64_t>(0);
    cases.push_back({"deep nesting", deep, "nested deeper"});
  }
  cases.push_back({"duplicate key", GgufBytes{}.header(0, 2).kv_u32("k", 1).kv_u32("k", 2),
                   "duplicate metadata key 'k'"});
  cases.push_back({"alignment not power of two", GgufBytes{}.header(0, 1).kv_u32("general.alignment", 48),
                   "general.alignment 48 is not a nonzero power of two"});
  cases.push_back({"alignment zero", GgufBytes{}.header(0, 1).kv_u32("general.alignment", 0),
                   "general.alignment 0"});
  cases.push_back({"alignment string",
                   GgufBytes{}.header(0, 1).str("general.alignment").pod<uint32_t>(8).str("x"),
                   "general.alignment has type string"});
  cases.push_back({"five dims", GgufBytes{}.header(1, 0).tensor_info("t", {1, 1, 1, 1, 1}, 0, 0).pad().zeros(32),
                   "tensor 't' has 5 dimensions"});
  cases.push_back({"bad tensor type", GgufBytes{}.header(1, 0).tensor_info("t", {4}, 5, 0).pad().zeros(32),
                   "tensor 't' has unknown type id 5"});
  cases.push_back({"overflowed dims",
                   GgufBytes{}.header(1, 0).tensor_info("t", {1ull << 32, 1ull << 32}, 0, 0).pad().zeros(32),
                   "tensor 't' shape [4294967296, 4294967296] overflows"});
  cases.push_back({"dim above int64",
                   GgufBytes{}.header(1, 0).tensor_info("t", {1ull << 63}, 24, 0).pad().zeros(32), "overflows"});
  cases.push_back({"overflowed bytes",
                   GgufBytes{}.header(1, 0).tensor_info("t", {1ull << 62, 2}, 0, 0).pad().zeros(32), "overflows"});
  cases.push_back({"partial block", GgufBytes{}.header(1, 0).tensor_info("t", {33}, 8, 0).pad().zeros(64),
                   "row length 33 is not a multiple of the q8_0 block size 32"});
  cases.push_back({"misaligned offset", GgufBytes{}.header(1, 0).tensor_info("t", {4}, 0, 8).pad().zeros(64),
                   "tensor 't' offset 8 is not a multiple of the alignment 32"});
  cases.push_back({"offset past end", GgufBytes{}.header(1, 0).tensor_info("t", {4}, 0, 64).pad().zeros(32),
                   "tensor 't' (16 bytes at data offset 64) ends past the end of the file"});
  cases.push_back({"data past end", GgufBytes{}.header(1, 0).tensor_info("t", {16}, 0, 0).pad().zeros(32),
                   "ends past the end of the file"});
  cases.push_back({"huge offset",
                   GgufBytes{}.header(1, 0).tensor_info("t", {4}, 0, uint64_t(-32)).pad().zeros(32),
                   "ends past the end of the file"});
  cases.push_back({"duplicate tensor",
                   GgufBytes{}.header(2, 0).tensor_info("t", {4}, 0, 0).tensor_info("t", {4}, 0, 32).pad().zeros(64),
                   "duplicate tensor name 't'"});
  cases.push_back({"truncated tensor info", GgufBytes{}.header(1, 0).str("t").pod<uint32_t>(4).pod<uint64_t>(4).pod<uint64_t>(4),
                   "truncated file: tensor 't'"});
  for (auto& c : cases) {
    std::string err = parse_error(c.file.bytes);
    EXPECT_EQ(err.rfind("bad.gguf: ", 0), 0u) << c.what << ": " << err;
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.what << ": got \"" << err << "\"";
  }
}

TEST(Gguf, MinimalValidFilesParse) {
  File empty = File::from_bytes(GgufBytes{}.header(0, 0).bytes);
  EXPECT_TRUE(empty.metadata().empty());
  EXPECT_TRUE(empty.tensors().empty());
  File v2 = File::from_bytes(GgufBytes{}.header(1, 1, 2).kv_u32("general.alignment", 64)
                                 .tensor_info("t", {4}, 0, 0).pad(64).zeros(16).bytes);
  EXPECT_EQ(v2.version(), 2u);
  EXPECT_EQ(v2.alignment(), 64u);
  EXPECT_EQ(v2.data_offset() % 64, 0u);
  EXPECT_EQ(v2.find_tensor("t")->n_bytes, 16u);
}
