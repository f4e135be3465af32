// A memory level (or link) as a TLM-2.0 target with a bandwidth, a first-byte latency and a
// bounded request queue. Transfers are serialised on the level's port (busy_until), so concurrent
// streams share its bandwidth; a request that finds `queue_depth` requests still in flight is
// accepted only when the oldest completes, so a small queue over a long latency caps throughput
// at queue_depth x request size / latency (Little's law).
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <algorithm>
#include <deque>
#include <systemc>
#include <tlm>

#include "sim/engine/engine.h"
#include "sim/engine/trace.h"

namespace xpusim {

class MemoryTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<MemoryTarget> socket;

  MemoryTarget(sc_core::sc_module_name name, const MemLevelSpec& spec)
      : sc_core::sc_module(name), socket("socket"), spec_(spec) {
    socket.register_b_transport(this, &MemoryTarget::b_transport);
  }

  const MemLevelSpec& spec() const { return spec_; }
  double bytes_moved() const { return bytes_; }
  double busy_s() const { return busy_s_; }
  double queue_wait_s() const { return queue_wait_s_; }
  uint64_t transactions() const { return transactions_; }
  // Records this level's busy intervals and bandwidth in use into `trace` (as device `device`).
  void trace_into(EngineTrace* trace, int device, const std::string& track) {
    recorder_ = LevelTraceRecorder(trace, device, track, spec_.bw_bytes_per_s);
  }
  void flush_trace() { recorder_.flush(); }  // after sc_start returns

 private:
  // Loosely timed: the initiator does not wait here; `delay` returns when the last byte arrives.
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
    const double bytes = static_cast<double>(p.get_data_length());
    const sc_core::sc_time arrive = sc_core::sc_time_stamp() + delay;
    sc_core::sc_time accept = arrive;
    while (!in_flight_.empty() && in_flight_.front() <= accept) in_flight_.pop_front();
    if (spec_.queue_depth > 0 && int(in_flight_.size()) >= spec_.queue_depth) {
      accept = in_flight_.front();  // completions are in order: the oldest frees a slot
      in_flight_.pop_front();
      queue_wait_s_ += (accept - arrive).to_seconds();
    }
    const sc_core::sc_time start = accept > busy_until_ ? accept : busy_until_;
    const sc_core::sc_time xfer(bytes / spec_.bw_bytes_per_s, sc_core::SC_SEC);
    busy_until_ = start + xfer;
    recorder_.busy(start.to_seconds(), busy_until_.to_seconds());
    const sc_core::sc_time done = busy_until_ + sc_core::sc_time(spec_.latency_s, sc_core::SC_SEC);
    if (spec_.queue_depth > 0) in_flight_.push_back(done);
    delay = done - sc_core::sc_time_stamp();
    bytes_ += bytes;
    busy_s_ += xfer.to_seconds();
    ++transactions_;
    p.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  MemLevelSpec spec_;
  LevelTraceRecorder recorder_{nullptr, 0, "", 0};
  sc_core::sc_time busy_until_ = sc_core::SC_ZERO_TIME;
  std::deque<sc_core::sc_time> in_flight_;  // completion times of accepted requests
  double bytes_ = 0;
  double busy_s_ = 0;
  double queue_wait_s_ = 0;
  uint64_t transactions_ = 0;
};

// Reads `bytes` through an initiator socket without waiting (loosely timed) as `requests` equal
// requests (each further split to fit TLM's 32-bit lengths) that reach the target
// `start_delay_s` from now, and returns when the last byte arrives (seconds). `scratch` is the data pointer TLM requires; timing models move no data.
template <class Socket>
double tlm_read(Socket& port, double bytes, unsigned char* scratch, uint64_t& transactions,
                int requests = 1, double start_delay_s = 0) {
  constexpr double kMaxTransactionBytes = 1u << 30;
  const double request = bytes / double(std::max(1, requests));
  double done = sc_core::sc_time_stamp().to_seconds();
  while (bytes > 0) {
    const double chunk = std::min({bytes, request, kMaxTransactionBytes});
    bytes -= chunk;
    tlm::tlm_generic_payload p;
    p.set_command(tlm::TLM_READ_COMMAND);
    p.set_address(0);
    p.set_data_ptr(scratch);
    p.set_data_length(static_cast<unsigned>(std::llround(chunk)));
    p.set_streaming_width(1);
    sc_core::sc_time delay(start_delay_s, sc_core::SC_SEC);
    port->b_transport(p, delay);
    ++transactions;
    done = std::max(done, (sc_core::sc_time_stamp() + delay).to_seconds());
  }
  return done;
}

}  // namespace xpusim
