#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "eval/sweep.h"
#include "util/error.h"

namespace s1 {
namespace {

struct SettingFigures {
  EvalSetting setting;
  int count = 0, correct = 0, wrong = 0, unparsed = 0;
  std::vector<double> thinking;  // per record, summed over its samples
  std::vector<double> answer;    // the same for answer tokens
  std::vector<double> probe;     // the same for probe tokens (probe stop)
  int samples = 0, forced = 0, waits = 0;
  int budgeted = 0, within = 0;  // samples under a thinking budget, and those that kept it
  double generated_tokens = 0;
  std::vector<std::pair<double, double>> intervals;
  // Derived once every record is in (finish()).
  double accuracy = 0, mean_thinking = 0, mean_answer = 0, mean_probe = 0;
  std::pair<double, double> ci95;
  void finish();
};

nlohmann::json ratio(double part, double whole) {
  return whole > 0 ? nlohmann::json(part / whole) : nlohmann::json();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / double(v.size());
}

void SettingFigures::finish() {
  accuracy = double(correct) / count;
  mean_thinking = mean(thinking);
  mean_answer = mean(answer);
  mean_probe = mean(probe);
  ci95 = wilson_interval(correct, count);
}

void add_record(SettingFigures& f, const nlohmann::json& record) {
  ++f.count;
  const std::string verdict = record.at("verdict");
  f.correct += verdict == "correct";
  f.wrong += verdict == "wrong";
  f.unparsed += verdict == "unparsed";
  double thinking = 0, answer = 0;
  const bool budgeted = f.setting.think_max || f.setting.think_min;
  for (const auto& sample : record.at("samples")) {
    const int tokens = sample.at("thinking_tokens");
    thinking += tokens;
    answer += sample.value("answer_tokens", 0);
    ++f.samples;
    f.forced += sample.value("forced_end", false);
    f.waits += sample.value("waits", 0);
    if (budgeted) {
      ++f.budgeted;
      f.within += (!f.setting.think_max || tokens <= *f.setting.think_max) &&
                  (!f.setting.think_min || tokens >= *f.setting.think_min);
    }
  }
  f.thinking.push_back(thinking);
  f.answer.push_back(answer);
  f.probe.push_back(record.value("probe_tokens", 0.0));
  f.generated_tokens += record.value("generated_tokens", 0.0);
  f.intervals.emplace_back(record.value("started_at", 0.0), record.value("finished_at", 0.0));
}

// Sweep order: curve by curve, then the thinking controls ascending (unset first).
auto order_key(const EvalSetting& s) {
  auto v = [](const std::optional<int>& x) { return x ? *x : -1; };
  const auto stop = s.think_stop ? std::make_pair(s.think_stop->agree, s.think_stop->every) : std::make_pair(0, 0);
  return std::make_tuple(int(s.method), s.n, s.vote ? int(*s.vote) : -1, stop, v(s.wait), v(s.think_min),
                         v(s.think_max));
}

}  // namespace

std::optional<double> scaling_metric(std::vector<CurvePoint> points) {
  std::sort(points.begin(), points.end(),
            [](const CurvePoint& a, const CurvePoint& b) { return a.thinking_tokens < b.thinking_tokens; });
  double sum = 0;
  int pairs = 0;
  for (size_t i = 0; i < points.size(); ++i)
    for (size_t j = i + 1; j < points.size(); ++j) {
      const double dx = points[j].thinking_tokens - points[i].thinking_tokens;
      if (dx <= 0) continue;
      sum += (points[j].accuracy - points[i].accuracy) / dx;
      ++pairs;
    }
  if (pairs == 0) return std::nullopt;
  return sum / pairs;
}

std::pair<double, double> wilson_interval(int correct, int n) {
  if (n <= 0) return {0, 1};
  constexpr double z = 1.959963984540054;  // the normal distribution's 97.5 % quantile
  const double p = double(correct) / n, z2n = z * z / n;
  const double center = (p + z2n / 2) / (1 + z2n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n);
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

double union_seconds(std::vector<std::pair<double, double>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  double total = 0, start = 0, end = 0;
  bool open = false;
  for (const auto& [a, b] : intervals) {
    if (b < a) continue;
    if (open && a <= end) {
      end = std::max(end, b);
      continue;
    }
    if (open) total += end - start;
    start = a, end = b, open = true;
  }
  if (open) total += end - start;
  return total;
}

nlohmann::json summarize(const std::vector<nlohmann::json>& records, const CostModel& cost) {
  std::map<std::string, SettingFigures> by_key;
  std::set<std::string> datasets;
  for (const auto& record : records) {
    try {
      if (auto d = record.find("dataset"); d != record.end() && d->is_string()) datasets.insert(d->get<std::string>());
      const std::string key = record.at("setting_key");
      auto [it, fresh] = by_key.try_emplace(key);
      if (fresh) it->second.setting = EvalSetting::from_json(record.at("setting"));
      add_record(it->second, record);
    } catch (const nlohmann::json::exception& e) {
      fail("a record lacks a field the summary needs ({}): {}", e.what(), record.dump().substr(0, 200));
    }
  }
  std::vector<SettingFigures*> figures;
  for (auto& [key, f] : by_key) {
    f.finish();
    figures.push_back(&f);
  }
  std::stable_sort(figures.begin(), figures.end(),
                   [](auto* a, auto* b) { return order_key(a->setting) < order_key(b->setting); });

  nlohmann::json settings = nlohmann::json::array();
  std::vector<std::string> curve_order;
  std::map<std::string, std::vector<const SettingFigures*>> curves;
  int budgeted = 0, within = 0;
  std::optional<double> best;
  for (const auto* f : figures) {
    const double wall = union_seconds(f->intervals);
    const double usd = cost.usd_per_hour * wall / 3600;
    nlohmann::json entry = f->setting.to_json();
    const double total_tokens = f->mean_thinking + f->mean_answer + f->mean_probe;
    entry.update({
        {"label", f->setting.label()},
        {"count", f->count},
        {"correct", f->correct},
        {"wrong", f->wrong},
        {"unparsed", f->unparsed},
        {"accuracy", f->accuracy},
        {"accuracy_ci95", {f->ci95.first, f->ci95.second}},
        {"mean_thinking_tokens", f->mean_thinking},
        {"median_thinking_tokens", median(f->thinking)},
        {"mean_answer_tokens", f->mean_answer},
        {"mean_probe_tokens", f->mean_probe},
        {"mean_total_tokens", total_tokens},
        {"tokens_per_correct", ratio(total_tokens * f->count, f->correct)},
        {"forced_end_rate", ratio(f->forced, f->samples)},
        {"mean_waits", ratio(f->waits, f->samples)},
        {"mean_samples", ratio(f->samples, f->count)},
        {"control", ratio(f->within, f->budgeted)},
        {"generated_tokens", f->generated_tokens},
        {"tokens_per_second", ratio(f->generated_tokens, wall)},
        {"wall_seconds", wall},
        {"energy_wh", cost.watts * wall / 3600},
        {"cost_usd", usd},
        {"usd_per_correct", ratio(usd, f->correct)},
    });
    settings.push_back(entry);
    const std::string curve = f->setting.curve();
    if (!curves.count(curve)) curve_order.push_back(curve);
    curves[curve].push_back(f);
    budgeted += f->budgeted;
    within += f->within;
    best = std::max(best.value_or(0.0), f->accuracy);
  }

  nlohmann::json curve_list = nlohmann::json::array();
  std::vector<double> slopes;
  for (const auto& name : curve_order) {
    std::vector<CurvePoint> points;
    int curve_budgeted = 0, curve_within = 0;
    double curve_best = 0;
    nlohmann::json xy = nlohmann::json::array(), details = nlohmann::json::array();
    for (const auto* f : curves[name]) {
      points.push_back({f->mean_thinking, f->accuracy});
      xy.push_back({f->mean_thinking, f->accuracy});
      details.push_back({{"label", f->setting.label()},
                         {"thinking_tokens", f->mean_thinking},
                         {"total_tokens", f->mean_thinking + f->mean_answer + f->mean_probe},
                         {"accuracy", f->accuracy},
                         {"accuracy_ci95", {f->ci95.first, f->ci95.second}},
                         {"count", f->count}});
      curve_budgeted += f->budgeted;
      curve_within += f->within;
      curve_best = std::max(curve_best, f->accuracy);
    }
    auto slope = scaling_metric(points);
    if (slope) slopes.push_back(*slope);
    curve_list.push_back({{"curve", name},
                          {"control", ratio(curve_within, curve_budgeted)},
                          {"scaling", slope ? nlohmann::json(*slope) : nlohmann::json()},
                          {"performance", curve_best},
                          {"points", xy},
                          {"details", details}});
  }
  return {
      {"settings", settings},
      {"metrics",
       {{"control", ratio(within, budgeted)},
        {"scaling", slopes.empty() ? nlohmann::json() : nlohmann::json(mean(slopes))},
        {"performance", best ? nlohmann::json(*best) : nlohmann::json()},
        {"curves", curve_list}}},
      {"datasets", datasets},
      {"cost_model", {{"watts", cost.watts}, {"usd_per_hour", cost.usd_per_hour}}},
  };
}

}  // namespace s1
