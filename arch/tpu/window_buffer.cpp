// SCALE-Sim v2's USER-mode buffers replayed for one GEMM (see window_buffer.h).
#include "arch/tpu/window_buffer.h"

#include <algorithm>
#include <deque>

#include "sim/base/errors.h"

namespace xpusim {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The shape of one dataflow's operand matrices and demands (systolic_compute_{ws,os,is}.py).
struct Layout {
  Dataflow df;
  int64_t R, C, M, K, N;
  int64_t sr, sc, t, row_folds, col_folds, fold_rows;

  Layout(const SystolicArray& a, int64_t m, int64_t k, int64_t n)
      : df(a.dataflow), R(a.rows), C(a.cols), M(m), K(k), N(n) {
    switch (df) {
      case Dataflow::kWs:
        sr = K, sc = N, t = M, fold_rows = 2 * R + C + M - 2;
        break;
      case Dataflow::kOs:
        sr = M, sc = N, t = K, fold_rows = R + C + K - 2;
        break;
      case Dataflow::kIs:
        sr = K, sc = M, t = N, fold_rows = 2 * R + C + N - 2;
        break;
    }
    row_folds = ceil_div(sr, R), col_folds = ceil_div(sc, C);
  }
  int64_t x(int64_t m, int64_t k) const { return m * K + k; }  // ifmap element id
  int64_t w(int64_t k, int64_t n) const { return k * N + n; }  // filter element id

  // The prefetch matrix of operand `op` (0 ifmap, 1 filter): rows, columns, whether it is rolled
  // out along anti-diagonals, and its element at (i, j) (-1 = padding).
  struct Prefetch {
    int64_t rows, cols;
    bool diagonal;
  };
  Prefetch prefetch(int op) const {
    switch (df) {
      case Dataflow::kWs:
        return op == 0 ? Prefetch{row_folds * M, R, true} : Prefetch{col_folds * K, C, false};
      case Dataflow::kOs:
        return op == 0 ? Prefetch{row_folds * K, R, true} : Prefetch{col_folds * K, C, true};
      case Dataflow::kIs:
        return op == 0 ? Prefetch{col_folds * K, C, false} : Prefetch{row_folds * N, R, true};
    }
    return {0, 0, false};
  }
  int64_t prefetch_at(int op, int64_t i, int64_t j) const {
    switch (df) {
      case Dataflow::kWs:
        if (op == 0) {
          const int64_t fr = i / M, m = i % M, k = fr * R + j;
          return k < K ? x(m, k) : -1;
        } else {
          const int64_t fc = i / K, k = i % K, n = fc * C + j;
          return n < N ? w(k, n) : -1;
        }
      case Dataflow::kOs:
        if (op == 0) {
          const int64_t fr = i / K, k = i % K, m = fr * R + j;
          return m < M ? x(m, k) : -1;
        } else {
          const int64_t fc = i / K, k = i % K, n = fc * C + j;
          return n < N ? w(k, n) : -1;
        }
      case Dataflow::kIs:
        if (op == 0) {
          const int64_t fc = i / K, k = i % K, m = fc * C + j;
          return m < M ? x(m, k) : -1;
        } else {
          const int64_t fr = i / N, n = i % N, k = fr * R + j;
          return k < K ? w(k, n) : -1;
        }
    }
    return -1;
  }

  // Fold (fc, fr), row r: the operand's demanded element ids in column order.
  template <class F>
  void demand(int op, int64_t fc, int64_t fr, int64_t r, F&& f) const {
    switch (df) {
      case Dataflow::kWs:
        if (op == 0) {  // skewed [R empty; X block T x R; C-1 empty]: m = r - j - R
          for (int64_t j = std::max<int64_t>(0, r - R - (M - 1)); j <= std::min(R - 1, r - R); ++j)
            if (fr * R + j < K) f(x(r - j - R, fr * R + j));
        } else if (r < R) {  // W block rows reversed
          const int64_t k = fr * R + (R - 1 - r);
          if (k < K)
            for (int64_t j = 0; j < C && fc * C + j < N; ++j) f(w(k, fc * C + j));
        }
        break;
      case Dataflow::kOs:
        if (op == 0) {  // skewed [X^T block K x R; C-1 empty]: k = r - j
          for (int64_t j = std::max<int64_t>(0, r - (K - 1)); j <= std::min(R - 1, r); ++j)
            if (fr * R + j < M) f(x(fr * R + j, r - j));
        } else {  // skewed [W block K x C; R-1 empty]: k = r - j
          for (int64_t j = std::max<int64_t>(0, r - (K - 1)); j <= std::min(C - 1, r); ++j)
            if (fc * C + j < N) f(w(r - j, fc * C + j));
        }
        break;
      case Dataflow::kIs:
        if (op == 0) {
          if (r < R) {  // X^T block rows reversed
            const int64_t k = fr * R + (R - 1 - r);
            if (k < K)
              for (int64_t j = 0; j < C && fc * C + j < M; ++j) f(x(fc * C + j, k));
          }
        } else {  // skewed [R empty; W^T block N x R; C-1 empty]: n = r - j - R
          for (int64_t j = std::max<int64_t>(0, r - R - (N - 1)); j <= std::min(R - 1, r - R); ++j)
            if (fr * R + j < K) f(w(fr * R + j, r - j - R));
        }
        break;
    }
  }

  // Fold (fc, fr), row r: results written (the ofmap demand's valid entries).
  int64_t writes(int64_t fc, int64_t fr, int64_t r) const {
    int64_t lag = 0, len = 0, cols = 0;  // row r holds block rows r - j - lag, j < cols
    switch (df) {
      case Dataflow::kWs:
        lag = 2 * R - 1, len = M, cols = std::min(C, N - fc * C);
        break;
      case Dataflow::kOs: {
        // Block rows are the fold's R rows reversed; only the first min(R, M - fr R) of the
        // original are results, which after the flip are the last ones.
        lag = K - 1, cols = std::min(C, N - fc * C);
        const int64_t used = std::min(R, M - fr * R);
        const int64_t lo = std::max<int64_t>(0, r - lag - (R - 1)),
                      hi = std::min(cols - 1, r - lag);
        int64_t n = 0;
        for (int64_t j = lo; j <= hi; ++j) n += (r - j - lag) >= R - used;
        return n;
      }
      case Dataflow::kIs:
        lag = 2 * R - 1, len = N, cols = std::min(C, M - fc * C);
        break;
    }
    const int64_t lo = std::max<int64_t>(0, r - lag - (len - 1)), hi = std::min(cols - 1, r - lag);
    return std::max<int64_t>(0, hi - lo + 1);
  }
};

class ReadBuffer {
 public:
  ReadBuffer(const Layout& lay, int op, int64_t size, int64_t bw) : bw_(bw) {
    const int64_t elems = op == 0 ? lay.M * lay.K : lay.K * lay.N;
    const int64_t per_set = ceil_div(size, 100);
    const int64_t active = ceil_div(size, 2), prefetch = size - active;
    // The prefetch order, valid elements only, cut into sets.
    const auto pf = lay.prefetch(op);
    // Every element appears once in the prefetch order; SCALE-Sim always closes a last
    // (possibly empty) set.
    lines_ = elems / per_set + 1;
    active_ = std::min(ceil_div(active, per_set), lines_);
    step_ = std::min(ceil_div(prefetch, per_set), lines_ - active_);
    // The first fill: the active half, whole lines of bw words, at most the whole fetch matrix.
    first_fill_ = std::min(ceil_div(active, bw), ceil_div(pf.rows * pf.cols, bw)) * bw;
    step_lines_ = ceil_div(prefetch, bw);
    if (active_ == lines_) return;  // the window holds the whole operand: no map needed
    set_of_.assign(size_t(elems), 0);
    int64_t valid = 0;
    auto take = [&](int64_t i, int64_t j) {
      const int64_t e = lay.prefetch_at(op, i, j);
      if (e >= 0) set_of_[size_t(e)] = int32_t(valid++ / per_set);
    };
    if (pf.diagonal) {
      for (int64_t d = 0; d < pf.rows + pf.cols - 1; ++d)
        for (int64_t i = std::min(d, pf.rows - 1); i >= std::max<int64_t>(0, d - pf.cols + 1); --i)
          take(i, d - i);
    } else {
      for (int64_t i = 0; i < pf.rows; ++i)
        for (int64_t j = 0; j < pf.cols; ++j) take(i, j);
    }
    XPUSIM_ASSERT(valid == elems, "each operand element is in the prefetch order once");
  }

  // Services one row's addresses at `cycle`; returns the stall (cycles past cycle + 1).
  template <class Each>
  int64_t row(int64_t cycle, Each&& each) {
    stepped_ = 0;
    if (active_ == lines_) return 0;  // the whole operand is in the window: every demand hits
    int64_t offset = 1;
    each([&](int64_t e) {
      const int64_t s = set_of_[size_t(e)];
      for (;;) {
        int64_t rel = s - start_;
        if (rel < 0) rel += lines_;
        if (rel < active_) break;
        start_ += step_;
        if (start_ >= lines_) start_ -= lines_;
        last_ += step_lines_ + 1;
        ++steps_, ++stepped_;
        offset = std::max(offset, last_ - cycle);
      }
    });
    return offset - 1;
  }
  bool all_hits() const { return active_ == lines_; }
  int64_t stepped() const { return stepped_; }  // steps the last row made
  int64_t steps() const { return steps_; }
  int64_t step_words() const { return step_lines_ * bw_; }
  int64_t first_fill() const { return first_fill_; }

 private:
  std::vector<int32_t> set_of_;
  int64_t bw_ = 1, lines_ = 1, active_ = 1, step_ = 0, start_ = 0;
  int64_t step_lines_ = 0, first_fill_ = 0;
  int64_t last_ = -1;  // the cycle the latest transfer completes (the first fill: before 0)
  int64_t steps_ = 0, stepped_ = 0;
};

class WriteBuffer {
 public:
  WriteBuffer(int64_t size, int64_t bw)
      : total_(size), active_(ceil_div(size, 2)), drain_(size - ceil_div(size, 2)), bw_(bw) {
    free_ = total_;
  }
  // Stores `n` results at `cycle`; returns the stall. `drained` gets the words of a drain this
  // row started (0 if none).
  int64_t row(int64_t cycle, int64_t n, int64_t* drained) {
    int64_t current = cycle;
    *drained = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (++line_ == bw_) lines_.push_back(bw_), line_ = 0;
      --free_;
      if (current < drain_end_) {
        if (free_ <= 0) current = drain_end_;
      } else if (free_ < active_) {
        *drained += start_drain(current);
      }
    }
    return current - cycle;
  }
  // What is left after the last row drains (SCALE-Sim counts it, outside the total).
  int64_t drain_rest(int64_t cycle) {
    int64_t words = 0;
    close_line();
    while (!lines_.empty()) {
      words += start_drain(cycle);
      cycle = drain_end_ + 1;
    }
    return words;
  }
  int64_t words() const { return words_; }

 private:
  void close_line() {
    if (line_ > 0) lines_.push_back(line_), line_ = 0;
  }
  int64_t start_drain(int64_t cycle) {
    close_line();
    const int64_t n = std::min<int64_t>(ceil_div(drain_, bw_), int64_t(lines_.size()));
    // SCALE-Sim counts whole lines, less the padding of the last one only.
    const int64_t words = n * bw_ - (bw_ - lines_[size_t(n - 1)]);
    lines_.erase(lines_.begin(), lines_.begin() + n);
    free_ += words;
    words_ += words;
    drain_end_ = cycle + n - 1;
    return words;
  }
  int64_t total_, active_, drain_, bw_;
  int64_t free_ = 0, line_ = 0, drain_end_ = 0, words_ = 0;
  std::deque<int64_t> lines_;
};

}  // namespace

double window_demand(const SystolicArray& a, int64_t M, int64_t K, int64_t N) {
  const FoldPlan p = plan_folds({a.rows, a.cols, a.dataflow, 1}, M, K, N);
  return p.ifmap_words + p.filter_words + double(p.compute_cycles);
}

WindowRun run_window_buffers(const SystolicArray& a, int64_t M, int64_t K, int64_t N,
                             const WindowBufferSpec& spec) {
  XPUSIM_ASSERT(M >= 1 && K >= 1 && N >= 1 && a.rows >= 1 && a.cols >= 1, "GEMM on an array");
  XPUSIM_ASSERT(spec.ifmap_words >= 2 && spec.filter_words >= 2 && spec.ofmap_words >= 2 &&
                    spec.words_per_cycle >= 1,
                "window buffers need at least 2 words and 1 word per cycle");
  const Layout lay(a, M, K, N);
  const int64_t bw = spec.words_per_cycle;
  ReadBuffer in(lay, 0, spec.ifmap_words, bw), wt(lay, 1, spec.filter_words, bw);
  WriteBuffer out(spec.ofmap_words, bw);
  WindowRun run;
  run.first_fill_words[0] = in.first_fill(), run.first_fill_words[1] = wt.first_fill();
  int64_t i = 0, stall = 0, last_out = 0;
  WindowSegment seg;
  auto close = [&] {
    if (seg.cycles > 0 || seg.words[0] || seg.words[1] || seg.drain_words || seg.wait_drains)
      run.segments.push_back(seg);
    seg = WindowSegment{};
  };
  // The buffer is full again once the stores exceed the buffer size plus what the drains
  // started so far have freed: a row reaching that while a drain runs waits for it.
  int64_t stored = 0, full_at = INT64_MAX;
  for (int64_t fc = 0; fc < lay.col_folds; ++fc) {
    for (int64_t fr = 0; fr < lay.row_folds; ++fr) {
      for (int64_t r = 0; r < lay.fold_rows; ++r, ++i) {
        const int64_t cycle = i + stall;
        const int64_t s_in = in.row(cycle, [&](auto&& f) { lay.demand(0, fc, fr, r, f); });
        const int64_t s_wt = wt.row(cycle, [&](auto&& f) { lay.demand(1, fc, fr, r, f); });
        const int64_t n = lay.writes(fc, fr, r);
        int64_t drained = 0;
        const int64_t s_out = out.row(cycle, n, &drained);
        const int64_t words_in = in.stepped() * in.step_words();
        const int64_t words_wt = wt.stepped() * wt.step_words();
        const bool full = stored + n >= full_at;
        if (words_in || words_wt || full || drained) {
          close();
          seg.words[0] = words_in, seg.words[1] = words_wt;
          seg.drain_words = drained, seg.wait_drains = full;
        }
        stored += n;
        if (full) full_at = INT64_MAX;
        if (drained > 0) full_at = spec.ofmap_words + out.words();
        ++seg.cycles;
        last_out = cycle + s_out;
        stall += std::max({s_in, s_wt, s_out});
      }
    }
  }
  close();
  run.rows = i;
  run.stall_cycles = stall;
  run.total_cycles = last_out;
  run.steps[0] = in.steps(), run.steps[1] = wt.steps();
  run.final_drain_words = out.drain_rest(last_out);
  run.dram_words[0] = in.first_fill() + in.steps() * in.step_words();
  run.dram_words[1] = wt.first_fill() + wt.steps() * wt.step_words();
  run.dram_words[2] = out.words();
  return run;
}

}  // namespace xpusim
