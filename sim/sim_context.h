// A fresh SystemC simulation context for one run. Construct before building modules, destroy
// the modules, then let this go: no time, event or module leaks into the next run.
#pragma once

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

}  // namespace xpusim
