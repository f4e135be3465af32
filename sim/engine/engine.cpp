// The engine's modules: a DMA process (TLM initiator) that loads each chunk of tiles from every
// memory level once a buffer stage is free, a compute process that consumes the chunks, and the
// memory targets; one fresh SystemC context per call of simulate_ops.
#include "sim/engine/engine.h"

#include <fmt/format.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <stdexcept>
#include <systemc>
#include <tlm>

#include "sim/engine/sim_context.h"
#include "sim/engine/tlm_memory.h"
#include "sim/engine/trace.h"

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

Bound classify_bound(double time_s, double compute_s, double memory_s, bool compute_is_latency) {
  const double compute = compute_is_latency ? 0.0 : compute_s;
  if (std::max(compute, memory_s) < 0.5 * time_s) return Bound::kLatency;
  return compute >= memory_s ? Bound::kCompute : Bound::kMemory;
}

OpWork OpWork::single(double compute_s, std::vector<double> bytes_per_level, double overhead_s,
                      double tiles) {
  OpWork w;
  w.overhead_s = overhead_s;
  TileGroup g;
  g.tiles = tiles;
  g.compute_s = compute_s / tiles;
  for (double& b : bytes_per_level) b /= tiles;
  g.bytes = std::move(bytes_per_level);
  w.groups.push_back(std::move(g));
  return w;
}

namespace {

double level_eff(const TileGroup& g, size_t l) {
  return l < g.efficiency.size() && g.efficiency[l] > 0 ? g.efficiency[l] : 1.0;
}

}  // namespace

int chunks_for(const EngineSpec& spec, const TileGroup& g) {
  // The fill the pipeline exposes is about one chunk of the less busy resource; choose enough
  // chunks to keep it under fill_error of the busier one, and never more than the event budget.
  double memory = 0;
  for (size_t l = 0; l < g.bytes.size(); ++l)
    memory =
        std::max(memory, g.tiles * g.bytes[l] / (spec.levels[l].bw_bytes_per_s * level_eff(g, l)));
  if (g.issue_bytes_per_s > 0 && !g.bytes.empty())
    memory = std::max(memory, g.tiles * g.bytes[0] / g.issue_bytes_per_s);
  const double compute = g.tiles * g.compute_s;
  const double hi = std::max(compute, memory), lo = std::min(compute, memory);
  if (!(hi > 0)) return 1;
  const double want = std::ceil(lo / hi / std::max(1e-6, spec.fill_error));
  double cap = double(std::max(1, spec.max_chunks));
  if (!g.divisible) cap = std::min(cap, std::max(1.0, std::ceil(g.tiles)));
  return static_cast<int>(std::clamp(want, 1.0, cap));
}

namespace {

constexpr int kMaxRequestsPerChunk = 4096;  // bounds the work of one chunk's loads

struct Chunk {
  size_t op = 0;
  double ready_at_s = 0;  // when its operands are in the buffer
  double compute_s = 0;
  bool last = false;
  const TileGroup* group = nullptr;  // for its write-back (write_bytes, wait_writes)
  double tiles = 0;                  // tiles of the group in this chunk
};

inline std::ostream& operator<<(std::ostream& os, const Chunk& c) {
  return os << "chunk(op " << c.op << ", ready " << c.ready_at_s << " s)";
}

// Consumes chunks in order; holds a buffer stage from the chunk's load until its compute ends.
class ComputeProcess : public sc_core::sc_module {
 public:
  sc_core::sc_fifo<Chunk> queue;
  sc_core::sc_semaphore stages;
  sc_core::sc_event op_done;
  std::vector<OpTiming>& results;
  EngineTrace* trace = nullptr;

  // Sends `bytes` to memory level `level` now; returns when the last byte is written. Set by the
  // engine (the DMA process's ports reach the targets).
  std::function<double(size_t level, double bytes, OpTiming& t)> write;

  SC_HAS_PROCESS(ComputeProcess);
  ComputeProcess(sc_core::sc_module_name name, int buffer_stages, std::vector<OpTiming>& r,
                 EngineTrace* t)
      : sc_core::sc_module(name),
        queue("queue", std::max(1, buffer_stages)),
        stages("stages", std::max(1, buffer_stages)),
        results(r),
        trace(t) {
    SC_THREAD(run);
  }

 private:
  void wait_until(double at_s, OpTiming& t) {
    const double now = sc_core::sc_time_stamp().to_seconds();
    if (at_s > now) {
      t.stall_s += at_s - now;
      wait(sc_core::sc_time(at_s - now, sc_core::SC_SEC));
    }
  }
  void run() {
    double writes_done = 0;  // when every write sent so far has completed
    while (true) {
      Chunk c = queue.read();
      OpTiming& t = results[c.op];
      if (c.group && c.group->wait_writes) wait_until(writes_done, t);
      wait_until(c.ready_at_s, t);
      if (c.group && write)
        for (size_t l = 0; l < c.group->write_bytes.size(); ++l)
          if (const double b = c.group->write_bytes[l] * c.tiles; b > 0.5)
            writes_done = std::max(writes_done, write(l, b, t));
      const double begin = sc_core::sc_time_stamp().to_seconds();
      if (c.compute_s > 0) wait(sc_core::sc_time(c.compute_s, sc_core::SC_SEC));
      if (trace && c.compute_s > 0)
        trace->spans.push_back({0, "compute", "tile wave", begin,
                                sc_core::sc_time_stamp().to_seconds(), int(c.op)});
      t.compute_s += c.compute_s;
      stages.post();
      if (c.last) op_done.notify(sc_core::SC_ZERO_TIME);
    }
  }
};

// The load engine: per operator, waits out the overhead, then streams the chunks of each tile
// group through the memory levels as fast as buffer stages free up, and waits for the compute
// process to finish the operator before starting the next (kernels of one stream do not overlap).
class DmaProcess : public sc_core::sc_module {
 public:
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<DmaProcess>>> ports;

  SC_HAS_PROCESS(DmaProcess);
  DmaProcess(sc_core::sc_module_name name, const EngineSpec& spec, const std::vector<OpWork>& work,
             ComputeProcess& cu, std::vector<OpTiming>& results, EngineRunStats& stats,
             EngineTrace* trace)
      : sc_core::sc_module(name),
        spec_(spec),
        work_(work),
        cu_(cu),
        results_(results),
        stats_(stats),
        trace_(trace) {
    for (const auto& level : spec.levels)
      ports.push_back(std::make_unique<tlm_utils::simple_initiator_socket<DmaProcess>>(
          fmt::format("port_{}", level.name).c_str()));
    SC_THREAD(run);
  }

 private:
  void run() {
    for (size_t i = 0; i < work_.size(); ++i) {
      const OpWork& w = work_[i];
      OpTiming& t = results_[i];
      const double start = sc_core::sc_time_stamp().to_seconds();
      if (w.overhead_s > 0) wait(sc_core::sc_time(w.overhead_s, sc_core::SC_SEC));
      const double after_overhead = sc_core::sc_time_stamp().to_seconds();
      size_t last_group = 0;
      for (size_t gi = 0; gi < w.groups.size(); ++gi)
        if (w.groups[gi].tiles > 0) last_group = gi;
      bool any = false;
      double issue_free = after_overhead;  // when the group's issue-rate limit frees the next load
      for (size_t gi = 0; gi < w.groups.size(); ++gi) {
        const TileGroup& g = w.groups[gi];
        if (!(g.tiles > 0)) continue;
        const int n = chunks_for(spec_, g);
        const double per_chunk = g.tiles / n;
        const double chunk_main_bytes = g.bytes.empty() ? 0.0 : g.bytes[0] * per_chunk;
        for (int k = 0; k < n; ++k) {
          cu_.stages.wait();  // a buffer stage must be free before its load starts
          const double now = sc_core::sc_time_stamp().to_seconds();
          double ready = now;
          // Level 0 is main memory and feeds the inner levels: when the chunk reads it, their
          // streams start one main-memory latency after the request.
          const double fed_after =
              !g.bytes.empty() && g.bytes[0] * per_chunk > 0.5 ? spec_.levels[0].latency_s : 0.0;
          for (size_t l = 0; l < g.bytes.size(); ++l) {
            const double bytes = g.bytes[l] * per_chunk;
            if (bytes <= 0.5) continue;  // sub-byte remainders are not transfers
            t.bytes_per_level[l] += bytes;
            const uint64_t before = stats_.transactions;
            // A level with a bounded queue sees each tile of the chunk as a request of its own,
            // so its queue limits the chunk as it would the tiles.
            const int requests =
                spec_.levels[l].queue_depth > 0
                    ? int(std::clamp(std::round(per_chunk), 1.0, double(kMaxRequestsPerChunk)))
                    : 1;
            ready =
                std::max(ready, tlm_read(*ports[l], bytes / level_eff(g, l), &scratch_,
                                         stats_.transactions, requests, l > 0 ? fed_after : 0.0));
            t.transactions += stats_.transactions - before;
          }
          if (g.issue_bytes_per_s > 0) {
            // Loads issued at the initiator's own rate still arrive one first-byte latency later.
            issue_free = std::max(issue_free, now) + chunk_main_bytes / g.issue_bytes_per_s;
            ready = std::max(ready, issue_free + spec_.levels[0].latency_s);
          }
          const bool last = gi == last_group && k + 1 == n;
          if (trace_ && ready > now)
            trace_->spans.push_back({0, "dma", fmt::format("load {}/{}", k + 1, n), now, ready,
                                     int(i)});
          const bool writes = !g.write_bytes.empty() || g.wait_writes;
          cu_.queue.write(
              Chunk{i, ready, g.compute_s * per_chunk, last, writes ? &g : nullptr, per_chunk});
          ++t.tiles;
          ++stats_.tiles;
          any = true;
        }
      }
      if (any) wait(cu_.op_done);
      t.time_s = sc_core::sc_time_stamp().to_seconds() - start;
      if (trace_)
        trace_->spans.push_back(
            {0, "ops", "", start, sc_core::sc_time_stamp().to_seconds(), int(i)});
      t.overhead_s = w.overhead_s;
      ++stats_.ops;
    }
    sc_core::sc_stop();
  }

 public:
  // A write through level `l`'s port, issued now by the compute process (see ComputeProcess).
  double write(size_t l, double bytes, OpTiming& t) {
    t.bytes_per_level[l] += bytes;
    const uint64_t before = stats_.transactions;
    const double done = tlm_read(*ports[l], bytes, &scratch_, stats_.transactions);
    t.transactions += stats_.transactions - before;
    return done;
  }

 private:
  const EngineSpec& spec_;
  const std::vector<OpWork>& work_;
  ComputeProcess& cu_;
  std::vector<OpTiming>& results_;
  EngineRunStats& stats_;
  EngineTrace* trace_;
  unsigned char scratch_ = 0;  // TLM needs a data pointer; timing models move no data
};

class EngineTop : public sc_core::sc_module {
 public:
  EngineTop(sc_core::sc_module_name name, const EngineSpec& spec, const std::vector<OpWork>& work,
            std::vector<OpTiming>& results, EngineRunStats& stats, EngineTrace* trace)
      : sc_core::sc_module(name),
        cu_("compute", spec.buffer_stages, results, trace),
        dma_("dma", spec, work, cu_, results, stats, trace) {
    for (const auto& level : spec.levels) {
      memories_.push_back(std::make_unique<MemoryTarget>(level.name.c_str(), level));
      if (trace) memories_.back()->trace_into(trace, 0, level.name);
    }
    for (size_t i = 0; i < memories_.size(); ++i) dma_.ports[i]->bind(memories_[i]->socket);
    cu_.write = [this](size_t l, double bytes, OpTiming& t) { return dma_.write(l, bytes, t); };
  }
  void flush_trace() {
    for (auto& m : memories_) m->flush_trace();
  }

 private:
  ComputeProcess cu_;
  std::vector<std::unique_ptr<MemoryTarget>> memories_;
  DmaProcess dma_;
};

void check(const EngineSpec& spec, const std::vector<OpWork>& work) {
  for (const auto& l : spec.levels)
    if (!(l.bw_bytes_per_s > 0) || !(l.latency_s >= 0) || l.queue_depth < 0)
      throw std::invalid_argument(
          fmt::format("memory level '{}' needs a positive bandwidth", l.name));
  for (const auto& w : work) {
    if (!std::isfinite(w.overhead_s) || w.overhead_s < 0)
      throw std::invalid_argument("OpWork overhead must be finite and non-negative");
    for (const auto& g : w.groups) {
      if (g.bytes.size() > spec.levels.size())
        throw std::invalid_argument("a tile group names more memory levels than the engine has");
      if (!std::isfinite(g.tiles) || g.tiles < 0 || !std::isfinite(g.compute_s) || g.compute_s < 0)
        throw std::invalid_argument("tile counts and times must be finite and non-negative");
      if (g.write_bytes.size() > spec.levels.size())
        throw std::invalid_argument(
            "a tile group writes to more memory levels than the engine has");
      for (const auto* v : {&g.bytes, &g.write_bytes})
        for (double b : *v)
          if (!std::isfinite(b) || b < 0)
            throw std::invalid_argument("tile bytes must be finite and non-negative");
    }
  }
}

}  // namespace

std::vector<OpTiming> simulate_ops(const EngineSpec& spec, const std::vector<OpWork>& work,
                                   EngineRunStats* stats, EngineTrace* trace) {
  check(spec, work);
  std::vector<OpTiming> results(work.size());
  for (auto& r : results) r.bytes_per_level.assign(spec.levels.size(), 0.0);
  EngineRunStats local;
  if (!work.empty()) {
    run_simulation([&] {
      EngineTop top("engine", spec, work, results, local, trace);
      sc_core::sc_start();
      top.flush_trace();
    });
  }
  for (size_t i = 0; i < work.size(); ++i) {
    OpTiming& r = results[i];
    // Memory time: per group, its busiest level or its issue-rate limit, whichever is longer.
    r.busy_per_level.assign(spec.levels.size(), 0.0);
    r.memory_s = 0;
    for (const auto& g : work[i].groups) {
      double group = 0;
      for (size_t l = 0; l < std::max(g.bytes.size(), g.write_bytes.size()); ++l) {
        const double bytes = (l < g.bytes.size() ? g.bytes[l] : 0.0) +
                             (l < g.write_bytes.size() ? g.write_bytes[l] : 0.0);
        const double busy = g.tiles * bytes / (spec.levels[l].bw_bytes_per_s * level_eff(g, l));
        r.busy_per_level[l] += busy;
        group = std::max(group, busy);
      }
      if (g.issue_bytes_per_s > 0 && !g.bytes.empty())
        group = std::max(group, g.tiles * g.bytes[0] / g.issue_bytes_per_s);
      r.memory_s += group;
    }
    r.bound = classify_bound(r.time_s, r.compute_s, r.memory_s, work[i].compute_is_latency);
  }
  if (stats) *stats = local;
  return results;
}

}  // namespace xpusim
