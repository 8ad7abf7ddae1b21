#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"
#include "util/error.h"
#include "util/mmap.h"

namespace s1 {
namespace {

TEST(MappedFile, MapsAWholeFile) {
  auto path = s1test::temp_dir("mmap") / "bytes.bin";
  s1test::write_file(path, "hello, map");
  MappedFile map(path.string());
  ASSERT_EQ(map.size(), 10u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(map.data()), map.size()), "hello, map");
}

TEST(MappedFile, MissingFileNamesThePath) {
  try {
    MappedFile map("/nonexistent/model.gguf");
    FAIL() << "opened a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

TEST(MappedFile, PhysicalMemoryIsKnown) {
  // The "model larger than RAM" warning compares against this.
  EXPECT_GT(physical_memory_bytes(), uint64_t(64) << 20);
}

}  // namespace
}  // namespace s1
