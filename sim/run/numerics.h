// The numerics cross-check: a real (or seeded synthetic) LLaMA model run through every
// compression scheme on the datapath a hardware preset offers, against the fp32 reference:
// relative logit error, top-1 agreement and, with real weights and text, perplexity.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arch/device.h"
#include "workloads/functional/llama_forward.h"

namespace xpusim {

// The formats the preset's matrix unit takes natively.
struct DeviceFormats {
  bool bf16 = false, fp16 = false, fp8 = false, int8 = false;
};
DeviceFormats device_formats(Device& device);

const std::vector<std::string>&
numerics_scheme_names();  // fp32 bf16 fp8 int8 w4a16 2:4 unstructured:0.5

struct SchemeChoice {
  bool ok = true;
  std::string reason;    // why the preset cannot run it
  std::string datapath;  // "bf16*bf16->fp32", "int8 weights dequantised to bf16, ...", ...
  functional::ModelScheme scheme;
};
SchemeChoice choose_scheme(const std::string& name, const DeviceFormats& f);

struct NumericsRow {
  std::string scheme, datapath;
  bool ok = true;
  std::string reason;
  double logit_rel_err = 0;    // ||l - l_ref|| / ||l_ref|| over every evaluated position
  double top1_agreement = 0;   // fraction of positions whose argmax matches the reference's
  std::optional<double> loss;  // mean cross-entropy (nats per token), real text only
  std::optional<double> perplexity;
};

struct NumericsInput {
  std::shared_ptr<functional::LlamaWeightSource> source;
  std::vector<std::vector<int32_t>> sequences;  // evaluated sequences (fresh context each)
  bool has_targets = false;  // next-token targets are the sequences' own next tokens (real text)
  std::vector<int32_t> targets_tail;  // with has_targets: the token after each sequence's last
};

// Up to `windows` non-overlapping windows of `seq` bytes of a byte-level text, each a fresh
// sequence whose next-token targets come from the text itself (the window must be followed by
// at least one byte). The weights are not copied.
NumericsInput byte_windows(const weights::LlamaWeights& w, std::span<const uint8_t> text,
                           std::size_t seq, std::size_t windows);

// Called after each sequence a model has run: (done, total, what is running).
using NumericsProgress = std::function<void(size_t, size_t, const std::string&)>;

// Runs every scheme; the first row is the fp32 reference itself.
std::vector<NumericsRow> run_numerics(const NumericsInput& in, Device& device,
                                      const std::vector<std::string>& schemes,
                                      const kernels::KernelOptions& opt,
                                      const NumericsProgress& progress = {});

// Seeded synthetic weights at a model's shapes (normal, std 0.02; norms 1), `layers` layers,
// made one layer at a time as the evaluation asks for them (see SyntheticLlama).
std::shared_ptr<functional::LlamaWeightSource> synthetic_llama(
    int64_t hidden, int64_t heads, int64_t kv_heads, int64_t ffn, int64_t vocab, int64_t layers,
    int64_t max_positions, uint64_t seed);

}  // namespace xpusim
