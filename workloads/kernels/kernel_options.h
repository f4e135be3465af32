// Execution options shared by every functional kernel: how many threads to use and which x86
// vector ISA to run (chosen at run time from what the CPU supports). Neither changes a result:
// every ISA path is bit-identical to the scalar one (see gemm.h for why).
#pragma once

#include <cstddef>
#include <string_view>

namespace xpusim::kernels {

// kAuto picks the widest ISA the CPU supports. kAvx512 needs AVX-512 F+BW, kAvx2 needs AVX2+FMA.
enum class Isa { kAuto, kScalar, kAvx2, kAvx512 };

std::string_view isa_name(Isa isa);  // "auto", "scalar", "avx2", "avx512"
Isa best_supported_isa();            // never kAuto
bool isa_supported(Isa isa);         // kAuto and kScalar are always supported
// kAuto -> best_supported_isa(); an unsupported explicit ISA throws std::invalid_argument.
Isa resolve_isa(Isa requested);

struct KernelOptions {
  unsigned num_threads = 0;  // 0: std::thread::hardware_concurrency()
  Isa isa = Isa::kAuto;
};

// 0 -> hardware_concurrency (at least 1).
unsigned resolve_threads(unsigned requested);

}  // namespace xpusim::kernels
