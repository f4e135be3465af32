// Peak arithmetic rate of a unit per number format, in FLOP (or integer OP) per clock for the
// whole unit group it describes; 0 means the hardware has no unit for that format.
#pragma once

#include <fmt/format.h>

#include <string>

#include "sim/config/schema.h"
#include "workloads/dtype.h"

namespace xpusim {

struct DtypeRates {
  double fp32 = 0, tf32 = 0, bf16 = 0, fp16 = 0, fp8 = 0, int8 = 0, int4 = 0;
  bool sparse_2_4 = false;  // 2:4 structured sparsity doubles the rate
  double per_clk(DType d) const;
};

// Declares <prefix>.{fp32,tf32,bf16,fp16,fp8,int8,int4}_per_clk and <prefix>.sparse_2_4 once for
// every family that has such a table.
template <class Cfg, class... M>
void declare_rates(Schema<Cfg>& s, const std::string& prefix, const std::string& what, M... path) {
  auto add = [&](const char* fmt_name, double DtypeRates::*field) {
    s.real(fmt::format("{}.{}_per_clk", prefix, fmt_name), "0", Range{0, 1e7},
           fmt::format("{}: {} operations per clock (multiply-add = 2); 0 = no unit for {}", what,
                       fmt_name, fmt_name),
           path..., field);
  };
  add("fp32", &DtypeRates::fp32);
  add("tf32", &DtypeRates::tf32);
  add("bf16", &DtypeRates::bf16);
  add("fp16", &DtypeRates::fp16);
  add("fp8", &DtypeRates::fp8);
  add("int8", &DtypeRates::int8);
  add("int4", &DtypeRates::int4);
  s.boolean(prefix + ".sparse_2_4", "false",
            what + ": runs 2:4 structured-sparse operands at twice the dense rate", path...,
            &DtypeRates::sparse_2_4);
}

}  // namespace xpusim
