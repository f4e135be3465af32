// Stack presets and their overrides.
#include "workloads/stack.h"

#include <fmt/format.h>

#include <algorithm>

namespace xpusim {
namespace {

using Rope = StackKernels::Rope;
using KvWrite = StackKernels::KvWrite;

std::optional<SoftwareStack> preset(const std::string& name) {
  SoftwareStack s;
  s.name = name;
  if (name == "reference") return s;  // the kernels the project measured first: FA2, Triton
  if (name == "torch-eager") {
    // PyTorch eager with Hugging Face's model code: SDPA's default (cuDNN on Hopper; the model
    // falls back to FA2 where the card has no cuDNN kernel parameters, as PyTorch does before
    // sm90), RMSNorm/SiLU·mul/GELU as eager kernels, rotate-half RoPE, K and V copied.
    s.attention = AttnImpl::kCudnn;
    s.elementwise = EwImpl::kEager;
    s.rope = Rope::kTorchRotateHalf;
    s.kv_write = KvWrite::kCopies;
    return s;
  }
  if (name == "torch-compiled") {
    // torch.compile (inductor): Triton kernels for the elementwise parts, the residual add fused
    // into the next norm, RoPE of q and k in one kernel; SDPA and the cache copies as in eager.
    s.attention = AttnImpl::kCudnn;
    s.elementwise = EwImpl::kCompiled;
    s.fused_residual = true;
    s.rope = Rope::kFused;
    s.kv_write = KvWrite::kCopies;
    return s;
  }
  if (name == "serving") {
    // vLLM-style engines on Hopper: FlashAttention-3, fused add+RMSNorm and SiLU·mul custom ops,
    // one rotary kernel, one cache-write kernel (reshape_and_cache) for K and V.
    s.attention = AttnImpl::kFlash3;
    s.elementwise = EwImpl::kFused;
    s.fused_residual = true;
    s.rope = Rope::kFused;
    s.kv_write = KvWrite::kFused;
    return s;
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& stack_preset_names() {
  static const std::vector<std::string> n = {"reference", "torch-eager", "torch-compiled",
                                             "serving"};
  return n;
}

std::string SoftwareStack::describe() const {
  return fmt::format("{} (attention {}, elementwise {}{}, rope {}, kv_write {}, gemm {})", text,
                     attn_impl_name(attention), ew_impl_name(elementwise),
                     fused_residual ? " with residual adds fused into the norms" : "",
                     rope == Rope::kFused ? "fused" : "torch",
                     kv_write == KvWrite::kFused ? "fused" : "copies", gemm);
}

void SoftwareStack::apply(ForwardShape& s) const {
  s.kernels.rope = rope;
  s.kernels.kv_write = kv_write;
  s.kernels.attention = attention;
  s.kernels.elementwise = elementwise;
  s.kernels.fused_residual = fused_residual;
}

std::optional<SoftwareStack> parse_stack(const std::string& text, std::string* why) {
  auto fail = [&](std::string w) {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  std::vector<std::string> parts;
  for (size_t b = 0; b <= text.size();) {
    size_t e = text.find(',', b);
    if (e == std::string::npos) e = text.size();
    parts.push_back(text.substr(b, e - b));
    b = e + 1;
  }
  std::optional<SoftwareStack> s = preset(parts.front());
  if (!s)
    return fail(fmt::format("'{}' is not a stack preset; expected one of: {}", parts.front(),
                            fmt::join(stack_preset_names(), ", ")));
  s->text = text;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const size_t eq = p.find('=');
    if (eq == std::string::npos)
      return fail(
          fmt::format("'{}' is not key=value (after the preset: attention=, "
                      "elementwise=, residual=, rope=, kv_write=, gemm=)",
                      p));
    const std::string k = p.substr(0, eq), v = p.substr(eq + 1);
    auto bad = [&](const char* allowed) {
      return fail(fmt::format("stack {}='{}': expected {}", k, v, allowed));
    };
    if (k == "attention") {
      if (auto a = attn_impl_from_name(v)) {
        s->attention = *a;
      } else {
        return bad("flash2, cudnn, flash3 or math");
      }
    } else if (k == "elementwise") {
      if (v == "eager")
        s->elementwise = EwImpl::kEager;
      else if (v == "compiled")
        s->elementwise = EwImpl::kCompiled;
      else if (v == "fused")
        s->elementwise = EwImpl::kFused;
      else
        return bad("eager, compiled or fused");
    } else if (k == "residual") {
      if (v == "fused")
        s->fused_residual = true;
      else if (v == "separate")
        s->fused_residual = false;
      else
        return bad("fused or separate");
    } else if (k == "rope") {
      if (v == "fused")
        s->rope = Rope::kFused;
      else if (v == "torch")
        s->rope = Rope::kTorchRotateHalf;
      else
        return bad("fused or torch");
    } else if (k == "kv_write") {
      if (v == "fused")
        s->kv_write = KvWrite::kFused;
      else if (v == "copies")
        s->kv_write = KvWrite::kCopies;
      else
        return bad("fused or copies");
    } else if (k == "gemm") {
      if (v != "cublas") return bad("cublas (the only GEMM library modelled)");
      s->gemm = v;
    } else {
      return fail(
          fmt::format("'{}' is not a stack key; expected attention, elementwise, "
                      "residual, rope, kv_write or gemm",
                      k));
    }
  }
  return s;
}

}  // namespace xpusim
