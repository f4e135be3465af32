// The multicore CPU's parameters (`type: cpu`): cores and their clocks under each kind of load,
// SIMD and matrix (AMX) rates per core, private L1/L2 and a shared LLC, DRAM, the parallel
// runtime's fork/join cost, and the GEMM kernels of each library it models (which path a
// library takes is code, arch/cpu/cpu_device.cpp; how fast each path runs on this CPU is here).
#pragma once

#include <array>
#include <string>

#include "arch/area.h"
#include "arch/dtype_rates.h"
#include "arch/link_config.h"
#include "arch/memory_config.h"
#include "arch/power.h"
#include "sim/config/schema.h"

namespace xpusim {

// The libraries whose GEMM paths the model follows (`library:`).
enum class CpuLibrary { kTorch, kOpenblas, kOnednn, kXpusim };
inline constexpr std::array<const char*, 4> kCpuLibraryNames = {"torch", "openblas", "onednn",
                                                                "xpusim"};
// The GEMM formats with measured kernels, in `kernels.<library>.<format>` order.
inline constexpr std::array<const char*, 3> kCpuGemmFormats = {"fp32", "bf16", "int8"};

// One library's GEMM kernel for one format on this CPU.
struct CpuKernel {
  double efficiency = 0.85;  // the inner kernel's fraction of the unit's peak FLOP rate
  // Per-call copy of the weights into the kernel's blocked layout (plain nn.Linear weights are
  // not pre-packed), in bytes of weights per second per core at the all-core clock; 0 = none.
  double pack_bw = 0;
  // Rows of A per block (BLIS's MC; oneDNN BRGEMM's M block): the weights are streamed again
  // for every block of M rows.
  double mc = 256;
  // The repack rate when a weight row's stride (K x bytes) is a multiple of 4 KiB: the rows that
  // one packed panel gathers then map to the same L1 sets and evict each other (0 = pack_bw).
  double aliased_pack_bw = 0;
  // Fixed cost of one call in the library, before its threads start (oneDNN: the primitive's
  // cache lookup, its weight-reorder setup and the AMX tile configuration), in seconds.
  double call_s = 0;
};

struct CpuConfig {
  std::string name, description;
  double clock_hz = 0;         // all-core turbo under scalar / AVX2 load
  double clock_max_hz = 0;     // single-core turbo (0 = clock)
  int64_t turbo_cores = 0;     // active cores at which the turbo headroom is gone (0 = cores)
  double clock_avx512_hz = 0;  // all-core under heavy AVX-512 (0 = clock)
  double clock_amx_hz = 0;     // all-core under AMX (0 = clock_avx512)
  int64_t cores = 0;
  int64_t threads = 0;  // threads an operator runs on unless it says (0 = all cores)
  int64_t simd_bits = 256;  // widest vector the SIMD units execute (256: AVX2, 512: AVX-512)
  DtypeRates simd;      // per core
  DtypeRates matrix;    // per core (AMX tiles); all zero when absent
  int64_t matrix_rows = 16;  // rows of a matrix-unit tile: a GEMM's M is padded to a multiple
  double l1_bytes = 0, l2_bytes = 0, l2_bw = 0;  // per core
  double llc_bytes = 0, llc_bw = 0, llc_latency_s = 0;  // shared
  MemoryConfig dram;
  double outstanding_misses = 0;  // per core: L2 misses in flight (Little's law with dram.latency)
  // A virtual machine's vCPUs whose physical core an SMT sibling of another guest keeps busy:
  // `shared_vcpus` of the `cores` run at `shared_rate` of a core (compute and loads alike). The
  // threads of a region land on vCPUs as the scheduler places them, and a statically split region
  // ends with its slowest thread.
  int64_t shared_vcpus = 0;
  double shared_rate = 0.5;
  bool write_allocate = true;     // a store to DRAM first reads the line (no streaming stores)
  double fork_join_s = 0, per_thread_s = 0;  // parallel region
  double op_overhead_s = 0;                  // per call, in the caller (framework dispatch)
  std::string library = "torch";
  std::array<CpuKernel, kCpuLibraryNames.size() * kCpuGemmFormats.size()> kernels{};
  LinkConfig link;
  double tdp_w = 0;
  // Energy (arch/power.h): its own block, `energy.*` and `power.*` in the presets.
  PowerConfig power;
  EnergyConfig energy;
  AreaConfig area;  // first-order die area (arch/area.h)

  const CpuKernel& kernel(CpuLibrary lib, int format) const {
    return kernels[size_t(lib) * kCpuGemmFormats.size() + size_t(format)];
  }
  CpuLibrary lib() const;
  // Per-core load rates: outstanding misses x 64-byte lines / the level's latency (0 = unlimited).
  double core_load_bw() const;
  double core_llc_bw() const;
};

const Schema<CpuConfig>& cpu_schema();
// The silicon's contents for the area model: cores (area.die.cores), their AMX tiles and SIMD
// lanes, private L1 and L2, the shared LLC, the DRAM channels' PHYs and the socket links.
AreaInputs cpu_area_inputs(const CpuConfig& c);

}  // namespace xpusim
