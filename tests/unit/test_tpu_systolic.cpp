// The TPU's systolic arrays against SCALE-Sim v2: fold counts and stall-free cycles for every
// dataflow (formulas in arch/tpu/systolic.h) on random shapes, and on the reference sets that
// validation/tpu/scalesim_ref.py produced by running SCALE-Sim itself (validation/tpu/README.md):
// compute cycles exactly, CALC-mode total cycles and DRAM reads exactly, USER-mode total cycles
// within a bound.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "arch/registry.h"
#include "arch/tpu/systolic.h"
#include "arch/tpu/window_buffer.h"
#include "sim/base/csv.h"
#include "sim/base/repo_path.h"
#include "sim/config/config_store.h"
#include "sim/config/config_tree.h"

namespace xpusim {
namespace {

// SCALE-Sim's demand matrices, counted line by line as its compute classes build them: per fold,
// the stationary prefix, the streamed operand, the drain suffix, then the skew that adds one
// line per array column (or row) beyond the first.
int64_t scalesim_lines(Dataflow df, int64_t R, int64_t C, int64_t M, int64_t K, int64_t N) {
  int64_t sr = 0, sc = 0, t = 0, per_fold = 0;
  switch (df) {
    case Dataflow::kWs:  // ifmap demand: R prefix + T + (C-1) suffix, skewed over R columns
      sr = K, sc = N, t = M, per_fold = R + t + (C - 1) + (R - 1);
      break;
    case Dataflow::kOs:  // ifmap demand: T + (C-1) suffix, skewed over R columns
      sr = M, sc = N, t = K, per_fold = t + (C - 1) + (R - 1);
      break;
    case Dataflow::kIs:  // ifmap demand: R rows + (R+C+T-2) suffix, no skew
      sr = K, sc = M, t = N, per_fold = R + (R + C + t - 2);
      break;
  }
  int64_t lines = 0;
  for (int64_t fc = 0; fc < (sc + C - 1) / C; ++fc)
    for (int64_t fr = 0; fr < (sr + R - 1) / R; ++fr) lines += per_fold;
  return lines;
}

TEST(TpuSystolic, FoldCyclesMatchScaleSimForRandomShapes) {
  std::mt19937_64 rng(12);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < 3000; ++i) {
    const int64_t R = pick(1, 300), C = pick(1, 300);
    const int64_t M = pick(1, 5000), K = pick(1, 5000), N = pick(1, 5000);
    for (Dataflow df : {Dataflow::kWs, Dataflow::kOs, Dataflow::kIs}) {
      const FoldPlan p = plan_folds({R, C, df, 1}, M, K, N);
      ASSERT_EQ(p.compute_cycles, scalesim_lines(df, R, C, M, K, N))
          << dataflow_name(df) << " " << R << "x" << C << " M=" << M << " K=" << K << " N=" << N;
      EXPECT_EQ(p.folds, p.row_folds * p.col_folds);
      EXPECT_GT(p.mapping_eff, 0);
      EXPECT_LE(p.mapping_eff, 1);
    }
  }
  // The released code's os fold is R cycles shorter than ws's on the same rows and stream.
  EXPECT_EQ(plan_folds({128, 128, Dataflow::kWs, 1}, 128, 128, 128).fold_cycles -
                plan_folds({128, 128, Dataflow::kOs, 1}, 128, 128, 128).fold_cycles,
            128);
}

Dataflow dataflow_of(const std::string& s) {
  return s == "os" ? Dataflow::kOs : s == "is" ? Dataflow::kIs : Dataflow::kWs;
}

struct RefRow {
  std::string layer, dataflow;
  int64_t M, K, N, R, C, ifmap_kb, filter_kb, ofmap_kb, bw;
  const CsvTable* t;
  const CsvRow* r;
  std::string get(const char* col) const { return r->fields[size_t(t->column(col))].text; }
  double num(const char* col) const { return std::stod(get(col)); }
};

std::vector<RefRow> load(const CsvTable& t) {
  std::vector<RefRow> rows;
  for (const auto& r : t.rows) {
    RefRow x{};
    x.t = &t, x.r = &r;
    x.layer = x.get("layer"), x.dataflow = x.get("dataflow");
    x.M = int64_t(x.num("M")), x.K = int64_t(x.num("K")), x.N = int64_t(x.num("N"));
    x.R = int64_t(x.num("rows")), x.C = int64_t(x.num("cols"));
    x.ifmap_kb = int64_t(x.num("ifmap_kb")), x.filter_kb = int64_t(x.num("filter_kb"));
    x.ofmap_kb = int64_t(x.num("ofmap_kb")), x.bw = int64_t(x.num("bw"));
    rows.push_back(x);
  }
  return rows;
}

CsvTable table(const char* name) {
  return read_csv_file(find_repo_path(std::string("validation/tpu/") + name), name);
}

TEST(TpuSystolic, ComputeCyclesEqualScaleSimOnEveryReferenceRow) {
  const CsvTable t = table("scalesim_compute.csv");
  const auto rows = load(t);
  ASSERT_GE(rows.size(), 1000u);
  int exact = 0;
  for (const auto& x : rows) {
    const FoldPlan p = plan_folds({x.R, x.C, dataflow_of(x.dataflow), 1}, x.M, x.K, x.N);
    const std::string what =
        x.layer + " " + x.dataflow + " " + std::to_string(x.R) + "x" + std::to_string(x.C);
    EXPECT_EQ(p.compute_cycles, int64_t(x.num("demand_lines"))) << what;
    EXPECT_NEAR(p.mapping_eff * 100, x.num("mapping_eff_pct"), 1e-5) << what;
    // SRAM traffic as SCALE-Sim counts it; its os ofmap count adds R + C per fold.
    EXPECT_EQ(int64_t(p.ifmap_words), int64_t(x.num("ifmap_sram_reads"))) << what;
    EXPECT_EQ(int64_t(p.filter_words), int64_t(x.num("filter_sram_reads"))) << what;
    const int64_t os_extra = x.dataflow == "os" ? p.folds * (x.R + x.C) : 0;
    EXPECT_EQ(int64_t(p.ofmap_words) + os_extra, int64_t(x.num("ofmap_sram_writes"))) << what;
    exact += p.compute_cycles == int64_t(x.num("demand_lines"));
  }
  RecordProperty("exact", exact);
  std::printf("compute cycles: %d of %zu SCALE-Sim rows exact\n", exact, rows.size());
}

// A bare array from the `systolic` preset, sized and fed as a SCALE-Sim reference row.
std::unique_ptr<Device> systolic(const RefRow& x, const std::string& mode) {
  ConfigStore store;
  CfgNode tree = store.load("systolic", "hw");
  ErrorList errors;
  for (const std::string& s :
       {"mxu.rows=" + std::to_string(x.R), "mxu.cols=" + std::to_string(x.C),
        "mxu.dataflow=" + x.dataflow, "sram.ifmap=" + std::to_string(x.ifmap_kb) + " KiB",
        "sram.filter=" + std::to_string(x.filter_kb) + " KiB",
        "sram.ofmap=" + std::to_string(x.ofmap_kb) + " KiB",
        "hbm.bw=" + std::to_string(x.bw) + " GB/s", "hbm.mode=" + mode})
    apply_override(tree, s, errors);
  EXPECT_TRUE(errors.empty());
  return make_device(tree, "systolic");
}

// SCALE-Sim's words are 1 byte and its GEMM writes 1-byte outputs.
Op int8_gemm(const RefRow& x) {
  Op op = make_gemm(x.layer, x.M, x.K, x.N, DType::kInt8);
  op.wdtype = DType::kInt8;
  finalize(op);
  op.out_bytes = double(x.M) * double(x.N);
  return op;
}

// SCALE-Sim's "Total Cycles" is the index of the last cycle (from 0): xpusim's cycles - 1.
int64_t scalesim_total(const OpResult& r) { return std::llround(r.cycles) - 1; }

TEST(TpuSystolic, StallFreeTotalCyclesEqualScaleSimCalcMode) {
  const CsvTable t = table("scalesim_calc.csv");
  const auto rows = load(t);
  ASSERT_GE(rows.size(), 50u);
  int exact = 0;
  for (const auto& x : rows) {
    auto dev = systolic(x, "stall_free");
    const Evaluation ev = dev->run({int8_gemm(x)});
    ASSERT_TRUE(ev.ok) << ev.reason;
    const std::string what = x.layer + " " + x.dataflow;
    ASSERT_EQ(int64_t(x.num("stall_cycles")), 0) << what;
    EXPECT_EQ(scalesim_total(ev.results[0]), int64_t(x.num("total_cycles"))) << what;
    EXPECT_EQ(ev.results[0].stall_s, 0.0) << what;
    exact += scalesim_total(ev.results[0]) == int64_t(x.num("total_cycles"));
    // DRAM traffic per operand: reads exact; SCALE-Sim's ofmap drain rounds up to C - 1 words.
    const auto& b = ev.results[0].bytes_per_level;
    EXPECT_EQ(b[0].second, x.num("ifmap_dram_reads")) << what;
    EXPECT_EQ(b[1].second, x.num("filter_dram_reads")) << what;
    EXPECT_LE(x.num("ofmap_dram_writes") - b[2].second, double(x.C - 1)) << what;
    EXPECT_GE(x.num("ofmap_dram_writes"), b[2].second) << what;
  }
  std::printf("CALC total cycles: %d of %zu SCALE-Sim rows exact\n", exact, rows.size());
}

// USER mode: the systolic preset's sram.read_buffer: window replays SCALE-Sim's read windows and
// write buffer (arch/tpu/window_buffer.h) to decide which transfers each buffer makes and which
// cycle needs them; the engine's DMA and write-back move them and the stalls come out of the
// simulation. Its transfers take ceil(S/2 / bw) cycles where SCALE-Sim's take one more, so the
// totals are close rather than exact. The DRAM traffic in the array figures is SCALE-Sim's.
TEST(TpuSystolic, BandwidthModeTotalCyclesNearScaleSimUserMode) {
  const CsvTable t = table("scalesim_user.csv");
  const auto rows = load(t);
  ASSERT_GE(rows.size(), 50u);
  int within5 = 0, stall_free = 0, stall_free_exact = 0;
  double worst = 0, sum = 0;
  for (const auto& x : rows) {
    auto dev = systolic(x, "bandwidth");
    const Evaluation ev = dev->run({int8_gemm(x)});
    ASSERT_TRUE(ev.ok) << ev.reason;
    const double ref = x.num("total_cycles");
    const double err = (double(scalesim_total(ev.results[0])) - ref) / ref;
    const auto& a = ev.results[0].array;
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->dram_read_bytes, x.num("ifmap_dram_reads") + x.num("filter_dram_reads"))
        << x.layer;
    EXPECT_EQ(a->dram_write_bytes, x.num("ofmap_dram_writes")) << x.layer;
    if (x.num("stall_cycles") == 0) {
      ++stall_free;
      stall_free_exact += scalesim_total(ev.results[0]) == int64_t(ref);
    }
    within5 += std::abs(err) <= 0.05;
    if (std::getenv("XPUSIM_TPU_DEBUG") && std::abs(err) > 0.05)
      std::printf("%s %s %ldx%ld %ldKiB bw%ld: %ld vs %.0f, stall %.0f vs %.0f\n", x.layer.c_str(),
                  x.dataflow.c_str(), long(x.R), long(x.C), long(x.ifmap_kb), long(x.bw),
                  long(scalesim_total(ev.results[0])), ref, ev.results[0].stall_s * 1e9,
                  x.num("stall_cycles"));
    worst = std::max(worst, std::abs(err));
    sum += std::abs(err);
  }
  std::printf(
      "USER total cycles: %d of %zu rows within 5 %%, mean |error| %.1f %%, worst %.1f %%; "
      "%d of %d rows without SCALE-Sim stalls exact\n",
      within5, rows.size(), 100 * sum / double(rows.size()), 100 * worst, stall_free_exact,
      stall_free);
  EXPECT_EQ(within5, int(rows.size()));
  EXPECT_LT(worst, 0.01);
  EXPECT_EQ(stall_free_exact, stall_free);
}

// SCALE-Sim's read and write buffers replayed (arch/tpu/window_buffer.h) against its USER rows:
// total cycles, stall cycles and DRAM traffic of each operand.
TEST(TpuSystolic, WindowBuffersReplayScaleSimUserMode) {
  const CsvTable t = table("scalesim_user.csv");
  const auto rows = load(t);
  ASSERT_GE(rows.size(), 50u);
  int exact = 0, stalls_exact = 0, reads_exact = 0, writes_exact = 0;
  for (const auto& x : rows) {
    const WindowRun w =
        run_window_buffers({x.R, x.C, dataflow_of(x.dataflow), 1}, x.M, x.K, x.N,
                           {x.ifmap_kb * 1024, x.filter_kb * 1024, x.ofmap_kb * 1024, x.bw});
    const std::string what = x.layer + " " + x.dataflow + " " + std::to_string(x.R) + "x" +
                             std::to_string(x.C) + " " + std::to_string(x.ifmap_kb) + "KiB";
    EXPECT_EQ(w.total_cycles, int64_t(x.num("total_cycles"))) << what;
    EXPECT_EQ(w.stall_cycles, int64_t(x.num("stall_cycles"))) << what;
    EXPECT_EQ(w.dram_words[0], int64_t(x.num("ifmap_dram_reads"))) << what;
    EXPECT_EQ(w.dram_words[1], int64_t(x.num("filter_dram_reads"))) << what;
    EXPECT_EQ(w.dram_words[2], int64_t(x.num("ofmap_dram_writes"))) << what;
    exact += w.total_cycles == int64_t(x.num("total_cycles"));
    stalls_exact += w.stall_cycles == int64_t(x.num("stall_cycles"));
    reads_exact += w.dram_words[0] == int64_t(x.num("ifmap_dram_reads")) &&
                   w.dram_words[1] == int64_t(x.num("filter_dram_reads"));
    writes_exact += w.dram_words[2] == int64_t(x.num("ofmap_dram_writes"));
  }
  std::printf("window replay: total %d, stalls %d, reads %d, writes %d of %zu rows exact\n", exact,
              stalls_exact, reads_exact, writes_exact, rows.size());
}

}  // namespace
}  // namespace xpusim
