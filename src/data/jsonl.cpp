#include "data/jsonl.h"

#include "util/error.h"

namespace s1::data {

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading", path);
  std::vector<nlohmann::json> records;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) fail("{}:{}: not valid JSON", path, line_number);
    if (!record.is_object()) fail("{}:{}: expected a JSON object per line", path, line_number);
    records.push_back(std::move(record));
  }
  if (in.bad()) fail("{}: read error", path);
  return records;
}

JsonlWriter::JsonlWriter(const std::string& path, bool append)
    : path_(path), out_(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc)) {
  if (!out_) fail("{}: cannot open for writing", path);
}

void JsonlWriter::write(const nlohmann::json& record) {
  out_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
  if (!out_) fail("{}: write failed (disk full?)", path_);
}

}  // namespace s1::data
