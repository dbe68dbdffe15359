#include "output/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace inotrace {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about n ticks over span.
double nice_step(double span, int n) {
  if (span <= 0) return 1;
  double raw = span / n, mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

}  // namespace

std::string render_svg(const Chart& c, int W, int H) {
  const int left = 70, right = 180, top = 50, bottom = 55;
  int pw = W - left - right, ph = H - top - bottom;
  double xmin = c.x.empty() ? 0 : c.x.front(), xmax = c.x.empty() ? 1 : c.x.back();
  if (xmax <= xmin) xmax = xmin + 1;
  double ymax = 1;
  for (const auto& s : c.series)
    for (double v : s.y) ymax = std::max(ymax, v);
  double ystep = nice_step(ymax, 6);
  ymax = std::ceil(ymax / ystep) * ystep;
  auto X = [&](double v) { return left + (v - xmin) / (xmax - xmin) * pw; };
  auto Y = [&](double v) { return top + ph - v / ymax * ph; };

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H, W, H);
  s += fmt::format("<text x=\"{}\" y=\"28\" font-size=\"16\" font-weight=\"bold\">{}</text>\n", left, esc(c.title));
  for (double v = 0; v <= ymax + 1e-9; v += ystep) {
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#e0e0e0\"/>\n", left, Y(v), left + pw, Y(v));
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n", left - 6, Y(v) + 4, v);
  }
  double xstep = nice_step(xmax - xmin, 8);
  for (double v = std::ceil(xmin / xstep) * xstep; v <= xmax + 1e-9; v += xstep) {
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#f0f0f0\"/>\n", X(v), top, X(v), top + ph);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n", X(v), top + ph + 18, v);
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", left, top, pw, ph);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2, H - 12, esc(c.x_label));
  s += fmt::format("<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", top + ph / 2,
                   esc(c.y_label));
  int ly = top + 10;
  for (const auto& ser : c.series) {
    std::string pts;
    for (size_t i = 0; i < ser.y.size() && i < c.x.size(); i++) pts += fmt::format("{:.1f},{:.1f} ", X(c.x[i]), Y(ser.y[i]));
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" points=\"{}\"/>\n", ser.color, pts);
    s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"/>\n", left + pw + 15, ly,
                     left + pw + 40, ly, ser.color);
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", left + pw + 46, ly + 4, esc(ser.name));
    ly += 22;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace inotrace
