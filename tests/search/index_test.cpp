// The search index: passages and spans from text, Markdown and HTML, and
// BM25 scores equal to the formula computed by hand (FTS5's: k1 = 1.2,
// b = 0.75, the text and title columns weighted 1, a row's length in tokens
// over both, IDF floored at 1e-6).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "search/index.h"
#include "support/test_support.h"
#include "util/error.h"

namespace s1 {
namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w += char(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  return out;
}

TEST(SearchIndex, Bm25EqualsTheFormulaByHand) {
  const auto dir = s1test::temp_dir("search-bm25");
  // File name = title (plain text files); one paragraph each.
  const std::map<std::string, std::string> files = {
      {"a.txt", "alpha beta gamma"},
      {"b.txt", "alpha alpha alpha delta delta delta delta delta"},
      {"c.txt", "beta epsilon"},
      {"d.txt", "zeta eta theta iota"},
      {"e.txt", "alpha"},
  };
  SearchIndex index((dir / "i.sqlite").string());
  for (const auto& [name, text] : files) {
    s1test::write_file(dir / name, text + "\n");
    index.add_file((dir / name).string());
  }
  // By hand: rows are (text, title) with the title the file name ("a.txt": words a, txt).
  struct Row { std::string path; std::vector<std::string> tokens; };
  std::vector<Row> rows;
  double total = 0;
  for (const auto& [name, text] : files) {
    Row row{(dir / name).string(), words(text + " " + name)};
    total += double(row.tokens.size());
    rows.push_back(row);
  }
  const double n_rows = double(rows.size()), avgdl = total / n_rows, k1 = 1.2, b = 0.75;
  const std::vector<std::string> query = {"alpha", "beta"};
  std::map<std::string, double> expected;
  for (const Row& row : rows) {
    double score = 0;
    bool any = false;
    for (const auto& q : query) {
      double with = 0;
      for (const Row& r : rows) with += std::count(r.tokens.begin(), r.tokens.end(), q) > 0;
      double idf = std::log((n_rows - with + 0.5) / (with + 0.5));
      if (idf <= 0) idf = 1e-6;
      const double f = double(std::count(row.tokens.begin(), row.tokens.end(), q));
      any = any || f > 0;
      score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * double(row.tokens.size()) / avgdl));
    }
    if (any) expected[row.path] = score;
  }
  const auto hits = index.search("Alpha, beta!", 10);
  ASSERT_EQ(hits.size(), expected.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_NEAR(hits[i].score, expected[hits[i].path], 1e-9) << hits[i].path;
    if (i > 0) {
      EXPECT_GE(hits[i - 1].score, hits[i].score);
    }
  }
  // alpha is in 3 of the 5 rows, so its IDF is floored: the shortest row with beta wins.
  EXPECT_EQ(hits[0].path, (dir / "c.txt").string());
  EXPECT_TRUE(index.search("", 10).empty());
  EXPECT_TRUE(index.search("\"*) OR (", 10).empty()) << "query syntax in the words is text, not FTS5 operators";
}

TEST(SearchIndex, PassagesTitlesAndSpans) {
  const std::string md = "# Guide\n\nFirst paragraph\nstill first.\n\n\nSecond.\n";
  const ParsedDocument doc = parse_document("x.md", md);
  EXPECT_EQ(doc.title, "Guide");
  ASSERT_EQ(doc.passages.size(), 3u);
  EXPECT_EQ(doc.passages[1].text, "First paragraph\nstill first.");
  EXPECT_EQ(md.substr(size_t(doc.passages[1].begin), size_t(doc.passages[1].end - doc.passages[1].begin)),
            "First paragraph\nstill first.\n");
  const std::string html = "<html><head><title> Paris &amp; Co </title><style>p{}</style></head>"
                           "<body><p>Paris is <b>big</b>.</p><script>var x;</script><li>Two</li></body></html>";
  const ParsedDocument page = parse_document("p.html", html);
  EXPECT_EQ(page.title, "Paris & Co");
  ASSERT_EQ(page.passages.size(), 2u);
  EXPECT_EQ(page.passages[0].text, "Paris is big .");
  EXPECT_EQ(html.substr(size_t(page.passages[0].begin), 8), "Paris is");
  EXPECT_EQ(page.passages[1].text, "Two");
  EXPECT_EQ(parse_document("notes.txt", "one\n").title, "notes.txt");
}

TEST(SearchIndex, ReAddingAFileReplacesItAndABadFileIsAnError) {
  const auto dir = s1test::temp_dir("search-readd");
  SearchIndex index((dir / "i.sqlite").string());
  s1test::write_file(dir / "f.txt", "one\n\ntwo\n");
  EXPECT_EQ(index.add_file((dir / "f.txt").string()), 2);
  s1test::write_file(dir / "f.txt", "three\n");
  EXPECT_EQ(index.add_file((dir / "f.txt").string()), 1);
  EXPECT_EQ(index.passage_count(), 1);
  EXPECT_THROW(index.add_file((dir / "missing.txt").string()), Error);
  s1test::write_file(dir / "not.sqlite", "this is not a database, just text that is long enough to be read as one");
  EXPECT_THROW(SearchIndex((dir / "not.sqlite").string()), Error);
}

}  // namespace
}  // namespace s1
