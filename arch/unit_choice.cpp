// The matrix unit's rate lookup shared by the CPU and TPU models.
#include "arch/unit_choice.h"

#include <fmt/format.h>

namespace xpusim {

UnitChoice matrix_unit(const DtypeRates& rates, const Op& op, double clocks_per_s,
                       ComputeUnit unit) {
  UnitChoice u;
  u.unit = {unit};
  double per_clk = rates.per_clk(op.dtype);
  if (per_clk == 0 && op.dtype == DType::kInt4 && rates.bf16 > 0) {
    per_clk = rates.bf16;
    u.unit = {unit, UnitPath::kInt4AsBf16};
  }
  if (per_clk == 0) {
    u.ok = false;
    u.reason =
        fmt::format("the {} has no {} datapath", compute_unit_name(unit), dtype_name(op.dtype));
    return u;
  }
  if (op.kind == OpKind::kGemm && op.wformat == WeightFormat::kSparse24 && rates.sparse_2_4)
    per_clk *= 2;
  u.flops_per_s = per_clk * clocks_per_s;
  return u;
}

}  // namespace xpusim
