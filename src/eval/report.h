#pragma once
// The files an evaluation leaves next to its records: summary.json,
// results.csv (one row per setting) and scaling.svg (accuracy against mean
// thinking tokens, one line per curve). All are derived from records.jsonl,
// so `s1 eval report DIR` redraws them at any time.
#include <nlohmann/json.hpp>
#include <string>

#include "eval/metrics.h"

namespace s1 {

// Reads DIR/records.jsonl, writes the three files, returns the summary.
// s1::Error when there are no records.
nlohmann::json write_report(const std::string& dir, const CostModel& cost);

std::string results_csv(const nlohmann::json& summary);
std::string scaling_svg(const nlohmann::json& summary);

}  // namespace s1
