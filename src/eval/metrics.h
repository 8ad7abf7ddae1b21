#pragma once
// Figures of an evaluation, computed from its records alone (so a report can
// be redrawn at any time): per setting, accuracy, thinking length, budget
// adherence, speed and cost; across each budget sweep, the s1 paper's three
// test-time scaling metrics (Muennighoff et al. 2025, "s1: Simple test-time
// scaling", section 3.1):
//   Control     = share of budgeted samples whose thinking stayed within the
//                 budget, think_min <= thinking tokens <= think_max;
//   Scaling     = mean slope (accuracy per thinking token) over every pair of
//                 points a < b of the curve: 1/C(|A|,2) * sum (f(b)-f(a))/(b-a),
//                 a point being (mean thinking tokens, accuracy) of a setting;
//   Performance = the best accuracy on the curve.
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace s1 {

// What a run costs: power drawn while running and the price of the machine.
// Defaults: a 2-vCPU cloud VM (the development machine class): ~25 W for its
// share of a server CPU and memory, $0.10 per hour on demand.
struct CostModel {
  double watts = 25;
  double usd_per_hour = 0.10;
};

struct CurvePoint {
  double thinking_tokens = 0;
  double accuracy = 0;
};

// The Scaling metric over a curve's points (any order). Pairs whose thinking
// lengths are equal have no slope and are left out; nullopt under two points.
std::optional<double> scaling_metric(std::vector<CurvePoint> points);

// The 95 % Wilson score interval of a proportion `correct` / `n` (n > 0):
// unlike p ± 1.96·se it stays inside [0, 1] and is sound at 0 % and 100 %.
std::pair<double, double> wilson_interval(int correct, int n);

// Measure of the union of [start, end] intervals: wall time of work that ran
// concurrently or in several sessions (gaps between sessions do not count).
double union_seconds(std::vector<std::pair<double, double>> intervals);

// summary.json: {"settings": [...], "metrics": {"control", "scaling",
// "performance", "curves": [...]}, "datasets": [...], "cost_model": {...}}.
// Field meanings in docs/eval.md.
nlohmann::json summarize(const std::vector<nlohmann::json>& records, const CostModel& cost);

}  // namespace s1
