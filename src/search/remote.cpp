#include "search/remote.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/log.h"

namespace s1 {

namespace {

using nlohmann::json;

std::string first_string(const json& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys)
    if (auto it = object.find(key); it != object.end() && it->is_string()) return it->get<std::string>();
  return "";
}

std::vector<SearchResult> elastic_hits(const json& body) {
  std::vector<SearchResult> out;
  for (const json& hit : body.at("hits").at("hits")) {
    const json& source = hit.at("_source");
    out.push_back({first_string(source, {"url", "path"}), first_string(source, {"title"}),
                   first_string(source, {"text", "content", "body"}), 0, 0});
  }
  return out;
}

std::vector<SearchResult> searxng_hits(const json& body, int limit) {
  std::vector<SearchResult> out;
  for (const json& result : body.at("results")) {
    if (int(out.size()) >= limit) break;
    out.push_back({first_string(result, {"url"}), first_string(result, {"title"}), first_string(result, {"content"}), 0, 0});
  }
  return out;
}

}  // namespace

SearchFunction remote_search(const std::string& url, int limit) {
  if (url.rfind("http://", 0) != 0) fail("--search-url {}: an http:// address is needed", url);
  const size_t slash = url.find('/', 7);
  const std::string host = url.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  if (host.size() <= 7) fail("--search-url {}: the address has no host", url);
  const bool elastic = path.ends_with("/_search");
  return [host, path, elastic, limit, url](const std::string& query) -> std::vector<SearchResult> {
    try {
      httplib::Client client(host);
      client.set_connection_timeout(5);
      client.set_read_timeout(10);
      const json request = {{"size", limit},
                            {"query", {{"multi_match", {{"query", query}, {"fields", {"title", "text", "content", "body"}}}}}}};
      httplib::Result res = elastic ? client.Post(path, request.dump(), "application/json")
                                    : client.Get(path, httplib::Params{{"q", query}, {"format", "json"}}, httplib::Headers{});
      if (!res) fail("{}", httplib::to_string(res.error()));
      if (res->status != 200) fail("HTTP {}", res->status);
      const json body = json::parse(res->body);
      return elastic ? elastic_hits(body) : searxng_hits(body, limit);
    } catch (const std::exception& e) {
      log_warn("search at {} failed, the model gets no hits: {}", url, e.what());
      return {};
    }
  };
}

}  // namespace s1
