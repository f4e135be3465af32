// Operator-level prediction: rows of a CSV (kind=gemm|attention|elementwise|collective with their
// shape columns) are timed on one device; the input columns come back with pred_* columns added.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "arch/device.h"
#include "sim/base/csv.h"
#include "sim/run/op_cache.h"

namespace xpusim {

// Builds one Op per row. Throws ConfigError listing every bad value as file:line:col.
std::vector<Op> ops_from_csv(const CsvTable& table);

// Returns the output table: the input header plus pred_ms, pred_cycles, pred_energy_j, bound
// and pred_error (empty unless the device cannot run the row).
// `progress(done, total)` is called after each row when given.
std::vector<std::vector<std::string>> predict_table(
    Device& device, OpCache& cache, const CsvTable& table,
    const std::function<void(size_t, size_t)>& progress = {});

}  // namespace xpusim
