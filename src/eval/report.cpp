#include "eval/report.h"

#include <filesystem>
#include <fstream>

#include "eval/records.h"
#include "eval/svg_plot.h"
#include "util/error.h"

namespace s1 {
namespace {

constexpr const char* kCsvColumns[] = {"method",
                                       "think_max",
                                       "think_min",
                                       "wait",
                                       "n",
                                       "vote",
                                       "count",
                                       "correct",
                                       "wrong",
                                       "unparsed",
                                       "accuracy",
                                       "mean_thinking_tokens",
                                       "median_thinking_tokens",
                                       "forced_end_rate",
                                       "mean_waits",
                                       "control",
                                       "generated_tokens",
                                       "tokens_per_second",
                                       "wall_seconds",
                                       "energy_wh",
                                       "cost_usd",
                                       "usd_per_correct"};

std::string csv_cell(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();  // names only: no commas or quotes
  if (value.is_number_float()) return fmt::format("{:.6g}", value.get<double>());
  return value.dump();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  // Write then rename, so a reader never sees half a file.
  const auto partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary);
    out << text;
    if (!out) fail("{}: cannot write", partial);
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) fail("{}: cannot write: {}", path.string(), ec.message());
}

}  // namespace

std::string results_csv(const nlohmann::json& summary) {
  std::string csv;
  for (const char* column : kCsvColumns) csv += (csv.empty() ? "" : ",") + std::string(column);
  csv += "\n";
  for (const auto& setting : summary.at("settings")) {
    std::string row;
    for (size_t i = 0; i < std::size(kCsvColumns); ++i)
      row += (i ? "," : "") + csv_cell(setting.value(kCsvColumns[i], nlohmann::json()));
    csv += row + "\n";
  }
  return csv;
}

std::string scaling_svg(const nlohmann::json& summary) {
  std::vector<PlotSeries> series;
  for (const auto& curve : summary.at("metrics").at("curves")) {
    PlotSeries s{curve.at("curve"), {}};
    for (const auto& point : curve.at("points")) s.points.emplace_back(point.at(0), point.at(1));
    series.push_back(std::move(s));
  }
  return render_line_chart(series, {"Test-time scaling", "Mean thinking tokens per problem", "Accuracy"});
}

nlohmann::json write_report(const std::string& dir, const CostModel& cost) {
  const std::filesystem::path base(dir);
  const auto records = read_records((base / "records.jsonl").string());
  if (records.empty()) fail("{}: no records yet (records.jsonl is missing or empty)", dir);
  nlohmann::json summary = summarize(records, cost);
  write_text(base / "summary.json", summary.dump(2) + "\n");
  write_text(base / "results.csv", results_csv(summary));
  write_text(base / "scaling.svg", scaling_svg(summary));
  return summary;
}

}  // namespace s1
