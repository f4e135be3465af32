// The operator graph: exact shapes, FLOPs and bytes of one LLaMA and one GPT-2 layer, KV-cache
// growth, every compression scheme's effect, tensor/pipeline/expert parallel splits, capacity.
// The expected numbers are worked out by hand from the published model shapes.
#include <gtest/gtest.h>

#include <algorithm>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "workloads/compression.h"
#include "workloads/graph.h"
#include "test_helpers.h"

namespace xpusim {
namespace {

ModelConfig model(const std::string& name) {
  return parse_model(ConfigStore().load(name, "models"));
}

const Op& find(const std::vector<Op>& ops, const std::string& name, int stage = 0) {
  for (const auto& op : ops)
    if (op.name == name && op.stage == stage) return op;
  ADD_FAILURE() << "no op " << name;
  static Op none;
  return none;
}

std::vector<std::string> names(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(op.name);
  return out;
}

struct Expect {
  const char* name;
  double flops, weight_bytes, in_bytes, out_bytes;
};

void check(const std::vector<Op>& ops, const std::vector<Expect>& expect) {
  for (const auto& e : expect) {
    const Op& op = find(ops, e.name);
    EXPECT_EQ(op.flops, e.flops) << e.name;
    EXPECT_EQ(op.weight_bytes, e.weight_bytes) << e.name;
    EXPECT_EQ(op.in_bytes, e.in_bytes) << e.name;
    EXPECT_EQ(op.out_bytes, e.out_bytes) << e.name;
  }
}

TEST(Graph, EncoderOnlyModelBuildsNoKvCacheAndNoHead) {
  testing::TempDir dir;
  const ModelConfig m = parse_model(ConfigStore().load_file(dir.write(
      "encoder.yaml", "type: model\nbase: gpt2\nname: gpt2-encoder\nencoder_only: true\n")));
  EXPECT_TRUE(m.encoder_only);
  ForwardShape s;
  s.batch = 2;
  s.q_len = s.kv_len = 128;
  for (const Op& op : build_forward(m, s)) {
    EXPECT_NE(op.kind, OpKind::kKvAppend) << op.name;
    EXPECT_NE(op.name, "lm_head");
  }
  EXPECT_EQ(memory_need(m, s, 128, 2.0).kv_cache, 0.0);
  EXPECT_EQ(kv_cache_bytes(m, 2, 128, DType::kBf16), 0.0);
  // The decoder it is based on keeps its cache and head.
  const ModelConfig d = model("gpt2");
  EXPECT_FALSE(d.encoder_only);
  EXPECT_GT(memory_need(d, s, 128, 2.0).kv_cache, 0.0);
  EXPECT_EQ(find(build_forward(d, s), "lm_head").kind, OpKind::kGemm);
  // Encoders have a prefill (encode) phase only.
  ConfigStore store;
  auto dev = make_device(store.load("h100", "hw"), "h100");
  OpCache cache;
  PointSpec spec;
  spec.phase = Phase::kDecode;
  const PointResult p = evaluate_point(*dev, cache, m, spec);
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.reason.find("encoder-only"), std::string::npos) << p.reason;
}

TEST(Graph, EncoderOnlyDefaultsFromTheFamily) {
  testing::TempDir dir;
  const std::string bert =
      "type: model\nfamily: bert\nlayers: 2\nhidden: 64\nheads: 2\nffn: 128\nvocab: 100\n"
      "max_positions: 64\nnorm: layernorm\nactivation: gelu\npositional: learned\n"
      "causal: false\n";
  auto load = [&](const std::string& name, const std::string& text) {
    return parse_model(ConfigStore().load_file(dir.write(name, text)));
  };
  EXPECT_TRUE(load("bert.yaml", bert).encoder_only);
  EXPECT_FALSE(load("bert_decoder.yaml", bert + "encoder_only: false\n").encoder_only);
  EXPECT_TRUE(model("bert-base").encoder_only);
  EXPECT_FALSE(model("llama2-7b").encoder_only);
}

TEST(Elementwise, EveryTableEntryRoundTripsNameAndKind) {
  ASSERT_EQ(ew_kinds().size(), kEwKindCount);
  for (size_t i = 0; i < ew_kinds().size(); ++i) {
    const EwKindInfo& e = ew_kinds()[i];
    EXPECT_EQ(ew_index(e.kind), i) << e.name << ": the table is in EwKind order";
    EXPECT_EQ(ew_kind_from_name(e.name), e.kind) << e.name;
    EXPECT_EQ(ew_kind_name(e.kind), e.name);
    EXPECT_EQ(&ew_info(e.kind), &e);
  }
  EXPECT_EQ(ew_kind_from_name("rmsnrom"), std::nullopt);
  EXPECT_EQ(ew_kind_from_name(""), std::nullopt);
}

TEST(Elementwise, TableDrivesBytesAndFlops) {
  const int64_t T = 16, H = 4096;
  const double n = double(T) * double(H);
  const Op silu = make_elementwise("a", EwKind::kSiluMul, T, H, DType::kBf16);
  EXPECT_EQ(silu.kind, OpKind::kElementwise);
  EXPECT_DOUBLE_EQ(silu.in_bytes, 2 * n * 2);  // x and gate
  EXPECT_DOUBLE_EQ(silu.out_bytes, n * 2);
  EXPECT_DOUBLE_EQ(silu.flops, 5 * n);
  const Op ln = make_elementwise("n", EwKind::kLayernorm, T, H, DType::kBf16);
  EXPECT_DOUBLE_EQ(ln.weight_bytes, 2.0 * H * 2);  // scale and shift
  const Op emb = make_elementwise("e", EwKind::kEmbedding, T, H, DType::kBf16);
  EXPECT_EQ(emb.kind, OpKind::kEmbedding);
  EXPECT_DOUBLE_EQ(emb.weight_bytes, n * 2);  // gathers T rows of the table
  EXPECT_DOUBLE_EQ(emb.in_bytes, 0);
  const Op q = make_elementwise("q", EwKind::kQuantize, T, H, DType::kBf16);
  EXPECT_DOUBLE_EQ(q.out_bytes, n);  // 8 bits out
  EXPECT_EQ(op_shape_label(q), "quantize T=16 H=4096");
  EXPECT_THROW(make_elementwise("k", EwKind::kKvAppend, T, H, DType::kBf16), std::invalid_argument);
  EXPECT_EQ(make_kv_append("k", 1, 16, 8, 128, DType::kBf16).ew, EwKind::kKvAppend);
}

TEST(Graph, LlamaDecoderLayerAtDecode) {
  ForwardShape s;
  s.batch = 1;
  s.q_len = 1;
  s.kv_len = 1024;
  s.prefill = false;
  auto ops = build_forward(model("llama2-7b"), s);
  EXPECT_EQ(names(ops), (std::vector<std::string>{
                            "embed.tokens", "attn.norm", "attn.qkv", "attn.rope", "attn.kv_append",
                            "attn.sdpa", "attn.out", "attn.residual", "mlp.norm", "mlp.gate_up",
                            "mlp.act", "mlp.down", "mlp.residual", "final.norm", "lm_head"}));
  const Op& qkv = find(ops, "attn.qkv");
  EXPECT_EQ(qkv.M, 1);
  EXPECT_EQ(qkv.K, 4096);
  EXPECT_EQ(qkv.N, 12288);
  EXPECT_EQ(qkv.repeat, 32);
  EXPECT_EQ(find(ops, "lm_head").repeat, 1);
  const Op& a = find(ops, "attn.sdpa");
  EXPECT_EQ(a.heads, 32);
  EXPECT_EQ(a.kv_heads, 32);
  EXPECT_EQ(a.head_dim, 128);
  EXPECT_EQ(a.kv_len, 1024);
  // name, FLOPs, weight bytes, input bytes, output bytes (bf16 = 2 bytes)
  check(ops, {
                 {"attn.norm", 16384, 8192, 8192, 8192},
                 {"attn.qkv", 100663296, 100663296, 8192, 24576},
                 {"attn.rope", 24576, 0, 16384, 16384},
                 {"attn.kv_append", 0, 0, 16384, 16384},
                 {"attn.sdpa", 16777216, 0, 16785408, 8192},  // 1024 keys × 32 heads × 128 × 4
                 {"attn.out", 33554432, 33554432, 8192, 8192},
                 {"attn.residual", 4096, 0, 16384, 8192},
                 {"mlp.gate_up", 180355072, 180355072, 8192, 44032},
                 {"mlp.act", 55040, 0, 44032, 22016},
                 {"mlp.down", 90177536, 90177536, 22016, 8192},
                 {"lm_head", 262144000, 262144000, 8192, 64000},
             });
}

// The kernels of a stack change how a layer's pieces are split, not what they move: the PyTorch
// eager stack that measured validation/gpu's e2e rows runs RoPE as five kernels per tensor and
// writes K and V with one copy each (and its prefill benchmark fills no cache).
TEST(Graph, StackKernelsSplitRopeAndTheKvWrite) {
  ForwardShape s;
  s.batch = 2;
  s.q_len = 1;
  s.kv_len = 1024;
  s.prefill = false;
  const ModelConfig m = model("llama3-8b");
  const auto fused = build_layer(m, s);
  s.kernels = {StackKernels::Rope::kTorchRotateHalf, StackKernels::KvWrite::kCopies, false};
  const auto eager = build_layer(m, s);
  EXPECT_EQ(names(eager), (std::vector<std::string>{
                              "attn.norm", "attn.qkv", "attn.rope_q.mul_cos", "attn.rope_q.neg",
                              "attn.rope_q.cat", "attn.rope_q.mul_sin", "attn.rope_q.add",
                              "attn.rope_k.mul_cos", "attn.rope_k.neg", "attn.rope_k.cat",
                              "attn.rope_k.mul_sin", "attn.rope_k.add", "attn.kv_append",
                              "attn.kv_append", "attn.sdpa", "attn.out", "attn.residual",
                              "mlp.norm", "mlp.gate_up", "mlp.act", "mlp.down", "mlp.residual"}));
  // The two copies move what the fused append moves: K and V of 8 heads x 128 for 2 tokens.
  double copies = 0;
  for (const Op& op : eager)
    if (op.name == "attn.kv_append") copies += op.out_bytes;
  EXPECT_EQ(copies, find(fused, "attn.kv_append").out_bytes);
  EXPECT_EQ(copies, 2.0 * 2 * 8 * 128 * 2);
  // rotate-half: q is 32 x 128 wide, k 8 x 128; the negation touches half of each.
  EXPECT_EQ(find(eager, "attn.rope_q.neg").H, 32 * 128 / 2);
  EXPECT_EQ(find(eager, "attn.rope_k.mul_cos").H, 8 * 128);
  // Its prefill writes no cache; the default prefill does.
  s.prefill = true;
  s.q_len = s.kv_len = 512;
  const auto eager_prefill = build_layer(m, s);
  EXPECT_EQ(std::count_if(eager_prefill.begin(), eager_prefill.end(),
                          [](const Op& op) { return op.name == "attn.kv_append"; }),
            0);
  s.kernels = {};
  const auto fused_prefill = build_layer(m, s);
  EXPECT_EQ(std::count_if(fused_prefill.begin(), fused_prefill.end(),
                          [](const Op& op) { return op.name == "attn.kv_append"; }),
            1);
}

TEST(Graph, Gpt2LayerAtPrefill) {
  ForwardShape s;
  s.batch = 1;
  s.q_len = 128;
  s.kv_len = 128;
  auto ops = build_forward(model("gpt2"), s);
  EXPECT_EQ(names(ops),
            (std::vector<std::string>{"embed.tokens", "embed.positions", "embed.add", "attn.norm",
                                      "attn.qkv", "attn.kv_append", "attn.sdpa", "attn.out",
                                      "attn.residual", "mlp.norm", "mlp.up", "mlp.act", "mlp.down",
                                      "mlp.residual", "final.norm", "lm_head"}));
  EXPECT_EQ(find(ops, "mlp.act").ew, EwKind::kGelu);
  check(ops, {
                 {"embed.tokens", 0, 196608, 0, 196608},
                 {"embed.add", 98304, 0, 393216, 196608},
                 {"attn.norm", 688128, 3072, 196608, 196608},
                 {"attn.qkv", 452984832, 3538944, 196608, 589824},
                 {"attn.kv_append", 0, 0, 393216, 393216},
                 {"attn.sdpa", 25362432, 0, 589824, 196608},  // causal: 128·129/2 query-key pairs
                 {"attn.out", 150994944, 1179648, 196608, 196608},
                 {"mlp.up", 603979776, 4718592, 196608, 786432},
                 {"mlp.act", 3145728, 0, 786432, 786432},
                 {"mlp.down", 603979776, 4718592, 786432, 196608},
                 {"lm_head", 77194752, 77194752, 1536, 100514},  // last token only
             });
}

// GPT-J: one LayerNorm feeds attention and the MLP (parallel residual), so a layer has one norm,
// both branch outputs add to the residual, and under tensor parallelism one all-reduce carries
// both branches' partial sums; RoPE rotates 64 of each head's 256 dimensions.
TEST(Graph, GptjLayerHasParallelResidualAndPartialRotary) {
  const ModelConfig m = model("gpt-j-6b");
  EXPECT_TRUE(m.parallel_residual);
  EXPECT_EQ(m.rotary_dim_or_default(), 64);
  EXPECT_EQ(m.head_dim_or_default(), 256);
  ForwardShape s;
  s.batch = 2;
  s.q_len = 1;
  s.kv_len = 512;
  s.prefill = false;
  auto ops = build_layer(m, s);
  EXPECT_EQ(names(ops), (std::vector<std::string>{"attn.norm", "attn.qkv", "attn.rope",
                                                  "attn.kv_append", "attn.sdpa", "attn.out",
                                                  "attn.residual", "mlp.up", "mlp.act", "mlp.down",
                                                  "mlp.residual"}));
  EXPECT_EQ(find(ops, "mlp.up").K, 4096);  // reads the same norm output as attn.qkv
  EXPECT_EQ(find(ops, "mlp.up").N, 16384);
  EXPECT_EQ(find(ops, "mlp.act").ew, EwKind::kGelu);
  // Rotary on (16 query + 16 key heads) x 64 dimensions, not x 256.
  EXPECT_EQ(find(ops, "attn.rope").H, (16 + 16) * 64);
  EXPECT_EQ(find(ops, "attn.sdpa").head_dim, 256);
  // One norm per layer: the model has half the norm parameters of a sequential block.
  ModelConfig sequential = m;
  sequential.parallel_residual = false;
  EXPECT_EQ(sequential.parameter_count() - m.parameter_count(), 28.0 * 2 * 4096);
  const auto seq_ops = build_layer(sequential, s);
  EXPECT_EQ(std::count_if(seq_ops.begin(), seq_ops.end(),
                          [](const Op& op) { return op.name == "mlp.norm"; }),
            1);
  // Tensor parallel: one all-reduce per layer (sequential blocks have two).
  s.tp = 4;
  auto tp = build_layer(m, s);
  EXPECT_EQ(std::count_if(tp.begin(), tp.end(),
                          [](const Op& op) { return op.kind == OpKind::kCollective; }),
            1);
  EXPECT_EQ(find(tp, "mlp.allreduce").message_bytes, 2.0 * 4096 * 2);
  auto tp_seq = build_layer(sequential, s);
  EXPECT_EQ(std::count_if(tp_seq.begin(), tp_seq.end(),
                          [](const Op& op) { return op.kind == OpKind::kCollective; }),
            2);
  // The eager stack rotates the 64-wide slices and concatenates them with the rest of each head.
  s.tp = 1;
  s.kernels = {StackKernels::Rope::kTorchRotateHalf, StackKernels::KvWrite::kFused, true};
  auto eager = build_layer(m, s);
  EXPECT_EQ(find(eager, "attn.rope_q.mul_cos").H, 16 * 64);
  EXPECT_EQ(find(eager, "attn.rope_q.cat_pass").H, 16 * 256);
}

TEST(Models, RotaryDimMustFitTheHeadAndNeedsRope) {
  testing::TempDir dir;
  auto error_of = [&](const std::string& extra) {
    return testing::config_error_of([&] {
      parse_model(ConfigStore().load_file(
          dir.write("m.yaml", "type: model\nbase: gpt-j-6b\nname: m\n" + extra)));
    });
  };
  EXPECT_NE(error_of("rotary_dim: 512\n").find("at most the head width 256"), std::string::npos);
  EXPECT_NE(error_of("rotary_dim: 63\n").find("must be even"), std::string::npos);
  EXPECT_NE(error_of("positional: learned\n").find("needs positional: rope"), std::string::npos);
  EXPECT_EQ(parse_model(ConfigStore().load_file(dir.write(
                "ok.yaml", "type: model\nbase: gpt-j-6b\nname: ok\nrotary_dim: 128\n")))
                .rotary_dim_or_default(),
            128);
}

// Beam search: each prompt's beams read its prefix keys once (their queries attend together) and
// their own generated keys; the GEMMs and the LM head run on every beam.
TEST(Graph, BeamSearchSharesThePromptCache) {
  const ModelConfig m = model("gpt-j-6b");
  ForwardShape s;
  s.batch = 8;
  s.q_len = 1;
  s.prefill = false;
  s.beams = 4;
  s.prefix_len = 1000;
  s.kv_len = 1000 + 40;
  auto ops = build_forward(m, s);
  EXPECT_EQ(find(ops, "attn.qkv").M, 32);
  EXPECT_EQ(find(ops, "lm_head").M, 32);
  EXPECT_EQ(find(ops, "attn.kv_append").B, 32);
  const Op& prefix = find(ops, "attn.sdpa_prefix");
  EXPECT_EQ(prefix.B, 8);
  EXPECT_EQ(prefix.q_len, 4);
  EXPECT_EQ(prefix.kv_len, 1000);
  EXPECT_FALSE(prefix.causal);
  const Op& own = find(ops, "attn.sdpa");
  EXPECT_EQ(own.B, 32);
  EXPECT_EQ(own.q_len, 1);
  EXPECT_EQ(own.kv_len, 40);
  // Each step reorders every beam's own keys and values (read and written once).
  const Op& shuffle = find(ops, "attn.beam_shuffle");
  EXPECT_EQ(shuffle.in_bytes, 32.0 * 40 * 16 * 256 * 2 * 2);
  EXPECT_EQ(shuffle.out_bytes, shuffle.in_bytes);
  // The prefix is read once per prompt, not once per beam: 8 x 1000 x 16 heads x 256 x 2 (K, V)
  // x 2 bytes, plus the queries.
  EXPECT_EQ(prefix.in_bytes, 8.0 * 1000 * 16 * 256 * 2 * 2 + 8.0 * 4 * 16 * 256 * 2);
  // Memory: one prefix per prompt plus every beam's generated positions.
  const MemoryNeed need = memory_need(m, s, 1000 + 128, 2.0);
  EXPECT_EQ(need.kv_cache, 2.0 * 28 * 8 * (1000 + 4 * 128) * 4096 * 2);
  // Prefill runs once per prompt, whatever the beams.
  s.prefill = true;
  s.q_len = s.kv_len = 1000;
  EXPECT_EQ(find(build_forward(m, s), "attn.qkv").M, 8 * 1000);
}

TEST(Graph, KvCacheGrowsByOneTokenPerStep) {
  ForwardShape s;
  s.prefill = false;
  s.batch = 4;
  const auto m = model("llama3-8b");  // GQA: 8 kv heads of 128
  s.kv_len = 1000;
  double a = find(build_forward(m, s), "attn.sdpa").in_bytes;
  s.kv_len = 1001;
  double b = find(build_forward(m, s), "attn.sdpa").in_bytes;
  EXPECT_EQ(b - a, 4.0 * 2 * 8 * 128 * 2);  // batch × (K and V) × kv heads × head_dim × bf16
  EXPECT_EQ(kv_cache_bytes(m, 4, 1001, DType::kBf16) - kv_cache_bytes(m, 4, 1000, DType::kBf16),
            32.0 * 4 * 2 * 8 * 128 * 2);  // and so does the cache, in every layer
}

TEST(Graph, UnfusedAttentionMaterialisesTheScores) {
  ForwardShape s;
  s.q_len = 512;
  s.kv_len = 512;
  s.fused_attention = false;
  auto ops = build_forward(model("llama3-8b"), s);
  const Op& qk = find(ops, "attn.qk");
  EXPECT_EQ(qk.M, 512 * 4);  // the 4 query heads of a KV group share one batched GEMM
  EXPECT_EQ(qk.K, 128);
  EXPECT_EQ(qk.N, 512);
  EXPECT_EQ(qk.gemm_batch, 8);
  EXPECT_EQ(qk.flops, 2.0 * 2048 * 128 * 512 * 8);  // the full square, masked afterwards
  const Op& sm = find(ops, "attn.softmax");
  EXPECT_EQ(sm.T, 32 * 512);
  EXPECT_EQ(sm.H, 512);
  EXPECT_EQ(find(ops, "attn.pv").N, 128);
}

std::vector<Op> llama_decode_ops() {
  ForwardShape s;
  s.prefill = false;
  s.kv_len = 2048;
  return build_forward(model("llama2-7b"), s);
}

TEST(Compression, QuantisationChangesBytesNotFlops) {
  auto base = llama_decode_ops();
  const Op& b = find(base, "mlp.down");
  for (const char* scheme : {"int8", "fp8"}) {
    auto ops = base;
    apply_compression(ops, *parse_quant(scheme), PruneScheme{});
    const Op& q = find(ops, "mlp.down");
    EXPECT_EQ(q.flops, b.flops) << scheme;
    EXPECT_EQ(q.weight_bytes, b.weight_bytes / 2) << scheme;
    EXPECT_EQ(q.in_bytes, b.in_bytes / 2) << scheme;  // 8-bit activations
    EXPECT_EQ(q.dtype, *parse_dtype(scheme)) << scheme;
    EXPECT_EQ(find(ops, "lm_head").dtype, DType::kBf16) << "the LM head stays in 16 bits";
    EXPECT_EQ(find(ops, "attn.sdpa").dtype, DType::kBf16);
  }
  auto w8 = base;
  apply_compression(w8, *parse_quant("w8a16"), PruneScheme{});
  EXPECT_EQ(find(w8, "mlp.down").weight_bytes, b.weight_bytes / 2);
  EXPECT_EQ(find(w8, "mlp.down").dtype, DType::kBf16);  // computed in bf16 after dequantising
  EXPECT_GT(find(w8, "mlp.down").dequant_flops, 0);
  auto w4 = base;
  apply_compression(w4, *parse_quant("w4a16"), PruneScheme{});
  const Op& d4 = find(w4, "mlp.down");
  // int4 values plus one fp16 scale per group of 128 along K.
  EXPECT_EQ(d4.weight_bytes, 11008.0 * 4096 / 2 + (11008.0 / 128) * 4096 * 2);
  EXPECT_EQ(d4.dequant_flops, 2.0 * 11008 * 4096);  // one 128-row block of activations
  EXPECT_EQ(d4.flops, b.flops);
}

TEST(Compression, KvCacheQuantisationHalvesKvTraffic) {
  ForwardShape s;
  s.prefill = false;
  s.kv_len = 4096;
  const auto m = model("llama2-7b");
  const Op bf = find(build_forward(m, s), "attn.sdpa");
  s.kv_dtype = DType::kInt8;
  const Op i8 = find(build_forward(m, s), "attn.sdpa");
  const double q_bytes = 32.0 * 128 * 2;
  const double kv_bf16 = bf.in_bytes - q_bytes;
  // 1 byte per value plus an fp16 scale per token and head: 1 + 2/128 of the bf16 traffic's half.
  EXPECT_DOUBLE_EQ(i8.in_bytes - q_bytes, kv_bf16 / 2 * (1.0 + 2.0 / 128));
  EXPECT_EQ(find(build_forward(m, s), "attn.kv_append").out_bytes, 2.0 * 32 * 128);
}

TEST(Compression, PruningSchemes) {
  auto base = llama_decode_ops();
  const Op& b = find(base, "attn.out");
  auto with = [&](const std::string& text) {
    std::string why;
    auto p = parse_prune(text, &why);
    EXPECT_TRUE(p) << why;
    auto ops = base;
    apply_compression(ops, QuantScheme{}, *p);
    return find(ops, "attn.out");
  };
  const double n = 4096.0 * 4096;
  Op s24 = with("2:4");
  EXPECT_EQ(s24.weight_bytes, n / 2 * 2 + n / 2 * 0.25);  // half the values + 2-bit indices
  EXPECT_EQ(s24.flops, b.flops);                          // dense-equivalent; 2:4 units run them 2x
  EXPECT_EQ(s24.wformat, WeightFormat::kSparse24);
  Op dense = with("unstructured:0.5");
  EXPECT_EQ(dense.weight_bytes, b.weight_bytes);  // zeros stored densely save nothing
  EXPECT_EQ(dense.flops, b.flops);
  Op csr = with("unstructured:0.3:csr");
  EXPECT_DOUBLE_EQ(csr.weight_bytes, n * 0.3 * (2 + 4) + 4097 * 4);
  EXPECT_DOUBLE_EQ(csr.flops, b.flops * 0.3);
  Op bitmap = with("unstructured:0.3:bitmap");
  EXPECT_DOUBLE_EQ(bitmap.weight_bytes, n * 0.3 * 2 + n / 8);

  const auto m = model("llama3-8b");
  std::string why;
  EXPECT_EQ(apply_structured_pruning(m, *parse_prune("heads:0.25", &why)).heads,
            24);  // 3 of 4 per KV group
  EXPECT_EQ(apply_structured_pruning(m, *parse_prune("heads:0.25", &why)).kv_heads, 8);
  EXPECT_EQ(apply_structured_pruning(m, *parse_prune("ffn:0.5", &why)).ffn, 7168);
  EXPECT_EQ(apply_structured_pruning(m, *parse_prune("layers:0.25", &why)).layers, 24);
  for (const char* bad :
       {"3:4", "unstructured:1.5", "unstructured:0.5:coo", "heads:1", "ffn:-0.1", "depth:0.5"})
    EXPECT_FALSE(parse_prune(bad, &why)) << bad;
}

TEST(Parallelism, TensorParallelSplitsAndAllReduces) {
  ForwardShape s;
  s.prefill = false;
  s.kv_len = 1024;
  s.batch = 8;
  s.tp = 4;
  auto ops = build_forward(model("llama2-7b"), s);
  EXPECT_EQ(find(ops, "attn.qkv").N, 3 * 4096 / 4);  // column split
  EXPECT_EQ(find(ops, "attn.out").K, 4096 / 4);      // row split
  EXPECT_EQ(find(ops, "mlp.gate_up").N, 2 * 11008 / 4);
  EXPECT_EQ(find(ops, "mlp.down").K, 11008 / 4);
  EXPECT_EQ(find(ops, "attn.sdpa").heads, 8);
  EXPECT_EQ(find(ops, "lm_head").N, 8000);
  for (const char* ar : {"attn.allreduce", "mlp.allreduce"}) {
    const Op& c = find(ops, ar);
    EXPECT_EQ(c.collective, "all_reduce");
    EXPECT_EQ(c.ranks, 4);
    EXPECT_EQ(c.message_bytes, 8.0 * 4096 * 2);  // the layer's output for every token
    EXPECT_EQ(c.repeat, 32);
  }
  // GQA with fewer kv heads than ranks keeps a copy of a kv head on each rank.
  s.tp = 16;
  auto g = build_forward(model("llama3-8b"), s);
  EXPECT_EQ(find(g, "attn.sdpa").kv_heads, 1);
  EXPECT_EQ(find(g, "attn.qkv").N, (2 + 2) * 128);
  ForwardShape tp3;
  tp3.tp = 3;
  EXPECT_NE(check_parallelism(model("llama2-7b"), tp3), "");
}

TEST(Parallelism, PipelineStagesAndSchedule) {
  ForwardShape s;
  s.pp = 3;
  auto ops = build_forward(model("llama2-7b"), s);
  EXPECT_EQ(find(ops, "attn.qkv", 0).repeat, 11);  // 32 layers: 11 + 11 + 10
  EXPECT_EQ(find(ops, "attn.qkv", 2).repeat, 10);
  EXPECT_EQ(find(ops, "embed.tokens", 0).stage, 0);
  EXPECT_EQ(find(ops, "lm_head", 2).stage, 2);
  EXPECT_EQ(find(ops, "pp.send", 1).collective, "send");

  // On a device: a pass takes the sum of the stages plus (m - 1) of the slowest one.
  ConfigStore store;
  auto dev = make_device(store.load("tpu-v4", "hw"), "tpu-v4");
  OpCache cache;
  PointSpec p;
  p.phase = Phase::kDecode;
  p.batch = 8;
  p.ctx = 512;
  p.pp = 2;
  p.microbatches = 4;
  auto r = evaluate_point(*dev, cache, model("llama2-7b"), p);
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.devices, 2);
  EXPECT_GT(r.bubble, 0.0);
  EXPECT_LT(r.bubble, 0.5);
  p.pp = 1;
  p.microbatches = 0;
  auto flat = evaluate_point(*dev, cache, model("llama2-7b"), p);
  EXPECT_GT(r.latency_s, flat.latency_s * 0.5);  // no free lunch from splitting one device's work
}

// A tensor-parallel group runs as concurrent devices that meet at every collective: with equal
// ranks nobody waits, so the step is the sum of one rank's operators (to SystemC's picoseconds),
// and a pipeline of TP groups pays its bubble on top.
TEST(Parallelism, TensorParallelRanksRunConcurrentlyInTheEngine) {
  ConfigStore store;
  auto dev = make_device(store.load("h100", "hw"), "h100");
  OpCache cache;
  PointSpec p;
  p.phase = Phase::kDecode;
  p.batch = 8;
  p.ctx = 1024;
  p.tp = 4;
  auto r = evaluate_point(*dev, cache, model("llama2-13b"), p);
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.devices, 4);
  double sum = 0;
  size_t collectives = 0;
  for (const auto& rec : r.ops) {
    sum += rec.total_s;
    collectives += rec.op.kind == OpKind::kCollective;
  }
  EXPECT_GE(collectives, 2u);  // all-reduces after attention and the MLP
  EXPECT_NEAR(r.latency_s, sum, 1e-9 * sum + 1e-9);
  p.pp = 2;
  p.microbatches = 2;
  auto both = evaluate_point(*dev, cache, model("llama2-13b"), p);
  ASSERT_TRUE(both.ok) << both.reason;
  EXPECT_EQ(both.devices, 8);
  EXPECT_GT(both.bubble, 0.0);
}

TEST(Parallelism, ExpertParallelMoe) {
  const auto mix = model("mixtral-8x7b");
  ForwardShape s;
  s.prefill = false;
  s.kv_len = 1024;
  s.batch = 1;
  auto ops = build_forward(mix, s);
  EXPECT_EQ(find(ops, "moe.expert.up").repeat, 32 * 2);  // one token visits its top-2 experts
  EXPECT_EQ(find(ops, "moe.expert.up").N, 2 * 14336);
  s.batch = 64;
  s.tp = 4;
  s.ep = 4;
  auto ep = build_forward(mix, s);
  EXPECT_EQ(find(ep, "moe.expert.up").N, 2 * 14336);    // experts stay whole
  EXPECT_EQ(find(ep, "moe.expert.up").repeat, 32 * 2);  // 8 experts over 4 ranks
  EXPECT_EQ(find(ep, "moe.expert.up").M, 64 * 2 / 8);
  s.tp = 1;  // data-parallel attention: tokens travel to their experts and back
  auto a2a = build_forward(mix, s);
  EXPECT_EQ(find(a2a, "moe.dispatch").collective, "all_to_all");
  EXPECT_EQ(find(a2a, "moe.combine").ranks, 4);
  // 64 tokens in all (16 per rank) fill the 8 experts with 16 slots each, 2 experts per rank.
  EXPECT_EQ(find(a2a, "moe.expert.up").M, 64 * 2 / 8);
  EXPECT_EQ(find(a2a, "moe.expert.up").repeat, 32 * 2);
  // One token on 2 ranks: its 2 experts are one per rank, each with that one token (the ranks'
  // shares of the batch were once counted as two tokens, putting 2 experts on every rank).
  s.batch = 1;
  s.ep = 2;
  auto one = build_forward(mix, s);
  EXPECT_EQ(find(one, "moe.expert.up").repeat, 32 * 1);
  EXPECT_EQ(find(one, "moe.expert.up").M, 1);
  ForwardShape ep2;
  ep2.ep = 2;
  EXPECT_NE(check_parallelism(model("llama2-7b"), ep2), "");
}

TEST(Capacity, TooBigPointsSayWhatWouldFit) {
  ConfigStore store;
  auto dev = make_device(store.load("tpu-v4", "hw"), "tpu-v4");
  OpCache cache;
  PointSpec p;
  p.phase = Phase::kDecode;
  p.ctx = 2048;
  auto r = evaluate_point(*dev, cache, model("llama2-70b"), p);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("does not fit: weights 128."), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("--tp 8 would fit"), std::string::npos) << r.reason;
  p.tp = 0;  // auto: the smallest degree that fits
  auto a = evaluate_point(*dev, cache, model("llama2-70b"), p);
  ASSERT_TRUE(a.ok) << a.reason;
  EXPECT_EQ(a.tp, 8);
  EXPECT_LE(a.weight_bytes + a.kv_bytes + a.activation_bytes, a.capacity_bytes);
  p.quant = *parse_quant("w4a16");  // a quarter of the weight bytes
  auto q = evaluate_point(*dev, cache, model("llama2-70b"), p);
  ASSERT_TRUE(q.ok) << q.reason;
  EXPECT_EQ(q.tp, 2);
}

TEST(Capacity, WhatIfRunsTimeThePointAndWarn) {
  ConfigStore store;
  auto dev = make_device(store.load("a100", "hw"), "a100");
  OpCache cache;
  PointSpec p;
  p.phase = Phase::kDecode;
  p.batch = 8;
  p.ctx = 3072;  // beyond GPT-3's 2048 positions, and 4 x 80 GB cannot hold it at tp 4
  p.tp = 4;
  auto strict = evaluate_point(*dev, cache, model("gpt3-175b"), p);
  EXPECT_FALSE(strict.ok);
  p.enforce_limits = false;
  auto what_if = evaluate_point(*dev, cache, model("gpt3-175b"), p);
  ASSERT_TRUE(what_if.ok) << what_if.reason;
  EXPECT_GT(what_if.latency_s, 0);
  ASSERT_EQ(what_if.warnings.size(), 2u);
  EXPECT_NE(what_if.warnings[0].find("exceeds the model's 2048 positions"), std::string::npos);
  EXPECT_NE(what_if.warnings[1].find("does not fit"), std::string::npos);
}

TEST(Models, ParameterCountsMatchPublishedFigures) {
  // Published totals (model cards / checkpoints; see each YAML's comment).
  const std::pair<const char*, double> published[] = {
      {"gpt2", 124.44e6},        {"gpt2-xl", 1557.6e6},     {"llama2-7b", 6738.4e6},
      {"llama2-13b", 13015.9e6}, {"llama2-70b", 68976.6e6}, {"llama3-8b", 8030.3e6},
      {"llama3-70b", 70553.7e6}, {"mistral-7b", 7241.7e6},  {"mixtral-8x7b", 46702.8e6},
      {"gpt3-175b", 175e9},      {"opt-6.7b", 6658.5e6},    {"bert-base", 109.48e6},
      {"gpt-j-6b", 6053.4e6}};
  for (const auto& [name, count] : published) {
    const double ours = model(name).parameter_count();
    EXPECT_NEAR(ours / count, 1.0, 0.01) << name << ": " << ours;
  }
}

TEST(Models, StudentsAreSmallerModels) {
  EXPECT_EQ(model("llama2-7b-2layer").layers, 2);
  EXPECT_EQ(model("llama2-7b-half").hidden, 2048);
  EXPECT_LT(model("llama2-7b-half").parameter_count(), model("llama2-7b").parameter_count() / 3);
}

}  // namespace
}  // namespace xpusim
