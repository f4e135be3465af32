// Unit parsing and formatting of configuration quantities.
#include <gtest/gtest.h>

#include "sim/base/units.h"

namespace xpusim {
namespace {

double parse_ok(const char* text, Unit u) {
  std::string why;
  auto v = parse_quantity(text, u, &why);
  EXPECT_TRUE(v.has_value()) << text << ": " << why;
  return v.value_or(-1);
}

std::string parse_err(const char* text, Unit u) {
  std::string why;
  auto v = parse_quantity(text, u, &why);
  EXPECT_FALSE(v.has_value()) << text;
  return why;
}

TEST(Units, ParsesTheExamplesFromTheStyleGuide) {
  EXPECT_DOUBLE_EQ(parse_ok("1.98 GHz", Unit::kHertz), 1.98e9);
  EXPECT_DOUBLE_EQ(parse_ok("3.35 TB/s", Unit::kBytesPerSecond), 3.35e12);
  EXPECT_DOUBLE_EQ(parse_ok("50 MiB", Unit::kBytes), 50.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_ok("700 W", Unit::kWatts), 700.0);
  EXPECT_DOUBLE_EQ(parse_ok("4 ns", Unit::kSeconds), 4e-9);
}

TEST(Units, DecimalAndBinaryPrefixesDiffer) {
  EXPECT_DOUBLE_EQ(parse_ok("1 GB", Unit::kBytes), 1e9);
  EXPECT_DOUBLE_EQ(parse_ok("1 GiB", Unit::kBytes), 1073741824.0);
  EXPECT_DOUBLE_EQ(parse_ok("1 KiB", Unit::kBytes), 1024.0);
  EXPECT_DOUBLE_EQ(parse_ok("2 GiB/s", Unit::kBytesPerSecond), 2.0 * 1073741824.0);
}

TEST(Units, AcceptsExponentsSignsAndNoSpace) {
  EXPECT_DOUBLE_EQ(parse_ok("1.5e3 MHz", Unit::kHertz), 1.5e9);
  EXPECT_DOUBLE_EQ(parse_ok("2e-3 s", Unit::kSeconds), 2e-3);
  EXPECT_DOUBLE_EQ(parse_ok("100ns", Unit::kSeconds), 100e-9);
  EXPECT_DOUBLE_EQ(parse_ok("-3 W", Unit::kWatts), -3.0);  // range checks reject it later
  EXPECT_DOUBLE_EQ(parse_ok("5 pJ", Unit::kJoules), 5e-12);
}

TEST(Units, RejectsMissingWrongAndUnknownUnits) {
  EXPECT_NE(parse_err("1.98", Unit::kHertz).find("needs a unit of frequency"), std::string::npos);
  EXPECT_NE(parse_err("1.98", Unit::kHertz).find("\"1.98 GHz\""), std::string::npos);
  EXPECT_NE(parse_err("3 GB", Unit::kBytesPerSecond).find("unknown unit 'GB'"), std::string::npos);
  EXPECT_NE(parse_err("3 furlongs", Unit::kBytes).find("allowed units"), std::string::npos);
  EXPECT_NE(parse_err("fast", Unit::kHertz).find("is not a frequency"), std::string::npos);
  EXPECT_NE(parse_err("", Unit::kBytes).find("is not a size"), std::string::npos);
  EXPECT_NE(parse_err("3 GB", Unit::kNone).find("plain number"), std::string::npos);
  EXPECT_FALSE(parse_quantity("nan GHz", Unit::kHertz, nullptr).has_value());
  EXPECT_FALSE(parse_quantity("1e999 GHz", Unit::kHertz, nullptr).has_value());
}

TEST(Units, PlainNumbers) {
  EXPECT_EQ(parse_number("42"), 42.0);
  EXPECT_EQ(parse_number(" -1.5 "), -1.5);
  EXPECT_EQ(parse_number("+7"), 7.0);
  EXPECT_FALSE(parse_number("4x").has_value());
  EXPECT_FALSE(parse_number("").has_value());
  EXPECT_FALSE(parse_number("inf").has_value());
}

TEST(Units, FormatsWithReadablePrefixes) {
  EXPECT_EQ(format_quantity(1.98e9, Unit::kHertz), "1.98 GHz");
  EXPECT_EQ(format_quantity(50.0 * 1024 * 1024, Unit::kBytes), "50 MiB");
  EXPECT_EQ(format_quantity(80e9, Unit::kBytes), "80 GB");
  EXPECT_EQ(format_quantity(3.35e12, Unit::kBytesPerSecond), "3.35 TB/s");
  EXPECT_EQ(format_quantity(4e-9, Unit::kSeconds), "4 ns");
  EXPECT_EQ(format_quantity(0.5, Unit::kBytes), "0.5 B");
}

TEST(Units, FormatThenParseRoundTrips) {
  for (double v : {1.0, 1024.0, 3.35e12, 81559.0 * 1048576.0, 2e-6}) {
    for (Unit u : {Unit::kBytes, Unit::kBytesPerSecond, Unit::kSeconds, Unit::kHertz}) {
      std::string text = format_quantity(v, u);
      std::string why;
      auto back = parse_quantity(text, u, &why);
      ASSERT_TRUE(back.has_value()) << text << ": " << why;
      EXPECT_NEAR(*back, v, v * 1e-3) << text;  // 4 significant digits are printed
    }
  }
}

}  // namespace
}  // namespace xpusim
