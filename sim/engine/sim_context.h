// A fresh SystemC simulation context for one run. Construct before building modules, destroy
// the modules, then let this go: no time, event or module leaks into the next run.
#pragma once

#include <functional>

namespace sc_core {
class sc_simcontext;
}

namespace xpusim {

class SimContext {
 public:
  SimContext();
  ~SimContext();
  SimContext(const SimContext&) = delete;
  SimContext& operator=(const SimContext&) = delete;

 private:
  sc_core::sc_simcontext* ctx_;
  sc_core::sc_simcontext* prev_curr_;
  sc_core::sc_simcontext* prev_default_;
};

// Runs `build_and_start` (build the modules, call sc_start, destroy the modules) in a fresh
// context on a short-lived thread of its own, and rethrows what it throws. SystemC's coroutines
// switch stacks without telling AddressSanitizer, which afterwards mistakes the running thread's
// stack bounds and reports false errors at that thread's next C++ throw; the extra thread keeps
// the caller's clean. Runs stay strictly one at a time (SystemC's kernel is global).
void run_simulation(const std::function<void()>& build_and_start);

}  // namespace xpusim
