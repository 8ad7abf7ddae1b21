// The search tool over a search service: OpenSearch/Elasticsearch's _search
// and SearXNG's JSON API, against stubs on loopback that check the request
// they get; a service that is down gives no hits instead of an error.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "search/remote.h"
#include "util/error.h"

namespace s1 {
namespace {

class Stub {
 public:
  Stub() {
    server_.Post("/docs/_search", [this](const httplib::Request& req, httplib::Response& res) {
      const auto body = nlohmann::json::parse(req.body);
      last_query_ = body["query"]["multi_match"]["query"];
      size_ = body["size"];
      res.set_content(R"({"hits": {"hits": [
          {"_score": 2.0, "_source": {"title": "Paris", "text": "Mild in spring.", "url": "https://x/paris"}},
          {"_score": 1.0, "_source": {"title": "Oslo", "content": "Cold.", "path": "/docs/oslo.txt"}}]}})",
                      "application/json");
    });
    server_.Get("/search", [this](const httplib::Request& req, httplib::Response& res) {
      last_query_ = req.get_param_value("q");
      format_ = req.get_param_value("format");
      res.set_content(R"({"results": [{"url": "https://a", "title": "A", "content": "first"},
          {"url": "https://b", "title": "B", "content": "second"}, {"url": "https://c", "title": "C"}]})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Stub() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string last_query_, format_;
  int size_ = 0;

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(RemoteSearch, ElasticsearchHits) {
  Stub stub;
  const auto hits = remote_search(stub.url("/docs/_search"), 5)("weather paris");
  EXPECT_EQ(stub.last_query_, "weather paris");
  EXPECT_EQ(stub.size_, 5);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].title, "Paris");
  EXPECT_EQ(hits[0].text, "Mild in spring.");
  EXPECT_EQ(hits[0].path, "https://x/paris");
  EXPECT_EQ(hits[1].text, "Cold.");
  EXPECT_EQ(hits[1].path, "/docs/oslo.txt");
}

TEST(RemoteSearch, SearxngHitsUpToTheLimit) {
  Stub stub;
  const auto hits = remote_search(stub.url("/search"), 2)("oslo");
  EXPECT_EQ(stub.last_query_, "oslo");
  EXPECT_EQ(stub.format_, "json");
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[1].path, "https://b");
  EXPECT_EQ(hits[1].text, "second");
}

TEST(RemoteSearch, AServiceThatIsDownGivesNoHitsAndABadAddressIsAnError) {
  EXPECT_TRUE(remote_search("http://127.0.0.1:1/search")("x").empty());
  EXPECT_THROW(remote_search("ftp://example/search"), Error);
  EXPECT_THROW(remote_search("http:///search"), Error);
}

}  // namespace
}  // namespace s1
