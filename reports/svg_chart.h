// Charts as standalone inline SVG (no script, no external resource): grouped bars, stacked bars,
// scatter plots (with a highlighted front, y = x error bands or roofline ceilings) and parallel
// coordinates. Every label is escaped; axes carry their units; each data mark has class "mark",
// which the browser test counts.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace xpusim::svg {

struct Axis {
  std::string label;  // with its unit: "latency (ms)"
  bool log = false;
};

// One series of a grouped bar chart: a value per category (nullopt: no bar).
struct Series {
  std::string name;
  std::vector<std::optional<double>> values;
};
std::string bar_chart(const std::string& title, const std::vector<std::string>& categories,
                      const std::vector<Series>& series, const Axis& y);

// Horizontal stacked bars: one row per label, segments coloured by key (legend in key order).
struct Segment {
  std::string key;
  double value = 0;
  std::string tip;  // hover text
};
struct StackRow {
  std::string label;
  std::vector<Segment> segments;
};
std::string stacked_bars(const std::string& title, const std::vector<StackRow>& rows,
                         const std::vector<std::string>& keys, const Axis& x);

struct Point {
  double x = 0, y = 0;
  int group = 0;           // colour / legend entry
  bool highlight = false;  // drawn larger, on top (a Pareto front)
  std::string tip;
};
// A ceiling of a roofline: y = min(peak, bw * x).
struct Roof {
  std::string name;
  double peak = 0, bw = 0;
};
struct ScatterOptions {
  Axis x, y;
  std::vector<std::string> groups;  // legend names, indexed by Point::group
  bool front_line = false;          // join the highlighted points in x order
  std::string highlight_name = "Pareto front";
  bool diagonal = false;  // y = x, with shaded bands of ±bands[i] (fractions)
  std::vector<double> bands;
  std::vector<Roof> roofs;
};
std::string scatter(const std::string& title, const std::vector<Point>& points,
                    const ScatterOptions& options);

// Parallel coordinates: one vertical axis per dimension (numeric, or categorical when `labels`
// is not empty: values are indices into it), one polyline per row; highlighted rows on top.
struct Dimension {
  std::string name;
  bool log = false;
  std::vector<std::string> labels;
};
std::string parallel_coordinates(const std::string& title, const std::vector<Dimension>& dims,
                                 const std::vector<std::vector<double>>& rows,
                                 const std::vector<bool>& highlight,
                                 const std::string& highlight_name);

// A colour of the palette (colour-blind safe, cycling).
const char* colour(size_t i);
// A number for a label: 3 significant digits, no exponent for ordinary magnitudes.
std::string format_number(double v);

}  // namespace xpusim::svg
