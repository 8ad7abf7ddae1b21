#include "cli/search_flags.h"

#include <memory>

#include "search/index.h"

namespace s1::cli {

void add_search_flags(CLI::App& app, SearchFlags& flags) {
  const char* group = "Search while thinking";
  auto* db = app.add_option("--search-db", flags.db,
                            "Offer the model a search tool over this index (made by s1 index add)")
                 ->check(CLI::ExistingFile)
                 ->group(group);
  app.add_option("--search-url", flags.url,
                 "... or over a search service: http://HOST:9200/INDEX/_search (OpenSearch, Elasticsearch) "
                 "or http://HOST/search (SearXNG JSON)")
      ->excludes(db)
      ->group(group);
}

SearchFunction make_search(const SearchFlags& flags) {
  constexpr int kHits = 5;
  if (!flags.url.empty()) return remote_search(flags.url, kHits);
  if (flags.db.empty()) return {};
  auto index = std::make_shared<SearchIndex>(flags.db);
  return [index](const std::string& query) {
    const std::vector<SearchHit> hits = index->search(query, kHits);
    return std::vector<SearchResult>(hits.begin(), hits.end());  // the passages, without their scores
  };
}

}  // namespace s1::cli
