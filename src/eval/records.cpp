#include "eval/records.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "util/error.h"

namespace s1 {
namespace {

// The whole file; empty when it does not exist.
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string record_key(const std::string& dataset, const std::string& problem_id,
                       const std::string& setting_key, int sample) {
  return fmt::format("{}\x1f{}\x1f{}\x1f{}", dataset, problem_id, setting_key, sample);
}

std::string record_key(const nlohmann::json& record) {
  try {
    return record_key(record.at("dataset").get<std::string>(), record.at("problem_id").get<std::string>(),
                      record.at("setting_key").get<std::string>(), record.at("sample").get<int>());
  } catch (const nlohmann::json::exception&) {
    fail("record lacks dataset, problem_id, setting_key or sample: {}", record.dump().substr(0, 200));
  }
}

std::vector<nlohmann::json> read_records(const std::string& path) {
  std::vector<nlohmann::json> records;
  const std::string text = read_all(path);
  size_t start = 0;
  for (int line_number = 1; start < text.size(); ++line_number) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // torn last line
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object()) fail("{}:{}: not a JSON object", path, line_number);
    records.push_back(std::move(record));
  }
  return records;
}

MergeCounts merge_records(const std::vector<std::string>& sources, RecordLog& into) {
  MergeCounts counts;
  std::map<std::string, std::string> verdicts;  // key -> verdict of the record kept
  for (const auto& record : into.existing()) verdicts.emplace(record_key(record), record.value("verdict", ""));
  for (const std::string& source : sources) {
    if (!std::filesystem::exists(source)) fail("{}: no such file", source);
    for (const auto& record : read_records(source)) {
      const std::string key = record_key(record);
      const auto [kept, fresh] = verdicts.emplace(key, record.value("verdict", ""));
      if (fresh) {
        into.append(record);
        ++counts.added;
      } else {
        ++counts.duplicates;
        counts.conflicts += kept->second != record.value("verdict", "");
      }
    }
  }
  return counts;
}

RecordLog::RecordLog(const std::string& path) : path_(path) {
  existing_ = read_records(path);
  for (const auto& record : existing_) done_.insert(record_key(record));
  // Drop a torn last line so the next record starts on a line of its own.
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    const std::string text = read_all(path);
    const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    if (keep != text.size()) std::filesystem::resize_file(path, keep, ec);
    if (ec) fail("{}: cannot cut off the incomplete last line: {}", path, ec.message());
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot open for appending: {}", path, std::strerror(errno));
}

RecordLog::~RecordLog() {
  if (fd_ >= 0) ::close(fd_);
}

bool RecordLog::done(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return done_.count(key) > 0;
}

void RecordLog::append(const nlohmann::json& record) {
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("{}: cannot write a record: {}", path_, std::strerror(errno));
    written += size_t(n);
  }
  done_.insert(record_key(record));
}

}  // namespace s1
