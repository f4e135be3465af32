// The multicore CPU (`type: cpu`). Each operator runs on `threads` cores as a library runs it:
//  - a GEMM is cut into blocks as an optimised BLAS cuts it (MC x NB blocks of Y, the K loop in
//    KC steps: BLIS / GotoBLAS), the blocks spread over the cores; each core streams its block's
//    weights from DRAM at its own load rate (misses in flight over the DRAM latency), re-reads
//    activations from the shared LLC, and computes on its SIMD or AMX units at the clock that
//    kind of load runs at with that many cores active;
//  - which kernel runs is the library's choice (`library`): PyTorch (MKL SGEMV for fp32 M = 1,
//    MKL SGEMM otherwise; oneDNN BRGEMM on AMX for bf16 at every M, rows padded to AMX tiles;
//    oneDNN's int8 GEMM), OpenBLAS (its packed SGEMM at every M), oneDNN (2.6's matmul) or this
//    project's kernels (bf16 emulated on fp32 FMAs from weights held as fp32). Libraries that
//    take nn.Linear's plain weights repack them in every call (`kernels.<lib>.<fmt>.pack_bw`):
//    the core loads a block, repacks it, then computes it, with nothing in flight meanwhile;
//  - memory-bound operators stream from the level their working set fits in (per-core L2,
//    shared LLC, DRAM with write-allocate reads);
//  - a parallel region pays a fork/join cost that grows with the threads (small decode GEMMs).
// The cores run as concurrent core-group processes on the multicore engine (sim/engine/
// multicore): DRAM and the LLC are shared targets, so thread scaling, bandwidth saturation and
// load imbalance come out of the simulation. Times in seconds.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "arch/cpu/cpu_config.h"
#include "arch/cpu/vcpu_placement.h"
#include "arch/device.h"
#include "arch/unit_choice.h"
#include "arch/registry.h"
#include "sim/engine/multicore.h"

namespace xpusim {

CpuLibrary CpuConfig::lib() const {
  for (size_t i = 0; i < kCpuLibraryNames.size(); ++i)
    if (library == kCpuLibraryNames[i]) return CpuLibrary(i);
  return CpuLibrary::kTorch;
}

double CpuConfig::core_llc_bw() const {
  return outstanding_misses > 0 && llc_latency_s > 0 ? outstanding_misses * 64.0 / llc_latency_s
                                                     : 0.0;
}

double CpuConfig::core_load_bw() const {
  return outstanding_misses > 0 && dram.latency_s > 0 ? outstanding_misses * 64.0 / dram.latency_s
                                                      : 0.0;
}

AreaInputs cpu_area_inputs(const CpuConfig& c) {
  AreaInputs in;
  const AreaConfig::Die& die = c.area.die;
  in.cores = std::max(die.cores, c.cores);  // a die holds at least the cores enabled
  const double cores = double(in.cores);
  const DtypeRates& r = c.matrix;
  DtypeRates& m = in.macs_per_clk;  // a multiply-add is 2 operations
  m.fp32 = r.fp32 / 2 * cores, m.tf32 = r.tf32 / 2 * cores, m.bf16 = r.bf16 / 2 * cores;
  m.fp16 = r.fp16 / 2 * cores, m.fp8 = r.fp8 / 2 * cores, m.int8 = r.int8 / 2 * cores;
  m.int4 = r.int4 / 2 * cores;
  in.vector_lanes = c.simd.fp32 / 2 * cores;
  in.sram_bytes[size_t(SramKind::kL1)] = c.l1_bytes * cores;
  in.sram_bytes[size_t(SramKind::kL2)] = c.l2_bytes * cores;
  in.sram_bytes[size_t(SramKind::kLlc)] =
      std::max(die.shared_sram_bytes, c.llc_bytes);
  in.memory_phys = die.memory_phys;
  in.links = die.links;
  return in;
}

const Schema<CpuConfig>& cpu_schema() {
  static const Schema<CpuConfig> s = [] {
    Schema<CpuConfig> s("cpu",
                        "multicore CPU: cores and clocks, SIMD and matrix extensions, private L2, "
                        "shared LLC and DRAM, and the GEMM kernels of the libraries it runs");
    s.file_name("name", "", "preset name (names its resolved file in the output folder)",
                &CpuConfig::name);
    s.text("description", "", "what this preset is, with its public source",
           &CpuConfig::description);
    s.quantity("clock", Unit::kHertz, kRequired, Range{1e7, 1e11},
               "all-core turbo clock under scalar / AVX2 load", &CpuConfig::clock_hz);
    s.quantity("clock_max", Unit::kHertz, "0 Hz", Range{0, 1e11},
               "single-core turbo clock; the turbo headroom above the all-core clocks shrinks "
               "linearly as more cores are active (0 = clock)",
               &CpuConfig::clock_max_hz);
    s.integer("clock_max_cores", "0", Range{0, 100000},
              "active cores at which the turbo headroom (clock_max - clock) is used up; it "
              "shrinks linearly from one core to this many (0 = all cores)",
              &CpuConfig::turbo_cores);
    s.quantity("clock_avx512", Unit::kHertz, "0 Hz", Range{0, 1e11},
               "all-core clock under heavy AVX-512 load (its licence; 0 = clock)",
               &CpuConfig::clock_avx512_hz);
    s.quantity("clock_amx", Unit::kHertz, "0 Hz", Range{0, 1e11},
               "all-core clock under AMX load (0 = clock_avx512)", &CpuConfig::clock_amx_hz);
    s.integer("cores", kRequired, Range{1, 100000}, "physical cores", &CpuConfig::cores);
    s.integer("threads", "0", Range{0, 100000},
              "cores an operator runs on unless its own `threads` says (0 = all cores); "
              "`--set hw.threads=N`",
              &CpuConfig::threads);
    s.integer("simd.bits", "256", Range{128, 512},
              "widest vector the SIMD units execute: 256 (AVX2) or 512 (AVX-512; its clock is "
              "clock_avx512)",
              &CpuConfig::simd_bits);
    declare_rates(s, "simd", "SIMD units of one core", &CpuConfig::simd);
    declare_rates(s, "matrix", "matrix extension (e.g. AMX) of one core", &CpuConfig::matrix);
    s.integer("matrix.rows", "16", Range{1, 1024},
              "rows of a matrix-unit tile: a GEMM's M is padded to a multiple of it",
              &CpuConfig::matrix_rows);
    s.quantity("l1.size", Unit::kBytes, "48 KiB", Range{1024, 1e9}, "private L1 data cache per core",
               &CpuConfig::l1_bytes);
    s.quantity("l2.size", Unit::kBytes, kRequired, Range{1024, 1e10}, "private L2 cache per core",
               &CpuConfig::l2_bytes);
    s.quantity("l2.bw", Unit::kBytesPerSecond, "100 GB/s", Range{1e8, 1e13},
               "what one core reads and writes in its L2 per second", &CpuConfig::l2_bw);
    s.quantity("llc.size", Unit::kBytes, kRequired, Range{1024, 1e11}, "shared last-level cache",
               &CpuConfig::llc_bytes);
    s.quantity("llc.bw", Unit::kBytesPerSecond, "1 TB/s", Range{1e8, 1e14},
               "what all cores together read from the shared LLC per second", &CpuConfig::llc_bw);
    s.quantity("llc.latency", Unit::kSeconds, "0 s", Range{0, 1e-6},
               "load-to-use latency of an LLC hit: with core.outstanding_misses it caps one "
               "core's LLC rate (0 = no per-core cap)",
               &CpuConfig::llc_latency_s);
    declare_memory(s, "dram", "main memory", "100 ns", &CpuConfig::dram);
    s.real("core.outstanding_misses", "0", Range{0, 1024},
           "L2 misses one core keeps in flight: with dram.latency (llc.latency) it caps one core's "
           "DRAM (LLC) rate at misses x 64 B / latency (Little's law); 0 = no per-core cap",
           &CpuConfig::outstanding_misses);
    s.integer("core.shared_vcpus", "0", Range{0, 100000},
              "vCPUs (of `cores`) whose physical core an SMT sibling outside this machine keeps "
              "busy (a shared cloud host; 0 on a dedicated machine): they run at "
              "core.shared_rate, and a region's threads meet them as the scheduler places them "
              "(the expected time over those placements); a statically split region waits for "
              "its slowest thread",
              &CpuConfig::shared_vcpus);
    s.real("core.shared_rate", "0.5", Range{0.25, 1},
           "the fraction of a core's compute and load rate a shared vCPU gets (0.5: two SMT "
           "threads issuing to the same FMA ports)",
           &CpuConfig::shared_rate);
    s.boolean("dram.write_allocate", "true",
              "a store that misses the caches first reads its line (no streaming stores), so "
              "written bytes cross the DRAM bus twice",
              &CpuConfig::write_allocate);
    s.quantity("parallel.fork_join", Unit::kSeconds, "2 us", Range{0, 1e-2},
               "fixed cost of a parallel region (waking the thread team, the closing barrier)",
               &CpuConfig::fork_join_s);
    s.quantity("parallel.per_thread", Unit::kSeconds, "0.2 us", Range{0, 1e-3},
               "added cost of a parallel region per thread beyond the first",
               &CpuConfig::per_thread_s);
    s.quantity("op_overhead", Unit::kSeconds, "0 s", Range{0, 1e-2},
               "fixed cost of one operator call in its caller (framework dispatch)",
               &CpuConfig::op_overhead_s);
    s.choice("library", "torch",
             {kCpuLibraryNames.begin(), kCpuLibraryNames.end()},
             "whose GEMM kernels run: torch (PyTorch: MKL fp32, oneDNN bf16/int8), openblas, "
             "onednn (oneDNN 2.6 matmul) or xpusim (this project's kernels)",
             &CpuConfig::library);
    for (size_t l = 0; l < kCpuLibraryNames.size(); ++l)
      for (size_t f = 0; f < kCpuGemmFormats.size(); ++f) {
        const size_t i = l * kCpuGemmFormats.size() + f;
        const std::string key =
            fmt::format("kernels.{}.{}", kCpuLibraryNames[l], kCpuGemmFormats[f]);
        s.real(key + ".efficiency", "0.85", Range{0.01, 1},
               fmt::format("{} {} GEMM: the inner kernel's fraction of the unit's peak",
                           kCpuLibraryNames[l], kCpuGemmFormats[f]),
               &CpuConfig::kernels, i, &CpuKernel::efficiency);
        s.quantity(key + ".pack_bw", Unit::kBytesPerSecond, "0 B/s", Range{0, 1e13},
                   fmt::format("{} {} GEMM: weights repacked per call, per core at the all-core "
                               "clock (0 = no repacking)",
                               kCpuLibraryNames[l], kCpuGemmFormats[f]),
                   &CpuConfig::kernels, i, &CpuKernel::pack_bw);
        s.quantity(key + ".aliased_pack_bw", Unit::kBytesPerSecond, "0 B/s", Range{0, 1e13},
                   fmt::format("{} {} GEMM: the repack rate when a weight row's stride is a "
                               "multiple of 4 KiB (the packed panel's rows share L1 sets; 0 = "
                               "pack_bw)",
                               kCpuLibraryNames[l], kCpuGemmFormats[f]),
                   &CpuConfig::kernels, i, &CpuKernel::aliased_pack_bw);
        s.quantity(key + ".call", Unit::kSeconds, "0 s", Range{0, 1e-3},
                   fmt::format("{} {} GEMM: fixed cost of one call in the library before its "
                               "threads start (primitive lookup, reorder setup, tile "
                               "configuration)",
                               kCpuLibraryNames[l], kCpuGemmFormats[f]),
                   &CpuConfig::kernels, i, &CpuKernel::call_s);
        s.real(key + ".mc", "256", Range{1, 65536},
               fmt::format("{} {} GEMM: rows of A per block; the weights are streamed once per "
                           "block (from L2 when a core's share fits there, else the LLC, else DRAM)",
                           kCpuLibraryNames[l], kCpuGemmFormats[f]),
               &CpuConfig::kernels, i, &CpuKernel::mc);
      }
    declare_link(s, &CpuConfig::link);
    s.quantity("tdp", Unit::kWatts, "0 W", Range{0, 1e5}, "package power limit (0 = not published)",
               &CpuConfig::tdp_w);
    declare_power(s, "", "", &CpuConfig::power);
    declare_energy(s, "", &CpuConfig::energy);
    declare_area(s, {SramKind::kL1, SramKind::kL2, SramKind::kLlc}, "core", &CpuConfig::area);
    return s;
  }();
  return s;
}

namespace {

enum class LoadKind { kLight, kAvx512, kAmx };

// Shared engine levels.
constexpr size_t kDram = 0, kLlc = 1, kLink = 2;

struct CpuPlan {
  bool ok = true;
  std::string reason;
  UnitUse unit;
  ParallelWork work;
  // The share of a core's busy time that issues to its vector or matrix units (a GEMM's kernel
  // and its repacking), the part a shared vCPU runs at core.shared_rate; a stream's loads and
  // stores, bound by the misses in flight, are not.
  double issue_share = 1;
};

class CpuDevice : public Device {
 public:
  CpuDevice(const CpuConfig& c, std::string name, std::string fp)
      : c_(c),
        name_(std::move(name)),
        family_("cpu"),
        fingerprint_(std::move(fp)),
        power_(c.energy, c.power, c.tdp_w) {}
  const std::string& name() const override { return name_; }
  const std::string& family() const override { return family_; }
  double clock_hz() const override { return c_.clock_hz; }
  double memory_capacity_bytes() const override { return c_.dram.size_bytes; }
  const std::string& fingerprint() const override { return fingerprint_; }
  MemLevelSpec link_spec() const override {
    return c_.link.bw_bytes_per_s > 0
               ? MemLevelSpec{"link", 0, c_.link.bw_bytes_per_s, c_.link.latency_s, 0}
               : Device::link_spec();
  }

  void stream(std::vector<OpResult>& instances) const override {
    power_.stream(instances, c_.clock_hz);
  }
  std::optional<double> idle_power_w() const override {
    return power_.enabled() ? std::optional<double>(c_.power.idle_w) : std::nullopt;
  }
  std::optional<AreaBreakdown> area() const override {
    return die_area(c_.area, cpu_area_inputs(c_));
  }

  // AMX tiles where the format has them, else the SIMD units, on every core at the all-core
  // clock of that kind of load.
  Roofline roofline(DType d) const override {
    const bool amx = c_.matrix.per_clk(d) > 0;
    const double per_clk = amx ? c_.matrix.per_clk(d) : c_.simd.per_clk(d);
    const LoadKind kind = amx ? LoadKind::kAmx
                          : c_.simd_bits >= 512 ? LoadKind::kAvx512
                                                : LoadKind::kLight;
    const int cores = int(c_.cores);
    return {double(cores) * per_clk * clock_of(cores, kind), c_.dram.bw_bytes_per_s, "dram"};
  }

  bool supports(DType d, ComputeUnit unit) const override {
    switch (unit) {
      case ComputeUnit::kAmx:
        return c_.matrix.per_clk(d) > 0;
      case ComputeUnit::kSimd:
        return c_.simd.per_clk(d) > 0;
      case ComputeUnit::kVector:
        return d == DType::kFp32 && c_.simd.fp32 > 0;
      default:
        return false;
    }
  }

  Evaluation run(const std::vector<Op>& ops) override {
    Evaluation ev;
    std::vector<ParallelWork> work;
    std::vector<UnitUse> units;
    std::vector<size_t> first;                 // each op's first placement in `work`
    std::vector<std::vector<double>> weights;  // each op's placements' probabilities
    for (const Op& op : ops) {
      CpuPlan p = plan(op);
      if (!p.ok) {
        ev.ok = false;
        ev.reason = fmt::format("{} cannot run {} ({}): {}", name_, op.name, dtype_name(op.dtype),
                                p.reason);
        return ev;
      }
      double longest = p.work.overhead_s;
      for (const auto& g : p.work.groups) {
        double mem = 0;
        for (size_t l = 0; l < g.bytes.size(); ++l)
          mem += g.blocks * g.bytes[l] * g.cores / spec_level_bw(l);
        longest = std::max(longest, g.blocks * g.compute_s + mem);
      }
      if (!(longest < 1e6)) {
        ev.ok = false;
        ev.reason = fmt::format("{} would take more than 10^6 s on {}: too large to simulate",
                                op.name, name_);
        return ev;
      }
      // Each placement of the region's threads on shared vCPUs is simulated; the op's timing is
      // their expectation (a trace shows every placement as an op of its own).
      const int threads = op.kind == OpKind::kCollective ? 1 : threads_of(op);
      std::vector<Placement> pl = vcpu_placements(p.work, threads, int(c_.cores),
                                                  int(c_.shared_vcpus), c_.shared_rate,
                                                  p.issue_share);
      first.push_back(work.size());
      weights.emplace_back();
      for (Placement& x : pl) {
        weights.back().push_back(x.weight);
        work.push_back(std::move(x.work));
      }
      units.push_back(p.unit);
    }
    first.push_back(work.size());
    const std::vector<OpTiming> all = simulate_parallel_ops(engine_spec(), work, nullptr, trace_);
    std::vector<OpTiming> t;
    for (size_t i = 0; i < ops.size(); ++i)
      t.push_back(expected_timing(weights[i], {all.begin() + std::ptrdiff_t(first[i]),
                                               all.begin() + std::ptrdiff_t(first[i + 1])}));
    const std::vector<std::string> names = {"dram", "llc", "link"};
    for (size_t i = 0; i < ops.size(); ++i) {
      OpResult r;
      r.time_s = t[i].time_s;
      r.cycles = r.time_s * c_.clock_hz;
      r.flops = ops[i].flops;
      r.bytes_per_level = {{"dram", t[i].bytes_per_level[kDram]},
                           {"llc", t[i].bytes_per_level[kLlc]}};
      if (ops[i].kind == OpKind::kCollective)
        r.bytes_per_level.emplace_back("link", t[i].bytes_per_level[kLink]);
      r.bound = t[i].bound;
      r.unit = units[i];
      r.matrix_frac = units[i].unit == ComputeUnit::kAmx && t[i].bound == Bound::kCompute
                          ? std::min(1.0, t[i].compute_s / std::max(1e-30, t[i].time_s))
                          : 0.0;
      fill_engine_stats(r, t[i], names);
      power_.sustained(ops[i], r,
                       clock_bound_fraction(t[i].time_s, t[i].compute_s, t[i].memory_s),
                       c_.clock_hz);
      ev.results.push_back(std::move(r));
    }
    return ev;
  }

 private:
  double spec_level_bw(size_t l) const {
    return l == kDram ? c_.dram.bw_bytes_per_s
                      : l == kLlc ? c_.llc_bw : std::max(1.0, c_.link.bw_bytes_per_s);
  }
  EngineSpec engine_spec() const {
    EngineSpec spec;
    spec.levels = {{"dram", c_.dram.size_bytes, c_.dram.bw_bytes_per_s, c_.dram.latency_s, 0},
                   {"llc", c_.llc_bytes, c_.llc_bw, c_.llc_latency_s, 0},
                   {"link", 0, std::max(1.0, c_.link.bw_bytes_per_s), 0, 0}};
    return spec;
  }

  int threads_of(const Op& op) const {
    const int64_t want = op.threads > 0 ? op.threads : c_.threads > 0 ? c_.threads : c_.cores;
    return static_cast<int>(std::clamp<int64_t>(want, 1, c_.cores));
  }

  // The clock with `active` cores busy under `kind` of load: the all-core clock of that kind plus
  // the turbo headroom (clock_max - clock), which shrinks linearly to none at all cores.
  double clock_of(int active, LoadKind kind) const {
    const double light = c_.clock_hz;
    const double avx512 = c_.clock_avx512_hz > 0 ? c_.clock_avx512_hz : light;
    const double amx = c_.clock_amx_hz > 0 ? c_.clock_amx_hz : avx512;
    const double all = kind == LoadKind::kAmx ? amx : kind == LoadKind::kAvx512 ? avx512 : light;
    const double headroom = std::max(0.0, (c_.clock_max_hz > 0 ? c_.clock_max_hz : light) - light);
    const int64_t span = c_.turbo_cores > 1 ? std::min(c_.turbo_cores, c_.cores) : c_.cores;
    const double idle_frac = span > 1 ? 1.0 - double(active - 1) / double(span - 1) : 1.0;
    return all + headroom * std::clamp(idle_frac, 0.0, 1.0);
  }

  double region_overhead(int threads) const {
    return c_.op_overhead_s +
           (threads > 1 ? c_.fork_join_s + c_.per_thread_s * double(threads - 1) : 0.0);
  }

  // Splits `units` equal blocks over `threads` cores: ceil for the first units % threads cores,
  // floor for the rest (two groups when uneven).
  static std::vector<std::pair<int, double>> split(double units, int threads) {
    const double u = std::max(1.0, std::round(units));
    const int busy = static_cast<int>(std::min<double>(threads, u));
    const double lo = std::floor(u / busy);
    const int hi_cores = static_cast<int>(u - lo * busy);
    std::vector<std::pair<int, double>> out;
    if (hi_cores > 0) out.emplace_back(hi_cores, lo + 1);
    if (busy - hi_cores > 0) out.emplace_back(busy - hi_cores, lo);
    return out;
  }

  CoreGroup group(int cores, double blocks, double compute_s, double dram_b, double llc_b,
                  int stages) const {
    CoreGroup g;
    g.cores = cores;
    g.blocks = blocks;
    g.compute_s = compute_s;
    g.bytes = {dram_b, llc_b};
    g.core_bytes_per_s = {c_.core_load_bw(), c_.core_llc_bw()};
    g.stages = stages;
    return g;
  }

  CpuPlan plan(const Op& op) const {
    if (op.kind == OpKind::kCollective) return plan_collective(op);
    if (op.kind == OpKind::kGemm) {
      const bool sparse_format =
          op.wformat == WeightFormat::kCsr || op.wformat == WeightFormat::kBitmap;
      const bool measured = op.wformat == WeightFormat::kDense && op.dtype == op.wdtype &&
                            (op.dtype == DType::kFp32 || op.dtype == DType::kBf16 ||
                             op.dtype == DType::kInt8);
      if (measured && !sparse_format) return plan_gemm(op);
    }
    if (op.kind == OpKind::kGemm || op.kind == OpKind::kAttention) return plan_generic(op);
    return plan_stream(op);
  }

  // A dense fp32 / bf16 / int8 GEMM through the configured library's kernel.
  CpuPlan plan_gemm(const Op& op) const {
    CpuPlan p;
    const CpuLibrary lib = c_.lib();
    const int fmt_i = op.dtype == DType::kFp32 ? 0 : op.dtype == DType::kBf16 ? 1 : 2;
    const CpuKernel& k = c_.kernel(lib, fmt_i);
    const std::string lib_name = kCpuLibraryNames[size_t(lib)];
    const LoadKind simd_kind = c_.simd_bits >= 512 ? LoadKind::kAvx512 : LoadKind::kLight;
    double per_clk = 0, wbytes = dtype_bytes(op.wdtype), abytes = dtype_bytes(op.dtype);
    LoadKind kind = simd_kind;
    int64_t m_tile = 1;
    bool pack = k.pack_bw > 0, gemv = false;
    p.unit = {ComputeUnit::kSimd};
    auto refuse = [&](std::string why) {
      p.ok = false;
      p.reason = std::move(why);
      return p;
    };
    switch (op.dtype) {
      case DType::kFp32:
        per_clk = c_.simd.fp32;
        // MKL and oneDNN's gemm:jit answer M = 1 with a GEMV (streams the weights, no packing;
        // measured); OpenBLAS 0.3.21 and this project's kernels run their GEMM at every M.
        gemv = (lib == CpuLibrary::kTorch || lib == CpuLibrary::kOnednn) && op.M == 1;
        break;
      case DType::kBf16:
        if (lib == CpuLibrary::kOpenblas)
          return refuse("OpenBLAS's bf16 GEMM (sbgemm) is not modelled");
        if (lib == CpuLibrary::kXpusim) {
          // Weights rounded to bf16 but held as fp32; fp32 FMAs.
          per_clk = c_.simd.fp32;
          wbytes = abytes = 4;
          p.unit = {ComputeUnit::kSimd, UnitPath::kBf16AsFp32};
        } else if (c_.matrix.bf16 > 0) {
          per_clk = c_.matrix.bf16;  // oneDNN BRGEMM on AMX tiles, at every M
          kind = LoadKind::kAmx;
          m_tile = c_.matrix_rows;
          p.unit = {ComputeUnit::kAmx};
        } else if (c_.simd.bf16 > 0) {
          per_clk = c_.simd.bf16;  // AVX512_BF16 dot products
        } else if (lib == CpuLibrary::kTorch) {
          per_clk = c_.simd.fp32;  // PyTorch's own fallback: converts to fp32
          p.unit = {ComputeUnit::kSimd, UnitPath::kBf16AsFp32};
        } else {
          return refuse(
              "oneDNN has no bf16 matmul without AVX512_BF16 or AMX (measured: oneDNN 2.6 on "
              "AVX2 creates no primitive)");
        }
        break;
      default:  // int8
        if (lib == CpuLibrary::kOpenblas) return refuse("OpenBLAS has no int8 GEMM");
        if (lib != CpuLibrary::kXpusim && c_.matrix.int8 > 0) {
          per_clk = c_.matrix.int8;
          kind = LoadKind::kAmx;
          m_tile = c_.matrix_rows;
          p.unit = {ComputeUnit::kAmx};
        } else {
          per_clk = c_.simd.int8;
        }
        if (per_clk <= 0) return refuse("the simd has no int8 datapath");
        break;
    }
    if (per_clk <= 0) return refuse(fmt::format("the simd has no {} datapath", dtype_name(op.dtype)));
    if (gemv) pack = false;
    (void)lib_name;

    const int P = threads_of(op);
    const double clock = clock_of(P, kind);
    const double rate = per_clk * clock * k.efficiency;  // FLOP/s per core
    const double M = double(op.M), K = double(op.K), N = double(op.N);
    const double batch = double(std::max<int64_t>(1, op.gemm_batch));
    // BLIS blocking: MC rows of A per block (its packed panel sits in L2), NB columns of Y per
    // block (cache-line multiples the threads share out), KC deep steps of the K loop.
    constexpr double kNB = 64, kKC = 256;
    const double m_blocks = std::ceil(M / std::max(1.0, k.mc)), n_blocks = std::ceil(N / kNB);
    const double units = m_blocks * n_blocks * batch;
    const double m_rows = M / m_blocks, n_cols = N / n_blocks;
    const double m_pad = std::ceil(m_rows / double(m_tile)) * double(m_tile);
    const double flops_unit = 2.0 * m_pad * n_cols * K;
    const double w_unit = n_cols * K * wbytes;
    // Weights: the first M block reads them from DRAM; later M blocks find them in the core's L2
    // when its share of the matrix fits there, else in the LLC when the whole matrix fits there,
    // else read DRAM again.
    // When everything the caller touches between two calls (op.reuse_bytes) fits in the LLC,
    // the first M block finds the weights there too (a small model's decode loop).
    const double w_total = N * K * wbytes * batch;
    const double again = 1.0 - 1.0 / m_blocks;
    const bool resident = op.reuse_bytes > 0 && op.reuse_bytes <= 0.75 * c_.llc_bytes;
    const bool w_in_l2 = w_total / P <= 0.5 * c_.l2_bytes;
    const bool w_in_llc = !w_in_l2 && (resident || w_total <= 0.5 * c_.llc_bytes);
    const double w_dram = resident ? 0.0 : w_unit * (w_in_l2 || w_in_llc ? 1.0 / m_blocks : 1.0);
    const double w_llc = w_unit * (resident ? (w_in_l2 ? 1.0 / m_blocks : 1.0)
                                            : (w_in_llc ? again : 0.0));
    // Activations come from the LLC (shared by every core); Y is written once.
    const double a_llc = m_rows * K * abytes;
    const double y_bytes = m_rows * n_cols * dtype_bytes(op.dtype == DType::kInt8 ? DType::kFp32
                                                                                   : op.dtype);
    // What the micro-kernel streams from L2: the C tile read and written once per KC step, the
    // packed B panel once per MR rows of A and the packed A panel once per NR columns of B. Its
    // register blocking: two AMX tiles each way (32 x 32), or as many rows as the vector
    // registers hold accumulators for (AVX-512: 14 x 32 fp32 in 32 zmm; AVX2: 6 x 16 in 16 ymm).
    const double mr = m_tile > 1 ? 2.0 * double(m_tile) : c_.simd_bits >= 512 ? 14.0 : 6.0;
    const double nr = m_tile > 1 ? 32.0 : c_.simd_bits >= 512 ? 32.0 : 16.0;
    const double l2_bytes = m_rows * n_cols * 4 * 2 * std::ceil(K / kKC) +
                            n_cols * K * wbytes * std::ceil(m_pad / mr) +
                            m_pad * K * abytes * std::ceil(n_cols / nr);
    double core_s = std::max(flops_unit / rate, l2_bytes / c_.l2_bw);
    // Repacking the block's weights (per call) runs on the core before its kernel; the pack rate
    // scales with the clock.
    const bool aliased = std::fmod(K * wbytes, 4096.0) == 0;
    const double pack_bw = aliased && k.aliased_pack_bw > 0 ? k.aliased_pack_bw : k.pack_bw;
    if (pack) core_s += (w_unit / m_blocks) / (pack_bw * clock / c_.clock_hz);
    // The kernel's FMAs and the repacking's shuffles (AVX-512 permutes issue on port 5, where
    // the second FMA unit is) both need the vector ports that a busy SMT sibling halves.
    p.issue_share = 1.0;
    const double y_dram = y_bytes * (c_.write_allocate ? 2.0 : 1.0);
    for (const auto& [cores, blocks] : split(units, P))
      p.work.groups.push_back(
          group(cores, blocks, core_s, w_dram + y_dram, w_llc + a_llc, pack ? 1 : 2));
    p.work.overhead_s = region_overhead(P) + k.call_s;
    return p;
  }

  // Other GEMM formats (int4 and fp8 weights, sparse formats, fp16) and attention: the unit's
  // peak at the kernel efficiency of the library's fp32 GEMM, operands streamed from DRAM once.
  CpuPlan plan_generic(const Op& op) const {
    CpuPlan p;
    const int P = threads_of(op);
    const bool sparse_format = op.kind == OpKind::kGemm && (op.wformat == WeightFormat::kCsr ||
                                                            op.wformat == WeightFormat::kBitmap);
    UnitChoice u;
    LoadKind kind = c_.simd_bits >= 512 ? LoadKind::kAvx512 : LoadKind::kLight;
    if (sparse_format) {
      u = UnitChoice{true, "", {ComputeUnit::kVector, UnitPath::kSparseFormat}, c_.simd.fp32};
    } else if (c_.matrix.per_clk(op.dtype) > 0 ||
               (op.dtype == DType::kInt4 && c_.matrix.bf16 > 0)) {
      u = matrix_unit(c_.matrix, op, 1.0, ComputeUnit::kAmx);
      kind = LoadKind::kAmx;
    } else {
      u = matrix_unit(c_.simd, op, 1.0, ComputeUnit::kSimd);
    }
    if (!u.ok) {
      p.ok = false;
      p.reason = u.reason;
      return p;
    }
    p.unit = u.unit;
    const double clock = clock_of(P, kind);
    const double eff = c_.kernel(c_.lib(), 0).efficiency;
    double core_s = op.flops / P / (u.flops_per_s * clock * eff);
    if (op.dequant_flops > 0 && c_.simd.fp32 > 0)
      core_s = std::max(core_s, op.dequant_flops / P / (c_.simd.fp32 * clock));
    const double bytes = op.total_bytes() / P;
    constexpr double kBlocks = 8;
    p.work.groups.push_back(group(P, kBlocks, core_s / kBlocks, bytes / kBlocks, 0, 2));
    p.work.overhead_s = region_overhead(P);
    return p;
  }

  // Elementwise, embedding and KV-append operators: rows split over the cores, each streaming
  // from the level its share fits in; stores to DRAM pay the write-allocate read.
  CpuPlan plan_stream(const Op& op) const {
    CpuPlan p;
    p.unit = {ComputeUnit::kSimd};
    const int P = threads_of(op);
    const double read = op.weight_bytes + op.in_bytes, write = op.out_bytes;
    const double footprint = read + write;
    const double clock = clock_of(P, LoadKind::kLight);
    const double math_s = c_.simd.fp32 > 0 ? op.flops / P / (c_.simd.fp32 * clock) : 0.0;
    constexpr double kBlocks = 8;
    double core_s = math_s, dram = 0, llc = 0;
    if (footprint <= 0.75 * c_.l2_bytes * P) {
      core_s = std::max(core_s, footprint / P / c_.l2_bw);
    } else if (footprint <= 0.75 * c_.llc_bytes) {
      llc = footprint / P;
      core_s = std::max(core_s, footprint / P / c_.l2_bw);
    } else {
      dram = (read + write * (c_.write_allocate ? 2.0 : 1.0)) / P;
    }
    p.issue_share = core_s > 0 ? math_s / core_s : 0.0;
    p.work.groups.push_back(group(P, kBlocks, core_s / kBlocks, dram / kBlocks, llc / kBlocks, 2));
    p.work.overhead_s = region_overhead(P);
    return p;
  }

  CpuPlan plan_collective(const Op& op) const {
    CpuPlan p;
    if (!(c_.link.bw_bytes_per_s > 0)) {
      p.ok = false;
      p.reason = "no link between devices is configured (link.bw)";
      return p;
    }
    p.unit = {ComputeUnit::kLink};
    p.issue_share = 0;
    const CollectiveCost cost = collective_cost(c_.link, {}, op);
    CoreGroup g;
    g.cores = 1;
    g.blocks = 1;
    g.bytes = {0, 0, cost.wire.bytes / std::max(1e-9, cost.bw_fraction)};
    p.work.groups.push_back(g);
    p.work.overhead_s = cost.fixed_s;
    return p;
  }

  CpuConfig c_;
  std::string name_, family_, fingerprint_;
  PowerModel power_;
};

void check_cpu_physics(const CpuConfig& c, const CfgNode& tree, ErrorList& errors) {
  auto where = [&](const char* key) {
    const CfgNode* n = tree.find_path(key);
    return n ? n->loc : tree.loc;
  };
  if (c.clock_max_hz > 0 && c.clock_max_hz < c.clock_hz)
    errors.add(where("clock_max"), "clock_max",
               "the single-core turbo clock cannot be below the all-core clock (`clock`)");
  if (c.clock_avx512_hz > c.clock_hz)
    errors.add(where("clock_avx512"), "clock_avx512",
               "the AVX-512 all-core clock cannot exceed the all-core clock under light load "
               "(`clock`)");
  if (c.clock_amx_hz > std::max(c.clock_hz, c.clock_avx512_hz))
    errors.add(where("clock_amx"), "clock_amx",
               "the AMX all-core clock cannot exceed the all-core clock (`clock`)");
  for (size_t l = 0; l < kCpuLibraryNames.size(); ++l)
    for (size_t f = 0; f < kCpuGemmFormats.size(); ++f) {
      const CpuKernel& k = c.kernels[l * kCpuGemmFormats.size() + f];
      const std::string key = fmt::format("kernels.{}.{}.aliased_pack_bw", kCpuLibraryNames[l],
                                          kCpuGemmFormats[f]);
      if (k.aliased_pack_bw > 0 && k.pack_bw > 0 && k.aliased_pack_bw > k.pack_bw)
        errors.add(where(key.c_str()), key,
                   "aliased rows (their L1 sets shared) cannot be repacked faster than others "
                   "(pack_bw)");
    }
  if (c.shared_vcpus > c.cores)
    errors.add(where("core.shared_vcpus"), "core.shared_vcpus",
               fmt::format("{} shared vCPUs of {} cores: at most every core", c.shared_vcpus,
                           c.cores));
  if (c.threads > c.cores)
    errors.add(where("threads"), "threads",
               fmt::format("{} threads on {} cores: at most one thread per core is modelled",
                           c.threads, c.cores));
}

}  // namespace

void register_cpu(DeviceRegistry& r) {
  r.add({"cpu", &cpu_schema(), [](const CfgNode& tree, const std::string& name, ErrorList& errors) {
           CpuConfig c = cpu_schema().parse(tree, errors);
           if (errors.empty()) check_cpu_physics(c, tree, errors);
           if (errors.empty()) check_area(c.area, cpu_area_inputs(c), tree, errors);
           if (!errors.empty()) return std::unique_ptr<Device>();
           return std::unique_ptr<Device>(
               std::make_unique<CpuDevice>(c, name, config_fingerprint(tree)));
         }});
}

}  // namespace xpusim
