// `xpusim predict`: the operator CSV contract (columns by name, unknown columns copied, pred_*
// columns added) and its errors with file:line:col.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/run/predict.h"
#include "test_helpers.h"

namespace xpusim {
namespace {

using testing::config_error_of;

CsvTable table_of(const std::string& text) {
  std::istringstream in(text);
  return read_csv(in, "ops.csv");
}

TEST(Predict, AllKindsWithExtraColumnsCopied) {
  ConfigStore store;
  auto dev = make_device(store.load("h100", "hw"), "h100");
  OpCache cache;
  auto t = table_of(
      "label,kind,M,K,N,dtype,sparsity,B,heads,kv_heads,head_dim,q_len,kv_len,causal,op,T,H\n"
      "qkv,gemm,1,4096,12288,bf16,,,,,,,,,,,\n"
      "qkv_sparse,gemm,4096,4096,12288,fp16,2:4,,,,,,,,,,\n"
      "decode attn,attention,,,,bf16,,8,32,8,128,1,4096,false,,,\n"
      "norm,elementwise,,,,bf16,,,,,,,,,rmsnorm,16,4096\n");
  auto rows = predict_table(*dev, cache, t);
  ASSERT_EQ(rows.size(), 5u);
  const auto& h = rows[0];
  ASSERT_EQ(h.size(), 17u + 7u);
  EXPECT_EQ(h[17], "pred_ms");
  EXPECT_EQ(h[18], "pred_cycles");
  EXPECT_EQ(h[19], "pred_energy_j");
  EXPECT_EQ(h[20], "pred_avg_power_w");
  EXPECT_EQ(h[21], "pred_clock_mhz");
  EXPECT_EQ(h[22], "bound");
  EXPECT_EQ(rows[1][0], "qkv");  // unknown column copied unchanged
  EXPECT_EQ(rows[3][0], "decode attn");
  for (size_t r = 1; r < rows.size(); ++r) {
    EXPECT_GT(std::stod(rows[r][17]), 0) << r;
    EXPECT_GT(std::stod(rows[r][18]), 0) << r;
    // Energy = power x time, the power between the h100's idle and its 700 W limit.
    const double w = std::stod(rows[r][20]);
    EXPECT_GT(w, 120.0) << r;
    EXPECT_LE(w, 700.0 + 1e-6) << r;
    EXPECT_NEAR(std::stod(rows[r][19]), w * std::stod(rows[r][17]) * 1e-3,
                1e-4 * std::stod(rows[r][19])) << r;
    EXPECT_GT(std::stod(rows[r][21]), 500.0) << r;
    EXPECT_LE(std::stod(rows[r][21]), 1980.0 + 1e-6) << r;
    EXPECT_EQ(rows[r][23], "") << rows[r][23];
  }
  EXPECT_EQ(rows[1][22], "memory");  // M=1 GEMM streams its weights
  // The 2:4 GEMM at M=4096 reads its compressed weights (56 MB, more than L2) once per 256-row
  // token tile: HBM-bound in cuSPARSELt's 128x256 tiles.
  EXPECT_EQ(rows[2][22], "memory");
  // cycles = ms × clock
  EXPECT_NEAR(std::stod(rows[1][18]), std::stod(rows[1][17]) * 1e-3 * 1.98e9, 1.0);
}

TEST(Predict, WithoutAKindColumnRowsAreGemms) {
  ConfigStore store;
  auto dev = make_device(store.load("a100", "hw"), "a100");
  OpCache cache;
  auto rows = predict_table(*dev, cache, table_of("M,K,N,dtype\n8192,12288,12288,fp16\n"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][9], "compute");
}

TEST(Predict, UnsupportedFormatIsAValueNotAnAbort) {
  ConfigStore store;
  auto dev = make_device(store.load("a100", "hw"), "a100");
  OpCache cache;
  auto rows = predict_table(*dev, cache,
                            table_of("kind,M,K,N,dtype\ngemm,64,64,64,fp8\ngemm,64,64,64,bf16\n"));
  EXPECT_EQ(rows[1][10], "unsupported");
  EXPECT_NE(rows[1][11].find("no fp8 datapath"), std::string::npos);
  EXPECT_NE(rows[2][5], "");
}

TEST(Predict, BadValuesAreReportedWithLineAndColumn) {
  std::string msg = config_error_of([] {
    ops_from_csv(
        table_of("kind,M,K,N,dtype\ngemm,1,4096,x,bf16\ngemm,0,1,1,bf17\nconv,1,1,1,bf16\n"));
  });
  EXPECT_NE(msg.find("ops.csv:2:13: error: N: 'x' is not a whole number"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("ops.csv:3:6: error: M: '0' is not a whole number between 1 and"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("ops.csv:3:12: error: dtype: 'bf17' is not a dtype"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("did you mean 'bf16'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ops.csv:4:1: error: kind: 'conv' is not allowed"), std::string::npos) << msg;
}

TEST(Predict, ReuseBytesSaysWhatStaysInL2BetweenCalls) {
  ConfigStore store;
  auto dev = make_device(store.load("h200", "hw"), "h200");
  OpCache cache;
  // A 512 x 4096 add called again and again on its own 12 MiB, and the same from HBM.
  auto rows = predict_table(*dev, cache,
                            table_of("kind,op,T,H,dtype,reuse_bytes\n"
                                     "elementwise,residual_add,512,4096,bf16,12582912\n"
                                     "elementwise,residual_add,512,4096,bf16,\n"));
  ASSERT_EQ(rows.size(), 3u);
  const int ms = 6, ej = 8;
  EXPECT_EQ(rows[0][ms], "pred_ms");
  EXPECT_LT(std::stod(rows[1][ms]), std::stod(rows[2][ms]));
  EXPECT_LT(std::stod(rows[1][ej]), std::stod(rows[2][ej]));
  std::string msg = config_error_of([] {
    ops_from_csv(table_of("kind,M,K,N,dtype,reuse_bytes\ngemm,1,64,64,bf16,-5\n"));
  });
  EXPECT_NE(msg.find("ops.csv:2:19: error: reuse_bytes: '-5' is not a byte count"),
            std::string::npos)
      << msg;
}

TEST(Predict, AbsurdlyLargeOperatorsAreRefusedAsValues) {
  ConfigStore store;
  for (const char* hw : {"h100", "tpu-v4", "xeon-8480"}) {
    auto dev = make_device(store.load(hw, "hw"), hw);
    OpCache cache;
    auto rows = predict_table(
        *dev, cache,
        table_of("kind,M,K,N,dtype,op,T,H,B,heads,kv_heads,head_dim,q_len,kv_len,causal\n"
                 "gemm,2147483648,2147483648,2147483648,bf16,,,,,,,,,,\n"
                 "elementwise,,,,bf16,softmax,2147483648,2147483648,,,,,,,\n"
                 "attention,,,,bf16,,,,1048576,4096,1,1024,2147483648,2147483648,false\n"
                 "gemm,16,4096,4096,bf16,,,,,,,,,,\n"));
    for (int r = 1; r <= 3; ++r) {
      EXPECT_EQ(rows[r][rows[0].size() - 2], "unsupported") << hw << " row " << r;
      EXPECT_NE(rows[r].back().find("too large to simulate"), std::string::npos)
          << hw << ": " << rows[r].back();
    }
    EXPECT_NE(rows[4][rows[0].size() - 5], "") << hw << ": a normal row after them still runs";
  }
}

TEST(Predict, RandomRowsNeverCrashOrHang) {
  // Shapes from 1 to 2^31 in every kind and format: each row is predicted or refused with a
  // reason; found once: empty schedules and zero-occupancy tiles in the GPU attention model.
  std::mt19937 rng(2026);
  const int64_t sizes[] = {
      1, 2, 3, 7, 16, 64, 127, 128, 255, 256, 1000, 4096, 65536, 1 << 20, int64_t(1) << 31};
  const char* dtypes[] = {"fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4"};
  const char* ew[] = {"rmsnorm", "layernorm",    "gelu", "silu_mul",
                      "softmax", "residual_add", "rope"};
  auto pick = [&](auto& arr) { return arr[rng() % std::size(arr)]; };
  std::string csv =
      "kind,M,K,N,dtype,sparsity,B,heads,kv_heads,head_dim,q_len,kv_len,causal,op,T,H\n";
  for (int i = 0; i < 150; ++i) {
    const std::string dt = pick(dtypes);
    switch (rng() % 3) {
      case 0:
        csv += fmt::format("gemm,{},{},{},{},{},,,,,,,,,,\n", pick(sizes), pick(sizes), pick(sizes),
                           dt, rng() % 2 ? "dense" : "2:4");
        break;
      case 1: {
        const int64_t heads[] = {1, 2, 8, 32, 64}, dims[] = {1, 16, 64, 128, 256, 512};
        const int64_t h = pick(heads), q = pick(sizes), kv = std::max(q, pick(sizes));
        csv += fmt::format("attention,,,,{},,{},{},{},{},{},{},{},,,\n", dt, rng() % 1000 + 1, h, h,
                           pick(dims), q, kv, rng() % 2 ? "true" : "false");
        break;
      }
      default:
        csv += fmt::format("elementwise,,,,{},,,,,,,,,{},{},{}\n", dt, pick(ew), pick(sizes),
                           pick(sizes));
    }
  }
  const auto table = table_of(csv);
  ConfigStore store;
  for (const char* hw : {"h100", "a100", "tpu-v4", "xeon-8480"}) {
    auto dev = make_device(store.load(hw, "hw"), hw);
    OpCache cache;
    auto rows = predict_table(*dev, cache, table);
    ASSERT_EQ(rows.size(), 151u);
    const size_t ms = rows[0].size() - 7, bound = rows[0].size() - 2;
    for (size_t r = 1; r < rows.size(); ++r) {
      if (rows[r][bound] == "unsupported") {
        EXPECT_FALSE(rows[r].back().empty()) << hw << " row " << r;
        continue;
      }
      const double ms_value = std::stod(rows[r][ms]);
      EXPECT_TRUE(std::isfinite(ms_value) && ms_value > 0)
          << hw << " row " << r << ": " << rows[r][ms];
    }
  }
}

TEST(Predict, MissingColumnsAndMalformedCsv) {
  std::string msg = config_error_of([] { ops_from_csv(table_of("kind,M,K\ngemm,1,2\n")); });
  EXPECT_NE(msg.find("column 'N' is required"), std::string::npos) << msg;
  EXPECT_NE(config_error_of([] {
              table_of("a,b\n1,2,3\n");
            }).find("ops.csv:2:1: error: row has 3 fields"),
            std::string::npos);
  EXPECT_NE(config_error_of([] { table_of("a,b\n\"1,2\n"); }).find("unterminated quoted field"),
            std::string::npos);
  EXPECT_NE(config_error_of([] { table_of(""); }).find("empty"), std::string::npos);
  auto t = table_of("a,b\n\"x,\"\"y\"\"\",2\n");
  EXPECT_EQ(t.rows[0].fields[0].text, "x,\"y\"");
}

TEST(Predict, AttentionChecksHeadsAndCausality) {
  std::string msg = config_error_of([] {
    ops_from_csv(
        table_of("kind,B,heads,kv_heads,head_dim,q_len,kv_len,causal,dtype\n"
                 "attention,1,32,5,128,16,8,true,bf16\n"));
  });
  EXPECT_NE(msg.find("kv_heads: 32 heads cannot be grouped over 5 kv heads"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("q_len: causal attention needs q_len (16) <= kv_len (8)"), std::string::npos)
      << msg;
}

TEST(Predict, UnknownElementwiseOpListsTheMeasuredKernels) {
  // The allowed names come from the elementwise table (its measured T x H kernels).
  std::string msg = config_error_of([] {
    ops_from_csv(
        table_of("kind,op,T,H,dtype\nelementwise,rmsnrom,16,4096,bf16\n"
                 "elementwise,kv_append,16,4096,bf16\n"));
  });
  EXPECT_NE(msg.find("ops.csv:2:13: error: op: 'rmsnrom' is not allowed; expected one of "
                     "rmsnorm|layernorm|softmax|gelu|silu_mul|residual_add|rope"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("did you mean 'rmsnorm'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ops.csv:3:13: error: op: 'kv_append' is not allowed"), std::string::npos)
      << msg;
}

}  // namespace
// Collective rows (issue 18 item 4): the operation, the whole buffer as nccl-tests sizes it, the
// GPU count and graph or eager mode, on the preset's link; no multi-GPU machine needed.
TEST(Predict, CollectiveRowsOnTheLinkWithGraphAndEagerModes) {
  ConfigStore store;
  auto dev = make_device(store.load("h200", "hw"), "h200");
  OpCache cache;
  auto t = table_of(
      "kind,op,bytes,devices,mode\n"
      "collective,all_reduce,8,4,graph\n"
      "collective,all_reduce,8,4,eager\n"
      "collective,all_reduce,1073741824,4,graph\n"
      "collective,all_reduce,1073741824,4,eager\n"
      "collective,all_gather,1073741824,8,\n"
      "collective,reduce_scatter,1073741824,8,graph\n"
      "collective,all_to_all,1048576,2,graph\n"
      "collective,send,4096,2,graph\n");
  auto rows = predict_table(*dev, cache, t);
  ASSERT_EQ(rows.size(), 9u);
  auto ms = [&](size_t i) {
    EXPECT_EQ(rows[i][11], "") << "pred_error of row " << i;
    return std::stod(rows[i][5]);
  };
  // Small eager calls run at the host's pace, large ones at the link's.
  EXPECT_NEAR(ms(2), 0.03542, 1e-6);
  EXPECT_LT(ms(1), ms(2));
  EXPECT_DOUBLE_EQ(ms(4), ms(3));
  // A 1 GiB ring all-reduce over 4 GPUs puts 2 * 3/4 GiB on each link: within the link's
  // bandwidth at NCCL Simple's efficiency, not faster.
  const double link = 450e9 * 0.76;  // h100 family: NVLink4 per direction, Simple's efficiency
  EXPECT_GE(ms(3) * 1e-3, 1.5 * 1073741824.0 / link * 0.999);
  EXPECT_LT(ms(3) * 1e-3, 1.5 * 1073741824.0 / link * 1.05);
  // all_gather (of its output) and reduce_scatter (of its input) move the same ring traffic.
  EXPECT_DOUBLE_EQ(ms(5), ms(6));
  EXPECT_LT(ms(5), ms(3));
  EXPECT_GT(ms(7), 0);
  EXPECT_GT(ms(8), 0);

  auto bad = config_error_of([&] {
    auto b = table_of("kind,op,bytes,devices,mode\ncollective,broadcast,8,0,async\n");
    predict_table(*dev, cache, b);
  });
  EXPECT_NE(bad.find("ops.csv:2:12: error: op: 'broadcast' is not allowed"), std::string::npos)
      << bad;
  EXPECT_NE(bad.find("devices"), std::string::npos) << bad;
  EXPECT_NE(bad.find("'async' is not allowed"), std::string::npos) << bad;
}

}  // namespace xpusim
