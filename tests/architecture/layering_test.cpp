// The architecture is the folder list in src/CMakeLists.txt (S1_LAYERS): a
// layer's files include only their own layer and the layers before it.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> layer_order() {
  const std::string cmake = s1test::read_file(s1test::source_dir() / "src" / "CMakeLists.txt");
  std::smatch m;
  if (!std::regex_search(cmake, m, std::regex(R"(set\(S1_LAYERS ([a-z ]+)\))"))) return {};
  std::istringstream words(m[1].str());
  std::vector<std::string> layers;
  for (std::string w; words >> w;) layers.push_back(w);
  return layers;
}

TEST(Layering, IncludesPointDownTheLayerList) {
  const auto layers = layer_order();
  ASSERT_GE(layers.size(), 8u) << "S1_LAYERS not found in src/CMakeLists.txt";
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < layers.size(); ++i) rank[layers[i]] = i;

  const std::regex include(R"re(#include "([a-z_]+)/)re");
  int files = 0;
  for (const auto& layer : layers) {
    const fs::path dir = s1test::source_dir() / "src" / layer;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      ++files;
      std::istringstream text(s1test::read_file(entry.path()));
      for (std::string line; std::getline(text, line);) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        auto it = rank.find(m[1].str());
        if (it == rank.end()) continue;
        EXPECT_LE(it->second, rank[layer]) << entry.path().string() << " reaches up: " << line;
      }
    }
  }
  EXPECT_GT(files, 50);
}

}  // namespace
