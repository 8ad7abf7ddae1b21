#pragma once
// A local search index (`s1 index`, and the search tool a model calls while
// it thinks): text, Markdown and HTML files cut into paragraphs, each with its
// file's title and path and its byte span in the file, in SQLite FTS5, ranked
// by BM25.
//
//   SearchIndex index("notes.sqlite");
//   index.add_file("docs/guide.md");
//   for (const SearchHit& hit : index.search("budget forcing", 5)) ...
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reasoning/events.h"

struct sqlite3;

namespace s1 {

// A passage as the search tool hands it to the model (reasoning/events.h),
// with its rank.
struct SearchHit : SearchResult {
  double score = 0;  // BM25, higher is better
};

// One paragraph of a document, as indexed.
struct Passage {
  std::string text;
  int64_t begin = 0, end = 0;
};

// A document's title and paragraphs: Markdown's first heading, HTML's
// <title> (its text without tags, scripts and styles), else the file name.
struct ParsedDocument {
  std::string title;
  std::vector<Passage> passages;
};
ParsedDocument parse_document(const std::string& path, const std::string& bytes);

class SearchIndex {
 public:
  // Opens (creating when missing) the index; s1::Error when it is not one.
  explicit SearchIndex(const std::string& db_path);
  ~SearchIndex();
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // Indexes a file, replacing what the index had for that path; returns its
  // passage count. s1::Error when it cannot be read.
  int add_file(const std::string& path);
  // The best `limit` passages for `query` (its words, any of them: BM25
  // ranks passages with more and rarer ones first).
  std::vector<SearchHit> search(const std::string& query, int limit) const;
  int64_t passage_count() const;

 private:
  void exec(const char* sql) const;
  sqlite3* db_ = nullptr;
  std::string path_;
};

// `query` as an FTS5 expression: each word quoted, any of them.
std::string fts5_query(const std::string& query);

}  // namespace s1
