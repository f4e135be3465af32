// `run --trace FILE.json`: the engine's own timeline of each point as Chrome trace events (the
// JSON that Perfetto and chrome://tracing load). Per point, one process for the device's
// operators as the engine ran them (tracks: operators, the compute units, DMA, each memory level
// and link, with their bandwidth in use as counters) and, for tensor- or pipeline-parallel points,
// one process per device of the multi-device simulation (steps, sends, link), with collectives
// ending together across devices. Points follow one another on the time axis. Times in µs.
#pragma once

#include <ostream>

#include "sim/run/experiment.h"

namespace xpusim {

// Writes the trace of every point that carries one (ExperimentRunner::set_trace).
void write_trace(const ExperimentResult& r, std::ostream& out);

}  // namespace xpusim
