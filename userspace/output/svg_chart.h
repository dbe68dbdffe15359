// A small line chart as SVG (no plotting library in Debian fits a C++ tool): time on x,
// several named series on y, axes with ticks, a legend and a title.
#pragma once

#include <string>
#include <vector>

namespace inotrace {

struct ChartSeries {
  std::string name;
  std::string color;  // CSS color
  std::vector<double> y;  // one value per x
};

struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<double> x;
  std::vector<ChartSeries> series;
};

std::string render_svg(const Chart& c, int width = 900, int height = 480);

}  // namespace inotrace
