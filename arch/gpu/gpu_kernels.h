// Kernel models: how a library (cuBLAS, cuSPARSELt, flash attention, PyTorch/Triton elementwise)
// maps one operator onto the GPU as a grid of CTAs: tile choice, occupancy, waves, and the bytes
// and SM time of each wave. Times in seconds, sizes in bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/gpu/gpu_config.h"
#include "arch/unit.h"
#include "workloads/op.h"

namespace xpusim {

// `waves` identical waves; each keeps `active_sms` SMs busy for `compute_s` and moves the bytes.
struct WaveGroup {
  int64_t waves = 0;
  int64_t active_sms = 0;
  double compute_s = 0;  // SM time of one wave (tensor/CUDA-core work or serial latency)
  double hbm_bytes = 0;  // per wave
  double l2_bytes = 0;   // per wave
  double load_bytes_per_s_per_sm = 0;  // per-SM load limit of this kernel
  // HBM rate of this group's kernel as a fraction of the plan's hbm_bw (plans that chain several
  // kernels of different access patterns, such as eager PyTorch's); 1 = the plan's.
  double hbm_bw_frac = 1;
};

struct KernelPlan {
  bool ok = true;
  std::string reason;   // why the GPU cannot run the op
  UnitUse unit;         // tensor_core, cuda_core, tensor_core(2:4), ...
  std::string kernel;   // "gemm 128x256 split-k 1", for traces and tests
  double launch_s = 0;  // launch gaps (one per kernel the op launches)
  double executed_flops = 0;  // operations the unit executes, padding included (0: the op's)
  double int_ops = 0;  // integer and load/store lane-instructions (an unvectorised kernel's slots)
  // The SM time comes from instruction counts at the nominal clock (EwKernelConfig::issue), not
  // from rates fitted on sustained runs under the power limit (power.timing_tdp).
  bool sm_time_at_nominal = false;
  double fill_s = 0;    // fixed latency (prologue, epilogue, serial CTA), paid once; HBM's
                        // first-byte latency is the engine's
  std::vector<WaveGroup> groups;
  double hbm_bw = 0;      // achievable HBM bandwidth for this kernel's access pattern (B/s)
  double link_bytes = 0;  // collectives: bytes this GPU puts on its link
  double link_bw = 0;
  int64_t ctas = 0;
  int64_t ctas_per_sm = 0;
  int64_t tile_m = 0, tile_n = 0, split_k = 1;
  double hbm_bytes() const;
  double l2_bytes() const;
  double compute_s() const;
  int64_t waves() const;
};

struct Occupancy {
  int64_t ctas_per_sm = 0;
  std::string limiter;  // "smem", "registers", "warps", "ctas"
};
Occupancy occupancy(const GpuConfig& c, int64_t threads, int64_t regs_per_thread,
                    double smem_bytes);
// Why a kernel's CTA does not fit one SM (`o.ctas_per_sm` < 1), naming the resource and its key:
// "the flash attention CTA (128 threads, 255 registers each, 48 KiB of shared memory) does not
// fit an SM: not enough registers (sm_resources.registers = 1024)".
std::string does_not_fit(const GpuConfig& c, const std::string& kernel, const Occupancy& o,
                         int64_t threads, int64_t regs_per_thread, double smem_bytes);

// Closed-form estimate of a plan's time without contention, used only to rank candidate tiles
// and splits as the libraries' heuristics do; the reported time comes from the engine.
double plan_time_s(const GpuConfig& c, const KernelPlan& p, double l2_bw);

KernelPlan plan_gemm(const GpuConfig& c, const Op& op);
KernelPlan plan_attention(const GpuConfig& c, const Op& op);
// PyTorch's math SDPA (AttnImpl::kMath) as the chain of kernels it launches.
KernelPlan plan_math_attention(const GpuConfig& c, const Op& op);
KernelPlan plan_elementwise(const GpuConfig& c, const Op& op);
KernelPlan plan_collective(const GpuConfig& c, const Op& op);
// Plans the op with its kind's kernel model, then takes out of HBM the share of its traffic that
// stays in L2 between calls (op.reuse_bytes; l2_reuse_hit_fraction).
KernelPlan plan_kernel(const GpuConfig& c, const Op& op);
// The fraction of an op's HBM traffic that hits in L2 because its caller's footprint between two
// calls (reuse_bytes) stays there: 1 up to l2.reuse_whole, reuse_keep / footprint beyond, 0 when
// unknown (reuse_bytes 0).
double l2_reuse_hit_fraction(const GpuConfig& c, double reuse_bytes);

// Splits `ctas` over `slots` concurrent CTAs (SMs × CTAs per SM) into full waves and a tail.
struct WaveSplit {
  int64_t full = 0, tail_ctas = 0;
};
WaveSplit split_waves(int64_t ctas, int64_t slots);

}  // namespace xpusim
