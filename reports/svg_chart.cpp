// SVG chart drawing (svg_chart.h). Sizes in SVG user units; the page scales the charts to its
// width. Text widths are estimated (about 6.6 units per character at 12 px).
#include "reports/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "reports/html_escape.h"

namespace xpusim::svg {
namespace {

constexpr double kWidth = 760;
constexpr double kCharW = 7.0;
constexpr const char* kFont =
    "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
    "sans-serif\" font-size=\"12\"";

std::string esc(const std::string& s) { return html_escape(s); }

// Text cut to `chars` characters (with an ellipsis), escaped.
std::string fit(const std::string& s, size_t chars) {
  if (s.size() <= chars) return esc(s);
  return esc(s.substr(0, chars > 1 ? chars - 1 : 0)) + "…";
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

struct Scale {
  double lo = 0, hi = 1, a = 0, b = 1;  // domain [lo, hi] onto pixels [a, b]
  bool log = false;
  double operator()(double v) const {
    if (log) {
      v = std::max(v, lo);
      return a + (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * (b - a);
    }
    return a + (v - lo) / (hi - lo) * (b - a);
  }
};

// The domain of `values` (finite, and positive on a log axis) with round ends.
Scale domain(const std::vector<double>& values, bool log, bool from_zero) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values)
    if (std::isfinite(v) && (!log || v > 0)) lo = std::min(lo, v), hi = std::max(hi, v);
  Scale s;
  s.log = log;
  if (!std::isfinite(lo)) {
    s.lo = log ? 1 : 0;
    s.hi = log ? 10 : 1;
    return s;
  }
  if (log) {
    // The nearest 1, 2 or 5 times a power of ten outside the data, on each side.
    auto down = [](double v) {
      const double d = std::pow(10.0, std::floor(std::log10(v)));
      for (double m : {5.0, 2.0, 1.0})
        if (m * d <= v * (1 + 1e-12)) return m * d;
      return d;
    };
    auto up = [](double v) {
      const double d = std::pow(10.0, std::floor(std::log10(v)));
      for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * d >= v * (1 - 1e-12)) return m * d;
      return 10 * d;
    };
    s.lo = down(lo);
    s.hi = up(hi);
    if (s.hi <= s.lo) s.hi = s.lo * 10;
    return s;
  }
  if (from_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (hi == lo) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.1);
  const double pad = from_zero ? 0 : (hi - lo) * 0.05;
  s.lo = lo == 0 && from_zero ? 0 : lo - pad;
  s.hi = hi + (hi - lo) * 0.05;
  return s;
}

std::vector<double> ticks(const Scale& s) {
  std::vector<double> t;
  if (s.log) {
    const int a = int(std::floor(std::log10(s.lo) + 1e-9)),
              b = int(std::ceil(std::log10(s.hi) - 1e-9));
    const bool few = b - a <= 3;                     // up to 3 decades: 1, 2 and 5 of each
    const int every = std::max(1, (b - a + 7) / 8);  // at most about 8 decade labels
    for (int e = a; e <= b; e += every)
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10.0, e);
        if ((m == 1.0 || few) && v >= s.lo * (1 - 1e-9) && v <= s.hi * (1 + 1e-9)) t.push_back(v);
      }
    return t;
  }
  const double raw = (s.hi - s.lo) / 6;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(s.lo / step) * step; v <= s.hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

// Legend entries laid out in rows across the width; returns the SVG and sets the height used.
struct LegendEntry {
  std::string name, colour;
  bool dot = false;  // a circle instead of a swatch
};
std::string legend(const std::vector<LegendEntry>& entries, double x0, double y0, double width,
                   double& height) {
  std::string out;
  double x = x0, y = y0;
  for (const auto& e : entries) {
    const std::string name = e.name.size() > 64 ? e.name.substr(0, 63) + "…" : e.name;
    const double w = 18 + kCharW * double(name.size()) + 14;
    if (x > x0 && x + w > x0 + width) x = x0, y += 18;
    out += e.dot ? fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"/>", num(x + 6),
                               num(y - 4), e.colour)
                 : fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>",
                               num(x), num(y - 10), e.colour);
    out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>", num(x + 17), num(y), esc(name));
    x += w;
  }
  height = entries.empty() ? 0 : y - y0 + 20;
  return out;
}

std::string open_svg(const std::string& kind, const std::string& title, double height) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"{}\" "
      "viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" {}>"
      "<title>{}</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
      "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"600\">{}</text>",
      kind, num(kWidth), num(height), num(kWidth), num(height), kFont, esc(title), fit(title, 110));
}

// Grid lines, tick labels and the axis title of a y axis at pixel x range [x0, x1].
std::string y_axis(const Scale& s, double x0, double x1, const std::string& label) {
  std::string out;
  for (double t : ticks(s)) {
    const double y = s(t);
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#e3e3e3\"/>"
        "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\" fill=\"#444\">{5}</text>",
        num(x0), num(x1), num(y), num(x0 - 5), num(y + 4), esc(format_number(t)));
  }
  const double mid = (s.a + s.b) / 2;
  out += fmt::format(
      "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">{}"
      "</text>",
      num(14), num(mid), esc(label));
  out += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#888\"/>", num(x0),
                     num(s.a), num(s.b));
  return out;
}

std::string x_axis(const Scale& s, double y0, double y1, const std::string& label, double height) {
  std::string out;
  for (double t : ticks(s)) {
    const double x = s(t);
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e3e3e3\"/>"
        "<text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#444\">{4}</text>",
        num(x), num(y0), num(y1), num(y0 + 16), esc(format_number(t)));
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#222\">{}</text>",
                     num((s.a + s.b) / 2), num(height - 8), esc(label));
  out += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#888\"/>",
                     num(s.a), num(s.b), num(y0));
  return out;
}

// Error bands, widest first: lighter to darker.
const char* band_colour(size_t i) {
  static const char* kBands[] = {"#e6eef7", "#c4d7ec", "#a3c0e0"};
  return kBands[std::min<size_t>(i, 2)];
}

}  // namespace

const char* colour(size_t i) {
  static const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                   "#56B4E9", "#D55E00", "#8C6D31", "#7F7F7F",
                                   "#F0E442", "#332288", "#AA4499", "#44AA99"};
  return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string format_number(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e6 || a < 1e-3) {  // 1e6, 2.5e-5: no "+" and no leading zero in the exponent
    std::string t = fmt::format("{:.3g}", v);
    for (const char* from : {"e+0", "e+", "e-0"}) {
      const auto at = t.find(from);
      if (at != std::string::npos) {
        t.replace(at, std::string(from).size(), std::string(from) == "e-0" ? "e-" : "e");
        break;
      }
    }
    return t;
  }
  if (a >= 100) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

std::string bar_chart(const std::string& title, const std::vector<std::string>& categories,
                      const std::vector<Series>& series, const Axis& y) {
  std::vector<LegendEntry> entries;
  for (size_t i = 0; i < series.size(); ++i) entries.push_back({series[i].name, colour(i)});
  double leg_h = 0;
  const std::string leg = legend(entries, 70, 40, kWidth - 90, leg_h);
  size_t longest = 0;
  for (const auto& c : categories) longest = std::max(longest, c.size());
  const bool slant = categories.size() > 4 || longest > 14;
  const double label_h = slant ? std::min<double>(longest, 28) * kCharW * 0.6 + 14 : 20;
  const double top = 40 + leg_h + 6, plot_h = 230, height = top + plot_h + label_h + 8;
  std::vector<double> values;
  for (const auto& s : series)
    for (const auto& v : s.values)
      if (v) values.push_back(*v);
  Scale ys = domain(values, y.log, !y.log);
  ys.a = top + plot_h;
  ys.b = top;
  const double x0 = 70, x1 = kWidth - 20;
  std::string out = open_svg("bar", title, height) + leg + y_axis(ys, x0, x1, y.label);
  const double group_w = (x1 - x0) / double(std::max<size_t>(1, categories.size()));
  const double bar_w = group_w * 0.8 / double(std::max<size_t>(1, series.size()));
  const size_t bars = categories.size() * series.size();
  for (size_t c = 0; c < categories.size(); ++c) {
    const double gx = x0 + group_w * double(c);
    for (size_t s = 0; s < series.size(); ++s) {
      if (c >= series[s].values.size() || !series[s].values[c]) continue;
      const double v = *series[s].values[c];
      if (!std::isfinite(v) || (y.log && v <= 0)) continue;
      const double base = ys(y.log ? ys.lo : std::max(ys.lo, 0.0)), top_y = ys(v);
      const double bx = gx + group_w * 0.1 + bar_w * double(s);
      out += fmt::format(
          "<rect class=\"mark\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
          "<title>{}, {}: {} {}</title></rect>",
          num(bx), num(std::min(base, top_y)), num(std::max(1.0, bar_w - 1)),
          num(std::max(1.0, std::abs(base - top_y))), colour(s), esc(series[s].name),
          esc(categories[c]), esc(format_number(v)), esc(y.label));
      if (bars <= 24)
        out += fmt::format(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333\">{}"
            "</text>",
            num(bx + bar_w / 2), num(std::min(base, top_y) - 3), esc(format_number(v)));
    }
    const double cx = gx + group_w / 2, ly = top + plot_h + 14;
    out += slant ? fmt::format(
                       "<text transform=\"translate({},{}) rotate(-30)\" text-anchor=\"end\" "
                       "fill=\"#222\">{}</text>",
                       num(cx), num(ly), fit(categories[c], 28))
                 : fmt::format(
                       "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#222\">{}"
                       "</text>",
                       num(cx), num(ly), fit(categories[c], 24));
  }
  out += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#888\"/>", num(x0),
                     num(x1), num(top + plot_h));
  return out + "</svg>";
}

std::string stacked_bars(const std::string& title, const std::vector<StackRow>& rows,
                         const std::vector<std::string>& keys, const Axis& x) {
  std::vector<LegendEntry> entries;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < keys.size(); ++i) {
    entries.push_back({keys[i], colour(i)});
    index[keys[i]] = i;
  }
  double leg_h = 0;
  const std::string leg = legend(entries, 10, 40, kWidth - 30, leg_h);
  size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.label.size());
  const double x0 = std::clamp(double(longest) * kCharW + 14, 80.0, 300.0), x1 = kWidth - 20;
  const double top = 40 + leg_h + 6, row_h = 22, plot_h = row_h * double(rows.size());
  const double height = top + plot_h + 50;
  std::vector<double> totals;
  for (const auto& r : rows) {
    double t = 0;
    for (const auto& s : r.segments) t += std::max(0.0, s.value);
    totals.push_back(t);
  }
  Scale xs = domain(totals, false, true);
  xs.a = x0;
  xs.b = x1;
  std::string out = open_svg("stacked", title, height) + leg;
  out += x_axis(xs, top + plot_h, top, x.label, height);
  for (size_t r = 0; r < rows.size(); ++r) {
    const double y = top + row_h * double(r);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#222\">{}</text>",
                       num(x0 - 6), num(y + row_h * 0.65),
                       fit(rows[r].label, size_t((x0 - 14) / kCharW)));
    double acc = 0;
    for (const auto& s : rows[r].segments) {
      if (!(s.value > 0)) continue;
      const double a = xs(acc), b = xs(acc + s.value);
      acc += s.value;
      const auto it = index.find(s.key);
      out += fmt::format(
          "<rect class=\"mark\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" "
          "stroke=\"#fff\" stroke-width=\"0.5\"><title>{}</title></rect>",
          num(a), num(y + 3), num(std::max(0.5, b - a)), num(row_h - 6),
          it == index.end() ? "#999" : colour(it->second), esc(s.tip.empty() ? s.key : s.tip));
    }
  }
  return out + "</svg>";
}

std::string scatter(const std::string& title, const std::vector<Point>& points,
                    const ScatterOptions& o) {
  std::vector<LegendEntry> entries;
  for (size_t i = 0; i < o.groups.size(); ++i) entries.push_back({o.groups[i], colour(i), true});
  bool any_high = false;
  for (const auto& p : points) any_high = any_high || p.highlight;
  if (any_high && o.front_line) entries.push_back({o.highlight_name, "#C00000", true});
  for (size_t i = 0; i < o.roofs.size(); ++i)
    entries.push_back({o.roofs[i].name, i == 0 ? "#222" : "#777"});
  for (size_t i = 0; i < o.bands.size(); ++i)
    entries.push_back({fmt::format("±{:g}%", o.bands[i] * 100), band_colour(i)});
  double leg_h = 0;
  const std::string leg = legend(entries, 70, 40, kWidth - 90, leg_h);
  const double top = 40 + leg_h + 6, plot_h = 300, height = top + plot_h + 46;
  const double x0 = 72, x1 = kWidth - 20;
  std::vector<double> xv, yv;
  for (const auto& p : points) xv.push_back(p.x), yv.push_back(p.y);
  if (o.diagonal) {  // both axes on one domain, so that y = x is the diagonal
    std::vector<double> all = xv;
    all.insert(all.end(), yv.begin(), yv.end());
    xv = yv = all;
  }
  for (const auto& r : o.roofs) yv.push_back(r.peak);
  Scale xs = domain(xv, o.x.log, false), ys = domain(yv, o.y.log, false);
  xs.a = x0, xs.b = x1, ys.a = top + plot_h, ys.b = top;
  std::string out = open_svg("scatter", title, height) + leg;
  out += fmt::format(
      "<clipPath id=\"c{0}\"><rect x=\"{1}\" y=\"{2}\" width=\"{3}\" height=\"{4}\"/>"
      "</clipPath>",
      std::hash<std::string>{}(title) % 1000000, num(x0), num(top), num(x1 - x0), num(plot_h));
  const std::string clip =
      fmt::format("clip-path=\"url(#c{})\"", std::hash<std::string>{}(title) % 1000000);
  out += y_axis(ys, x0, x1, o.y.label) + x_axis(xs, top + plot_h, top, o.x.label, height);
  // Curves sampled along x (straight in log-log for the diagonal and the bandwidth slope).
  auto curve = [&](auto f) {
    std::string d;
    for (int i = 0; i <= 120; ++i) {
      const double t = double(i) / 120;
      const double x =
          o.x.log ? std::pow(10.0, std::log10(xs.lo) + t * (std::log10(xs.hi) - std::log10(xs.lo)))
                  : xs.lo + t * (xs.hi - xs.lo);
      d += fmt::format("{}{},{}", d.empty() ? "M" : " L", num(xs(x)), num(ys(f(x))));
    }
    return d;
  };
  if (o.diagonal) {
    for (size_t bi = 0; bi < o.bands.size(); ++bi) {
      const double b = o.bands[bi];
      std::string d = curve([&](double x) { return x * (1 + b); });
      std::string lower = curve([&](double x) { return x * std::max(1e-9, 1 - b); });
      // Close the band: along the upper edge, back along the lower one.
      std::vector<std::string> parts;
      size_t pos = 0;
      while (pos < lower.size()) {
        size_t next = lower.find(" L", pos + 1);
        parts.push_back(
            lower.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        pos = next == std::string::npos ? lower.size() : next;
      }
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        std::string s = *it;
        if (!s.empty() && s[0] == 'M') s = " L" + s.substr(1);
        d += s;
      }
      out += fmt::format("<path d=\"{} Z\" fill=\"{}\" {}/>", d, band_colour(bi), clip);
    }
    out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#555\" stroke-dasharray=\"4 3\" {}/>",
                       curve([](double x) { return x; }), clip);
  }
  for (size_t i = 0; i < o.roofs.size(); ++i) {
    const Roof r = o.roofs[i];
    out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" {}/>",
                       curve([&](double x) { return std::min(r.peak, r.bw * x); }),
                       i == 0 ? "#222" : "#777", clip);
  }
  const bool many = points.size() > 2000;
  const double r_plain = many ? 2 : 3.5;
  auto dot = [&](const Point& p, bool high) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || (o.x.log && p.x <= 0) ||
        (o.y.log && p.y <= 0))
      return std::string();
    const std::string tip = !p.tip.empty() && (!many || high)
                                ? fmt::format("<title>{}</title>", esc(p.tip))
                                : std::string();
    return fmt::format(
        "<circle class=\"mark\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"{}>{}</circle>",
        num(xs(p.x)), num(ys(p.y)), high ? "4.5" : num(r_plain),
        high && o.front_line ? "#C00000" : colour(size_t(std::max(0, p.group))),
        high ? " stroke=\"#000\" stroke-width=\"0.8\""
             : (points.size() > 300 ? " fill-opacity=\"0.55\"" : ""),
        tip);
  };
  if (many) {
    // Thousands of points: one path of zero-length round-capped strokes per colour (a dot each),
    // so that the browser lays out a handful of elements instead of one per point.
    std::map<int, std::string> paths;
    for (const auto& p : points) {
      if (p.highlight || !std::isfinite(p.x) || !std::isfinite(p.y) || (o.x.log && p.x <= 0) ||
          (o.y.log && p.y <= 0))
        continue;
      paths[p.group] += fmt::format("M{} {}h0", num(xs(p.x)), num(ys(p.y)));
    }
    for (const auto& [g, d] : paths)
      out += fmt::format(
          "<path class=\"mark\" d=\"{}\" stroke=\"{}\" stroke-width=\"4\" "
          "stroke-linecap=\"round\" stroke-opacity=\"0.6\" fill=\"none\"/>",
          d, colour(size_t(std::max(0, g))));
  } else {
    for (const auto& p : points)
      if (!p.highlight) out += dot(p, false);
  }
  if (o.front_line) {
    std::vector<const Point*> front;
    for (const auto& p : points)
      if (p.highlight && std::isfinite(p.x) && std::isfinite(p.y)) front.push_back(&p);
    std::sort(front.begin(), front.end(), [](auto* a, auto* b) { return a->x < b->x; });
    std::string d;
    for (const Point* p : front)
      d += fmt::format("{}{},{}", d.empty() ? "M" : " L", num(xs(p->x)), num(ys(p->y)));
    if (front.size() > 1)
      out +=
          fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#C00000\" stroke-width=\"1.5\"/>", d);
  }
  for (const auto& p : points)
    if (p.highlight) out += dot(p, true);
  return out + "</svg>";
}

std::string parallel_coordinates(const std::string& title, const std::vector<Dimension>& dims,
                                 const std::vector<std::vector<double>>& rows,
                                 const std::vector<bool>& highlight,
                                 const std::string& highlight_name) {
  double leg_h = 0;
  const std::string leg = legend({{"design point", "#9aa4ad"}, {highlight_name, "#C00000"}}, 70, 40,
                                 kWidth - 90, leg_h);
  const double top = 40 + leg_h + 16, plot_h = 240, height = top + plot_h + 50;
  const double x0 = 60, x1 = kWidth - 60;
  const size_t n = dims.size();
  std::vector<Scale> scales(n);
  for (size_t d = 0; d < n; ++d) {
    std::vector<double> v;
    for (const auto& r : rows)
      if (d < r.size()) v.push_back(r[d]);
    if (!dims[d].labels.empty()) {
      scales[d].lo = 0;
      scales[d].hi = std::max(1.0, double(dims[d].labels.size() - 1));
    } else {
      scales[d] = domain(v, dims[d].log, false);
    }
    scales[d].a = top + plot_h;
    scales[d].b = top;
  }
  auto ax = [&](size_t d) {
    return n < 2 ? (x0 + x1) / 2 : x0 + (x1 - x0) * double(d) / double(n - 1);
  };
  std::string out = open_svg("parallel", title, height) + leg;
  // Axis names fit the space between axes.
  const size_t name_chars =
      n < 2 ? 40 : size_t(std::max(8.0, (x1 - x0) / double(n - 1) / kCharW - 1));
  auto line = [&](const std::vector<double>& r, bool high) {
    std::string pts;
    for (size_t d = 0; d < n && d < r.size(); ++d) {
      if (!std::isfinite(r[d])) return std::string();
      pts += fmt::format("{}{},{}", pts.empty() ? "" : " ", num(ax(d)), num(scales[d](r[d])));
    }
    return fmt::format(
        "<polyline class=\"mark\" points=\"{}\" fill=\"none\" stroke=\"{}\" {}/>", pts,
        high ? "#C00000" : "#9aa4ad",
        high ? "stroke-width=\"1.6\""
             : (rows.size() > 200 ? "stroke-opacity=\"0.12\"" : "stroke-opacity=\"0.5\""));
  };
  if (rows.size() > 200) {
    // Many rows: the ordinary ones as one path of polylines (one element to lay out).
    std::string d;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i < highlight.size() && highlight[i]) continue;
      std::string sub;
      for (size_t k = 0; k < n && k < rows[i].size(); ++k) {
        if (!std::isfinite(rows[i][k])) {
          sub.clear();
          break;
        }
        sub += fmt::format("{}{} {}", k ? "L" : "M", num(ax(k)), num(scales[k](rows[i][k])));
      }
      d += sub;
    }
    if (!d.empty())
      out += fmt::format(
          "<path class=\"mark\" d=\"{}\" fill=\"none\" stroke=\"#9aa4ad\" "
          "stroke-opacity=\"0.12\"/>",
          d);
  } else {
    for (size_t i = 0; i < rows.size(); ++i)
      if (i >= highlight.size() || !highlight[i]) out += line(rows[i], false);
  }
  for (size_t i = 0; i < rows.size(); ++i)
    if (i < highlight.size() && highlight[i]) out += line(rows[i], true);
  for (size_t d = 0; d < n; ++d) {
    const double x = ax(d);
    out += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#333\"/>",
                       num(x), num(top), num(top + plot_h));
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#222\" "
        "font-weight=\"600\">{}</text>",
        num(x), num(top - 8), fit(dims[d].name, name_chars));
    if (!dims[d].labels.empty()) {
      for (size_t k = 0; k < dims[d].labels.size(); ++k)
        out += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\" font-size=\"10\">{}</text>",
                           num(x + 4), num(scales[d](double(k)) + 3), fit(dims[d].labels[k], 14));
    } else {
      for (double t : ticks(scales[d]))
        out += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\" font-size=\"10\">{}</text>",
                           num(x + 4), num(scales[d](t) + 3), esc(format_number(t)));
    }
  }
  return out + "</svg>";
}

}  // namespace xpusim::svg
