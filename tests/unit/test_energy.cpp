// Energy, power and the power-limited clock (arch/power.h): the model's equations on a made-up
// op, every family's points carrying energy, and the H200 energy dataset's calibration rows.
#include <gtest/gtest.h>

#include <cmath>

#include "arch/power.h"
#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/config/config_tree.h"
#include "sim/run/experiment.h"
#include "sim/run/sweep.h"
#include "validation/validate.h"

namespace xpusim {
namespace {

PowerModel model_of(double tdp, double window = 0) {
  EnergyConfig e;
  e.bf16 = 1e-12;
  e.main_memory_j = 100e-12;
  e.cache_j = 30e-12;
  PowerConfig p;
  p.idle_w = 100;
  p.active_w = 50;
  p.voltage_floor = 0.5;
  p.min_clock = 0.3;
  p.window_s = window;
  return PowerModel(e, p, tdp);
}

OpResult tensor_op(double flops, double hbm_bytes, double time_s) {
  OpResult r;
  r.time_s = time_s;
  r.cycles = time_s * 2e9;
  r.flops = flops;
  r.unit = {ComputeUnit::kTensorCore};
  r.bytes_per_level = {{"hbm", hbm_bytes}, {"l2", hbm_bytes}};
  return r;
}

TEST(PowerModel, EnergyIsIdlePlusActivityAndTheCapHoldsTheClock) {
  const Op op = make_gemm("g", 4096, 4096, 4096, DType::kBf16);
  // Under the cap: energy = (idle + active) x time + ops x e_op + bytes x (e_mem + e_cache).
  PowerModel free = model_of(0);
  OpResult r = tensor_op(1e12, 1e9, 2e-3);
  free.sustained(op, r, 0.9, 2e9);
  const double expect = 150 * 2e-3 + 1e12 * 1e-12 + 1e9 * 130e-12;
  EXPECT_NEAR(*r.energy_j, expect, 1e-12);
  EXPECT_EQ(*r.clock_hz, 2e9);
  EXPECT_EQ(r.time_s, 2e-3);
  // The same op under a 400 W cap (it draws 715 W at full clock): the clock falls until the power
  // fits, and the clock-bound 90 % of the time stretches by 1/f.
  PowerModel capped = model_of(400);
  OpResult c = tensor_op(1e12, 1e9, 2e-3);
  capped.sustained(op, c, 0.9, 2e9);
  const double f = *c.clock_hz / 2e9;
  EXPECT_LT(f, 0.8);
  EXPECT_GT(f, 0.3);
  EXPECT_NEAR(*c.energy_j / c.time_s, 400, 1e-6);
  EXPECT_NEAR(c.time_s, 2e-3 * (0.1 + 0.9 / f), 1e-12);
  // Lower voltage: less switching energy for the same work, despite the longer idle share.
  EXPECT_LT(*c.energy_j - 100 * c.time_s, *r.energy_j - 100 * r.time_s);
  // A memory-bound op (u = 0) keeps its time however low the clock.
  OpResult m = tensor_op(1e9, 5e9, 2e-3);
  capped.sustained(op, m, 0.0, 2e9);
  EXPECT_EQ(m.time_s, 2e-3);
}

// Integer/load lane-instructions (an unvectorised kernel's slots) cost energy.int_op each, or
// energy.vector when it is 0, and replace the op's FP32 operations; a floor on the reference
// clock (the unit's peak rate) lifts a clock the cap alone would leave lower.
TEST(PowerModel, IntegerSlotsTakeTheirOwnEnergyAndThePeakRateFloorsTheReferenceClock) {
  const Op op = make_elementwise("silu", EwKind::kSiluMul, 1024, 4096, DType::kBf16);
  EnergyConfig e;
  e.vector_j = 10e-12;
  PowerConfig p;
  p.idle_w = 100;
  p.voltage_floor = 0.5;
  auto energy = [&](double int_op_j) {
    EnergyConfig ee = e;
    ee.int_op_j = int_op_j;
    OpResult r;
    r.time_s = 1e-3;
    r.flops = 5e6;
    r.int_ops = 1e9;
    r.unit = {ComputeUnit::kCudaCore};
    PowerModel(ee, p, 0).sustained(op, r, 0.0, 2e9);
    return *r.energy_j;
  };
  EXPECT_NEAR(energy(0), 100 * 1e-3 + 1e9 * 10e-12, 1e-12);  // the flops are among the slots
  EXPECT_NEAR(energy(6e-12), 100 * 1e-3 + 1e9 * 6e-12, 1e-12);
  // A compute-bound op whose power at its fitted time meets the timing limit only at a low clock:
  // with a floor the reference clock is the floor, and the cap stretches the time beyond it.
  PowerConfig q;
  q.idle_w = 100;
  q.voltage_floor = 0.5;
  q.min_clock = 0.3;
  q.timing_tdp_w = 400;
  EnergyConfig t;
  t.bf16 = 1e-12;
  const PowerModel m(t, q, 400);
  const Op g = make_gemm("g", 4096, 4096, 4096, DType::kBf16);
  OpResult a = tensor_op(1e12, 0, 2e-3), b = tensor_op(1e12, 0, 2e-3);
  m.sustained(g, a, 1.0, 2e9);
  m.sustained(g, b, 1.0, 2e9, false, 0.9);
  EXPECT_NEAR(a.time_s, 2e-3, 1e-12);  // without a floor: the fitted time at the limit's clock
  EXPECT_LT(*a.clock_hz, 0.9 * 2e9);
  EXPECT_NEAR(b.activity.ref_clock, 0.9, 1e-12);
  EXPECT_GT(b.time_s, a.time_s);
  EXPECT_NEAR(*b.energy_j / b.time_s, 400, 1e-6);
}

TEST(PowerModel, AStreamOfOneOpIsItsSustainedRunAndLightNeighboursLendItClock) {
  const Op op = make_gemm("g", 4096, 4096, 4096, DType::kBf16);
  PowerModel pm = model_of(400, 1e-3);
  OpResult heavy = tensor_op(1e11, 1e8, 2e-4), light = tensor_op(0, 1e6, 2e-4);
  pm.sustained(op, heavy, 0.9, 2e9);
  pm.sustained(op, light, 0.0, 2e9);
  std::vector<OpResult> alone(3, heavy);
  pm.stream(alone, 2e9);
  EXPECT_NEAR(alone[1].time_s, heavy.time_s, 1e-3 * heavy.time_s);
  std::vector<OpResult> mixed = {heavy, light, light, light};
  pm.stream(mixed, 2e9);
  EXPECT_LT(mixed[0].time_s, heavy.time_s);
  EXPECT_GT(*mixed[0].clock_hz, *heavy.clock_hz);
  EXPECT_NEAR(mixed[1].time_s, light.time_s, 1e-15);
}

TEST(Energy, EveryFamilyCarriesEnergyAndPowerWithinItsLimits) {
  ConfigStore store;
  const ModelConfig model = parse_model(store.load("llama2-7b", "models"));
  PointSpec spec;
  spec.phase = Phase::kDecode;
  spec.batch = 8;
  spec.ctx = 1024;
  spec.quant = *parse_quant("bf16");
  // (preset, idle W, limit W)
  for (auto [hw, idle, cap] : {std::tuple{"h100", 125.0, 700.0}, std::tuple{"tpu-v4", 90.0, 192.0},
                               std::tuple{"xeon-8480", 110.0, 350.0}}) {
    auto dev = make_device(store.load(hw, "hw"), hw);
    OpCache cache;
    PointResult p = evaluate_point(*dev, cache, model, spec);
    ASSERT_TRUE(p.ok) << hw << ": " << p.reason;
    ASSERT_TRUE(p.energy_j) << hw;
    const double w = *p.energy_j / p.latency_s;
    EXPECT_GT(w, idle) << hw;
    EXPECT_LE(w, cap * (1 + 1e-9)) << hw;
    for (const auto& r : p.ops) EXPECT_TRUE(r.energy_j) << hw << " " << r.op.name;
  }
  // The TPU v5e publishes no power: its energy stays empty rather than made up.
  auto v5e = make_device(store.load("tpu-v5e", "hw"), "tpu-v5e");
  OpCache cache;
  EXPECT_FALSE(evaluate_point(*v5e, cache, model, spec).energy_j);
}

TEST(Energy, H200CalibrationRowsWithinFifteenPercentAndClockWithinTen) {
  // The fit's own rows (validation/gpu/energy/h200/calibration.csv): what the README reports for
  // the hold-out is checked on these by the same code; the hold-out is not read here.
  auto rows = load_energy_dataset(XPUSIM_SOURCE_DIR "/validation/gpu/energy/h200", false);
  ASSERT_GT(rows.size(), 60u);
  ConfigStore store;
  auto dev = make_device(store.load("h200", "hw"), "h200");
  predict_energy_rows(*dev, rows);
  // Bars: what the fitted model reaches on its own rows (2026-12-03, after ho4 became calibration:
  // 232 of 246 energies within 15 %, 216 of 226 clocks within 10 %), less a few rows; the rows it
  // misses are the ones whose time the kernel model misses (small `a + b` in L2, F.rms_norm's
  // power, skinny GEMMs' clocks), which moves energy and power. Every capped GEMM's clock must
  // hold (the limiter's mechanism).
  int n = 0, energy_ok = 0, power_ok = 0, clock_ok = 0, clocked = 0;
  for (const auto& r : rows) {
    ASSERT_TRUE(r.pred_ok) << r.label;
    ++n;
    energy_ok += std::abs(r.error()) <= 0.15;
    power_ok += std::abs(r.pred_w / r.measured_w - 1) <= 0.15;
    if (r.idle) continue;
    ++clocked;
    const double clock_err = std::abs(r.pred_clock_mhz / r.measured_clock_mhz - 1);
    clock_ok += clock_err <= 0.10;
    if (r.label.rfind("gemm_bf16_8192x8192x8192", 0) == 0 || r.label.rfind("gemm_fp8_", 0) == 0)
      EXPECT_LT(clock_err, 0.10) << r.label << ": " << r.pred_clock_mhz << " MHz";
  }
  EXPECT_GE(energy_ok, n * 9 / 10) << energy_ok << " of " << n;
  EXPECT_GE(power_ok, n * 4 / 5) << power_ok << " of " << n;
  EXPECT_GE(clock_ok, clocked * 9 / 10) << clock_ok << " of " << clocked;
}

TEST(Energy, SweepsTakeEnergyPowerAndAreaMetrics) {
  auto sweep = [](const std::string& constraint) {
    return parse_sweep(parse_yaml(
        "type: sweep\nname: s\nexperiment: default\nparameters:\n  - {key: batch, values: [1, 2]}\n"
        "constraints: [ok, " + constraint + "]\nobjectives: [{minimize: j_per_token}]\n",
        "s.yaml"));
  };
  for (const char* c : {"power_w <= 650", "tokens_per_joule > 1", "energy_j < 10",
                        "area_mm2 <= 800", "tokens_per_s_per_mm2 > 0.1"})
    EXPECT_NO_THROW(sweep(c)) << c;
}

}  // namespace
}  // namespace xpusim
