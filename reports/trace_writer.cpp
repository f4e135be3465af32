// Chrome trace-event JSON from the engine timelines of a run (trace_writer.h).
#include "reports/trace_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "sim/base/version.h"

namespace xpusim {
namespace {

using json = nlohmann::ordered_json;

// What a family calls its compute units and one chunk of tiles on them.
std::pair<std::string, std::string> compute_names(const std::string& family) {
  if (family == "gpu") return {"SMs (tensor cores)", "CTA wave"};
  if (family == "tpu") return {"MXUs", "fold"};
  if (family == "cpu") return {"cores", "block"};
  return {"compute", "tile chunk"};
}

struct Writer {
  json events = json::array();
  void meta(int pid, int tid, const char* what, const std::string& name, int sort) {
    json e = {{"ph", "M"}, {"name", what}, {"pid", pid}};
    if (tid >= 0) e["tid"] = tid;
    e["args"] = {{"name", name}};
    events.push_back(e);
    json s = {
        {"ph", "M"}, {"name", tid >= 0 ? "thread_sort_index" : "process_sort_index"}, {"pid", pid}};
    if (tid >= 0) s["tid"] = tid;
    s["args"] = {{"sort_index", sort}};
    events.push_back(s);
  }
  void span(int pid, int tid, const std::string& name, const char* cat, double start_us,
            double end_us, json args) {
    json e = {{"ph", "X"},
              {"name", name},
              {"cat", cat},
              {"pid", pid},
              {"tid", tid},
              {"ts", start_us},
              {"dur", std::max(0.0, end_us - start_us)}};
    if (!args.empty()) e["args"] = std::move(args);
    events.push_back(std::move(e));
  }
  void counter(int pid, const std::string& name, double t_us, double gb_per_s) {
    events.push_back(
        {{"ph", "C"}, {"name", name}, {"pid", pid}, {"ts", t_us}, {"args", {{"GB/s", gb_per_s}}}});
  }
};

// Tracks of one process: fixed ones first, then levels in order of appearance.
struct Tracks {
  Writer& w;
  int pid;
  std::map<std::string, int> tid;
  int next = 1;
  int of(const std::string& track, const std::string& shown) {
    auto it = tid.find(track);
    if (it != tid.end()) return it->second;
    const int t = next++;
    tid[track] = t;
    w.meta(pid, t, "thread_name", shown, t);
    return t;
  }
};

// Overlapping spans of one kind (loads in flight together, sends on the link while the sender
// goes on) go to lanes of their own, so that every track holds disjoint spans: the first lane
// free at `start`, or a new one.
size_t lane(std::vector<double>& ends, double start, double end) {
  for (size_t i = 0; i < ends.size(); ++i)
    if (ends[i] <= start) {
      ends[i] = end;
      return i;
    }
  ends.push_back(end);
  return ends.size() - 1;
}

// The DMA process keeps up to `buffer_stages` loads in flight (64 on a GPU): its track shows
// when loads are in flight (one span per stretch of an operator, with the loads it covers), and
// a counter how many at once.
template <class OpName, class Us>
void dma_track(Writer& w, int pid, int tid, std::vector<const TraceSpan*> loads, OpName op_name,
               Us us) {
  std::sort(loads.begin(), loads.end(), [](auto* a, auto* b) { return a->start_s < b->start_s; });
  std::vector<std::pair<double, int>> steps;  // (time, +1 at a load's start, -1 at its end)
  for (size_t i = 0; i < loads.size();) {
    const TraceSpan* first = loads[i];
    double end = first->end_s;
    size_t j = i;
    while (j < loads.size() && loads[j]->op == first->op && loads[j]->start_s <= end) {
      end = std::max(end, loads[j]->end_s);
      steps.push_back({loads[j]->start_s, 1});
      steps.push_back({loads[j]->end_s, -1});
      ++j;
    }
    w.span(pid, tid, "loads · " + op_name(first->op), "dma", us(first->start_s), us(end),
           {{"op", op_name(first->op)}, {"loads", j - i}});
    i = j;
  }
  std::sort(steps.begin(), steps.end());
  int in_flight = 0;
  for (size_t k = 0; k < steps.size(); ++k) {
    in_flight += steps[k].second;
    if (k + 1 == steps.size() || steps[k + 1].first != steps[k].first)
      w.events.push_back({{"ph", "C"},
                          {"name", "DMA loads in flight"},
                          {"pid", pid},
                          {"ts", us(steps[k].first)},
                          {"args", {{"loads", in_flight}}}});
  }
}

std::string lane_key(const std::string& track, size_t k) {
  return k == 0 ? track : fmt::format("{} {}", track, k + 1);
}

std::string point_label(const PointResult& p) {
  std::string s = fmt::format("{} {} {} {}", p.hw, p.model, phase_name(p.phase), p.quant);
  if (p.tp > 1) s += fmt::format(" tp{}", p.tp);
  if (p.pp > 1) s += fmt::format(" pp{}", p.pp);
  return s;
}

}  // namespace

void write_trace(const ExperimentResult& r, std::ostream& out) {
  Writer w;
  double offset_us = 0;
  int pid = 1;
  size_t index = 0;
  for (const auto& p : r.points) {
    ++index;
    if (!p.trace) continue;
    const PointTrace& t = *p.trace;
    const auto [unit, chunk] = compute_names(t.family);
    const std::string label = fmt::format("point {}: {}", index, point_label(p));
    double end_us = offset_us;
    auto us = [&](double s) {
      const double v = offset_us + s * 1e6;
      end_us = std::max(end_us, v);
      return v;
    };
    auto op_name = [&](int op) {
      return op >= 0 && size_t(op) < t.op_names.size() ? t.op_names[op] : std::string("?");
    };
    // The device's operators as its engine ran them: each op of the pass once, in order.
    {
      const int id = pid++;
      w.meta(id, -1, "process_name",
             label + (t.device_count > 1 ? " — device 0, each operator once (engine)"
                                         : " — each operator once (engine)"),
             id);
      Tracks tracks{w, id, {}, 1};
      tracks.of("ops", "operators");
      if (t.family != "cpu") tracks.of("compute", unit);
      // A CPU's cores issue their own loads; the other families have a DMA engine.
      const std::string dma_name = t.family == "cpu" ? "core loads" : "DMA";
      tracks.of("dma", dma_name);
      std::vector<const TraceSpan*> dma;
      for (const auto& s : t.engine.spans) {
        if (s.track == "ops") {
          const int64_t rep =
              s.op >= 0 && size_t(s.op) < t.op_repeat.size() ? t.op_repeat[s.op] : 1;
          w.span(id, tracks.of("ops", "operators"), op_name(s.op), "operator", us(s.start_s),
                 us(s.end_s), {{"runs in the pass", rep}, {"op index", s.op}});
        } else if (s.track.starts_with("compute")) {
          // One track per compute unit group ("compute: group 2", a CPU's core group).
          w.span(id, tracks.of(s.track, unit + s.track.substr(7)),
                 fmt::format("{} · {}", chunk, op_name(s.op)), "compute", us(s.start_s),
                 us(s.end_s), {{"op", op_name(s.op)}, {"unit", s.name}});
        } else if (s.track == "dma") {
          dma.push_back(&s);
        } else {
          w.span(id, tracks.of(s.track, s.track), s.track + " busy", "memory", us(s.start_s),
                 us(s.end_s), json::object());
        }
      }
      for (const auto& c : t.engine.counters)
        w.counter(id, c.track + " bandwidth in use", us(c.t_s), c.value / 1e9);
      dma_track(w, id, tracks.of("dma", dma_name), dma, op_name, us);
    }
    // The devices of a parallel pass, side by side on one time axis.
    if (!t.devices.spans.empty()) {
      std::map<int, std::unique_ptr<Tracks>> procs;
      auto proc = [&](int d) -> Tracks& {
        auto& slot = procs[d];
        if (!slot) {
          const int id = pid++;
          const int stage = p.tp > 0 ? d / p.tp : 0, rank = p.tp > 0 ? d % p.tp : 0;
          w.meta(
              id, -1, "process_name",
              fmt::format("{} — device {} (stage {}, rank {}), whole pass", label, d, stage, rank),
              id);
          slot = std::make_unique<Tracks>(Tracks{w, id, {}, 1});
          slot->of("steps", "steps");
        }
        return *slot;
      };
      for (int d = 0; d < t.device_count; ++d) proc(d);
      std::map<int, std::vector<double>> send_lanes;
      for (const auto& s : t.devices.spans) {
        Tracks& tr = proc(s.device);
        if (s.track == "sends") {
          const size_t k = lane(send_lanes[s.device], s.start_s, s.end_s);
          w.span(tr.pid, tr.of(lane_key("sends", k), k ? fmt::format("sends {}", k + 1) : "sends"),
                 s.name, "send", us(s.start_s), us(s.end_s), json::object());
          continue;
        }
        const char* cat = s.name.starts_with("receive") ? "wait"
                          : s.track == "sends"          ? "send"
                          : s.track == "link"           ? "link"
                                                        : "step";
        w.span(tr.pid, tr.of(s.track, s.track == "link" ? "link" : s.track),
               s.track == "link" ? "link busy" : s.name, cat, us(s.start_s), us(s.end_s),
               json::object());
      }
      for (const auto& c : t.devices.counters)
        w.counter(proc(c.device).pid, "link bandwidth in use", us(c.t_s), c.value / 1e9);
    }
    // The next point starts after this one, with a gap of a tenth of its length.
    offset_us = end_us + std::max(1.0, (end_us - offset_us) * 0.1);
  }
  json doc;
  doc["traceEvents"] = std::move(w.events);
  doc["displayTimeUnit"] = "ns";
  doc["otherData"] = {{"generator", fmt::format("xpusim {} (git {})", version(), git_commit())},
                      {"experiment", r.config.name},
                      {"note",
                       "the engine's own timeline of each point's first pass (prefill, or "
                       "the decode step): each operator once, in order; a per-operator "
                       "count of runs is in its args"}};
  out << doc.dump() << "\n";
}

}  // namespace xpusim
