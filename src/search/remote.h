#pragma once
// A search service as the search tool's backend (`--search-url`), for a
// deployment that already runs one:
//   http://HOST:9200/INDEX/_search  OpenSearch / Elasticsearch: a multi_match
//       query over title and text fields; each hit's _source gives title,
//       text (or content, body) and url (or path)
//   http://HOST:8888/search         SearXNG's JSON API (format=json): results'
//       url, title and content
// A service that fails or answers nonsense gives no hits (and a warning on
// stderr): a search must not end the generation it runs in.
#include <functional>
#include <string>
#include <vector>

#include "reasoning/events.h"

namespace s1 {

using SearchFunction = std::function<std::vector<SearchResult>(const std::string& query)>;

// s1::Error for an address that is not http://host[:port]/path.
SearchFunction remote_search(const std::string& url, int limit = 5);

}  // namespace s1
