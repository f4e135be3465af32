// Sweeps over MPI (Boost.MPI on OpenMPI): `mpirun -np N xpusim sweep FILE`. Rank 0 resolves the
// points, hands them out one at a time as ranks become free, and is the only writer of the store;
// ranks 1..N-1 compute the points they are given and send their rows back. Under mpirun a rank
// that dies ends the job (OpenMPI's default): what rank 0 committed stays, and --resume continues.
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
  SweepMpi();  // initialises MPI
  ~SweepMpi();
  int rank() const;
  int size() const;
  // Ranks above 0: serve points until rank 0 says stop.
  void serve(const ConfigStore& store, const SweepConfig& sweep, const std::string& reference);
  // Rank 0: the dispatcher for SweepRunOptions::dispatch; tells every rank to stop when done.
  std::function<void(const std::vector<uint64_t>&, const SweepRunOptions::Done&)> dispatcher();
  // Rank 0, when it has nothing to hand out (or failed): tells the other ranks to stop.
  void stop_all();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xpusim
