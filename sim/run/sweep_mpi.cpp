#include "sim/run/sweep_mpi.h"

#include <fmt/format.h>

#include <atomic>
#include <boost/mpi.hpp>
#include <boost/serialization/string.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace xpusim {
namespace {

constexpr int kTagWork = 1;    // rank 0 -> worker: a point index, or -1 to stop
constexpr int kTagResult = 2;  // worker -> rank 0: "<index> <rows json>" in one message
constexpr int kTagBeat = 3;    // either way: "I am alive"

using Clock = std::chrono::steady_clock;

// How long the polling loops sleep when no message is waiting.
constexpr auto kPollSleep = std::chrono::milliseconds(1);

}  // namespace

bool sweep_mpi_launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* s = std::getenv(v); s && std::atoi(s) > 1) return true;
  return false;
}

struct SweepMpi::Impl {
  boost::mpi::environment env{boost::mpi::threading::multiple};
  boost::mpi::communicator world;
  std::chrono::duration<double> timeout;
  bool heartbeats = false;  // the MPI library gave the thread level they need
  bool stopped = false;

  // The heartbeat thread and what it beats to (rank 0: the live workers; a worker: rank 0).
  std::mutex mu;
  std::condition_variable cv;
  bool beat_stop = false;
  std::set<int> beat_to;
  std::vector<int> dead;
  std::thread beater;

  explicit Impl(double timeout_s) : timeout(timeout_s) {
    heartbeats = env.thread_level() >= boost::mpi::threading::multiple;
    if (!heartbeats && world.rank() == 0)
      std::cerr << "xpusim sweep: the MPI library does not give thread level 'multiple': "
                   "heartbeats are off, so a rank that dies is not detected\n";
    if (world.rank() == 0)
      for (int r = 1; r < world.size(); ++r) beat_to.insert(r);
    else
      beat_to.insert(0);
    if (heartbeats) beater = std::thread([this] { beat_loop(); });
  }

  ~Impl() { stop_beating(); }

  void beat_loop() {
    const auto period = std::chrono::duration_cast<Clock::duration>(timeout / 8);
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, period, [this] { return beat_stop; })) {
      const std::vector<int> to(beat_to.begin(), beat_to.end());
      lock.unlock();
      for (int r : to) {
        try {
          world.isend(r, kTagBeat, 0);  // never waited on: a dead peer must not block the beats
        } catch (const boost::mpi::exception&) {
        }
      }
      lock.lock();
    }
  }

  void stop_beating() {
    {
      std::lock_guard lock(mu);
      beat_stop = true;
    }
    cv.notify_all();
    if (beater.joinable()) beater.join();
  }

  void bury(int rank) {
    std::lock_guard lock(mu);
    beat_to.erase(rank);
    dead.push_back(rank);
  }

  bool alive(int rank) {
    std::lock_guard lock(mu);
    return beat_to.count(rank) > 0;
  }
};

SweepMpi::SweepMpi(double timeout_s) : impl_(std::make_unique<Impl>(timeout_s)) {}
SweepMpi::~SweepMpi() = default;
int SweepMpi::rank() const { return impl_->world.rank(); }
int SweepMpi::size() const { return impl_->world.size(); }

std::vector<int> SweepMpi::dead_ranks() const {
  std::lock_guard lock(impl_->mu);
  return impl_->dead;
}

int SweepMpi::serve(const ConfigStore& store, const SweepConfig& sweep,
                    const std::string& reference) {
  auto& world = impl_->world;
  SweepPointComputer compute(store, sweep, reference);
  auto heard = Clock::now();
  // Rank 0 silent for the timeout: it is dead, or it took this rank for dead. Either way this
  // rank ends at once, without MPI_Finalize, which would wait on sends rank 0 never receives.
  auto give_up_if_silent = [&] {
    if (!impl_->heartbeats || Clock::now() - heard <= impl_->timeout) return;
    std::cerr << fmt::format(
        "xpusim sweep: MPI rank {}: rank 0 has been silent for {:.0f} s; this rank stops\n",
        world.rank(), impl_->timeout.count());
    std::_Exit(1);
  };
  // Takes one waiting message from rank 0 if there is one: true when it was a beat (or nothing),
  // false when it is work, which is then left for the caller to receive.
  auto take_beat = [&]() -> bool {
    const auto st = world.iprobe(0, boost::mpi::any_tag);
    if (!st) return true;
    heard = Clock::now();
    if (st->tag() != kTagBeat) return false;
    int beat = 0;
    world.recv(0, kTagBeat, beat);
    return true;
  };
  for (;;) {
    if (const auto st = world.iprobe(0, kTagWork); !st) {
      take_beat();
      give_up_if_silent();
      std::this_thread::sleep_for(kPollSleep);
      continue;
    }
    heard = Clock::now();
    long long index = -1;
    world.recv(0, kTagWork, index);
    if (index == -2) {  // a rank died: MPI_Finalize would wait for it (see stop_all)
      impl_->stop_beating();
      std::_Exit(0);
    }
    if (index < 0) break;
    const std::string message = fmt::format("{} {}", index, compute(uint64_t(index)));
    heard = Clock::now();  // rank 0's beats wait in the queue while this rank computes
    // Sent without blocking: a large message waits for rank 0 to receive it, and rank 0 may be
    // gone; meanwhile its beats keep being taken.
    boost::mpi::request sent = world.isend(0, kTagResult, message);
    while (!sent.test()) {
      take_beat();
      give_up_if_silent();
      std::this_thread::sleep_for(kPollSleep);
    }
  }
  impl_->stop_beating();
  return 0;
}

void SweepMpi::stop_all() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // -1: stop and finalize; -2: a rank died, so stop without MPI_Finalize, whose closing fence
  // waits for the dead rank (seen here: ranks 0 and 1 held in it for minutes).
  const long long stop = dead_ranks().empty() ? -1 : -2;
  for (int r = 1; r < impl_->world.size(); ++r)
    if (impl_->alive(r)) impl_->world.send(r, kTagWork, stop);
  impl_->stop_beating();
}

void SweepMpi::end_without_finalize_if_a_rank_died(int status) {
  if (dead_ranks().empty()) return;
  stop_all();
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(status);
}

std::function<void(const std::vector<uint64_t>&, const SweepRunOptions::Done&)>
SweepMpi::dispatcher() {
  return [this](const std::vector<uint64_t>& indices, const SweepRunOptions::Done& done) {
    Impl& m = *impl_;
    auto& world = m.world;
    std::deque<uint64_t> todo(indices.begin(), indices.end());
    std::map<int, uint64_t> busy;     // rank -> the point it computes
    std::map<int, Clock::time_point> heard;  // rank -> when it was last heard (or handed a point)
    std::vector<int> idle;
    auto hand_out = [&](int r) {
      if (todo.empty()) {
        idle.push_back(r);
        return;
      }
      busy[r] = todo.front();
      todo.pop_front();
      heard[r] = Clock::now();
      world.send(r, kTagWork, static_cast<long long>(busy[r]));
    };
    for (int r = 1; r < world.size(); ++r) hand_out(r);
    while (!busy.empty()) {
      if (const auto st = world.iprobe(boost::mpi::any_source, boost::mpi::any_tag)) {
        const int r = st->source();
        if (st->tag() == kTagBeat) {
          int beat = 0;
          world.recv(r, kTagBeat, beat);
        } else {
          std::string message;
          world.recv(r, kTagResult, message);
          const auto it = busy.find(r);
          // A rank taken for dead that speaks again: its point went to another rank already.
          if (!m.alive(r) || it == busy.end()) continue;
          const size_t space = message.find(' ');
          const uint64_t index = std::stoull(message.substr(0, space));
          busy.erase(it);
          hand_out(r);
          done(index, message.substr(space + 1));
        }
        heard[r] = Clock::now();
        continue;
      }
      if (m.heartbeats) {
        const auto now = Clock::now();
        for (auto it = busy.begin(); it != busy.end();) {
          if (now - heard[it->first] <= m.timeout) {
            ++it;
            continue;
          }
          std::cerr << fmt::format(
              "xpusim sweep: MPI rank {} sent nothing for {:.0f} s; it is taken for dead and its "
              "point {} is handed out again\n",
              it->first, m.timeout.count(), it->second);
          m.bury(it->first);
          todo.push_front(it->second);
          it = busy.erase(it);
          if (!idle.empty()) {
            const int r = idle.back();
            idle.pop_back();
            hand_out(r);
          }
        }
      }
      std::this_thread::sleep_for(kPollSleep);
    }
    stop_all();
    if (!todo.empty())
      throw std::runtime_error(fmt::format(
          "{} sweep point{} not computed: every MPI worker rank died (what was computed is in "
          "the store; --resume continues)",
          todo.size(), todo.size() == 1 ? " was" : "s were"));
  };
}

}  // namespace xpusim
