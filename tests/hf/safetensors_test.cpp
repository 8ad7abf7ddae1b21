// The safetensors reader refuses every malformed file with one line naming
// it, and reads back what the writer wrote.
#include <gtest/gtest.h>

#include <cstring>

#include "hf/safetensors.h"
#include "support/test_support.h"
#include "util/error.h"

namespace {

using s1::safetensors::File;

// An 8-byte little-endian length, the header, then `data_bytes` bytes.
std::vector<uint8_t> file_bytes(const std::string& header, size_t data_bytes, uint64_t claimed_length = 0) {
  const uint64_t length = claimed_length ? claimed_length : header.size();
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(length >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  for (size_t i = 0; i < data_bytes; ++i) out.push_back(uint8_t(i));
  return out;
}

// The message of the error parsing `bytes` raises ("" when it parses).
std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    File::from_bytes(bytes, "t.safetensors");
  } catch (const s1::Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& part) {
  const std::string message = error_of(bytes);
  EXPECT_NE(message.find(part), std::string::npos) << message;
  EXPECT_TRUE(message.starts_with("t.safetensors: ")) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(Safetensors, ReadsAValidFile) {
  const auto f = File::from_bytes(
      file_bytes(R"({"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[8,12]},)"
                 R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}})",
                 12),
      "t.safetensors");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // data order
  const auto* b = f.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->shape, (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(b->n_bytes, 4u);
  EXPECT_EQ(b->data[0], 8);
  ASSERT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.metadata()[0].second, "pt");
}

TEST(Safetensors, RefusesTruncatedFiles) {
  expect_error({1, 2, 3}, "only 3 bytes");
  auto bytes = file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  bytes.resize(bytes.size() - 1);
  expect_error(bytes, "spans bytes 0..8 but the data section has 7");
  expect_error(file_bytes("{}", 0, 3), "runs past the end of the file");
}

TEST(Safetensors, RefusesAHugeHeaderLength) {
  expect_error(file_bytes("{}", 0, uint64_t(1) << 62), "header length");
  expect_error(file_bytes("{}", 0, ~uint64_t(0)), "header length");
}

TEST(Safetensors, RefusesBadJson) {
  expect_error(file_bytes("{\"a\":", 0), "not valid JSON");
  expect_error(file_bytes("[1, 2]", 0), "not a JSON object");
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", 8), "needs dtype, shape and data_offsets");
  expect_error(file_bytes(R"({"__metadata__":{"k":1}})", 0), "__metadata__ 'k' is not a string");
}

TEST(Safetensors, RefusesBadOffsets) {
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "spans bytes 8..0");
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", 8), "pair of byte offsets");
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", 8),
               "the data section has 8");
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12");
}

TEST(Safetensors, RefusesOverlappingTensors) {
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          12),
               "overlap");
}

TEST(Safetensors, RefusesUnknownDtypesAndBadShapes) {
  expect_error(file_bytes(R"({"a":{"dtype":"F48","shape":[2],"data_offsets":[0,8]}})", 8), "unknown dtype 'F48'");
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "not a size");
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})",
                          8),
               "overflows");
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4),
               "9 dimensions");
}

TEST(Safetensors, WriterOutputReadsBack) {
  const auto path = (s1test::temp_dir("safetensors") / "w.safetensors").string();
  s1::safetensors::Writer w;
  w.set_metadata("format", "pt");
  const std::vector<uint8_t> a = {1, 2, 3, 4, 5, 6, 7, 8}, b = {9, 10};
  w.add_tensor_view("a", s1::DType::F32, {1, 2}, a);
  w.add_tensor("b", s1::DType::BF16, {1}, b);
  EXPECT_THROW(w.add_tensor_view("c", s1::DType::F16, {3}, a), s1::Error);  // 8 bytes are not 3 halves
  EXPECT_THROW(w.add_tensor_view("a", s1::DType::F32, {2}, a), s1::Error);  // twice
  w.write(path);

  const auto f = File::open(path);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.find("a")->shape, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(std::vector<uint8_t>(f.find("a")->data, f.find("a")->data + 8), a);
  EXPECT_EQ(std::vector<uint8_t>(f.find("b")->data, f.find("b")->data + 2), b);
  EXPECT_EQ(f.find("b")->dtype, "BF16");
  const std::string text = s1test::read_file(path);
  uint64_t header = 0;
  std::memcpy(&header, text.data(), 8);
  EXPECT_EQ(header % 8, 0u);  // the data section starts aligned
}

}  // namespace

namespace {

// The fuzzer's seeds are valid files (a broken seed would only teach it errors).
TEST(Safetensors, FuzzSeedsParse) {
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(s1test::source_dir() / "fuzz" / "corpus" / "safetensors")) {
    EXPECT_NO_THROW(File::open(entry.path().string())) << entry.path();
    ++seeds;
  }
  EXPECT_GE(seeds, 3);
}

}  // namespace
