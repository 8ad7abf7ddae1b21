#pragma once
// JSON Lines files: one JSON object per line, read whole with errors that
// name the file and line, written line by line (flushed, so an interrupted
// run keeps every finished record).
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace s1::data {

// Every non-blank line, each of which must be a JSON object.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

class JsonlWriter {
 public:
  // `append`: keep what the file holds (resuming); otherwise start it empty.
  JsonlWriter(const std::string& path, bool append = false);
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace s1::data
