// SCALE-Sim v2's read buffers and write buffer, as its released code runs them in USER bandwidth
// mode (scalesim/memory/read_buffer.py, write_buffer.py and double_buffered_scratchpad_mem.py at
// commit 22f88b17f1dd3160e18bff5df165035bf8146e83), for a GEMM on one array. This decides which
// DRAM transfers each operand buffer makes and at which array cycle each is first needed; the
// engine's DMA process then moves them (arch/tpu/tpu_model.cpp, `sram.read_buffer: window`).
//
// Read buffer (ifmap X, filter W), S words, word = 1 element:
//   - The operand is fetched in one fixed order, its prefetch order (per dataflow: the row-fold
//     (or column-fold) blocks of the operand stacked and, for the skewed operands, rolled out
//     along anti-diagonals, as the compute classes' create_*_prefetch_mat build it). That order
//     is cut into sets of E = ceil(S / 100) elements; L sets in all.
//   - A window of A = min(ceil(ceil(S/2) / E), L) consecutive sets (modulo L) is active; it
//     starts at set 0, loaded before the layer (free). Each step moves it by
//     P = min(ceil(floor(S/2) / E), L - A) sets, wrapping round the operand.
//   - The array demands its elements row by row of its demand matrices, each row's addresses
//     in column order. An address whose set is outside the window moves the window, step by
//     step, until it is inside: every step is one DRAM transfer of ceil(floor(S/2) / bw) lines
//     of bw words (all counted as DRAM reads), issued one cycle after the previous transfer
//     completes, plus one cycle of port latency, whatever the array is doing: step k's data is
//     there at cycle k (n + 1) - 1. So a reuse that the window has already passed costs a whole
//     lap of transfers, and transfers run ahead of the array without a buffer bound.
//   - A row whose demand needed step k cannot issue before step k's data is there.
// Write buffer (ofmap Y), S words: results are stored one by one into lines of bw words; when
// more than floor(S/2) are held and no drain is running, a drain of ceil(floor(S/2) / bw) lines
// starts (one line per cycle; the space is credited at once); a store that finds the buffer full
// while a drain runs waits for it. The last row's completion is SCALE-Sim's "Total Cycles".
// Each row's stall is the longest of the three operands' waits.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/tpu/systolic.h"

namespace xpusim {

struct WindowBufferSpec {
  int64_t ifmap_words = 0, filter_words = 0, ofmap_words = 0;  // each buffer's size
  int64_t words_per_cycle = 1;                                 // each operand's DRAM port
};

// A run of array cycles: the read-window steps (words, ifmap and filter) its first row needs
// before it can issue, the drain (words) its first row starts, and whether its first row's stores
// find the output buffer full, so that it waits for the drains already started.
struct WindowSegment {
  int64_t cycles = 0;
  int64_t words[2] = {0, 0};
  int64_t drain_words = 0;
  bool wait_drains = false;
};

struct WindowRun {
  int64_t rows = 0;          // demand-matrix rows (stall-free cycles)
  int64_t stall_cycles = 0;  // SCALE-Sim's stall count
  int64_t total_cycles = 0;  // SCALE-Sim's "Total Cycles" (index of the last cycle)
  // DRAM words per operand as SCALE-Sim counts them: the first fill (before the layer), every
  // step of the read windows, every drain including those after the last row.
  int64_t dram_words[3] = {0, 0, 0};
  int64_t first_fill_words[2] = {0, 0};  // the reads of the first active halves
  int64_t final_drain_words = 0;         // drained after the last row
  int64_t steps[2] = {0, 0};             // window steps of the two read buffers
  std::vector<WindowSegment> segments;   // in order; their cycles sum to rows
};

// Replays above this many demands are refused by the caller (about 10 s on one core).
constexpr double kWindowMaxDemand = 5e8;
// Array reads of X and W this GEMM demands on the array (the replay's work).
double window_demand(const SystolicArray& a, int64_t M, int64_t K, int64_t N);

// The replay (macs_per_pe is ignored: SCALE-Sim streams one element per cycle).
WindowRun run_window_buffers(const SystolicArray& a, int64_t M, int64_t K, int64_t N,
                             const WindowBufferSpec& spec);

}  // namespace xpusim
