// Functional-kernel speed: fp32 GEMM, ours vs OpenBLAS cblas_sgemm at LLM shapes (GFLOP/s,
// and a row alternating both per iteration that reports their ratio under the same load);
// sparse GEMMs; one LLaMA-7B decoder layer (4096 hidden, 32 heads, FFN 11008) on 128 tokens
// through every kernel per datapath. Run: build/bench/tests/bench/bench_kernels
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/kernels/attention.h"
#include "workloads/kernels/elementwise.h"
#include "workloads/kernels/gemm.h"
#include "workloads/kernels/rope.h"
#include "workloads/kernels/sparse.h"

extern "C" char* openblas_get_corename(void);
extern "C" char* openblas_get_config(void);

namespace xpusim::kernels {
namespace {

// Uniform values in [-scale, scale) from a 64-bit LCG: fast enough for the 200 M weights of
// the layer benchmark (std::mt19937 would take seconds).
std::vector<float> random_vec(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  std::vector<float> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = scale * (static_cast<float>(s >> 40) * 0x1.0p-23f - 1.0f);
  }
  return v;
}

struct GemmCase {
  GemmShape s;
  std::vector<float> x, w, y;
  explicit GemmCase(benchmark::State& st)
      : s{std::size_t(st.range(0)), std::size_t(st.range(1)), std::size_t(st.range(2))},
        x(random_vec(s.m * s.k, 1)),
        w(random_vec(s.n * s.k, 2)),
        y(s.m * s.n) {}
  double flops() const { return 2.0 * double(s.m) * double(s.n) * double(s.k); }
  void ours() { gemm_f32(x, w, y, s); }
  void openblas() {  // Y = X W^T, row-major: W is [n, k], hence CblasTrans
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(s.m), int(s.n), int(s.k), 1.0f,
                x.data(), int(s.k), w.data(), int(s.k), 0.0f, y.data(), int(s.n));
  }
};

void gflops_counter(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void BM_Sgemm_Ours(benchmark::State& state) {
  GemmCase c(state);
  for (auto _ : state) c.ours();
  gflops_counter(state, c.flops());
}

void BM_Sgemm_OpenBLAS(benchmark::State& state) {
  GemmCase c(state);
  for (auto _ : state) c.openblas();
  gflops_counter(state, c.flops());
}

// Both libraries in every iteration, timed separately; the reported time is the pair's.
void BM_Sgemm_Ratio(benchmark::State& state) {
  GemmCase c(state);
  c.ours(), c.openblas();  // warm-up: page in the buffers, start OpenBLAS's threads
  double ours_s = 0, blas_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    c.ours();
    const auto t1 = std::chrono::steady_clock::now();
    c.openblas();
    const auto t2 = std::chrono::steady_clock::now();
    ours_s += std::chrono::duration<double>(t1 - t0).count();
    blas_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = double(state.iterations());
  state.counters["ours_GFLOP/s"] = c.flops() * n / ours_s / 1e9;
  state.counters["openblas_GFLOP/s"] = c.flops() * n / blas_s / 1e9;
  state.counters["ours/openblas"] = blas_s / ours_s;
}

// (m tokens, n outputs, k inputs): square projection at 512 tokens; the LLaMA-7B MLP's
// up/gate (4096 -> 11008) and down (11008 -> 4096) projections at 128 tokens; a small batch.
#define XPUSIM_GEMM_SHAPES(b)         \
  b->Args({512, 4096, 4096})          \
      ->Args({128, 11008, 4096})      \
      ->Args({128, 4096, 11008})      \
      ->Args({16, 4096, 4096})        \
      ->ArgNames({"m", "n", "k"})     \
      ->Unit(benchmark::kMillisecond) \
      ->UseRealTime()
XPUSIM_GEMM_SHAPES(BENCHMARK(BM_Sgemm_Ours));
XPUSIM_GEMM_SHAPES(BENCHMARK(BM_Sgemm_OpenBLAS));
XPUSIM_GEMM_SHAPES(BENCHMARK(BM_Sgemm_Ratio));

// ---- Sparse weights: bf16 datapath, 128 tokens x 4096 -> 4096 ------------------------------
// 2:4 runs on the dense engine (decompressing panels), so it costs a dense GEMM; CSR's time
// follows the non-zeros (range(0) = density in percent).
void BM_SparseBf16_2to4(benchmark::State& state) {
  const std::size_t m = 128, n = 4096, k = 4096;
  const auto x = random_vec(m * k, 21);
  const Sparse24Matrix w = prune_2_4(random_vec(n * k, 22), n, k);
  std::vector<float> y(m * n);
  for (auto _ : state) gemm_sparse24(kDatapathBf16, x, w, y, m);
  gflops_counter(state, 2.0 * m * n * k / 2);  // useful (non-zero) flops
}
BENCHMARK(BM_SparseBf16_2to4)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SparseBf16_Csr(benchmark::State& state) {
  const std::size_t m = 128, n = 4096, k = 4096;
  const auto x = random_vec(m * k, 23);
  const CsrMatrix w = prune_unstructured(random_vec(n * k, 24), n, k, double(state.range(0)) / 100);
  std::vector<float> y(m * n);
  for (auto _ : state) gemm_csr(kDatapathBf16, x, w, y, m);
  gflops_counter(state, 2.0 * m * double(w.nnz()));
}
BENCHMARK(BM_SparseBf16_Csr)
    ->Arg(50)
    ->Arg(10)
    ->ArgName("density_pct")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- One LLaMA-7B decoder layer, prefill of 128 tokens -----------------------------------
// Weights are converted to the datapath's storage once, outside the timed loop, as a model
// loader would (PreparedWeights); activations are rounded or quantised in every GEMM.
constexpr std::size_t kHidden = 4096, kHeads = 32, kHeadDim = 128, kFfn = 11008;

struct Llama7bWeights {
  std::vector<float> wq, wk, wv, wo, wg, wu, wd;
  static const Llama7bWeights& get() {  // 200 M random weights, made once per process
    static const Llama7bWeights w{
        random_vec(kHidden * kHidden, 11, 0.02f), random_vec(kHidden * kHidden, 12, 0.02f),
        random_vec(kHidden * kHidden, 13, 0.02f), random_vec(kHidden * kHidden, 14, 0.02f),
        random_vec(kFfn * kHidden, 15, 0.02f),    random_vec(kFfn * kHidden, 16, 0.02f),
        random_vec(kHidden * kFfn, 17, 0.02f)};
    return w;
  }
};

struct Llama7bLayer {
  std::size_t tokens;
  PreparedWeights wq, wk, wv, wo, wg, wu, wd;
  std::vector<float> norm1, norm2, x, xn, q, k, v, attn, o, gate, up, act, down;
  KvCache cache;

  Llama7bLayer(const Datapath& dp, std::size_t t, KvFormat kv)
      : tokens(t),
        wq(dp, Llama7bWeights::get().wq, kHidden, kHidden),
        wk(dp, Llama7bWeights::get().wk, kHidden, kHidden),
        wv(dp, Llama7bWeights::get().wv, kHidden, kHidden),
        wo(dp, Llama7bWeights::get().wo, kHidden, kHidden),
        wg(dp, Llama7bWeights::get().wg, kFfn, kHidden),
        wu(dp, Llama7bWeights::get().wu, kFfn, kHidden),
        wd(dp, Llama7bWeights::get().wd, kHidden, kFfn),
        norm1(kHidden, 1.0f),
        norm2(kHidden, 1.0f),
        x(random_vec(t * kHidden, 18)),
        xn(t * kHidden),
        q(t * kHidden),
        k(t * kHidden),
        v(t * kHidden),
        attn(t * kHidden),
        o(t * kHidden),
        gate(t * kFfn),
        up(t * kFfn),
        act(t * kFfn),
        down(t * kHidden),
        cache({kHeads, kHeadDim, t, kv}) {}

  void forward() {
    const RopeConfig rope{kHeadDim, 10000.0f};
    cache.clear();
    rms_norm(x, norm1, xn, tokens);
    gemm(wq, xn, q, tokens);
    gemm(wk, xn, k, tokens);
    gemm(wv, xn, v, tokens);
    apply_rope(q, tokens, kHeads, std::size_t{0}, rope);
    apply_rope(k, tokens, kHeads, std::size_t{0}, rope);
    cache.append(k, v, tokens);
    attention(q, tokens, cache, attn, {kHeads});
    gemm(wo, attn, o, tokens);
    for (std::size_t i = 0; i < o.size(); ++i) o[i] += x[i];  // residual
    rms_norm(o, norm2, xn, tokens);
    gemm(wg, xn, gate, tokens);
    gemm(wu, xn, up, tokens);
    swiglu(gate, up, act);
    gemm(wd, act, down, tokens);
    for (std::size_t i = 0; i < o.size(); ++i) down[i] += o[i];  // residual
  }

  double flops() const {
    const double t = double(tokens), h = kHidden, f = kFfn;
    const double attention_flops = 4.0 * kHeads * kHeadDim * t * (t + 1) / 2;  // causal QK^T, PV
    return 2 * t * (4 * h * h + 3 * h * f) + attention_flops;
  }
};

void BM_Llama7bLayer(benchmark::State& state, Datapath dp, KvFormat kv) {
  Llama7bLayer layer(dp, std::size_t(state.range(0)), kv);
  for (auto _ : state) layer.forward();
  gflops_counter(state, layer.flops());
  state.SetLabel(datapath_name(dp) + ", kv " + std::string(kv_format_name(kv)));
}
#define XPUSIM_LAYER(name, dp, kv)                 \
  BENCHMARK_CAPTURE(BM_Llama7bLayer, name, dp, kv) \
      ->Arg(128)                                   \
      ->ArgName("tokens")                          \
      ->Unit(benchmark::kMillisecond)              \
      ->UseRealTime()                              \
      ->MinTime(2.0)
XPUSIM_LAYER(bf16, kDatapathBf16, KvFormat::kBf16);
XPUSIM_LAYER(fp32, kDatapathFp32, KvFormat::kFp32);
XPUSIM_LAYER(fp8_e4m3, kDatapathFp8E4M3, KvFormat::kFp8E4M3);
XPUSIM_LAYER(int8_w8a8, kDatapathInt8, KvFormat::kInt8);
XPUSIM_LAYER(int4_w4a16, kDatapathW4A16, KvFormat::kBf16);

// The bf16 layer's GEMMs without prepared weights: W is rounded to bf16 inside every GEMM.
void BM_Llama7bLayerBf16RoundingWeightsPerCall(benchmark::State& state) {
  const Llama7bWeights& w = Llama7bWeights::get();
  const std::size_t t = std::size_t(state.range(0));
  const auto x = random_vec(t * kFfn, 19);
  std::vector<float> y(t * kFfn);
  for (auto _ : state) {
    for (const auto* m : {&w.wq, &w.wk, &w.wv, &w.wo})
      gemm(kDatapathBf16, {x.data(), t * kHidden}, *m, {y.data(), t * kHidden},
           {t, kHidden, kHidden});
    gemm(kDatapathBf16, {x.data(), t * kHidden}, w.wg, y, {t, kFfn, kHidden});
    gemm(kDatapathBf16, {x.data(), t * kHidden}, w.wu, y, {t, kFfn, kHidden});
    gemm(kDatapathBf16, x, w.wd, {y.data(), t * kHidden}, {t, kHidden, kFfn});
  }
  gflops_counter(state, 2.0 * double(t) * (4.0 * kHidden * kHidden + 3.0 * kHidden * kFfn));
}
BENCHMARK(BM_Llama7bLayerBf16RoundingWeightsPerCall)
    ->Arg(128)
    ->ArgName("tokens")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace xpusim::kernels

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext(
      "kernels_isa", std::string(xpusim::kernels::isa_name(xpusim::kernels::best_supported_isa())));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
