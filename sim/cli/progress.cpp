// Progress lines: rate and ETA from the items done since the start.
#include "sim/cli/progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace xpusim::cli {

ProgressLine::ProgressLine(std::ostream& out, bool terminal, std::string what, std::string unit,
                           double plain_period_s)
    : out_(out),
      terminal_(terminal),
      what_(std::move(what)),
      unit_(std::move(unit)),
      period_s_(plain_period_s),
      start_(Clock::now()),
      last_(start_) {}

ProgressLine::~ProgressLine() {
  if (terminal_ && width_ > 0) out_ << '\r' << std::string(width_, ' ') << '\r' << std::flush;
}

void ProgressLine::update(std::size_t done, std::size_t total, const std::string& detail) {
  const auto now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (since_last < (terminal_ ? 0.1 : period_s_) && done < total) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? double(done) / elapsed : 0;
  const std::string eta =
      rate > 0 && total > done ? fmt::format(", ETA {:.0f} s", double(total - done) / rate) : "";
  const std::string line = fmt::format("{}: {}/{} {} ({:.2g} {}/s{}) {}", what_, done, total,
                                       unit_, rate, unit_, eta, detail);
  if (terminal_) {
    out_ << '\r' << line << std::string(width_ > line.size() ? width_ - line.size() : 0, ' ')
         << std::flush;
    width_ = std::max(width_, line.size());
  } else if (elapsed >= period_s_ || done < total) {
    out_ << line << '\n' << std::flush;
  }
}

}  // namespace xpusim::cli
