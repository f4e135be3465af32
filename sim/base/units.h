// Physical quantities in configuration files: "1.98 GHz", "3.35 TB/s", "50 MiB", "700 W", "4 ns".
// Values are held in SI base units (Hz, bytes, bytes/s, seconds, watts, joules) as doubles.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xpusim {

enum class Unit { kNone, kHertz, kBytes, kBytesPerSecond, kSeconds, kWatts, kJoules };

std::string_view unit_name(Unit u);    // "frequency", "size", ...
std::string_view unit_symbol(Unit u);  // "Hz", "B", "B/s", "s", "W", "J"
std::string unit_examples(Unit u);     // what the user may write, for error messages

// Parses "<number> <prefix><symbol>". A quantity must carry its unit; on failure returns nullopt
// and sets *why to a human-readable reason.
std::optional<double> parse_quantity(std::string_view text, Unit unit, std::string* why);

// Formats a value with a readable prefix: 1.98e9 Hz -> "1.98 GHz", 52428800 B -> "50 MiB".
std::string format_quantity(double value, Unit unit);

// A typical way to write `number` in this unit, for hints: (4, bandwidth) -> "4 GB/s".
std::string quantity_example(double number, Unit unit);

// Parses a plain number (integer or real, with optional exponent); no unit allowed.
std::optional<double> parse_number(std::string_view text);

}  // namespace xpusim
