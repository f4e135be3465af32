// The engine's own timeline, recorded while it simulates (only when a caller asks for it): spans
// of operators, of each chunk of tiles on the compute unit and in the DMA process, the busy
// intervals of every memory level and link, and the bandwidth each level has in use. Times in
// seconds from the start of the simulation, bandwidth in bytes/s.
#pragma once

#include <string>
#include <vector>

namespace xpusim {

struct TraceSpan {
  int device = 0;     // which device of a multi-device simulation (0 for a single device)
  std::string track;  // "ops", "compute", "dma", a memory level's name ("hbm", "link"), "steps"
  std::string name;
  double start_s = 0, end_s = 0;
  int op = -1;  // index of the operator in the simulated list (-1: none)
};

// A counter sample: from t_s on, `value` (bytes/s in use on the level named by `track`).
struct TraceCounter {
  int device = 0;
  std::string track;
  double t_s = 0;
  double value = 0;
};

struct EngineTrace {
  std::vector<TraceSpan> spans;
  std::vector<TraceCounter> counters;
};

// Merges one busy interval of a memory level into the trace: back-to-back transfers form one
// span, and the level's bandwidth counter steps up at its start and back to 0 at its end.
class LevelTraceRecorder {
 public:
  LevelTraceRecorder(EngineTrace* trace, int device, std::string level, double bw_bytes_per_s)
      : trace_(trace), device_(device), level_(std::move(level)), bw_(bw_bytes_per_s) {}
  void busy(double start_s, double end_s);
  void flush();  // closes the open span (call once the simulation ends)

 private:
  EngineTrace* trace_;
  int device_;
  std::string level_;
  double bw_;
  bool open_ = false;
  double start_ = 0, end_ = 0;
};

}  // namespace xpusim
