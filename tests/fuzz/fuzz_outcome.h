// What a fuzz input may end in: a result, or the user-facing error the code documents
// (ConfigError, of which WeightsError is one). Any other exception (std::logic_error from
// XPUSIM_ASSERT is a bug) is printed and aborts, so that libFuzzer records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <typeinfo>

#include "sim/base/errors.h"

namespace xpusim::fuzz {

template <class Fn>
void expect_result_or_user_error(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    if (e.issues().empty()) {
      std::fprintf(stderr, "fuzz: ConfigError without an issue: %s\n", e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: unexpected %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

// A broken property of a result (not of the input): a bug.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace xpusim::fuzz
