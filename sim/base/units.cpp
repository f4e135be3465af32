// Unit parsing and formatting for configuration quantities (SI base units internally).
#include "sim/base/units.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace xpusim {
namespace {

struct Suffix {
  std::string_view text;
  double factor;
};

// Decimal prefixes for rates and frequencies; both decimal and binary prefixes for sizes, as
// datasheets use both ("80 GB" of HBM, "50 MiB" of L2).
constexpr std::array kHertz = {Suffix{"Hz", 1.0}, Suffix{"kHz", 1e3}, Suffix{"MHz", 1e6},
                               Suffix{"GHz", 1e9}, Suffix{"THz", 1e12}};
constexpr std::array kBytes = {Suffix{"B", 1.0},
                               Suffix{"kB", 1e3},
                               Suffix{"KB", 1e3},
                               Suffix{"MB", 1e6},
                               Suffix{"GB", 1e9},
                               Suffix{"TB", 1e12},
                               Suffix{"KiB", 1024.0},
                               Suffix{"MiB", 1048576.0},
                               Suffix{"GiB", 1073741824.0},
                               Suffix{"TiB", 1099511627776.0}};
constexpr std::array kRate = {Suffix{"B/s", 1.0},
                              Suffix{"kB/s", 1e3},
                              Suffix{"KB/s", 1e3},
                              Suffix{"MB/s", 1e6},
                              Suffix{"GB/s", 1e9},
                              Suffix{"TB/s", 1e12},
                              Suffix{"KiB/s", 1024.0},
                              Suffix{"MiB/s", 1048576.0},
                              Suffix{"GiB/s", 1073741824.0},
                              Suffix{"TiB/s", 1099511627776.0}};
constexpr std::array kSeconds = {Suffix{"s", 1.0},   Suffix{"ms", 1e-3}, Suffix{"us", 1e-6},
                                 Suffix{"µs", 1e-6}, Suffix{"ns", 1e-9}, Suffix{"ps", 1e-12}};
constexpr std::array kWatts = {Suffix{"W", 1.0}, Suffix{"mW", 1e-3}, Suffix{"kW", 1e3}};
constexpr std::array kJoules = {Suffix{"J", 1.0},   Suffix{"mJ", 1e-3}, Suffix{"uJ", 1e-6},
                                Suffix{"µJ", 1e-6}, Suffix{"nJ", 1e-9}, Suffix{"pJ", 1e-12}};

std::pair<const Suffix*, size_t> suffixes(Unit u) {
  switch (u) {
    case Unit::kHertz:
      return {kHertz.data(), kHertz.size()};
    case Unit::kBytes:
      return {kBytes.data(), kBytes.size()};
    case Unit::kBytesPerSecond:
      return {kRate.data(), kRate.size()};
    case Unit::kSeconds:
      return {kSeconds.data(), kSeconds.size()};
    case Unit::kWatts:
      return {kWatts.data(), kWatts.size()};
    case Unit::kJoules:
      return {kJoules.data(), kJoules.size()};
    case Unit::kNone:
      break;
  }
  return {nullptr, 0};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view unit_name(Unit u) {
  switch (u) {
    case Unit::kNone:
      return "number";
    case Unit::kHertz:
      return "frequency";
    case Unit::kBytes:
      return "size";
    case Unit::kBytesPerSecond:
      return "bandwidth";
    case Unit::kSeconds:
      return "time";
    case Unit::kWatts:
      return "power";
    case Unit::kJoules:
      return "energy";
  }
  return "number";
}

std::string_view unit_symbol(Unit u) {
  switch (u) {
    case Unit::kNone:
      return "";
    case Unit::kHertz:
      return "Hz";
    case Unit::kBytes:
      return "B";
    case Unit::kBytesPerSecond:
      return "B/s";
    case Unit::kSeconds:
      return "s";
    case Unit::kWatts:
      return "W";
    case Unit::kJoules:
      return "J";
  }
  return "";
}

std::string unit_examples(Unit u) {
  auto [list, n] = suffixes(u);
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (!out.empty()) out += ", ";
    out += list[i].text;
  }
  return out;
}

std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

std::optional<double> parse_quantity(std::string_view text, Unit unit, std::string* why) {
  std::string_view s = trim(text);
  // Split at the first character that cannot belong to a number.
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    bool numeric = (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+';
    bool exponent = (c == 'e' || c == 'E') && i + 1 < s.size() &&
                    ((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == '-' || s[i + 1] == '+');
    if (!numeric && !exponent) break;
    i += exponent ? 2 : 1;
  }
  auto number = parse_number(s.substr(0, i));
  std::string_view suffix = trim(s.substr(i));
  if (!number) {
    if (why)
      *why = fmt::format("'{}' is not a {}: expected a number followed by a unit ({})", text,
                         unit_name(unit), unit_examples(unit));
    return std::nullopt;
  }
  if (unit == Unit::kNone) {
    if (!suffix.empty()) {
      if (why) *why = fmt::format("'{}' must be a plain number, without a unit", text);
      return std::nullopt;
    }
    return number;
  }
  if (suffix.empty()) {
    if (why)
      *why = fmt::format("'{}' needs a unit of {} (one of: {}), for example \"{}\"", text,
                         unit_name(unit), unit_examples(unit), quantity_example(*number, unit));
    return std::nullopt;
  }
  auto [list, n] = suffixes(unit);
  for (size_t k = 0; k < n; ++k) {
    if (list[k].text == suffix) return *number * list[k].factor;
  }
  if (why)
    *why = fmt::format("unknown unit '{}' for a {}; allowed units: {}", suffix, unit_name(unit),
                       unit_examples(unit));
  return std::nullopt;
}

std::string format_quantity(double value, Unit unit) {
  if (unit == Unit::kNone) return fmt::format("{:g}", value);
  // Not a structured binding: clang before 16 (the fuzz build) cannot capture one in a lambda.
  const std::pair<const Suffix*, size_t> table = suffixes(unit);
  const Suffix* const list = table.first;
  const size_t n = table.second;
  // The largest prefix not above the value, among decimal or binary prefixes.
  auto pick = [&](bool binary) {
    const Suffix* best = nullptr;
    const Suffix* smallest = nullptr;
    for (size_t k = 0; k < n; ++k) {
      const Suffix& s = list[k];
      const bool is_binary = s.text.find("iB") != std::string_view::npos;
      if (s.factor != 1.0 && is_binary != binary) continue;
      if (s.text == "µs" || s.text == "µJ" || s.text.starts_with("KB")) continue;
      if (!smallest || s.factor < smallest->factor) smallest = &s;
      if (std::fabs(value) >= s.factor && (!best || s.factor > best->factor)) best = &s;
    }
    return best ? best : smallest;
  };
  auto exact = [&](const Suffix* s) {
    double m = value / s->factor * 1000.0;
    return std::fabs(m - std::round(m)) < 1e-6 * std::fabs(m);
  };
  // Sizes read best in whichever prefix family writes them exactly: 50 MiB, 80 GB.
  const Suffix* best = pick(false);
  if (!exact(best) && (unit == Unit::kBytes || unit == Unit::kBytesPerSecond) && exact(pick(true)))
    best = pick(true);
  return fmt::format("{:.4g} {}", value / best->factor, best->text);
}

std::string quantity_example(double number, Unit unit) {
  switch (unit) {
    case Unit::kHertz:
      return fmt::format("{:g} GHz", number);
    case Unit::kBytes:
      return fmt::format("{:g} GiB", number);
    case Unit::kBytesPerSecond:
      return fmt::format("{:g} GB/s", number);
    case Unit::kSeconds:
      return fmt::format("{:g} ns", number);
    case Unit::kWatts:
      return fmt::format("{:g} W", number);
    case Unit::kJoules:
      return fmt::format("{:g} pJ", number);
    case Unit::kNone:
      break;
  }
  return fmt::format("{:g}", number);
}

}  // namespace xpusim
