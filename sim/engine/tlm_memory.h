// A memory level as a TLM-2.0 target with a bandwidth and a first-byte latency. Transfers are
// serialised on the level's port (busy_until), so concurrent streams share its bandwidth.
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <systemc>
#include <tlm>

#include "sim/engine/engine.h"

namespace xpusim {

class MemoryTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<MemoryTarget> socket;

  MemoryTarget(sc_core::sc_module_name name, const MemLevelSpec& spec)
      : sc_core::sc_module(name), socket("socket"), spec_(spec) {
    socket.register_b_transport(this, &MemoryTarget::b_transport);
  }

  double bytes_moved() const { return bytes_; }
  double busy_s() const { return busy_s_; }

 private:
  // Loosely timed: the initiator does not wait here; `delay` returns when the last byte arrives.
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
    const double bytes = static_cast<double>(p.get_data_length());
    const sc_core::sc_time arrive = sc_core::sc_time_stamp() + delay;
    const sc_core::sc_time start = arrive > busy_until_ ? arrive : busy_until_;
    const sc_core::sc_time xfer(bytes / spec_.bw_bytes_per_s, sc_core::SC_SEC);
    busy_until_ = start + xfer;
    delay =
        busy_until_ + sc_core::sc_time(spec_.latency_s, sc_core::SC_SEC) - sc_core::sc_time_stamp();
    bytes_ += bytes;
    busy_s_ += xfer.to_seconds();
    p.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  MemLevelSpec spec_;
  sc_core::sc_time busy_until_ = sc_core::SC_ZERO_TIME;
  double bytes_ = 0;
  double busy_s_ = 0;
};

// Reads `bytes` through an initiator socket without waiting (loosely timed), split into
// transactions that fit TLM's 32-bit lengths, and returns when the last byte arrives (seconds).
// `scratch` is the data pointer TLM requires; timing models move no data.
template <class Socket>
double tlm_read(Socket& port, double bytes, unsigned char* scratch, uint64_t& transactions) {
  constexpr double kMaxTransactionBytes = 1u << 30;
  double done = sc_core::sc_time_stamp().to_seconds();
  while (bytes > 0) {
    const double chunk = std::min(bytes, kMaxTransactionBytes);
    bytes -= chunk;
    tlm::tlm_generic_payload p;
    p.set_command(tlm::TLM_READ_COMMAND);
    p.set_address(0);
    p.set_data_ptr(scratch);
    p.set_data_length(static_cast<unsigned>(std::llround(chunk)));
    p.set_streaming_width(1);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    port->b_transport(p, delay);
    ++transactions;
    done = std::max(done, (sc_core::sc_time_stamp() + delay).to_seconds());
  }
  return done;
}

}  // namespace xpusim
