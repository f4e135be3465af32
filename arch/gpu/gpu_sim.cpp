// SystemC model of one GPU stream: CtaScheduler (kernel launch, fill, wave dispatch), SmArray
// (waves: SM time overlapped with their loads through L2 and HBM) and the two memory targets.
#include "arch/gpu/gpu_sim.h"

#include <fmt/format.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <systemc>
#include <tlm>

#include "sim/engine/sim_context.h"
#include "sim/engine/tlm_memory.h"

namespace xpusim {
namespace {

class SmArray : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<SmArray> l2_port{"l2_port"};
  tlm_utils::simple_initiator_socket<SmArray> hbm_port{"hbm_port"};
  tlm_utils::simple_initiator_socket<SmArray> link_port{"link_port"};

  SmArray(sc_core::sc_module_name name, const GpuSimSpec& spec, GpuSimStats& stats)
      : sc_core::sc_module(name), spec_(spec), stats_(stats) {}

  // Runs a group of identical waves; called from the scheduler's thread (blocking, like
  // b_transport). Returns the group's compute and memory times.
  std::pair<double, double> execute(const WaveGroup& g, double hbm_bw) {
    const double start = sc_core::sc_time_stamp().to_seconds();
    const double waves = double(g.waves);
    // The HBM target runs at the device's achievable rate; an access pattern that reaches less
    // (hbm_bw) occupies it for proportionally longer.
    const double hbm_scale = hbm_bw > 0 ? spec_.hbm_bw_bytes_per_s / hbm_bw : 1.0;
    const double hbm_done = transfer(hbm_port, g.hbm_bytes * waves * hbm_scale);
    const double l2_done = transfer(l2_port, g.l2_bytes * waves);
    double memory = std::max(hbm_done, l2_done) - start;
    // Few active SMs cannot keep enough loads in flight to reach the memory's bandwidth.
    if (g.load_bytes_per_s_per_sm > 0 && g.active_sms > 0)
      memory = std::max(memory,
                        g.hbm_bytes * waves / (double(g.active_sms) * g.load_bytes_per_s_per_sm));
    const double compute = g.compute_s * waves;
    const double busy = std::max(compute, memory);
    if (busy > 0) wait(sc_core::sc_time(busy, sc_core::SC_SEC));
    ++stats_.wave_groups;
    return {compute, memory};
  }

  // A collective: NCCL streams the wire bytes through the link port; a protocol that reaches less
  // than the link's bandwidth (link_bw) occupies it for proportionally longer.
  double send(double bytes, double link_bw) {
    const double start = sc_core::sc_time_stamp().to_seconds();
    const double scale = link_bw > 0 ? spec_.link_bw_bytes_per_s / link_bw : 1.0;
    const double busy = transfer(link_port, bytes * scale) - start;
    if (busy > 0) wait(sc_core::sc_time(busy, sc_core::SC_SEC));
    return busy;
  }

 private:
  double transfer(tlm_utils::simple_initiator_socket<SmArray>& port, double bytes) {
    // Sub-byte remainders of per-wave shares are not transfers.
    if (bytes <= 0.5) return sc_core::sc_time_stamp().to_seconds();
    return tlm_read(port, bytes, &scratch_, stats_.transactions);
  }

  const GpuSimSpec& spec_;
  GpuSimStats& stats_;
  unsigned char scratch_ = 0;  // TLM needs a data pointer; a timing model moves no data
};

class CtaScheduler : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CtaScheduler);
  CtaScheduler(sc_core::sc_module_name name, const std::vector<KernelPlan>& plans, SmArray& sms,
               std::vector<KernelTiming>& out, GpuSimStats& stats)
      : sc_core::sc_module(name), plans_(plans), sms_(sms), out_(out), stats_(stats) {
    SC_THREAD(run);
  }

 private:
  void run() {
    for (size_t i = 0; i < plans_.size(); ++i) {
      const KernelPlan& p = plans_[i];
      KernelTiming& t = out_[i];
      const double start = sc_core::sc_time_stamp().to_seconds();
      t.fixed_s = p.launch_s + p.fill_s;
      if (t.fixed_s > 0) wait(sc_core::sc_time(t.fixed_s, sc_core::SC_SEC));
      if (p.link_bytes > 0) t.memory_s += sms_.send(p.link_bytes, p.link_bw);
      for (const auto& g : p.groups) {
        auto [compute, memory] = sms_.execute(g, p.hbm_bw);
        t.compute_s += compute;
        t.memory_s += memory;
      }
      t.time_s = sc_core::sc_time_stamp().to_seconds() - start;
      t.hbm_bytes = p.hbm_bytes();
      t.l2_bytes = p.l2_bytes();
      t.link_bytes = p.link_bytes;
      ++stats_.kernels;
    }
    sc_core::sc_stop();
  }

  const std::vector<KernelPlan>& plans_;
  SmArray& sms_;
  std::vector<KernelTiming>& out_;
  GpuSimStats& stats_;
};

class GpuTop : public sc_core::sc_module {
 public:
  GpuTop(sc_core::sc_module_name name, const GpuSimSpec& spec, const std::vector<KernelPlan>& plans,
         std::vector<KernelTiming>& out, GpuSimStats& stats)
      : sc_core::sc_module(name),
        l2_("l2", MemLevelSpec{"l2", 0, spec.l2_bw_bytes_per_s, 0}),
        hbm_("hbm", MemLevelSpec{"hbm", 0, spec.hbm_bw_bytes_per_s, 0}),
        link_("link", MemLevelSpec{"link", 0, std::max(1.0, spec.link_bw_bytes_per_s), 0}),
        sms_("sms", spec, stats),
        scheduler_("cta_scheduler", plans, sms_, out, stats) {
    sms_.l2_port.bind(l2_.socket);
    sms_.hbm_port.bind(hbm_.socket);
    sms_.link_port.bind(link_.socket);
  }

 private:
  MemoryTarget l2_, hbm_, link_;
  SmArray sms_;
  CtaScheduler scheduler_;
};

}  // namespace

std::vector<KernelTiming> simulate_kernels(const GpuSimSpec& spec,
                                           const std::vector<KernelPlan>& plans,
                                           GpuSimStats* stats) {
  if (!(spec.hbm_bw_bytes_per_s > 0) || !(spec.l2_bw_bytes_per_s > 0) || spec.sms < 1)
    throw std::invalid_argument("GPU simulation needs SMs and positive memory bandwidths");
  for (const auto& p : plans)
    if (!p.ok)
      throw std::invalid_argument("simulate_kernels got a plan that cannot run: " + p.reason);
  std::vector<KernelTiming> out(plans.size());
  GpuSimStats local;
  if (!plans.empty()) {
    run_simulation([&] {
      GpuTop top("gpu", spec, plans, out, local);
      sc_core::sc_start();
    });
  }
  if (stats) *stats = local;
  return out;
}

}  // namespace xpusim
