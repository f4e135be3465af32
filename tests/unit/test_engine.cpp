// The SystemC engine: tile-pipelined timing against closed-form expectations, the bound, fresh
// contexts with no state leaking between runs, and the TLM memory target on its own.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <systemc>

#include "sim/engine/engine.h"
#include "sim/engine/sim_context.h"
#include "sim/engine/tlm_memory.h"

namespace xpusim {
namespace {

EngineSpec one_level(double bw, double latency) {
  EngineSpec s;
  s.levels.push_back({"hbm", 1e12, bw, latency});
  return s;
}

OpWork work(double compute_s, double bytes, double overhead_s) {
  return OpWork::single(compute_s, {bytes}, overhead_s);
}

// SystemC time resolution is 1 ps; each op accumulates a handful of rounded waits.
constexpr double kTimeTol = 1e-10;

TEST(Engine, MemoryBoundOpStreamsAtFullBandwidth) {
  const double bw = 1e12, lat = 100e-9, ov = 1e-6, bytes = 1e9, compute = 1e-5;
  auto r = simulate_ops(one_level(bw, lat), {work(compute, bytes, ov)});
  ASSERT_EQ(r.size(), 1u);
  // Loads are issued back to back, so the level never idles: overhead, then the whole transfer,
  // one latency, and the compute of the last chunk.
  const OpWork w = work(compute, bytes, ov);
  const int chunks = chunks_for(one_level(bw, lat), w.groups[0]);
  EXPECT_NEAR(r[0].time_s, ov + bytes / bw + lat + compute / chunks, kTimeTol);
  EXPECT_EQ(r[0].bound, Bound::kMemory);
  EXPECT_DOUBLE_EQ(r[0].memory_s, bytes / bw);
}

TEST(Engine, ComputeBoundOpHidesLoadsBehindCompute) {
  const double bw = 1e12, lat = 100e-9, ov = 2e-6, bytes = 1e6, compute = 1e-3;
  auto r = simulate_ops(one_level(bw, lat), {work(compute, bytes, ov)});
  const int chunks = chunks_for(one_level(bw, lat), work(compute, bytes, ov).groups[0]);
  // Only the first chunk's load is exposed.
  EXPECT_NEAR(r[0].time_s, ov + bytes / bw / chunks + lat + compute, kTimeTol);
  EXPECT_EQ(r[0].bound, Bound::kCompute);
}

TEST(Engine, TinyOpsAreLatencyBound) {
  auto r = simulate_ops(one_level(1e12, 500e-9), {work(1e-8, 1e3, 3e-6)});
  EXPECT_EQ(r[0].bound, Bound::kLatency);
  EXPECT_GT(r[0].time_s, 3e-6);
}

TEST(Engine, OpsInSequenceTimeAsTheyDoAlone) {
  EngineSpec spec = one_level(2e12, 200e-9);
  OpWork a = work(3e-4, 5e8, 1e-6), b = work(1e-6, 2e9, 1e-6);
  auto both = simulate_ops(spec, {a, b});
  auto only_a = simulate_ops(spec, {a});
  auto only_b = simulate_ops(spec, {b});
  EXPECT_NEAR(both[0].time_s, only_a[0].time_s, kTimeTol);
  EXPECT_NEAR(both[1].time_s, only_b[0].time_s, kTimeTol);
}

TEST(Engine, FreshContextPerRunLeaksNoState) {
  EngineSpec fast = one_level(3e12, 100e-9), slow = one_level(1e11, 1e-6);
  std::vector<OpWork> ops = {work(1e-4, 1e8, 1e-6), work(1e-6, 1e9, 2e-6), work(0, 0, 0)};
  EngineRunStats s1, s2, s3;
  auto first = simulate_ops(fast, ops, &s1);
  auto other = simulate_ops(slow, ops, &s2);
  auto again = simulate_ops(fast, ops, &s3);
  for (size_t i = 0; i < ops.size(); ++i)
    EXPECT_EQ(first[i].time_s, again[i].time_s) << i;  // bit-identical
  EXPECT_NE(first[0].time_s, other[0].time_s);
  EXPECT_NE(first[1].time_s, other[1].time_s);
  EXPECT_EQ(s1.tiles, s3.tiles);
  EXPECT_EQ(s1.transactions, s3.transactions);
  EXPECT_EQ(s1.ops, 3u);
}

TEST(Engine, ManyRunsInOneProcess) {
  EngineSpec spec = one_level(1e12, 1e-7);
  double t0 = simulate_ops(spec, {work(1e-4, 1e8, 1e-6)})[0].time_s;
  for (int i = 0; i < 50; ++i) ASSERT_EQ(simulate_ops(spec, {work(1e-4, 1e8, 1e-6)})[0].time_s, t0);
}

TEST(Engine, HugeTransfersAreSplitIntoTlmSizedTransactions) {
  EngineRunStats stats;
  auto r = simulate_ops(one_level(1e12, 0), {work(0, 64e9, 0)}, &stats);
  EXPECT_NEAR(r[0].time_s, 64e9 / 1e12, 1e-9);
  EXPECT_GT(stats.transactions, 8u);
}

TEST(Engine, MalformedWorkIsABugNotAHang) {
  OpWork two_levels = work(1e-6, 1, 0);
  two_levels.groups[0].bytes = {1, 1};
  EXPECT_THROW(simulate_ops(one_level(1e12, 0), {two_levels}), std::invalid_argument);
  EXPECT_THROW(simulate_ops(one_level(0, 0), {work(0, 1, 0)}), std::invalid_argument);
  EXPECT_THROW(simulate_ops(one_level(1e12, 0), {work(-1, 1, 0)}), std::invalid_argument);
  EXPECT_TRUE(simulate_ops(one_level(1e12, 0), {}).empty());
}

// Double buffering is what hides a tile's load: with one buffer stage the DMA waits for the
// compute of each tile before loading the next, so loads and compute add up tile by tile.
TEST(Engine, OneBufferStageSerialisesLoadsAndCompute) {
  const double bw = 1e12, lat = 1e-6, bytes = 8e6, compute = 8e-6;  // 8 us of each per op
  EngineSpec two = one_level(bw, lat), one = two;
  one.buffer_stages = 1;
  OpWork w = work(compute, bytes, 0);
  const int n = chunks_for(two, w.groups[0]);
  ASSERT_EQ(n, 8);  // equal loads and compute: every tile is a chunk
  const double serial = simulate_ops(one, {w})[0].time_s;
  const double overlapped = simulate_ops(two, {w})[0].time_s;
  EXPECT_NEAR(serial, bytes / bw + n * lat + compute, kTimeTol);
  // Two stages: tile k+2 starts loading when tile k's compute ends, so each stage turns over once
  // per load + latency + compute (3 us) and two are in flight: the tiles are ready at 2, 3, 5,
  // 6, 8, 9, 11 and 12 us, and the last computes until 13 us.
  EXPECT_NEAR(overlapped, 13e-6, kTimeTol);
  EXPECT_LT(overlapped, 0.6 * serial);
}

// A memory level that accepts few requests at once caps its throughput at queue_depth x request
// size / latency (Little's law); an unbounded queue streams at the bandwidth.
TEST(Engine, ShallowMemoryQueueExposesLatency) {
  EngineSpec deep = one_level(1e12, 2e-6), shallow = deep;
  shallow.levels[0].queue_depth = 1;
  shallow.buffer_stages = deep.buffer_stages = 8;
  OpWork w = work(0, 8e6, 0);  // 8 tiles of 1 MB: 1 us of transfer each, 2 us latency
  const double t_deep = simulate_ops(deep, {w})[0].time_s;
  const double t_shallow = simulate_ops(shallow, {w})[0].time_s;
  EXPECT_NEAR(t_deep, 8e-6 + 2e-6, kTimeTol);
  // One request in flight: each tile pays its transfer and the latency in turn.
  EXPECT_NEAR(t_shallow, 8 * (1e-6 + 2e-6), kTimeTol);
}

TEST(Engine, StatisticsCountWhatTheModulesDid) {
  const double bw = 1e12, lat = 1e-6;
  auto r = simulate_ops(one_level(bw, lat), {work(1e-6, 4e6, 0)});
  EXPECT_DOUBLE_EQ(r[0].bytes_per_level[0], 4e6);
  EXPECT_NEAR(r[0].busy_per_level[0], 4e6 / bw, 1e-15);
  EXPECT_NEAR(r[0].compute_s, 1e-6, 1e-15);
  // The compute unit waits for the first chunk's load and latency, at least.
  EXPECT_GE(r[0].stall_s, lat);
  EXPECT_GE(r[0].transactions, 1u);
  EXPECT_GE(r[0].tiles, 1u);
}

// Unit tests that build SystemC modules themselves get a fresh context each.
class SystemCTest : public ::testing::Test {
 protected:
  void SetUp() override { ctx_ = std::make_unique<SimContext>(); }
  void TearDown() override { ctx_.reset(); }

 private:
  std::unique_ptr<SimContext> ctx_;
};

struct TwoReads : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<TwoReads> socket{"socket"};
  double done_s[2] = {0, 0};
  unsigned char byte = 0;
  SC_HAS_PROCESS(TwoReads);
  explicit TwoReads(sc_core::sc_module_name n) : sc_core::sc_module(n) { SC_THREAD(run); }
  void run() {
    for (int i = 0; i < 2; ++i) {
      tlm::tlm_generic_payload p;
      p.set_command(tlm::TLM_READ_COMMAND);
      p.set_data_ptr(&byte);
      p.set_data_length(1000000);
      sc_core::sc_time d = sc_core::SC_ZERO_TIME;
      socket->b_transport(p, d);
      EXPECT_EQ(p.get_response_status(), tlm::TLM_OK_RESPONSE);
      done_s[i] = (sc_core::sc_time_stamp() + d).to_seconds();
    }
  }
};

TEST_F(SystemCTest, MemoryTargetSerialisesConcurrentRequests) {
  MemoryTarget mem("mem", MemLevelSpec{"hbm", 1e9, 1e12, 50e-9});
  TwoReads reader("reader");
  reader.socket.bind(mem.socket);
  sc_core::sc_start();
  // Both requests arrive at time 0: the second waits for the first's transfer.
  EXPECT_NEAR(reader.done_s[0], 1e6 / 1e12 + 50e-9, 1e-12);
  EXPECT_NEAR(reader.done_s[1], 2e6 / 1e12 + 50e-9, 1e-12);
  EXPECT_DOUBLE_EQ(mem.bytes_moved(), 2e6);
}

TEST_F(SystemCTest, EachTestStartsAtTimeZero) {
  EXPECT_EQ(sc_core::sc_time_stamp(), sc_core::SC_ZERO_TIME);
}

}  // namespace
}  // namespace xpusim
