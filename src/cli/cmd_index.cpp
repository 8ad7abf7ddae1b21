// s1 index: a local search index for the search tool (src/search/index.h).
//   s1 index add PATH... --db notes.sqlite     (folders: their .txt, .md, .markdown, .html, .htm files)
//   s1 index search --db notes.sqlite "query" [-k N] [--json]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include "cli/command.h"
#include "search/index.h"
#include "util/error.h"
#include "util/log.h"

namespace s1::cli {

namespace {

bool indexable(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".txt" || ext == ".md" || ext == ".markdown" || ext == ".html" || ext == ".htm";
}

struct AddOptions {
  std::vector<std::string> paths;
  std::string db;
};

int run_add(const AddOptions& o) {
  SearchIndex index(o.db);
  int files = 0, passages = 0;
  for (const auto& given : o.paths) {
    if (std::filesystem::is_directory(given)) {
      std::vector<std::filesystem::path> found;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(given))
        if (entry.is_regular_file() && indexable(entry.path())) found.push_back(entry.path());
      std::sort(found.begin(), found.end());  // the same order, and the same index, on every run
      for (const auto& path : found) passages += index.add_file(path.string()), ++files;
    } else if (std::filesystem::is_regular_file(given)) {
      passages += index.add_file(given);
      ++files;
    } else {
      fail("{}: no such file or folder", given);
    }
  }
  log_info("indexed {} files, {} passages into {} ({} passages in all)", files, passages, o.db, index.passage_count());
  return 0;
}

struct SearchOptions {
  std::string db, query;
  int k = 5;
  bool json = false;
};

int run_search(const SearchOptions& o) {
  if (!std::filesystem::is_regular_file(o.db)) fail("{}: no such index (make one with s1 index add)", o.db);
  const SearchIndex index(o.db);
  const auto hits = index.search(o.query, o.k);
  for (size_t i = 0; i < hits.size(); ++i) {
    const SearchHit& h = hits[i];
    if (o.json) {
      nlohmann::json line = {{"rank", i + 1}, {"score", h.score}, {"path", h.path}, {"title", h.title},
                             {"begin", h.begin}, {"end", h.end}, {"text", h.text}};
      std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("%zu. %.3f  %s  [%s, bytes %lld-%lld]\n   %s\n", i + 1, h.score, h.title.c_str(), h.path.c_str(),
                  static_cast<long long>(h.begin), static_cast<long long>(h.end), h.text.c_str());
    }
  }
  return 0;
}

}  // namespace

}  // namespace s1::cli

S1_COMMAND(index, "A local search index (SQLite FTS5, BM25) for the model's search tool: add files, search") {
  auto runner = std::make_shared<std::function<int()>>();
  app.require_subcommand(1);
  auto add = std::make_shared<s1::cli::AddOptions>();
  CLI::App* add_app = app.add_subcommand("add", "Index text, Markdown and HTML files (folders: recursively)");
  add_app->add_option("paths", add->paths, "Files or folders")->required();
  add_app->add_option("--db", add->db, "The index file (SQLite; created when missing)")->required();
  add_app->callback([add, runner] { *runner = [add] { return s1::cli::run_add(*add); }; });
  auto search = std::make_shared<s1::cli::SearchOptions>();
  CLI::App* search_app = app.add_subcommand("search", "Print the passages that best match a query (BM25)");
  search_app->add_option("query", search->query, "What to look for")->required();
  search_app->add_option("--db", search->db, "The index file")->required();
  search_app->add_option("-k", search->k, "How many hits")->capture_default_str()->check(CLI::Range(1, 1000));
  search_app->add_flag("--json", search->json, "One JSON object per hit");
  search_app->callback([search, runner] { *runner = [search] { return s1::cli::run_search(*search); }; });
  return [runner] { return (*runner)(); };
}
