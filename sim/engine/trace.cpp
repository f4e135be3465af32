// Busy-interval merging for the engine's timeline (trace.h).
#include "sim/engine/trace.h"

#include <algorithm>

namespace xpusim {

void LevelTraceRecorder::busy(double start_s, double end_s) {
  if (!trace_ || !(end_s > start_s)) return;
  // A transfer that starts within a picosecond of the previous one's end continues its span.
  if (open_ && start_s <= end_ + 1e-12) {
    end_ = std::max(end_, end_s);
    return;
  }
  flush();
  open_ = true;
  start_ = start_s;
  end_ = end_s;
}

void LevelTraceRecorder::flush() {
  if (!trace_ || !open_) return;
  open_ = false;
  trace_->spans.push_back({device_, level_, "busy", start_, end_, -1});
  trace_->counters.push_back({device_, level_, start_, bw_});
  trace_->counters.push_back({device_, level_, end_, 0});
}

}  // namespace xpusim
