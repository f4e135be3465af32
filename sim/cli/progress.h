// Progress of a long command on standard error: on a terminal one line rewritten in place (done,
// rate, ETA) at most 10 times a second; otherwise a plain line every few seconds, and nothing at
// all for work that ends within the first period.
#pragma once

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>

namespace xpusim::cli {

class ProgressLine {
 public:
  // `what` names the work ("numerics"), `unit` its items ("windows").
  ProgressLine(std::ostream& out, bool terminal, std::string what, std::string unit,
               double plain_period_s = 5.0);
  ~ProgressLine();  // clears the terminal line
  void update(std::size_t done, std::size_t total, const std::string& detail);

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  bool terminal_;
  std::string what_, unit_;
  double period_s_;
  Clock::time_point start_, last_;
  std::size_t width_ = 0;
};

}  // namespace xpusim::cli
