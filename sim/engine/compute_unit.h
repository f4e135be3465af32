// A compute unit that consumes tiles from a bounded buffer: it waits until a tile's operands have
// arrived, then is busy for the tile's compute time. One event pair per tile, never per cycle.
#pragma once

#include <systemc>

namespace xpusim {

struct Tile {
  size_t op = 0;
  double ready_at_s = 0;  // when its operands are in the buffer
  double compute_s = 0;
  bool last = false;
};

// sc_fifo prints its contents in debug dumps, so a tile must be printable.
inline std::ostream& operator<<(std::ostream& os, const Tile& t) {
  return os << "tile(op " << t.op << ", ready " << t.ready_at_s << " s, compute " << t.compute_s
            << " s)";
}

class ComputeUnit : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<Tile> in;
  sc_core::sc_event op_done;
  double last_done_s = 0;
  double busy_s = 0;

  SC_HAS_PROCESS(ComputeUnit);
  explicit ComputeUnit(sc_core::sc_module_name name) : sc_core::sc_module(name) { SC_THREAD(run); }

 private:
  void run() {
    while (true) {
      Tile t = in.read();
      const double now = sc_core::sc_time_stamp().to_seconds();
      if (t.ready_at_s > now) wait(sc_core::sc_time(t.ready_at_s - now, sc_core::SC_SEC));
      if (t.compute_s > 0) wait(sc_core::sc_time(t.compute_s, sc_core::SC_SEC));
      busy_s += t.compute_s;
      if (t.last) {
        last_done_s = sc_core::sc_time_stamp().to_seconds();
        op_done.notify(sc_core::SC_ZERO_TIME);
      }
    }
  }
};

}  // namespace xpusim
