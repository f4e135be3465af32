// Which unit of a device runs an operator, at what peak rate: the matrix unit's lookup that the
// CPU and TPU models share.
#pragma once

#include <string>

#include "arch/dtype_rates.h"
#include "arch/unit.h"
#include "workloads/op.h"

namespace xpusim {

struct UnitChoice {
  bool ok = true;
  std::string reason;      // why no unit can run the op (when !ok)
  UnitUse unit;            // the unit and how the op uses it
  double flops_per_s = 0;  // its peak rate for this op's format
};

// The matrix unit's peak rate for a GEMM or attention op. Formats without a unit of their own
// fall back as deployed kernels do: int4 weights are dequantised and run at the bf16 rate.
UnitChoice matrix_unit(const DtypeRates& rates, const Op& op, double clocks_per_s,
                       ComputeUnit unit);

}  // namespace xpusim
