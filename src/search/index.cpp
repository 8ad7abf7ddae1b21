#include "search/index.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "util/error.h"
#include "util/file.h"

namespace s1 {

namespace {

constexpr size_t kMaxPassageBytes = 1500;  // longer paragraphs are cut at a space

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Adds [begin, end) of `text` (already cleaned) as passages of at most kMaxPassageBytes.
void add_passages(std::vector<Passage>& out, std::string text, int64_t begin, int64_t end) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return;
  text = text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  while (text.size() > kMaxPassageBytes) {
    size_t cut = text.rfind(' ', kMaxPassageBytes);
    if (cut == std::string::npos || cut == 0) cut = kMaxPassageBytes;
    out.push_back({text.substr(0, cut), begin, end});
    text = text.substr(cut + (text[cut] == ' '));
  }
  if (!text.empty()) out.push_back({text, begin, end});
}

// Paragraphs separated by blank lines; a Markdown file's title is its first "# " heading.
ParsedDocument parse_text(const std::string& bytes, bool markdown) {
  ParsedDocument doc;
  size_t pos = 0, start = std::string::npos;
  auto close = [&](size_t end) {
    if (start == std::string::npos) return;
    add_passages(doc.passages, bytes.substr(start, end - start), int64_t(start), int64_t(end));
    start = std::string::npos;
  };
  while (pos < bytes.size()) {
    size_t eol = bytes.find('\n', pos);
    if (eol == std::string::npos) eol = bytes.size();
    const std::string_view line(bytes.data() + pos, eol - pos);
    if (blank(line)) {
      close(pos);
    } else {
      if (start == std::string::npos) start = pos;
      if (markdown && doc.title.empty() && line.substr(0, 2) == "# ") doc.title = std::string(line.substr(2));
    }
    pos = eol + 1;
  }
  close(bytes.size());
  return doc;
}

// Whitespace runs as one space, none at the ends.
std::string collapse_spaces(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool space = std::isspace(static_cast<unsigned char>(c));
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string decode_entities(std::string_view s) {
  static const std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&')
      for (const auto& [entity, text] : kEntities)
        if (s.substr(i, entity.size()) == entity) {
          out += text;
          i += entity.size();
          replaced = true;
          break;
        }
    if (!replaced) out += s[i++];
  }
  return out;
}

// Text between block-level tags is a passage; scripts, styles and the head are skipped.
ParsedDocument parse_html(const std::string& bytes) {
  static const char* kBlocks[] = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "br", "tr", "td", "section",
                                  "article", "pre", "blockquote", "ul", "ol", "table", "body", "header", "footer"};
  ParsedDocument doc;
  std::string text;
  int64_t start = -1;
  auto close = [&](size_t end) {
    if (start >= 0) add_passages(doc.passages, decode_entities(text), start, int64_t(end));
    text.clear();
    start = -1;
  };
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes[pos] != '<') {
      if (start < 0 && !std::isspace(static_cast<unsigned char>(bytes[pos]))) start = int64_t(pos);
      text += std::isspace(static_cast<unsigned char>(bytes[pos])) ? ' ' : bytes[pos];
      ++pos;
      continue;
    }
    const size_t tag_end = bytes.find('>', pos);
    if (tag_end == std::string::npos) break;
    const std::string tag = lower(std::string_view(bytes).substr(pos + 1, tag_end - pos - 1));
    const bool closing = !tag.empty() && tag[0] == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \t\r\n/"));
    if (!closing && (name == "script" || name == "style" || name == "title" || name == "head")) {
      close(pos);
      const std::string end_tag = "</" + name;
      const size_t end = lower(bytes.substr(tag_end)).find(end_tag);
      const size_t content_end = end == std::string::npos ? bytes.size() : tag_end + end;
      if (name == "title") doc.title = collapse_spaces(decode_entities(bytes.substr(tag_end + 1, content_end - tag_end - 1)));
      if (name == "head") {  // the title may sit inside it
        const ParsedDocument head = parse_html(bytes.substr(tag_end + 1, content_end - tag_end - 1));
        if (doc.title.empty()) doc.title = head.title;
      }
      pos = bytes.find('>', content_end);
      pos = pos == std::string::npos ? bytes.size() : pos + 1;
      continue;
    }
    if (std::find(std::begin(kBlocks), std::end(kBlocks), name) != std::end(kBlocks)) {
      close(pos);
    } else {
      text += ' ';
    }
    pos = tag_end + 1;
  }
  close(bytes.size());
  for (Passage& p : doc.passages) p.text = collapse_spaces(p.text);  // the runs tags left
  return doc;
}

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("search index: {}", sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& text) {
    sqlite3_bind_text(stmt_, i, text.data(), int(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, int64_t value) {
    sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("search index: {}", sqlite3_errmsg(db_));
    return false;
  }
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

ParsedDocument parse_document(const std::string& path, const std::string& bytes) {
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  ParsedDocument doc = ext == ".html" || ext == ".htm" ? parse_html(bytes) : parse_text(bytes, ext == ".md" || ext == ".markdown");
  if (doc.title.empty()) doc.title = std::filesystem::path(path).filename().string();
  return doc;
}

std::string fts5_query(const std::string& query) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    out += (out.empty() ? "\"" : " OR \"") + word + "\"";
    word.clear();
  };
  for (char c : query) {
    if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) {
      word += c;
    } else {
      flush();
    }
  }
  flush();
  return out;
}

SearchIndex::SearchIndex(const std::string& db_path) : path_(db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    fail("{}: cannot open the search index ({})", db_path, message);
  }
  try {
    exec("CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5("
         "text, title, path UNINDEXED, begin UNINDEXED, end UNINDEXED, tokenize = 'unicode61')");
  } catch (const Error& e) {
    sqlite3_close(db_);
    fail("{}: not a search index ({})", db_path, e.what());
  }
}

SearchIndex::~SearchIndex() { sqlite3_close(db_); }

void SearchIndex::exec(const char* sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    fail("{}", message);
  }
}

int SearchIndex::add_file(const std::string& path) {
  const ParsedDocument doc = parse_document(path, read_file(path));
  exec("BEGIN");
  try {
    Statement(db_, "DELETE FROM passages WHERE path = ?").bind(1, path).step();
    for (const Passage& p : doc.passages) {
      Statement(db_, "INSERT INTO passages(text, title, path, begin, end) VALUES (?, ?, ?, ?, ?)")
          .bind(1, p.text).bind(2, doc.title).bind(3, path).bind(4, p.begin).bind(5, p.end).step();
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
  return int(doc.passages.size());
}

std::vector<SearchHit> SearchIndex::search(const std::string& query, int limit) const {
  std::vector<SearchHit> hits;
  const std::string expression = fts5_query(query);
  if (expression.empty() || limit <= 0) return hits;
  Statement select(db_,
                   "SELECT path, title, text, begin, end, bm25(passages) FROM passages WHERE passages MATCH ? "
                   "ORDER BY bm25(passages) LIMIT ?");
  select.bind(1, expression).bind(2, int64_t(limit));
  while (select.step())
    hits.push_back({{select.text(0), select.text(1), select.text(2), select.integer(3), select.integer(4)}, -select.real(5)});
  return hits;
}

int64_t SearchIndex::passage_count() const {
  Statement count(db_, "SELECT count(*) FROM passages");
  count.step();
  return count.integer(0);
}

}  // namespace s1
