// Rate lookup per number format.
#include "arch/dtype_rates.h"

namespace xpusim {

double DtypeRates::per_clk(DType d) const {
  switch (d) {
    case DType::kFp32:
      return fp32;
    case DType::kTf32:
      return tf32;
    case DType::kBf16:
      return bf16;
    case DType::kFp16:
      return fp16;
    case DType::kFp8:
      return fp8;
    case DType::kInt8:
      return int8;
    case DType::kInt4:
      return int4;
  }
  return 0;
}

}  // namespace xpusim
