// CPU feature detection for the kernels' run-time ISA dispatch, and thread-count defaults.
// Detection uses GCC's __builtin_cpu_supports, which also checks that the OS saves the wide
// vector registers (XCR0), so a listed ISA is safe to execute.
#include "workloads/kernels/kernel_options.h"

#include <stdexcept>
#include <string>
#include <thread>

namespace xpusim::kernels {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAuto:
      return "auto";
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

bool isa_supported(Isa isa) {
#if defined(__x86_64__) && defined(__GNUC__)
  switch (isa) {
    case Isa::kAuto:
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             isa_supported(Isa::kAvx2);
  }
  return false;
#else
  return isa == Isa::kAuto || isa == Isa::kScalar;
#endif
}

Isa best_supported_isa() {
  static const Isa best = isa_supported(Isa::kAvx512) ? Isa::kAvx512
                          : isa_supported(Isa::kAvx2) ? Isa::kAvx2
                                                      : Isa::kScalar;
  return best;
}

Isa resolve_isa(Isa requested) {
  if (requested == Isa::kAuto) return best_supported_isa();
  if (!isa_supported(requested))
    throw std::invalid_argument("kernels: this CPU does not support the " +
                                std::string(isa_name(requested)) + " instruction set");
  return requested;
}

unsigned resolve_threads(unsigned requested) {
  if (requested != 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

}  // namespace xpusim::kernels
