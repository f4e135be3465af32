// Fork-join task loop on std::thread with an atomic task counter (dynamic scheduling, so
// uneven tasks such as causal-attention rows balance themselves).
#include "workloads/kernels/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace xpusim::kernels::detail {

unsigned parallel_workers(std::size_t n_tasks, unsigned threads) {
  return static_cast<unsigned>(
      std::min<std::size_t>(std::max(1u, threads), std::max<std::size_t>(1, n_tasks)));
}

void parallel_for(std::size_t n_tasks, unsigned threads,
                  const std::function<void(std::size_t, unsigned)>& fn) {
  if (n_tasks == 0) return;
  const unsigned workers = parallel_workers(n_tasks, threads);
  if (workers == 1) {
    for (std::size_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](unsigned worker) {
    try {
      for (std::size_t t = next.fetch_add(1);
           t < n_tasks && !failed.load(std::memory_order_relaxed); t = next.fetch_add(1))
        fn(t, worker);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (unsigned w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace xpusim::kernels::detail
