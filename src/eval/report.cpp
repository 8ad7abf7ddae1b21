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
                                       "accuracy_ci95_low",
                                       "accuracy_ci95_high",
                                       "mean_thinking_tokens",
                                       "median_thinking_tokens",
                                       "mean_answer_tokens",
                                       "mean_total_tokens",
                                       "tokens_per_correct",
                                       "forced_end_rate",
                                       "mean_waits",
                                       "mean_samples",
                                       "control",
                                       "generated_tokens",
                                       "tokens_per_second",
                                       "wall_seconds",
                                       "energy_wh",
                                       "cost_usd",
                                       "usd_per_correct",
                                       // Later additions go last, so readers by position keep working.
                                       "think_stop",
                                       "mean_probe_tokens"};

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
    for (size_t i = 0; i < std::size(kCsvColumns); ++i) {
      const std::string_view column = kCsvColumns[i];
      nlohmann::json value = setting.value(kCsvColumns[i], nlohmann::json());
      if (column.starts_with("accuracy_ci95_") && setting.contains("accuracy_ci95"))
        value = setting["accuracy_ci95"][column.ends_with("low") ? 0 : 1];
      row += (i ? "," : "") + csv_cell(value);
    }
    csv += row + "\n";
  }
  return csv;
}

PlotAxis parse_plot_axis(const std::string& name) {
  if (name == "thinking") return PlotAxis::thinking;
  if (name == "total") return PlotAxis::total;
  fail("--plot-x must be 'thinking' or 'total', got '{}'", name);
}

std::string scaling_svg(const nlohmann::json& summary, PlotAxis axis) {
  std::vector<PlotSeries> series;
  int n = 0;
  for (const auto& curve : summary.at("metrics").at("curves")) {
    const std::string name = curve.at("curve");
    PlotSeries s{name, {}};
    for (const auto& d : curve.at("details")) {
      const auto& ci = d.at("accuracy_ci95");
      // The setting without the curve's name, which the legend shows ("max=64").
      std::string label = d.at("label");
      if (label == name) label = "no limit";
      else if (label.starts_with(name + " ")) label.erase(0, name.size() + 1);
      s.points.push_back({.x = d.at(axis == PlotAxis::total ? "total_tokens" : "thinking_tokens"),
                          .y = d.at("accuracy"),
                          .y_low = ci.at(0),
                          .y_high = ci.at(1),
                          .label = label});
      n = std::max(n, d.at("count").get<int>());
    }
    series.push_back(std::move(s));
  }
  std::string datasets;
  for (const auto& d : summary.value("datasets", nlohmann::json::array()))
    datasets += (datasets.empty() ? "" : ", ") + d.get<std::string>();
  const std::string title = fmt::format("Test-time scaling{}{} (N = {}, 95% Wilson intervals)",
                                        datasets.empty() ? "" : ": ", datasets, n);
  return render_line_chart(series, {title,
                                    axis == PlotAxis::total ? "Mean total tokens per problem (thinking + answer + probes)"
                                                            : "Mean thinking tokens per problem",
                                    "Accuracy"});
}

nlohmann::json write_report(const std::string& dir, const CostModel& cost, PlotAxis axis) {
  const std::filesystem::path base(dir);
  const auto records = read_records((base / "records.jsonl").string());
  if (records.empty()) fail("{}: no records yet (records.jsonl is missing or empty)", dir);
  nlohmann::json summary = summarize(records, cost);
  write_text(base / "summary.json", summary.dump(2) + "\n");
  write_text(base / "results.csv", results_csv(summary));
  write_text(base / "scaling.svg", scaling_svg(summary, axis));
  return summary;
}

}  // namespace s1
