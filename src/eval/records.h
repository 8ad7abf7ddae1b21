#pragma once
// records.jsonl: one JSON object per (problem, setting, sample) written the
// moment it is finished, with one write(2) call, so a crash or `kill -9`
// loses at most the problems in flight. Rerunning reads the file back and
// skips what is done; a last line cut off mid-write is dropped first.
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace s1 {

// The identity of a record: dataset, problem id, setting key, sample index.
std::string record_key(const std::string& dataset, const std::string& problem_id,
                       const std::string& setting_key, int sample);
std::string record_key(const nlohmann::json& record);  // s1::Error when a field is missing

// Every complete record of the file (none when it does not exist). A last
// line without its newline is ignored (a write cut off by a kill); any other
// line that is not a JSON object is an s1::Error naming its line number.
std::vector<nlohmann::json> read_records(const std::string& path);

struct MergeCounts {
  int added = 0;       // records new to the log
  int duplicates = 0;  // records whose key the log already held (a retried shard's), dropped
  int conflicts = 0;   // of those, ones whose verdict differs from the kept record's
};

class RecordLog;

// Appends to `into` every record of the `sources` (records.jsonl files) whose
// key it does not hold yet, in the order read; s1::Error for a source that
// does not exist.
MergeCounts merge_records(const std::vector<std::string>& sources, RecordLog& into);

class RecordLog {
 public:
  // Reads what is there, cuts off a torn last line, and opens for appending.
  explicit RecordLog(const std::string& path);
  ~RecordLog();
  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  const std::vector<nlohmann::json>& existing() const { return existing_; }
  bool done(const std::string& key) const;
  // Appends one record as one line with a single write; thread-safe.
  void append(const nlohmann::json& record);

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<nlohmann::json> existing_;
  std::set<std::string> done_;
  mutable std::mutex mutex_;
};

}  // namespace s1
