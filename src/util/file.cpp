#include "util/file.h"

#include <fstream>
#include <iterator>

#include "util/error.h"

namespace s1 {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open file", path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace s1
