// Operator lists for the GPT-2/OPT, LLaMA, MoE and BERT families (shapes as the reference
// implementations launch them: fused QKV, fused gate+up for SwiGLU, flash-style attention),
// sharded for tensor, pipeline and expert parallelism.
#include "workloads/graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/base/errors.h"

namespace xpusim {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// What one device holds of a layer.
struct Shard {
  int64_t heads, kv_heads, ffn, vocab, batch;
  bool data_parallel_attention;  // ep > 1 with tp == 1: each device attends over its own sequences
};

Shard shard_of(const ModelConfig& m, const ForwardShape& s) {
  Shard sh;
  const int64_t kv = m.kv_heads_or_heads();
  sh.heads = m.heads / s.tp;
  sh.kv_heads = kv >= s.tp ? kv / s.tp : 1;  // fewer kv heads than ranks: each rank keeps a copy
  sh.ffn = ceil_div(m.ffn, s.tp);
  sh.vocab = ceil_div(m.vocab, s.tp);
  sh.data_parallel_attention = s.ep > 1 && s.tp == 1;
  sh.batch = sh.data_parallel_attention ? ceil_div(s.batch, s.ep) : s.batch;
  return sh;
}

// A model's norm or activation as an elementwise kernel (its schema admits only kernel names).
EwKind model_ew(const std::string& name) {
  const std::optional<EwKind> k = ew_kind_from_name(name);
  XPUSIM_ASSERT(k.has_value(), "model layer '" + name + "' is not an elementwise kernel");
  return *k;
}

int64_t layers_in_stage(const ModelConfig& m, int pp, int stage) {
  return m.layers / pp + (stage < m.layers % pp ? 1 : 0);
}

class Builder {
 public:
  Builder(const ModelConfig& m, const ForwardShape& s, std::vector<Op>& ops)
      : m_(m),
        s_(s),
        sh_(shard_of(m, s)),
        ops_(ops),
        T_(sh_.batch * (s.beam_decode() ? s.beams : 1) * s.q_len),
        norm_(model_ew(m.norm)) {}

  void embedding(int stage) {
    add(make_elementwise("embed.tokens", EwKind::kEmbedding, T_, m_.hidden, s_.dtype), stage, 1);
    if (m_.positional == "learned") {
      add(make_elementwise("embed.positions", EwKind::kEmbedding, T_, m_.hidden, s_.dtype), stage,
          1);
      add(make_elementwise("embed.add", EwKind::kResidualAdd, T_, m_.hidden, s_.dtype), stage, 1);
    }
    // A vocabulary-parallel table gives each rank the rows it owns; a sum assembles them.
    if (s_.tp > 1) all_reduce("embed.allreduce", T_, stage, 1);
  }

  void layers(int stage, int64_t count) {
    const int64_t H = m_.hidden, hd = m_.head_dim_or_default();
    const int64_t q = sh_.heads * hd, kv = sh_.kv_heads * hd;
    const DType dt = s_.dtype;
    const bool decoder = !m_.encoder_only;
    const bool parallel = m_.parallel_residual;
    // Sequences this pass decodes (batch x beams under beam search) and, per head, the leading
    // dimensions RoPE rotates (all of them unless the model says rotary_dim).
    const int64_t seqs = s_.beam_decode() ? sh_.batch * s_.beams : sh_.batch;
    const int64_t rot = m_.rotary_dim_or_default();
    const int64_t q_rot = sh_.heads * rot, kv_rot = sh_.kv_heads * rot;
    auto layer = [&](Op op) { add(std::move(op), stage, count); };

    // With fused residuals every layer's first norm adds the previous layer's residual (the
    // first layer's has none to add: one read and write of T x H more, at most 1/layers of one).
    layer(ew("attn.norm", norm_, T_, H, s_.kernels.fused_residual && decoder));
    layer(make_gemm("attn.qkv", T_, H, q + 2 * kv, dt));
    if (m_.positional == "rope") {
      // Partial rotary (GPT-J): only the rotated slice of each head goes through RoPE; the eager
      // stack (HF's modeling_gptj) slices it out and concatenates the result with the rest.
      if (s_.kernels.rope == StackKernels::Rope::kFused) {
        layer(ew("attn.rope", EwKind::kRope, T_, q_rot + kv_rot));
      } else {
        for (Op& o : torch_rope_kernels("attn.rope_q", T_, q_rot, dt)) layer(std::move(o));
        for (Op& o : torch_rope_kernels("attn.rope_k", T_, kv_rot, dt)) layer(std::move(o));
        if (rot < hd) {
          layer(make_elementwise("attn.rope_q.cat_pass", EwKind::kRope, T_, q, dt));
          layer(make_elementwise("attn.rope_k.cat_pass", EwKind::kRope, T_, kv, dt));
        }
      }
    }
    if (decoder && (s_.prefill ? s_.kernels.prefill_writes_kv : true)) {
      if (s_.kernels.kv_write == StackKernels::KvWrite::kFused) {
        layer(make_kv_append("attn.kv_append", seqs, s_.q_len, sh_.kv_heads, hd, s_.kv_dtype));
      } else {
        for (Op& o : kv_copy_kernels("attn.kv_append", T_, kv, s_.kv_dtype)) layer(std::move(o));
      }
    }
    auto attention = [&](const char* name, int64_t B, int64_t q_len, int64_t kv_len, bool causal) {
      Op a = make_attention(name, B, sh_.heads, sh_.kv_heads, hd, q_len, kv_len, causal, dt);
      a.kv_dtype = decoder ? s_.kv_dtype : dt;
      a.attn_impl = s_.kernels.attention;
      finalize(a);
      layer(a);
    };
    if (s_.fused_attention && s_.beam_decode()) {
      // Beam search: a prompt's beams attend to its shared prefix together (beams query rows
      // over prefix_len keys, read once per prompt), and each beam to its own generated keys;
      // the two partial softmaxes merge by their maxima and sums (a few operations per output).
      const int64_t own = std::max<int64_t>(1, s_.kv_len - s_.prefix_len);
      attention("attn.sdpa_prefix", sh_.batch, s_.beams, s_.prefix_len, false);
      attention("attn.sdpa", seqs, s_.q_len, own, m_.causal);
      // After the step's top-k, every beam's generated keys and values are reordered to follow
      // the hypotheses that survive (praxis beam_search.shuffle_state on the decode cache, a
      // one-hot einsum over the beam axis): the beams' own cache is read and written once.
      Op shuffle = make_kv_append("attn.beam_shuffle", seqs, own, sh_.kv_heads, hd, s_.kv_dtype);
      shuffle.dtype = s_.kv_dtype;
      finalize(shuffle);
      layer(shuffle);
    } else if (s_.fused_attention) {
      attention("attn.sdpa", sh_.batch, s_.q_len, s_.kv_len, m_.causal);
    } else {
      // Unfused: the queries of a KV group share one batched GEMM against that group's keys; the
      // full score matrix is computed (the causal mask is applied in the softmax) and stored.
      const int64_t group = sh_.heads / sh_.kv_heads;
      const DType kvt = decoder ? s_.kv_dtype : dt;
      Op qk = make_gemm("attn.qk", s_.q_len * group, hd, s_.kv_len, dt);
      Op pv = make_gemm("attn.pv", s_.q_len * group, s_.kv_len, hd, dt);
      for (Op* o : {&qk, &pv}) {
        o->gemm_batch = sh_.batch * sh_.kv_heads;
        o->wdtype = kvt;
        finalize(*o);
      }
      layer(qk);
      layer(make_elementwise("attn.softmax", EwKind::kSoftmax, sh_.batch * sh_.heads * s_.q_len,
                             s_.kv_len, dt));
      layer(pv);
    }
    layer(make_gemm("attn.out", T_, q, H, dt));
    // Parallel residual (GPT-J): the MLP reads the same norm output; the two branches' partial
    // sums add before one all-reduce (XLA's all-reduce reassociation, Megatron's GPT-J layer).
    if (s_.tp > 1 && !parallel) all_reduce("attn.allreduce", T_, stage, count);
    const bool fuse = s_.kernels.fused_residual && decoder;
    if (!fuse || parallel) layer(ew("attn.residual", EwKind::kResidualAdd, T_, H));
    if (!parallel) layer(ew("mlp.norm", norm_, T_, H, fuse));

    const bool swiglu = m_.activation == "swiglu";
    const EwKind act = swiglu ? EwKind::kSiluMul : model_ew(m_.activation);
    if (m_.experts > 0) {
      moe(stage, count, act, swiglu);
    } else {
      layer(
          make_gemm(swiglu ? "mlp.gate_up" : "mlp.up", T_, H, swiglu ? 2 * sh_.ffn : sh_.ffn, dt));
      layer(ew("mlp.act", act, T_, sh_.ffn));
      layer(make_gemm("mlp.down", T_, sh_.ffn, H, dt));
      if (s_.tp > 1) all_reduce("mlp.allreduce", T_, stage, count);
    }
    if (!fuse) layer(ew("mlp.residual", EwKind::kResidualAdd, T_, H));
  }

  void head(int stage) {
    if (m_.encoder_only) return;
    // Logits for the newest token of every sequence (every beam) only.
    // With fused residuals the last layer's residual add is still a kernel of its own.
    const int64_t seqs = s_.sequences();
    if (s_.kernels.fused_residual)
      add(ew("final.residual", EwKind::kResidualAdd, T_, m_.hidden), stage, 1);
    add(ew("final.norm", norm_, seqs, m_.hidden), stage, 1);
    add(make_gemm("lm_head", seqs, m_.hidden, sh_.vocab, s_.dtype), stage, 1);
    if (s_.tp > 1) {
      add(make_collective("lm_head.allgather", "all_gather",
                          double(seqs) * double(m_.vocab) * dtype_bytes(s_.dtype), s_.tp),
          stage, 1);
    }
  }

  // An elementwise op launched as the stack launches it (fused, compiled or eager kernels).
  Op ew(const char* name, EwKind kind, int64_t T, int64_t H, bool add_residual = false) const {
    Op op = make_elementwise(name, kind, T, H, s_.dtype);
    op.ew_impl = s_.kernels.elementwise;
    op.ew_residual = add_residual;
    finalize(op);
    return op;
  }

  void send_to_next_stage(int stage) {
    add(make_collective("pp.send", "send", double(T_) * double(m_.hidden) * dtype_bytes(s_.dtype),
                        2),
        stage, 1);
  }

 private:
  void add(Op op, int stage, int64_t repeat) {
    op.stage = stage;
    op.repeat = repeat;
    ops_.push_back(std::move(op));
  }
  void all_reduce(const char* name, int64_t rows, int stage, int64_t repeat) {
    add(make_collective(name, "all_reduce",
                        double(rows) * double(m_.hidden) * dtype_bytes(s_.dtype), s_.tp),
        stage, repeat);
  }

  void moe(int stage, int64_t count, EwKind act, bool swiglu) {
    const int64_t H = m_.hidden;
    const DType dt = s_.dtype;
    add(make_gemm("moe.router", T_, H, m_.experts, dt), stage, count);
    // Uniform routing: the T·top_k token slots spread evenly over the experts that receive any.
    // With data-parallel attention the slots come from every rank's tokens: the whole batch, not
    // this rank's share times the ranks (a batch of 1 on 2 ranks has 1 token, not 2).
    const int64_t all_tokens = sh_.data_parallel_attention ? s_.batch * s_.q_len : T_;
    const int64_t slots = all_tokens * m_.top_k;
    const int64_t active = std::min<int64_t>(m_.experts, slots);
    const int64_t per_expert = ceil_div(slots, active);
    const bool ep = s_.ep > 1;
    const int64_t local_active = ep ? ceil_div(active, s_.ep) : active;
    const int64_t ffn = ep ? m_.ffn : sh_.ffn;  // expert parallel keeps experts whole
    if (sh_.data_parallel_attention) {
      add(make_collective("moe.dispatch", "all_to_all", double(T_ * m_.top_k * H) * dtype_bytes(dt),
                          s_.ep),
          stage, count);
    }
    const int64_t reps = count * local_active;
    add(make_gemm("moe.expert.up", per_expert, H, swiglu ? 2 * ffn : ffn, dt), stage, reps);
    add(make_elementwise("moe.expert.act", act, per_expert, ffn, dt), stage, reps);
    add(make_gemm("moe.expert.down", per_expert, ffn, H, dt), stage, reps);
    if (sh_.data_parallel_attention) {
      add(make_collective("moe.combine", "all_to_all", double(T_ * m_.top_k * H) * dtype_bytes(dt),
                          s_.ep),
          stage, count);
    } else if (s_.tp > 1) {
      all_reduce("moe.allreduce", T_, stage, count);
    }
  }

  const ModelConfig& m_;
  const ForwardShape& s_;
  Shard sh_;
  std::vector<Op>& ops_;
  int64_t T_;
  EwKind norm_;
};

}  // namespace

std::string check_parallelism(const ModelConfig& m, const ForwardShape& s) {
  if (s.tp < 1 || s.pp < 1 || s.ep < 1) return "parallel degrees must be at least 1";
  if (m.heads % s.tp != 0)
    return fmt::format("tp {} does not divide the {} attention heads", s.tp, m.heads);
  const int64_t kv = m.kv_heads_or_heads();
  if (kv >= s.tp && kv % s.tp != 0)
    return fmt::format("tp {} does not divide the {} kv heads", s.tp, kv);
  if (s.pp > m.layers) return fmt::format("pp {} exceeds the {} layers", s.pp, m.layers);
  if (s.ep > 1) {
    if (m.experts == 0) return fmt::format("ep {} needs a mixture-of-experts model", s.ep);
    if (s.tp > 1 && s.ep != s.tp)
      return fmt::format("ep must be 1 or equal to tp ({}), not {}", s.tp, s.ep);
    if (m.experts % s.ep != 0)
      return fmt::format("ep {} does not divide the {} experts", s.ep, m.experts);
  }
  return "";
}

std::vector<Op> build_forward(const ModelConfig& m, const ForwardShape& s) {
  std::vector<Op> ops;
  Builder b(m, s, ops);
  for (int stage = 0; stage < s.pp; ++stage) {
    if (stage == 0) b.embedding(stage);
    b.layers(stage, layers_in_stage(m, s.pp, stage));
    if (stage + 1 < s.pp) b.send_to_next_stage(stage);
  }
  b.head(s.pp - 1);
  return ops;
}

std::vector<Op> torch_rope_kernels(const std::string& name, int64_t T, int64_t width, DType dt) {
  return {make_elementwise(name + ".mul_cos", EwKind::kRope, T, width, dt),
          make_elementwise(name + ".neg", EwKind::kRope, T, width / 2, dt),
          make_elementwise(name + ".cat", EwKind::kRope, T, width, dt),
          make_elementwise(name + ".mul_sin", EwKind::kRope, T, width, dt),
          make_elementwise(name + ".add", EwKind::kResidualAdd, T, width, dt)};
}

std::vector<Op> kv_copy_kernels(const std::string& name, int64_t T, int64_t width, DType kv_dtype) {
  // A kv_append op moves K and V (2 x heads x head_dim per row): one of them is width / 2 x 2.
  return {make_kv_append(name, T, 1, 1, width / 2, kv_dtype),
          make_kv_append(name, T, 1, 1, width / 2, kv_dtype)};
}

std::vector<Op> build_layer(const ModelConfig& m, const ForwardShape& s) {
  std::vector<Op> ops;
  Builder b(m, s, ops);
  b.layers(0, 1);
  return ops;
}

MemoryNeed memory_need(const ModelConfig& m, const ForwardShape& s, int64_t context,
                       double linear_bytes) {
  const Shard sh = shard_of(m, s);
  const double h = double(m.hidden), hd = double(m.head_dim_or_default());
  const double b = dtype_bytes(s.dtype);
  const double q = double(sh.heads) * hd, kv = double(sh.kv_heads) * hd;
  const double mlp_one = (m.activation == "swiglu" ? 3.0 : 2.0) * h * double(m.ffn);
  const double mlp = m.experts > 0 ? double(m.experts) * mlp_one / double(s.ep > 1 ? s.ep : s.tp)
                                   : mlp_one / double(s.tp);
  const double per_layer = h * (q + 2 * kv) + q * h + mlp;
  const double embed = double(sh.vocab) * h;
  const double head = m.tied_embeddings ? 0.0 : embed;
  // The first stage holds the embeddings and the most layers; the head joins it when pp = 1.
  const int64_t layers0 = m.layers / s.pp + (m.layers % s.pp ? 1 : 0);
  MemoryNeed need;
  need.weights =
      double(layers0) * per_layer * linear_bytes + (embed + (s.pp == 1 ? head : 0.0)) * b;
  // Positions held per prompt: its context, or under beam search the shared prefix once plus
  // every beam's generated part.
  const double positions =
      s.beams > 1 ? double(s.prefix_len) + double(s.beams) * double(context - s.prefix_len)
                  : double(context);
  need.kv_cache = m.encoder_only ? 0.0
                                 : 2.0 * double(layers0) * double(sh.batch) * positions * kv *
                                       dtype_bytes(s.kv_dtype);
  // Live activations of one layer: residual stream, normalised input, QKV, attention output and
  // the MLP's intermediate (twice for gated units); unfused attention adds the score matrix.
  const double T = double(sh.batch) * double(s.q_len) * (s.beam_decode() ? double(s.beams) : 1.0);
  double act = T * (3.0 * h + q + 2 * kv + 2.0 * double(sh.ffn)) * b;
  if (!s.fused_attention)
    act += double(sh.batch) * double(sh.heads) * double(s.q_len) * double(s.kv_len) * b;
  need.activations = act;
  return need;
}

double kv_cache_bytes(const ModelConfig& m, int64_t batch, int64_t context, DType dtype) {
  if (m.encoder_only) return 0;
  return 2.0 * double(m.layers) * double(batch) * double(context) * double(m.kv_heads_or_heads()) *
         double(m.head_dim_or_default()) * dtype_bytes(dtype);
}

}  // namespace xpusim
