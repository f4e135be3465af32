// Swaps SystemC's global context pointers for a private context per run.
#include "sim/engine/sim_context.h"

#include <cstdlib>
#include <exception>
#include <systemc>
#include <thread>

namespace xpusim {

SimContext::SimContext() {
  // The banner would otherwise go to stdout, which carries results.
  setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  prev_curr_ = sc_core::sc_curr_simcontext;
  prev_default_ = sc_core::sc_default_global_context;
  ctx_ = new sc_core::sc_simcontext;
  sc_core::sc_curr_simcontext = ctx_;
  sc_core::sc_default_global_context = ctx_;
  // Warnings and infos from the kernel are not results; errors still throw.
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DO_NOTHING);
}

SimContext::~SimContext() {
  delete ctx_;
  sc_core::sc_curr_simcontext = prev_curr_;
  sc_core::sc_default_global_context = prev_default_;
}

void run_simulation(const std::function<void()>& build_and_start) {
  std::exception_ptr failure;
  std::thread runner([&] {
    try {
      SimContext context;
      build_and_start();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  runner.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace xpusim
