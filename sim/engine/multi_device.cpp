// Device processes, mailboxes for point-to-point messages and barriers for collectives.
#include "sim/engine/multi_device.h"

#include <fmt/format.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <systemc>

#include "sim/engine/sim_context.h"
#include "sim/engine/tlm_memory.h"
#include "sim/engine/trace.h"

namespace xpusim {
namespace {

// Messages in flight from one device to another, by arrival time, in send order.
struct Mailbox {
  std::deque<double> arrivals;
  sc_core::sc_event posted;
};

// Members of one collective: they start together when the last arrives and end together when the
// slowest member's wire bytes are through its link.
struct Rendezvous {
  int expected = 0, arrived = 0, reported = 0;
  double end_s = 0;
  sc_core::sc_event all_arrived, all_reported;
};

class Fabric;

class DeviceProcess : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<DeviceProcess> link_port{"link_port"};

  SC_HAS_PROCESS(DeviceProcess);
  DeviceProcess(sc_core::sc_module_name name, int id, const std::vector<DeviceStep>& program,
                Fabric& fabric, DeviceTimeline& out, EngineTrace* trace)
      : sc_core::sc_module(name),
        id_(id),
        program_(program),
        fabric_(fabric),
        out_(out),
        trace_(trace) {
    SC_THREAD(run);
  }

 private:
  void run();
  double now() const { return sc_core::sc_time_stamp().to_seconds(); }
  void wait_until(double t) {
    if (t > now()) wait(sc_core::sc_time(t - now(), sc_core::SC_SEC));
  }
  void span(const std::string& name, double start, double end) {
    if (trace_ && end > start) trace_->spans.push_back({id_, "steps", name, start, end, -1});
  }

  int id_;
  const std::vector<DeviceStep>& program_;
  Fabric& fabric_;
  DeviceTimeline& out_;
  EngineTrace* trace_;
  unsigned char scratch_ = 0;
  uint64_t transactions_ = 0;
};

class Fabric : public sc_core::sc_module {
 public:
  Fabric(sc_core::sc_module_name name, const std::vector<std::vector<DeviceStep>>& programs,
         const MemLevelSpec& link, std::vector<DeviceTimeline>& out, EngineTrace* trace)
      : sc_core::sc_module(name), done(programs.size(), false), n_(int(programs.size())) {
    for (int d = 0; d < n_; ++d) {
      links.push_back(std::make_unique<MemoryTarget>(fmt::format("link_{}", d).c_str(), link));
      if (trace) links.back()->trace_into(trace, d, "link");
      devices.push_back(std::make_unique<DeviceProcess>(fmt::format("device_{}", d).c_str(), d,
                                                        programs[d], *this, out[d], trace));
      devices.back()->link_port.bind(links.back()->socket);
    }
    for (int d = 0; d < n_; ++d)
      for (const auto& s : programs[d])
        if (s.kind == DeviceStep::Kind::kCollective) ++rendezvous[s.group].expected;
  }
  Mailbox& mailbox(int from, int to) { return boxes[{from, to}]; }
  void finished(int id) {
    done[id] = true;
    if (++done_ == n_) sc_core::sc_stop();
  }

  std::vector<bool> done;  // per device: its program ran to the end
  std::vector<std::unique_ptr<MemoryTarget>> links;
  std::vector<std::unique_ptr<DeviceProcess>> devices;
  std::map<std::pair<int, int>, Mailbox> boxes;
  std::map<int, Rendezvous> rendezvous;

 private:
  int n_ = 0, done_ = 0;
};

void DeviceProcess::run() {
  for (const DeviceStep& s : program_) {
    switch (s.kind) {
      case DeviceStep::Kind::kCompute: {
        const double start = now();
        if (s.duration_s > 0) wait(sc_core::sc_time(s.duration_s, sc_core::SC_SEC));
        out_.busy_s += s.duration_s;
        span(s.label.empty() ? "compute" : s.label, start, now());
        break;
      }
      case DeviceStep::Kind::kSend: {
        const double arrive = tlm_read(link_port, s.bytes, &scratch_, transactions_);
        if (trace_)  // the copy runs on the link while the sender goes on
          trace_->spans.push_back(
              {id_, "sends", fmt::format("send to device {}", s.peer), now(), arrive, -1});
        Mailbox& box = fabric_.mailbox(id_, s.peer);
        box.arrivals.push_back(arrive);
        box.posted.notify(sc_core::SC_ZERO_TIME);
        break;
      }
      case DeviceStep::Kind::kRecv: {
        const double start = now();
        Mailbox& box = fabric_.mailbox(s.peer, id_);
        while (box.arrivals.empty()) wait(box.posted);
        const double arrive = box.arrivals.front();
        box.arrivals.pop_front();
        wait_until(arrive);
        out_.wait_s += now() - start;
        span(fmt::format("receive from device {}", s.peer), start, now());
        break;
      }
      case DeviceStep::Kind::kCollective: {
        const double start = now();
        Rendezvous& r = fabric_.rendezvous[s.group];
        if (++r.arrived == r.expected)
          r.all_arrived.notify(sc_core::SC_ZERO_TIME);
        else
          wait(r.all_arrived);
        const double mine = tlm_read(link_port, s.bytes, &scratch_, transactions_) + s.fixed_s;
        r.end_s = std::max(r.end_s, mine);
        if (++r.reported == r.expected)
          r.all_reported.notify(sc_core::SC_ZERO_TIME);
        else
          wait(r.all_reported);
        wait_until(r.end_s);
        out_.wait_s += now() - start;
        span(s.label.empty() ? fmt::format("collective {}", s.group) : s.label, start, now());
        break;
      }
    }
  }
  out_.finish_s = now();
  fabric_.finished(id_);
}

}  // namespace

MultiDeviceResult simulate_devices(const std::vector<std::vector<DeviceStep>>& programs,
                                   const MemLevelSpec& link, EngineTrace* trace) {
  const int n = int(programs.size());
  if (!(link.bw_bytes_per_s > 0)) throw std::invalid_argument("a link needs a positive bandwidth");
  for (const auto& p : programs)
    for (const auto& s : p)
      if ((s.kind == DeviceStep::Kind::kSend || s.kind == DeviceStep::Kind::kRecv) &&
          (s.peer < 0 || s.peer >= n))
        throw std::invalid_argument(fmt::format("a step names device {} of {}", s.peer, n));
  MultiDeviceResult r;
  r.devices.resize(programs.size());
  if (programs.empty()) return r;
  std::vector<bool> done;
  run_simulation([&] {
    Fabric fabric("fabric", programs, link, r.devices, trace);
    sc_core::sc_start();
    for (auto& l : fabric.links) l->flush_trace();
    for (int d = 0; d < n; ++d) r.devices[d].link_busy_s = fabric.links[d]->busy_s();
    done = fabric.done;
  });
  // A program that never finished (a receive without its send, a collective a member never
  // reaches) leaves SystemC with nothing to do, and sc_start returns early.
  for (int d = 0; d < n; ++d) {
    if (!done[d])
      throw std::runtime_error(fmt::format("device {}'s program never finished (deadlock)", d));
    r.makespan_s = std::max(r.makespan_s, r.devices[d].finish_s);
  }
  return r;
}

MultiDeviceResult simulate_parallel(const std::vector<std::vector<DeviceStep>>& stage_steps,
                                    int tp, int64_t m, double activation_bytes,
                                    const MemLevelSpec& link, EngineTrace* trace) {
  const int stages = int(stage_steps.size());
  if (tp < 1 || m < 1) throw std::invalid_argument("tp and m must be at least 1");
  int groups = 1;  // collectives per micro-batch in the busiest stage
  for (const auto& steps : stage_steps)
    for (const auto& st : steps)
      if (st.kind == DeviceStep::Kind::kCollective) groups = std::max(groups, st.group + 1);
  std::vector<std::vector<DeviceStep>> programs(size_t(stages) * size_t(tp));
  for (int s = 0; s < stages; ++s)
    for (int r = 0; r < tp; ++r) {
      auto& prog = programs[size_t(s) * tp + r];
      for (int64_t j = 0; j < m; ++j) {
        if (s > 0) prog.push_back(DeviceStep::recv((s - 1) * tp + r));
        for (DeviceStep st : stage_steps[s]) {
          if (st.kind == DeviceStep::Kind::kCollective)
            st.group = int((int64_t(s) * m + j) * groups + st.group);
          prog.push_back(st);
        }
        if (s + 1 < stages) prog.push_back(DeviceStep::send((s + 1) * tp + r, activation_bytes));
      }
    }
  return simulate_devices(programs, link, trace);
}

MultiDeviceResult simulate_pipeline(const std::vector<double>& stage_s, int64_t m,
                                    double activation_bytes, const MemLevelSpec& link) {
  std::vector<std::vector<DeviceStep>> steps;
  for (double t : stage_s) steps.push_back({DeviceStep::compute(t)});
  return simulate_parallel(steps, 1, m, activation_bytes, link);
}

}  // namespace xpusim
