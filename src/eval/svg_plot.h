#pragma once
// A small line chart in SVG, drawn without any external service: accuracy
// against mean thinking (or total) tokens, one line per curve, like the s1
// paper's figures, each point labelled and with its confidence interval.
#include <string>
#include <vector>

namespace s1 {

struct PlotPoint {
  double x = 0, y = 0;
  double y_low = -1, y_high = -1;  // an interval drawn as an error bar; negative: none
  std::string label = {};          // written beside the point
};

struct PlotSeries {
  std::string name;
  std::vector<PlotPoint> points;  // drawn in x order
};

struct PlotLabels {
  std::string title, x_axis, y_axis;
};

// y is a fraction (0-1) shown as percent on a fixed 0-100% axis; x is linear
// from 0 (or the smallest x, when all are far from 0) to a round maximum.
std::string render_line_chart(const std::vector<PlotSeries>& series, const PlotLabels& labels);

}  // namespace s1
