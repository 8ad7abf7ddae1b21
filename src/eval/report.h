#pragma once
// The files an evaluation leaves next to its records: summary.json,
// results.csv (one row per setting) and scaling.svg (accuracy against mean
// thinking or total tokens, one line per curve). All are derived from records.jsonl,
// so `s1 eval report DIR` redraws them at any time.
#include <nlohmann/json.hpp>
#include <string>

#include "eval/metrics.h"

namespace s1 {

// scaling.svg's x axis: mean thinking tokens (the s1 paper's), or mean total
// tokens (thinking + answer), what a run costs.
enum class PlotAxis { thinking, total };
PlotAxis parse_plot_axis(const std::string& name);  // "thinking" | "total"; s1::Error otherwise

// Reads DIR/records.jsonl, writes the three files, returns the summary.
// s1::Error when there are no records.
nlohmann::json write_report(const std::string& dir, const CostModel& cost, PlotAxis axis = PlotAxis::thinking);

std::string results_csv(const nlohmann::json& summary);
// One line per curve; each point labelled with its setting and drawn with its
// 95 % Wilson interval; the title names the dataset(s) and N.
std::string scaling_svg(const nlohmann::json& summary, PlotAxis axis = PlotAxis::thinking);

}  // namespace s1
