#include "eval/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace s1 {
namespace {

constexpr double kWidth = 760, kHeight = 460;
constexpr double kLeft = 70, kRight = 200, kTop = 44, kBottom = 60;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A step of 1, 2 or 5 times a power of ten giving about `ticks` intervals over `span`.
double nice_step(double span, int ticks) {
  const double raw = span / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

std::string tick_label(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{:.0f}", v);
  return fmt::format("{:g}", v);
}

}  // namespace

std::string render_line_chart(const std::vector<PlotSeries>& series, const PlotLabels& labels) {
  double max_x = 0;
  for (const auto& s : series)
    for (const auto& p : s.points) max_x = std::max(max_x, p.x);
  const double step = nice_step(max_x > 0 ? max_x : 1, 5);
  const double x_hi = std::max(step, std::ceil(max_x / step) * step);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + x / x_hi * plot_w; };
  auto py = [&](double y) { return kTop + (1 - std::clamp(y, 0.0, 1.0)) * plot_h; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kWidth, kHeight);
  svg += fmt::format("<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
                     kLeft + plot_w / 2, escape_xml(labels.title));
  // Grid and ticks.
  for (int i = 0; i <= 5; ++i) {
    const double y = i * 0.2;
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", kLeft,
                       py(y), kLeft + plot_w, py(y));
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}%</text>\n", kLeft - 6, py(y) + 4,
                       int(std::lround(y * 100)));
  }
  for (double x = 0; x <= x_hi + step / 2; x += step) {
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/>\n", px(x),
                       kTop, px(x), kTop + plot_h);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(x),
                       kTop + plot_h + 18, tick_label(x));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
                     kLeft, kTop, plot_w, plot_h);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + plot_w / 2,
                     kHeight - 16, escape_xml(labels.x_axis));
  svg += fmt::format(
      "<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">{1}</text>\n",
      kTop + plot_h / 2, escape_xml(labels.y_axis));

  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    auto points = series[i].points;
    std::sort(points.begin(), points.end(), [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
    std::string path;
    for (const auto& p : points)
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "" : " ", px(p.x), py(p.y));
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", color,
                       path);
    for (const auto& p : points) {
      if (p.y_low >= 0 && p.y_high >= 0) {  // the interval, with caps
        const double x = px(p.x), lo = py(p.y_low), hi = py(p.y_high);
        svg += fmt::format(
            "<path d=\"M{0:.1f},{1:.1f}V{2:.1f}M{3:.1f},{1:.1f}H{4:.1f}M{3:.1f},{2:.1f}H{4:.1f}\" stroke=\"{5}\" "
            "stroke-width=\"1\" fill=\"none\"/>\n",
            x, lo, hi, x - 3, x + 3, color);
      }
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"><title>{}{:.0f} tokens, {:.1f}%</title>"
          "</circle>\n",
          px(p.x), py(p.y), color, p.label.empty() ? "" : escape_xml(p.label) + ": ", p.x, p.y * 100);
      if (!p.label.empty())
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" fill=\"#555\">{}</text>\n",
                           px(p.x) + 5, py(p.y) - 6, escape_xml(p.label));
    }
    const double ly = kTop + 10 + 20 * double(i);
    svg +=
        fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2\"/>\n",
                    kLeft + plot_w + 14, ly, kLeft + plot_w + 38, color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", kLeft + plot_w + 44, ly + 4,
                       escape_xml(series[i].name));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace s1
