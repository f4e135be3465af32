#include "sim/run/sweep_mpi.h"

#include <boost/mpi.hpp>
#include <boost/serialization/string.hpp>
#include <cstdlib>
#include <deque>

namespace xpusim {
namespace {

constexpr int kTagWork = 1;    // rank 0 -> worker: a point index, or -1 to stop
constexpr int kTagResult = 2;  // worker -> rank 0: index, then rows

}  // namespace

bool sweep_mpi_launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* s = std::getenv(v); s && std::atoi(s) > 1) return true;
  return false;
}

struct SweepMpi::Impl {
  boost::mpi::environment env;
  boost::mpi::communicator world;
  bool stopped = false;
};

SweepMpi::SweepMpi() : impl_(std::make_unique<Impl>()) {}
SweepMpi::~SweepMpi() = default;
int SweepMpi::rank() const { return impl_->world.rank(); }
int SweepMpi::size() const { return impl_->world.size(); }

void SweepMpi::serve(const ConfigStore& store, const SweepConfig& sweep,
                     const std::string& reference) {
  SweepPointComputer compute(store, sweep, reference);
  for (;;) {
    long long index = -1;
    impl_->world.recv(0, kTagWork, index);
    if (index < 0) return;
    const std::string rows = compute(uint64_t(index));
    impl_->world.send(0, kTagResult, index);
    impl_->world.send(0, kTagResult, rows);
  }
}

void SweepMpi::stop_all() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  for (int r = 1; r < impl_->world.size(); ++r) impl_->world.send(r, kTagWork, -1LL);
}

std::function<void(const std::vector<uint64_t>&, const SweepRunOptions::Done&)>
SweepMpi::dispatcher() {
  return [this](const std::vector<uint64_t>& indices, const SweepRunOptions::Done& done) {
    auto& world = impl_->world;
    std::deque<uint64_t> todo(indices.begin(), indices.end());
    int busy = 0;
    for (int r = 1; r < world.size() && !todo.empty(); ++r) {
      world.send(r, kTagWork, static_cast<long long>(todo.front()));
      todo.pop_front();
      ++busy;
    }
    while (busy > 0) {
      long long index = -1;
      const boost::mpi::status st = world.recv(boost::mpi::any_source, kTagResult, index);
      std::string rows;
      world.recv(st.source(), kTagResult, rows);
      --busy;
      if (!todo.empty()) {
        world.send(st.source(), kTagWork, static_cast<long long>(todo.front()));
        todo.pop_front();
        ++busy;
      }
      done(uint64_t(index), rows);
    }
    stop_all();
  };
}

}  // namespace xpusim
