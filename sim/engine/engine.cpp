// The operator streamer (a TLM initiator) and the top level that wires it to the compute unit
// and the memory levels; one fresh SystemC context per call of simulate_ops.
#include "sim/engine/engine.h"

#include <fmt/format.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <systemc>
#include <tlm>

#include "sim/engine/compute_unit.h"
#include "sim/engine/sim_context.h"
#include "sim/engine/tlm_memory.h"

namespace xpusim {

std::string_view bound_name(Bound b) {
  switch (b) {
    case Bound::kCompute:
      return "compute";
    case Bound::kMemory:
      return "memory";
    case Bound::kLatency:
      return "latency";
  }
  return "?";
}

namespace {

class OpStreamer : public sc_core::sc_module {
 public:
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<OpStreamer>>> ports;
  sc_core::sc_fifo_out<Tile> out;

  SC_HAS_PROCESS(OpStreamer);
  OpStreamer(sc_core::sc_module_name name, const EngineSpec& spec, const std::vector<OpWork>& work,
             ComputeUnit& cu, std::vector<OpTiming>& results, EngineRunStats& stats)
      : sc_core::sc_module(name),
        spec_(spec),
        work_(work),
        cu_(cu),
        results_(results),
        stats_(stats) {
    for (size_t i = 0; i < spec.levels.size(); ++i)
      ports.push_back(std::make_unique<tlm_utils::simple_initiator_socket<OpStreamer>>(
          fmt::format("port_{}", spec.levels[i].name).c_str()));
    SC_THREAD(run);
  }

 private:
  // Issues one tile's loads on every level and returns when its last byte arrives (seconds).
  double load_tile(const OpWork& w, int tiles) {
    double ready = sc_core::sc_time_stamp().to_seconds();
    for (size_t l = 0; l < spec_.levels.size(); ++l)
      ready = std::max(
          ready, tlm_read(*ports[l], w.bytes_per_level[l] / tiles, &scratch_, stats_.transactions));
    return ready;
  }

  void run() {
    for (size_t i = 0; i < work_.size(); ++i) {
      const OpWork& w = work_[i];
      const double start = sc_core::sc_time_stamp().to_seconds();
      if (w.overhead_s > 0) wait(sc_core::sc_time(w.overhead_s, sc_core::SC_SEC));
      const int tiles = std::max(1, spec_.tiles_per_op);
      for (int t = 0; t < tiles; ++t) {
        // A tile's load may start only when a buffer stage is free.
        while (out->num_free() == 0) wait(out->data_read_event());
        Tile tile{i, load_tile(w, tiles), w.compute_s / tiles, t + 1 == tiles};
        out->write(tile);
        ++stats_.tiles;
      }
      wait(cu_.op_done);
      OpTiming& r = results_[i];
      r.time_s = cu_.last_done_s - start;
      ++stats_.ops;
    }
    sc_core::sc_stop();
  }

  const EngineSpec& spec_;
  const std::vector<OpWork>& work_;
  ComputeUnit& cu_;
  std::vector<OpTiming>& results_;
  EngineRunStats& stats_;
  unsigned char scratch_ = 0;  // TLM needs a data pointer; timing models move no data
};

class EngineTop : public sc_core::sc_module {
 public:
  EngineTop(sc_core::sc_module_name name, const EngineSpec& spec, const std::vector<OpWork>& work,
            std::vector<OpTiming>& results, EngineRunStats& stats)
      : sc_core::sc_module(name),
        buffer_("buffer", std::max(1, spec.buffer_stages)),
        cu_("compute"),
        streamer_("streamer", spec, work, cu_, results, stats) {
    for (const auto& level : spec.levels)
      memories_.push_back(std::make_unique<MemoryTarget>(level.name.c_str(), level));
    for (size_t i = 0; i < memories_.size(); ++i) streamer_.ports[i]->bind(memories_[i]->socket);
    streamer_.out(buffer_);
    cu_.in(buffer_);
  }

 private:
  sc_core::sc_fifo<Tile> buffer_;
  ComputeUnit cu_;
  std::vector<std::unique_ptr<MemoryTarget>> memories_;
  OpStreamer streamer_;
};

void check(const EngineSpec& spec, const std::vector<OpWork>& work) {
  for (const auto& l : spec.levels)
    if (!(l.bw_bytes_per_s > 0) || l.latency_s < 0)
      throw std::invalid_argument(
          fmt::format("memory level '{}' needs a positive bandwidth", l.name));
  for (const auto& w : work) {
    if (w.bytes_per_level.size() != spec.levels.size())
      throw std::invalid_argument("OpWork must give bytes for every memory level");
    if (!std::isfinite(w.compute_s) || w.compute_s < 0 || w.overhead_s < 0)
      throw std::invalid_argument("OpWork times must be finite and non-negative");
  }
}

}  // namespace

std::vector<OpTiming> simulate_ops(const EngineSpec& spec, const std::vector<OpWork>& work,
                                   EngineRunStats* stats) {
  check(spec, work);
  std::vector<OpTiming> results(work.size());
  EngineRunStats local;
  if (!work.empty()) {
    run_simulation([&] {
      EngineTop top("engine", spec, work, results, local);
      sc_core::sc_start();
    });
  }
  for (size_t i = 0; i < work.size(); ++i) {
    OpTiming& r = results[i];
    const OpWork& w = work[i];
    r.compute_s = w.compute_s;
    r.overhead_s = w.overhead_s;
    r.bytes_per_level = w.bytes_per_level;
    r.memory_s = 0;
    for (size_t l = 0; l < spec.levels.size(); ++l)
      r.memory_s = std::max(r.memory_s, w.bytes_per_level[l] / spec.levels[l].bw_bytes_per_s);
    // The bound is the resource that accounts for most of the time; fixed costs (launch and
    // first-byte latency) win when neither throughput term reaches half of the total.
    const double busiest = std::max(r.compute_s, r.memory_s);
    if (busiest < 0.5 * r.time_s)
      r.bound = Bound::kLatency;
    else
      r.bound = r.compute_s >= r.memory_s ? Bound::kCompute : Bound::kMemory;
  }
  if (stats) *stats = local;
  return results;
}

}  // namespace xpusim
