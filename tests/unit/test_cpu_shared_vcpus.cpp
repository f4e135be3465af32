// Shared vCPUs (arch/cpu/vcpu_placement.h): a virtual machine's vCPUs whose physical core a busy
// SMT sibling shares run their vector work at core.shared_rate; a statically split region waits
// for them, with the probability that the scheduler puts its threads on them; validate reads their
// count from a dataset's per-vCPU FMA maps; a library call's fixed cost.
#include <gtest/gtest.h>

#include "arch/cpu/cpu_config.h"
#include "arch/cpu/vcpu_placement.h"
#include "arch/registry.h"
#include "device_helpers.h"
#include "sim/config/config_store.h"
#include "test_helpers.h"
#include "validation/validate.h"
#include "workloads/graph.h"

namespace xpusim {
namespace {

using testing::preset_device;

ParallelWork even_work(int cores, double compute_s) {
  CoreGroup g;
  g.cores = cores;
  g.blocks = 4;
  g.compute_s = compute_s;
  g.bytes = {0, 0};
  ParallelWork w;
  w.groups = {g};
  return w;
}

// The placements are the hypergeometric distribution of shared vCPUs among the region's busy
// cores, and the shared ones form their own group at the shared rate.
TEST(SharedVcpus, PlacementsAreHypergeometric) {
  const auto one = vcpu_placements(even_work(4, 1e-6), 4, 16, 0, 0.5);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].work.groups.size(), 1u);
  const auto pl = vcpu_placements(even_work(4, 1e-6), 4, 16, 2, 0.5);
  ASSERT_EQ(pl.size(), 3u);  // 0, 1 or 2 of the 4 threads on shared vCPUs
  double sum = 0;
  for (const auto& p : pl) sum += p.weight;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  // C(14,4) / C(16,4) = 1001 / 1820; C(2,1) C(14,3) / C(16,4) = 728 / 1820.
  EXPECT_NEAR(pl[0].weight, 1001.0 / 1820, 1e-9);
  EXPECT_NEAR(pl[1].weight, 728.0 / 1820, 1e-9);
  ASSERT_EQ(pl[1].work.groups.size(), 2u);
  EXPECT_EQ(pl[1].work.groups[0].cores, 3);
  EXPECT_EQ(pl[1].work.groups[1].cores, 1);
  EXPECT_DOUBLE_EQ(pl[1].work.groups[1].compute_s, 2e-6);
  // All 16 threads busy: exactly the shared count.
  const auto all = vcpu_placements(even_work(16, 1e-6), 16, 16, 2, 0.5);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].shared, 2);
  // Only the issue-bound share of the busy time slows down.
  const auto half = vcpu_placements(even_work(16, 1e-6), 16, 16, 2, 0.5, 0.5);
  EXPECT_DOUBLE_EQ(half[0].work.groups[1].compute_s, 1.5e-6);
}

// A compute-bound GEMM on all 16 cores waits for its two half-rate vCPUs: about twice as long;
// on one core it is slower only by the chance (2 in 16) of landing on a shared vCPU. A stream
// bound by the misses in flight does not slow down. A dedicated socket (xeon-8480) shares none.
TEST(SharedVcpus, TheJoinWaitsForTheSharedVcpus) {
  Op gemm = make_gemm("g", 512, 1024, 16 * 64 * 4, DType::kFp32);
  gemm.threads = 16;
  gemm.reuse_bytes = 1;  // weights in the LLC: compute-bound
  auto shared = preset_device("emr-16c", {"core.shared_vcpus=2", "core.shared_rate=0.5"});
  auto none = preset_device("emr-16c", {"core.shared_vcpus=0"});
  const double t2 = shared->run({gemm}).results[0].time_s;
  const double t0 = none->run({gemm}).results[0].time_s;
  EXPECT_GT(t2, 1.6 * t0);
  EXPECT_LT(t2, 2.1 * t0);
  gemm.threads = 1;
  const double r1 = shared->run({gemm}).results[0].time_s / none->run({gemm}).results[0].time_s;
  EXPECT_NEAR(r1, 1.0 + 2.0 / 16 * (2.0 - 1.0), 0.03);
  Op copy = make_elementwise("copy", EwKind::kRelu, 1 << 18, 1024, DType::kFp32);  // 1 GiB
  copy.threads = 4;
  EXPECT_NEAR(shared->run({copy}).results[0].time_s / none->run({copy}).results[0].time_s, 1.0,
              0.01);
  ConfigStore store;
  ErrorList errors;
  EXPECT_EQ(cpu_schema().parse(store.load("xeon-8480", "hw"), errors).shared_vcpus, 0);
  CfgNode bad = store.load("emr-16c", "hw");
  apply_override(bad, "core.shared_vcpus=17", errors);
  EXPECT_THROW(make_device(bad, "x"), ConfigError);  // more shared vCPUs than cores
}

// validate's rule for per-vCPU FMA maps (validation/cpu/README.md, host5): a vCPU below 0.75 x
// its map's fastest is shared; the count is the lower median over the maps, the rate the median
// of shared / the map's other vCPUs.
TEST(SharedVcpus, InstanceMapsGiveTheCountAndRate) {
  testing::TempDir dir;
  std::string csv = "kind,test,threads,when,vcpu,value,unit,set\n";
  auto map = [&](const std::string& when, const std::vector<double>& v) {
    for (size_t j = 0; j < v.size(); ++j)
      csv += "cpu_instance,clock_fmapin,4," + when + "," + std::to_string(j) + "," +
             std::to_string(v[j]) + ",GHz,calibration\n";
  };
  map("start", {2.6, 1.3, 2.6, 2.6});
  map("ref0", {2.6, 1.3, 1.3, 2.6});
  map("ref1", {2.6, 2.6, 2.6, 2.6});
  map("end", {2.6, 1.4, 2.6, 1.3});
  dir.write("d/instance_calibration.csv", csv);
  const auto o = cpu_instance_overrides(dir.path("d"), 100e-9);
  // counts 0, 1, 2, 2: lower median 1; ratios 0.5, 0.5, 0.5, 0.5385, 0.5: median 0.5
  const std::vector<std::string> want = {"core.shared_vcpus=1", "core.shared_rate=0.5"};
  EXPECT_EQ(o, want);
  EXPECT_NE(preset_device("emr-16c", o), nullptr);
}

// A library call's fixed cost (kernels.<lib>.<fmt>.call) adds to every GEMM of that format.
TEST(SharedVcpus, ALibraryCallCostsItsFixedTime) {
  Op op = make_gemm("g", 1, 768, 3072, DType::kBf16);
  op.threads = 16;
  auto run = [&](const std::string& call) {
    return preset_device("emr-16c", {"kernels.torch.bf16.call=" + call})->run({op}).results[0].time_s;
  };
  const double a = run("0 s"), b = run("50 us");
  EXPECT_NEAR(b - a, 50e-6, 1e-9);
}

}  // namespace
}  // namespace xpusim
