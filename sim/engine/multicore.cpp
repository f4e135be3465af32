// The multicore engine's modules: core-group processes (TLM initiators, one per group slot) that
// stream their blocks' loads through the shared memory targets and compute them, and a
// controller that starts an operator's groups together and joins them.
#include "sim/engine/multicore.h"

#include <fmt/format.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <stdexcept>
#include <systemc>
#include <tlm>

#include "sim/engine/sim_context.h"
#include "sim/engine/tlm_memory.h"
#include "sim/engine/trace.h"

namespace xpusim {
namespace {

constexpr int kMaxGroups = 8;      // group slots (processes) per operator
constexpr int kMaxChunks = 24;     // event budget: a group's blocks run as at most this many chunks

struct Shared {
  const EngineSpec& spec;
  const std::vector<ParallelWork>& work;
  std::vector<OpTiming>& results;
  EngineRunStats& stats;
  EngineTrace* trace = nullptr;
};

// The cores' side of the interconnect: one initiator socket per shared level, called by every
// core-group process (a TLM target socket takes one binding; the groups' requests meet in the
// target, which serialises them on its bandwidth).
class Interconnect : public sc_core::sc_module {
 public:
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<Interconnect>>> ports;
  Interconnect(sc_core::sc_module_name name, const EngineSpec& spec) : sc_core::sc_module(name) {
    for (const auto& level : spec.levels)
      ports.push_back(std::make_unique<tlm_utils::simple_initiator_socket<Interconnect>>(
          fmt::format("port_{}", level.name).c_str()));
  }
};

// One core group: when started on operator `op`, group `g`, streams the group's chunks and
// reports when its last compute ends.
class CoreGroupProcess : public sc_core::sc_module {
 public:
  sc_core::sc_event start, done;
  size_t op = 0, group = 0;

  SC_HAS_PROCESS(CoreGroupProcess);
  CoreGroupProcess(sc_core::sc_module_name name, Shared& s, Interconnect& bus, size_t slot)
      : sc_core::sc_module(name), ports(bus.ports), s_(s), slot_(slot) {
    SC_THREAD(run);
  }

 private:
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<Interconnect>>>& ports;

 public:

 private:
  static double now() { return sc_core::sc_time_stamp().to_seconds(); }
  void wait_until(double t) {
    if (t > now()) wait(sc_core::sc_time(t - now(), sc_core::SC_SEC));
  }

  void run() {
    while (true) {
      wait(start);
      const CoreGroup& g = s_.work[op].groups[group];
      OpTiming& t = s_.results[op];
      const int n = static_cast<int>(std::clamp(std::ceil(g.blocks), 1.0, double(kMaxChunks)));
      const double per_chunk = g.blocks / n;        // blocks per core per chunk
      const double cores = std::max(1, g.cores);
      const double chunk_compute = g.compute_s * per_chunk;
      const int stages = std::max(1, g.stages);
      std::deque<double> computed;  // compute end times of the chunks still holding a stage
      double compute_free = now();
      std::vector<double> issue_free(g.bytes.size(), now());
      for (int k = 0; k < n; ++k) {
        // A stage must be free: chunk k's loads start when chunk k - stages has been computed.
        if (int(computed.size()) >= stages) {
          wait_until(computed.front());
          computed.pop_front();
        }
        const double issue = now();
        double ready = issue;
        for (size_t l = 0; l < g.bytes.size(); ++l) {
          const double bytes = g.bytes[l] * per_chunk * cores;
          if (bytes <= 0.5) continue;
          t.bytes_per_level[l] += bytes;
          const uint64_t before = s_.stats.transactions;
          ready = std::max(ready, tlm_read(*ports[l], bytes, &scratch_, s_.stats.transactions));
          t.transactions += s_.stats.transactions - before;
          const double rate = l < g.core_bytes_per_s.size() ? g.core_bytes_per_s[l] : 0.0;
          if (rate > 0) {
            // The group's cores issue their misses at their own rate; data arrives one latency on.
            issue_free[l] = std::max(issue_free[l], issue) + bytes / (rate * cores);
            ready = std::max(ready, issue_free[l] + s_.spec.levels[l].latency_s);
          }
        }
        const double begin = std::max(compute_free, ready);
        compute_free = begin + chunk_compute;
        if (s_.trace) {
          if (ready > issue)
            s_.trace->spans.push_back(
                {0, "dma", fmt::format("load {}/{}", k + 1, n), issue, ready, int(op)});
          if (chunk_compute > 0)
            s_.trace->spans.push_back({0, fmt::format("compute: group {}", slot_ + 1),
                                       fmt::format("{} cores", g.cores), begin, compute_free,
                                       int(op)});
        }
        computed.push_back(compute_free);
        ++t.tiles;
        ++s_.stats.tiles;
        if (stages == 1) {  // the core itself loads: nothing runs ahead of its compute
          wait_until(compute_free);
          computed.clear();
        }
      }
      wait_until(compute_free);
      done.notify(sc_core::SC_ZERO_TIME);
    }
  }

  Shared& s_;
  size_t slot_;
  unsigned char scratch_ = 0;
};

class Controller : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Controller);
  Controller(sc_core::sc_module_name name, Shared& s,
             std::vector<std::unique_ptr<CoreGroupProcess>>& groups)
      : sc_core::sc_module(name), s_(s), groups_(groups) {
    SC_THREAD(run);
  }

 private:
  void run() {
    for (size_t i = 0; i < s_.work.size(); ++i) {
      const ParallelWork& w = s_.work[i];
      OpTiming& t = s_.results[i];
      const double start = sc_core::sc_time_stamp().to_seconds();
      if (w.overhead_s > 0) wait(sc_core::sc_time(w.overhead_s, sc_core::SC_SEC));
      sc_core::sc_event_and_list all;
      size_t used = 0;
      for (size_t g = 0; g < w.groups.size(); ++g) {
        if (!(w.groups[g].blocks > 0)) continue;
        CoreGroupProcess& p = *groups_[used++];
        p.op = i;
        p.group = g;
        p.start.notify(sc_core::SC_ZERO_TIME);
        all &= p.done;
      }
      if (used > 0) wait(all);
      t.time_s = sc_core::sc_time_stamp().to_seconds() - start;
      if (s_.trace)
        s_.trace->spans.push_back(
            {0, "ops", "", start, sc_core::sc_time_stamp().to_seconds(), int(i)});
      t.overhead_s = w.overhead_s;
      ++s_.stats.ops;
    }
    sc_core::sc_stop();
  }

  Shared& s_;
  std::vector<std::unique_ptr<CoreGroupProcess>>& groups_;
};

class MulticoreTop : public sc_core::sc_module {
 public:
  MulticoreTop(sc_core::sc_module_name name, Shared& s) : sc_core::sc_module(name) {
    for (const auto& level : s.spec.levels) {
      memories_.push_back(std::make_unique<MemoryTarget>(level.name.c_str(), level));
      if (s.trace) memories_.back()->trace_into(s.trace, 0, level.name);
    }
    bus_ = std::make_unique<Interconnect>("interconnect", s.spec);
    for (size_t l = 0; l < memories_.size(); ++l) bus_->ports[l]->bind(memories_[l]->socket);
    size_t slots = 0;
    for (const auto& w : s.work) slots = std::max(slots, w.groups.size());
    for (size_t g = 0; g < slots; ++g)
      groups_.push_back(
          std::make_unique<CoreGroupProcess>(fmt::format("group{}", g).c_str(), s, *bus_, g));
    controller_ = std::make_unique<Controller>("controller", s, groups_);
  }
  void flush_trace() {
    for (auto& m : memories_) m->flush_trace();
  }

 private:
  std::vector<std::unique_ptr<MemoryTarget>> memories_;
  std::unique_ptr<Interconnect> bus_;
  std::vector<std::unique_ptr<CoreGroupProcess>> groups_;
  std::unique_ptr<Controller> controller_;
};

void check(const EngineSpec& spec, const std::vector<ParallelWork>& work) {
  for (const auto& l : spec.levels)
    if (!(l.bw_bytes_per_s > 0) || !(l.latency_s >= 0))
      throw std::invalid_argument(
          fmt::format("memory level '{}' needs a positive bandwidth", l.name));
  for (const auto& w : work) {
    if (!std::isfinite(w.overhead_s) || w.overhead_s < 0)
      throw std::invalid_argument("ParallelWork overhead must be finite and non-negative");
    if (w.groups.size() > size_t(kMaxGroups))
      throw std::invalid_argument(fmt::format("at most {} core groups per operator", kMaxGroups));
    for (const auto& g : w.groups) {
      if (g.bytes.size() > spec.levels.size())
        throw std::invalid_argument("a core group names more memory levels than the engine has");
      if (g.cores < 1 || !std::isfinite(g.blocks) || g.blocks < 0 ||
          !std::isfinite(g.compute_s) || g.compute_s < 0)
        throw std::invalid_argument("core counts, blocks, times and rates must be valid");
      for (double b : g.bytes)
        if (!std::isfinite(b) || b < 0)
          throw std::invalid_argument("block bytes must be finite and non-negative");
    }
  }
}

}  // namespace

std::vector<OpTiming> simulate_parallel_ops(const EngineSpec& spec,
                                            const std::vector<ParallelWork>& work,
                                            EngineRunStats* stats, EngineTrace* trace) {
  check(spec, work);
  std::vector<OpTiming> results(work.size());
  for (auto& r : results) r.bytes_per_level.assign(spec.levels.size(), 0.0);
  EngineRunStats local;
  if (!work.empty()) {
    Shared s{spec, work, results, local, trace};
    run_simulation([&] {
      MulticoreTop top("multicore", s);
      sc_core::sc_start();
      top.flush_trace();
    });
  }
  for (size_t i = 0; i < work.size(); ++i) {
    OpTiming& r = results[i];
    // Per operator: the slowest group's core time and its busiest level's occupancy.
    r.busy_per_level.assign(spec.levels.size(), 0.0);
    r.compute_s = 0;
    r.memory_s = 0;
    for (const auto& g : work[i].groups) {
      r.compute_s = std::max(r.compute_s, g.blocks * g.compute_s);
      double group = 0;
      for (size_t l = 0; l < g.bytes.size(); ++l) {
        const double bytes = g.blocks * g.bytes[l] * std::max(1, g.cores);
        r.busy_per_level[l] += bytes / spec.levels[l].bw_bytes_per_s;
        group = std::max(group, bytes / spec.levels[l].bw_bytes_per_s);
        if (l < g.core_bytes_per_s.size() && g.core_bytes_per_s[l] > 0)
          group = std::max(group, g.blocks * g.bytes[l] / g.core_bytes_per_s[l]);
      }
      r.memory_s = std::max(r.memory_s, group);
    }
    for (size_t l = 0; l < spec.levels.size(); ++l)
      r.memory_s = std::max(r.memory_s, r.busy_per_level[l]);
    r.stall_s = std::max(0.0, r.time_s - r.overhead_s - r.compute_s);
    r.bound = classify_bound(r.time_s, r.compute_s, r.memory_s, false);
  }
  if (stats) *stats = local;
  return results;
}

}  // namespace xpusim
