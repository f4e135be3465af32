// A minimal fork-join helper for the kernels: runs n independent tasks on up to `threads`
// std::threads (the caller's thread is one of them), handing out tasks dynamically.
// No pool and no global state: threads live for one call (~20 us each, negligible per GEMM).
#pragma once

#include <cstddef>
#include <functional>

namespace xpusim::kernels::detail {

// Calls fn(task, worker) once for every task in [0, n_tasks); worker is in [0, workers) where
// workers = min(threads, n_tasks), so per-worker scratch can be indexed by it. The first
// exception thrown by any task is rethrown in the caller after every worker has stopped.
void parallel_for(std::size_t n_tasks, unsigned threads,
                  const std::function<void(std::size_t task, unsigned worker)>& fn);

// How many workers parallel_for will use.
unsigned parallel_workers(std::size_t n_tasks, unsigned threads);

}  // namespace xpusim::kernels::detail
