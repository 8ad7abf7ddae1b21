// Summary figures and the s1 metrics on a fixed set of records, against values computed by hand.
#include "eval/metrics.h"

#include <gtest/gtest.h>

#include "eval/report.h"
#include "eval/sweep.h"
#include "util/error.h"

namespace {

using nlohmann::json;

s1::EvalSetting budget(std::optional<int> think_max, int n = 1) {
  s1::EvalSetting s;
  s.think_max = think_max;
  s.n = n;
  if (n > 1) s.vote = s1::VoteMethod::majority;
  return s;
}

// A record with one sample per entry of `thinking` (forced ends where `forced`).
json record(const s1::EvalSetting& setting, const std::string& verdict, std::vector<int> thinking,
            std::vector<bool> forced, double generated, double start, double end) {
  json samples = json::array();
  for (size_t i = 0; i < thinking.size(); ++i)
    samples.push_back({{"thinking_tokens", thinking[i]},
                       {"answer_tokens", 10},
                       {"forced_end", bool(forced[i])},
                       {"waits", int(i)}});
  return {{"dataset", "fixed"},
          {"setting", setting.to_json()},
          {"setting_key", setting.key()},
          {"verdict", verdict},
          {"samples", samples},
          {"generated_tokens", generated},
          {"started_at", start},
          {"finished_at", end}};
}

class FixedRecords : public ::testing::Test {
 protected:
  void SetUp() override {
    conditional.method = s1::ControlMethod::token_conditional;
    conditional.think_max = 100;
    records = {
        // budget 100: one over its budget (120), one forced; wall [0,12] + [20,25] = 17 s.
        record(max100, "correct", {100}, {true}, 120, 0, 10),
        record(max100, "wrong", {80}, {false}, 90, 5, 12),
        record(max100, "unparsed", {120}, {false}, 130, 20, 25),
        // budget 400: both within, one forced; wall [30,50] = 20 s.
        record(max400, "correct", {300}, {false}, 310, 30, 40),
        record(max400, "correct", {400}, {true}, 420, 35, 50),
        // no budget: control undefined.
        record(unlimited, "wrong", {1000}, {false}, 1010, 60, 70),
        // n = 2 voted: thinking per problem is the sum (150); both samples within 100.
        record(two_samples, "correct", {100, 50}, {true, false}, 170, 80, 90),
        // token-conditional: the model ignored the budget.
        record(conditional, "correct", {150}, {false}, 160, 100, 101),
    };
  }
  s1::EvalSetting max100 = budget(100), max400 = budget(400), unlimited = budget(std::nullopt),
                  two_samples = budget(100, 2), conditional;
  std::vector<json> records;
  s1::CostModel cost{.watts = 36, .usd_per_hour = 3.6};
};

TEST_F(FixedRecords, PerSettingFigures) {
  json summary = s1::summarize(records, cost);
  const json& settings = summary["settings"];
  ASSERT_EQ(settings.size(), 5u);
  // Sweep order: budget n=1 (unset max first, then ascending), budget n=2, token-conditional.
  EXPECT_TRUE(settings[0]["think_max"].is_null());
  EXPECT_EQ(settings[1]["think_max"], 100);
  EXPECT_EQ(settings[2]["think_max"], 400);
  EXPECT_EQ(settings[3]["n"], 2);
  EXPECT_EQ(settings[4]["method"], "token-conditional");

  const json& a = settings[1];
  EXPECT_EQ(a["count"], 3);
  EXPECT_EQ(a["correct"], 1);
  EXPECT_EQ(a["wrong"], 1);
  EXPECT_EQ(a["unparsed"], 1);
  EXPECT_DOUBLE_EQ(a["accuracy"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(a["mean_thinking_tokens"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(a["median_thinking_tokens"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(a["forced_end_rate"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(a["control"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(a["wall_seconds"].get<double>(), 17.0);
  EXPECT_DOUBLE_EQ(a["tokens_per_second"].get<double>(), 340.0 / 17);
  EXPECT_DOUBLE_EQ(a["energy_wh"].get<double>(), 36.0 * 17 / 3600);
  EXPECT_DOUBLE_EQ(a["cost_usd"].get<double>(), 3.6 * 17 / 3600);
  EXPECT_DOUBLE_EQ(a["usd_per_correct"].get<double>(), 3.6 * 17 / 3600);
  EXPECT_EQ(a["label"], "budget max=100");
  EXPECT_DOUBLE_EQ(a["mean_answer_tokens"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(a["mean_total_tokens"].get<double>(), 110.0);
  EXPECT_DOUBLE_EQ(a["tokens_per_correct"].get<double>(), 330.0);  // 3 problems' tokens per correct one
  const auto ci = s1::wilson_interval(1, 3);
  EXPECT_DOUBLE_EQ(a["accuracy_ci95"][0].get<double>(), ci.first);
  EXPECT_DOUBLE_EQ(a["accuracy_ci95"][1].get<double>(), ci.second);

  const json& b = settings[2];
  EXPECT_DOUBLE_EQ(b["accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(b["median_thinking_tokens"].get<double>(), 350.0);
  EXPECT_DOUBLE_EQ(b["control"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(b["usd_per_correct"].get<double>(), 3.6 * 20 / 3600 / 2);

  const json& none = settings[0];
  EXPECT_TRUE(none["control"].is_null());
  EXPECT_TRUE(none["usd_per_correct"].is_null());  // nothing correct
  EXPECT_EQ(none["think_min"], nullptr);
  EXPECT_EQ(none["vote"], nullptr);

  const json& voted = settings[3];
  EXPECT_DOUBLE_EQ(voted["mean_thinking_tokens"].get<double>(), 150.0);
  EXPECT_DOUBLE_EQ(voted["forced_end_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(voted["mean_waits"].get<double>(), 0.5);  // waits 0 and 1
  EXPECT_DOUBLE_EQ(voted["control"].get<double>(), 1.0);
  EXPECT_EQ(voted["vote"], "majority");

  EXPECT_DOUBLE_EQ(settings[4]["control"].get<double>(), 0.0);
}

TEST_F(FixedRecords, ControlScalingPerformance) {
  json metrics = s1::summarize(records, cost)["metrics"];
  // Budgeted samples: 3 (2 within) + 2 (2) + 2 (2) + 1 (0) = 6 of 8.
  EXPECT_DOUBLE_EQ(metrics["control"].get<double>(), 6.0 / 8);
  EXPECT_DOUBLE_EQ(metrics["performance"].get<double>(), 1.0);
  // The budget curve's points: (100, 1/3), (350, 1), (1000, 0); every pair's slope, averaged.
  const double expected = ((1 - 1.0 / 3) / 250 + (0 - 1.0 / 3) / 900 + (0 - 1.0) / 650) / 3;
  ASSERT_EQ(metrics["curves"].size(), 3u);
  const json& curve = metrics["curves"][0];
  EXPECT_EQ(curve["curve"], "budget");
  EXPECT_NEAR(curve["scaling"].get<double>(), expected, 1e-15);
  EXPECT_DOUBLE_EQ(curve["control"].get<double>(), 4.0 / 5);
  EXPECT_DOUBLE_EQ(curve["performance"].get<double>(), 1.0);
  EXPECT_EQ(curve["points"].size(), 3u);
  // One-point curves have no slope; the overall Scaling averages the curves that have one.
  EXPECT_TRUE(metrics["curves"][1]["scaling"].is_null());
  EXPECT_NEAR(metrics["scaling"].get<double>(), expected, 1e-15);
}

TEST(ScalingMetric, AllPairsAndDegenerateCurves) {
  EXPECT_FALSE(s1::scaling_metric({}));
  EXPECT_FALSE(s1::scaling_metric({{100, 0.5}}));
  EXPECT_FALSE(s1::scaling_metric({{100, 0.5}, {100, 0.7}}));  // no spread in thinking
  EXPECT_DOUBLE_EQ(*s1::scaling_metric({{200, 0.6}, {100, 0.4}}), 0.002);
  // Linear accuracy: every pair has the same slope.
  EXPECT_DOUBLE_EQ(*s1::scaling_metric({{0, 0.1}, {100, 0.2}, {300, 0.4}, {400, 0.5}}), 0.001);
}

// Against the textbook values (Wilson 1927; e.g. Newcombe 1998, table I:
// 0/10 -> 0-0.2775, 1/29 -> 0.0061-0.1718, 81/263 -> 0.2553-0.3662).
TEST(WilsonInterval, TextbookValues) {
  auto near = [](std::pair<double, double> got, double lo, double hi) {
    EXPECT_NEAR(got.first, lo, 5e-5);
    EXPECT_NEAR(got.second, hi, 5e-5);
  };
  near(s1::wilson_interval(0, 10), 0.0, 0.2775);
  near(s1::wilson_interval(1, 29), 0.0061, 0.1718);
  near(s1::wilson_interval(81, 263), 0.2553, 0.3662);
  near(s1::wilson_interval(10, 10), 0.7225, 1.0);
}

TEST(UnionSeconds, OverlapsAndGaps) {
  EXPECT_DOUBLE_EQ(s1::union_seconds({}), 0.0);
  EXPECT_DOUBLE_EQ(s1::union_seconds({{0, 10}, {5, 12}, {20, 25}, {21, 22}}), 17.0);
  EXPECT_DOUBLE_EQ(s1::union_seconds({{3, 4}, {0, 1}}), 2.0);
}

TEST_F(FixedRecords, CsvAndSvg) {
  json summary = s1::summarize(records, cost);
  std::string csv = s1::results_csv(summary);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
  EXPECT_TRUE(
      csv.starts_with("method,think_max,think_min,wait,n,vote,count,correct,wrong,unparsed,accuracy,"));
  EXPECT_NE(csv.find("\nbudget,100,,,1,,3,1,1,1,0.333333,0.0614919,0.79234,100,100,10,110,330,"), std::string::npos)
      << csv;

  std::string svg = s1::scaling_svg(summary);
  EXPECT_TRUE(svg.starts_with("<svg"));
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  size_t lines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1))
    ++lines;
  EXPECT_EQ(lines, 3u);  // one per curve
  EXPECT_NE(svg.find(">budget n=2 majority</text>"), std::string::npos);
  EXPECT_NE(svg.find(">token-conditional</text>"), std::string::npos);
  // Titled with the dataset and N; each point labelled and with its interval.
  EXPECT_NE(svg.find("Test-time scaling: fixed (N = 3, 95% Wilson intervals)"), std::string::npos);
  EXPECT_NE(svg.find(">max=100</text>"), std::string::npos);  // the point's label, without its curve's name
  size_t bars = 0;
  for (size_t at = svg.find("<path d=\"M"); at != std::string::npos; at = svg.find("<path d=\"M", at + 1)) ++bars;
  EXPECT_EQ(bars, 5u);  // one per setting
  // Against total tokens, the x axis says so.
  EXPECT_NE(s1::scaling_svg(summary, s1::PlotAxis::total).find("Mean total tokens"), std::string::npos);
}

TEST(Summary, MalformedRecordIsAnError) {
  EXPECT_THROW(s1::summarize({json{{"setting_key", "x"}}}, {}), s1::Error);
}

}  // namespace
