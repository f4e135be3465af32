// Sweeps over MPI (Boost.MPI on OpenMPI): `mpirun -np N xpusim sweep FILE`. Rank 0 resolves the
// points, hands them out one at a time as ranks become free, and is the only writer of the store;
// ranks 1..N-1 compute the points they are given and send their rows back.
//
// Dead ranks. Every rank sends a heartbeat each `timeout / 8` seconds from a thread of its own
// (workers to rank 0, rank 0 to every live worker), so a rank that is computing a long point is
// still heard. A worker that rank 0 has not heard from for `timeout` seconds is dead: its point in
// flight goes back to the queue and is handed to another rank, and anything it sends later is
// dropped, so nothing is lost or stored twice. A worker that has not heard from rank 0 for
// `timeout` seconds ends at once (std::_Exit, so that MPI_Finalize does not wait on a send rank 0
// will never receive). This needs the job to outlive a dead rank: under
// OpenMPI's default a rank that dies ends the whole job (what rank 0 committed stays, and --resume
// continues); `mpirun --enable-recovery` keeps the other ranks running.
#pragma once

#include <string>

#include "sim/config/config_store.h"
#include "sim/run/sweep_runner.h"

namespace xpusim {

// True when this process was started by mpirun with more than one rank (the environment says so;
// MPI is not initialised otherwise).
bool sweep_mpi_launched();

class SweepMpi {
 public:
  // Initialises MPI (thread level `multiple`, which the heartbeats need; without it they are off
  // and a dead rank is not detected). `timeout_s` > 0.
  explicit SweepMpi(double timeout_s = 30);
  ~SweepMpi();
  int rank() const;
  int size() const;
  // Ranks above 0: serve points until rank 0 says stop (returns 0). When rank 0 has been silent
  // for the timeout the process says so on stderr and ends at once with status 1.
  int serve(const ConfigStore& store, const SweepConfig& sweep, const std::string& reference);
  // Rank 0: the dispatcher for SweepRunOptions::dispatch; tells every rank to stop when done.
  std::function<void(const std::vector<uint64_t>&, const SweepRunOptions::Done&)> dispatcher();
  // Rank 0, when it has nothing to hand out (or failed): tells the live ranks to stop.
  void stop_all();
  // Rank 0, when its work is done and the store closed: if a worker rank died, stops the others
  // and ends this process with `status` without MPI_Finalize (its fence would wait for the dead
  // rank); otherwise returns, and MPI finalizes as usual.
  void end_without_finalize_if_a_rank_died(int status);
  // Worker ranks rank 0 found dead, in the order it found them.
  std::vector<int> dead_ranks() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xpusim
