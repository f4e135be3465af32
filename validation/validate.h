// `xpusim validate`: runs a device model over measured kernel datasets (validation/gpu/data, the
// H100 measurements; validation/gpu/h200/data, the H200's; and LLMCompass's public A100 data) and
// reports per-category errors for the calibration and hold-out sets. Times in seconds; errors as
// fractions (0.1 = 10 %).
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "arch/device.h"
#include "sim/config/config_store.h"
#include "workloads/op.h"

namespace xpusim {

// One measured point: the ops it launches (one for a kernel row, many for an end-to-end row),
// summed; `scale` multiplies the sum (e.g. identical layers).
struct ValidationRow {
  std::string file;      // data file name, for the report
  int line = 0;          // 1-based line in that file
  std::string category;  // "gemm bf16", "attention decode", "elementwise rmsnorm", "e2e prefill"
  std::string set;       // "calibration" | "holdout" | "holdout<N>" (a later hold-out)
  std::string label;     // the shape, human-readable
  std::vector<Op> ops;
  double measured_s = 0;
  double predicted_s = 0;
  std::string bound;                      // of the op that takes longest
  std::optional<double> published_error;  // another model's published error for this category
  std::string library;  // CPU rows: the library that ran it (the device's `library`); "" = any
  // CPU rows: preset overrides ("key=value") that describe the machine instance the row was
  // measured on, as measured in the same run (cpu_instance_overrides); empty = the preset's.
  std::vector<std::string> instance;
  double error() const { return predicted_s / measured_s - 1.0; }
};

struct CategoryStats {
  std::string category, set;
  size_t n = 0;
  double mape = 0, p90 = 0, worst = 0;  // |error| statistics
  std::string worst_label;
  std::optional<double> published_mape;  // LLMCompass's, where it published one
};

// Loads every dataset found in `dir` (gemm.csv and the later GEMM sets gemm_calib<N>.csv and
// gemm_holdout<N>.csv, attention.csv, elementwise.csv, e2e.csv and e2e_calibration.csv:
// llama2-7b and llama3-8b stacks; allreduce.csv, NCCL). The
// elementwise ops `rope` and `kv_append` stand for the e2e stack's torch RoPE (5 kernels) and its
// two KV-cache copies, on one tensor of width H.
// Throws ConfigError listing every bad value as file:line:col.
std::vector<ValidationRow> load_gpu_dataset(const std::string& dir);

// LLMCompass's A100 data (matmul, softmax, layernorm, gelu, and the GPT-3 layer). All rows are
// "holdout": nothing is fitted on them.
std::vector<ValidationRow> load_llmcompass_a100(const std::string& dir);

// The CPU datasets of validation/cpu/<host>/ (measure_cpu.py, measure_local.py): every
// gemm_*.csv and stream_*.csv in `dir` (calibration and hold-out files). A GEMM row is one op on
// the row's `threads` cores through the row's library (`lib`: torch, numpy's OpenBLAS, openblas,
// onednn, xpusim), category "gemm <dtype> <library>"; a STREAM row is one memory-bound op of the
// arrays' bytes (copy and scale: one read, one write; add and triad: two reads, one write; read:
// one read), category "stream <op>". Rows that did not run (status != ok) and w8a16 rows (ATen's
// own int8-weight kernel, which the model does not follow) are left out.
std::vector<ValidationRow> load_cpu_dataset(const std::string& dir);

// The machine instance a CPU dataset was measured on, as probe_cpu.c measured it in the same run
// (`instance_calibration.csv`, kind cpu_instance; measure_host3.py), as preset overrides:
//   dram.bw                 the highest DRAM read rate over thread counts (read_c)
//   core.outstanding_misses one thread's read rate x dram_latency_s / 64 B (Little's law)
// The clocks probe_cpu.c measures (clock_vector, clock_scalar) are recorded but not applied: the
// preset's clocks are effective per-core rates fitted on calibration rows, which also carry the
// per-core slowdown with more active cores that a latency-bound FMA chain does not see (README,
// "CPU model and accuracy", host3).
// Each value is the mean of the run's start and end readings. Empty when the dataset has no
// such file. Throws ConfigError on a malformed file.
std::vector<std::string> cpu_instance_overrides(const std::string& dir, double dram_latency_s);

// Predicts every row (one simulation for all unique ops, each timed as the kernel datasets time
// it: sustained). On a GPU an e2e row is instead timed as one stream (GpuDevice::run_stream: its
// power-limited clock follows the stream's load). Rows the device cannot run get a negative
// prediction and are left out of the statistics.
void predict_rows(Device& device, std::vector<ValidationRow>& rows);

// Per category and set, plus "<kind> all" aggregates; stable order.
std::vector<CategoryStats> summarize(const std::vector<ValidationRow>& rows);

void print_stats(std::ostream& out, const std::vector<CategoryStats>& stats,
                 const std::string& title);
void write_rows_csv(std::ostream& out, const std::vector<ValidationRow>& rows);

// Coordinate search over `keys` of a hardware tree, minimising the mean calibration MAPE over
// categories. `evaluate` builds a device from an override list and returns its rows' stats.
struct FitResult {
  std::vector<std::pair<std::string, std::string>> values;  // key, value as YAML text
  double objective_before = 0, objective_after = 0;
};
using FitObjective = std::function<double(const std::vector<std::string>& overrides)>;
FitResult fit_parameters(const std::vector<std::pair<std::string, std::string>>& start,
                         const FitObjective& objective, int rounds, std::ostream* log);

double calibration_objective(const std::vector<ValidationRow>& rows);

// Board energy (validate_energy.cpp): one row per measured case and repeat of
// validation/gpu/energy/<card>/ (NVML energy counter, sampled SM clock).
struct EnergyRow {
  std::string file;
  int line = 0;
  std::string category, set, label;  // label: "case repN"
  std::vector<Op> ops;               // one iteration's ops (empty for idle rows)
  bool stream = false;               // a whole model step, timed as one stream (as `run` does)
  bool idle = false;                 // nothing running: compares the idle power
  double measured_s = 0, measured_j = 0, measured_w = 0, measured_clock_mhz = 0;
  bool pred_ok = false;
  double pred_s = 0, pred_j = 0, pred_w = 0, pred_clock_mhz = 0;
  double error() const;  // energy (power for idle rows), as a fraction
};
// Reads calibration.csv, or holdout.csv with `holdout` (read once per reported model change).
// Cases the op set cannot express (a reduction, a fill) are left out.
std::vector<EnergyRow> load_energy_dataset(const std::string& dir, bool holdout);
void predict_energy_rows(Device& device, std::vector<EnergyRow>& rows);
double energy_objective(const std::vector<EnergyRow>& rows);
void print_energy_rows(std::ostream& out, const std::vector<EnergyRow>& rows,
                       const std::string& title);

// Die area (validate_area.cpp): the first-order model (arch/area.h) of every hardware preset
// that gives its die's published area (area.published_mm2), against that figure.
struct AreaRow {
  std::string hw, family;
  AreaBreakdown area;
  double error() const;  // modelled / published - 1
};
// `sets`: overrides (key=value below the hardware root) for every preset with an area model.
std::vector<AreaRow> area_rows(const ConfigStore& store, const std::vector<std::string>& sets = {});
// The area.overhead that makes a die's modelled area equal its published one: the model is
// die = blocks·(1 + overhead) + PHYs + links + uncore, linear in it.
double fit_area_overhead(const AreaBreakdown& b);
void print_area_rows(std::ostream& out, const std::vector<AreaRow>& rows);

}  // namespace xpusim
