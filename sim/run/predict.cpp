// Row parsing and prediction for `xpusim predict`.
#include "sim/run/predict.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/base/suggest.h"
#include "sim/base/units.h"

namespace xpusim {
namespace {

class RowReader {
 public:
  RowReader(const CsvTable& t, const CsvRow& r, ErrorList& e) : t_(t), r_(r), e_(e) {}

  const std::string* field(const std::string& name, bool required) {
    int c = t_.column(name);
    if (c < 0) {
      if (required)
        e_.add(t_.loc(r_, 0), name, fmt::format("column '{}' is required for this kind", name));
      return nullptr;
    }
    const std::string& v = r_.fields[c].text;
    if (v.empty()) {
      if (required) e_.add(t_.loc(r_, c), name, "value is empty");
      return nullptr;
    }
    return &v;
  }
  // Shapes beyond 2^31 describe no real operator and would overflow the models' arithmetic.
  int64_t positive(const std::string& name, int64_t max = int64_t(1) << 31) {
    const std::string* v = field(name, true);
    if (!v) return 0;
    auto n = parse_number(*v);
    if (!n || std::floor(*n) != *n || *n < 1 || *n > double(max)) {
      e_.add(t_.loc(r_, t_.column(name)), name,
             fmt::format("'{}' is not a whole number between 1 and {}", *v, max));
      return 0;
    }
    return static_cast<int64_t>(*n);
  }
  DType dtype() {
    const std::string* v = field("dtype", true);
    if (!v) return DType::kBf16;
    auto d = parse_dtype(*v);
    if (!d)
      e_.add(t_.loc(r_, t_.column("dtype")), "dtype",
             fmt::format("'{}' is not a dtype; expected one of {}{}", *v,
                         fmt::join(dtype_names(), "|"), did_you_mean(*v, dtype_names())));
    return d.value_or(DType::kBf16);
  }
  bool flag(const std::string& name) {
    const std::string* v = field(name, true);
    if (!v) return false;
    if (*v == "1" || *v == "true" || *v == "True") return true;
    if (*v == "0" || *v == "false" || *v == "False") return false;
    e_.add(t_.loc(r_, t_.column(name)), name,
           fmt::format("'{}' is not a boolean (true|false|1|0)", *v));
    return false;
  }
  std::string choice(const std::string& name, const std::vector<std::string>& allowed,
                     const std::string& def, bool required) {
    const std::string* v = field(name, required);
    if (!v) return def;
    if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
      e_.add(t_.loc(r_, t_.column(name)), name,
             fmt::format("'{}' is not allowed; expected one of {}{}", *v, fmt::join(allowed, "|"),
                         did_you_mean(*v, allowed)));
      return def;
    }
    return *v;
  }

 private:
  const CsvTable& t_;
  const CsvRow& r_;
  ErrorList& e_;
};

const std::vector<std::string> kKinds = {"gemm", "attention", "elementwise", "collective"};
const std::vector<std::string> kCollectives = {"all_reduce", "all_gather", "reduce_scatter",
                                               "all_to_all", "send"};
// The elementwise kernels a row may name: those measured on their own (a KV append is not a
// T x H row).
const std::vector<std::string>& predict_elementwise() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const EwKindInfo& e : ew_kinds())
      if (e.calibrated && e.op_kind == OpKind::kElementwise) n.emplace_back(e.name);
    return n;
  }();
  return names;
}

}  // namespace

std::vector<Op> ops_from_csv(const CsvTable& table) {
  ErrorList errors;
  std::vector<Op> ops;
  for (const auto& row : table.rows) {
    RowReader r(table, row, errors);
    // Without a kind column every row is a GEMM, the commonest use.
    const std::string kind = r.choice("kind", kKinds, "gemm", false);
    const std::string name = fmt::format("row{}", row.line);
    Op op;
    if (kind == "gemm") {
      int64_t M = r.positive("M"), K = r.positive("K"), N = r.positive("N");
      DType dt = r.dtype();
      std::string sp = r.choice("sparsity", {"dense", "2:4"}, "dense", false);
      op = make_gemm(name, M, K, N, dt, sp == "2:4");
      if (const std::string* th = r.field("threads", false)) {
        auto n = parse_number(*th);
        if (!n || *n < 0 || std::floor(*n) != *n || *n > 1e6)
          errors.add(table.loc(row, table.column("threads")), "threads",
                     fmt::format("'{}' is not a core count", *th));
        else
          op.threads = static_cast<int>(*n);
      }
    } else if (kind == "attention") {
      int64_t B = r.positive("B"), h = r.positive("heads"), kv = r.positive("kv_heads"),
              d = r.positive("head_dim");
      int64_t q = r.positive("q_len"), k = r.positive("kv_len");
      bool causal = r.flag("causal");
      DType dt = r.dtype();
      if (h && kv && h % kv != 0)
        errors.add(table.loc(row, table.column("kv_heads")), "kv_heads",
                   fmt::format("{} heads cannot be grouped over {} kv heads", h, kv));
      if (causal && q > k)
        errors.add(table.loc(row, table.column("q_len")), "q_len",
                   fmt::format("causal attention needs q_len ({}) <= kv_len ({})", q, k));
      op = make_attention(name, B, h, kv ? kv : 1, d, q, k, causal, dt);
    } else if (kind == "collective") {
      // bytes: the whole buffer as nccl-tests sizes it; devices: the GPUs taking part.
      const std::string c = r.choice("op", kCollectives, "all_reduce", true);
      const int64_t bytes = r.positive("bytes", int64_t(1) << 50);
      const int64_t devices = r.positive("devices", 1 << 16);
      const std::string mode = r.choice("mode", {"graph", "eager"}, "graph", false);
      op = make_collective(name, c, double(bytes), int(devices ? devices : 2));
      op.eager = mode == "eager";
    } else {
      const std::string e = r.choice("op", predict_elementwise(), "rmsnorm", true);
      int64_t T = r.positive("T"), H = r.positive("H");
      DType dt = r.dtype();
      op = make_elementwise(name, *ew_kind_from_name(e), T, H, dt);
    }
    // The footprint the caller touches between two calls of the op (a loop re-running it on the
    // same buffers: its own bytes; rotating over n copies: n times that): what fits stays in the
    // cache from one call to the next (op.reuse_bytes). Empty or 0: unknown, from main memory.
    if (const std::string* rb = r.field("reuse_bytes", false)) {
      auto n = parse_number(*rb);
      if (!n || !std::isfinite(*n) || *n < 0 || *n > 1e15)
        errors.add(table.loc(row, table.column("reuse_bytes")), "reuse_bytes",
                   fmt::format("'{}' is not a byte count between 0 and 1e15", *rb));
      else
        op.reuse_bytes = *n;
    }
    ops.push_back(op);
  }
  errors.throw_if_any();
  return ops;
}

std::vector<std::vector<std::string>> predict_table(
    Device& device, OpCache& cache, const CsvTable& table,
    const std::function<void(size_t, size_t)>& progress) {
  std::vector<Op> ops = ops_from_csv(table);
  const std::vector<std::string> added = {"pred_ms",          "pred_cycles",    "pred_energy_j",
                                          "pred_avg_power_w", "pred_clock_mhz", "bound",
                                          "pred_error"};
  std::vector<std::string> header = table.header;
  // A TPU's array figures (issue 12), on that family only: before the prediction's columns,
  // which stay the last ones.
  const std::vector<std::string> array_cols = {
      "compute_cycles", "stall_cycles",    "util",
      "mapping_eff",    "dram_read_bytes", "dram_write_bytes"};
  std::vector<int> array_where;
  if (device.family() == "tpu") {
    for (const auto& a : array_cols) {
      int c = table.column(a);
      if (c < 0) {
        header.push_back(a);
        c = static_cast<int>(header.size()) - 1;
      }
      array_where.push_back(c);
    }
  }
  std::vector<int> where;
  for (const auto& a : added) {
    int c = table.column(a);  // an input that already has the column gets it replaced
    if (c < 0) {
      header.push_back(a);
      c = static_cast<int>(header.size()) - 1;
    }
    where.push_back(c);
  }
  std::vector<std::vector<std::string>> out{header};
  for (size_t i = 0; i < ops.size(); ++i) {
    std::vector<std::string> row;
    for (const auto& f : table.rows[i].fields) row.push_back(f.text);
    row.resize(header.size());
    // One op at a time, so that one unsupported row does not hide the others' predictions.
    Evaluation ev = cache.run(device, {ops[i]});
    if (ev.ok) {
      const OpResult& r = ev.results[0];
      row[where[0]] = fmt::format("{:.6g}", r.time_s * 1e3);
      row[where[1]] = fmt::format("{:.0f}", r.cycles);
      row[where[2]] = r.energy_j ? fmt::format("{:.6g}", *r.energy_j) : "";
      // The op run back to back on its own (arch/power.h): board power and the core clock.
      row[where[3]] =
          r.energy_j && r.time_s > 0 ? fmt::format("{:.6g}", *r.energy_j / r.time_s) : "";
      row[where[4]] = r.clock_hz ? fmt::format("{:.0f}", *r.clock_hz / 1e6) : "";
      row[where[5]] = std::string(bound_name(r.bound));
      row[where[6]] = "";
    } else {
      row[where[0]] = row[where[1]] = row[where[2]] = row[where[3]] = row[where[4]] = "";
      row[where[5]] = "unsupported";
      row[where[6]] = ev.reason;
    }
    if (!array_where.empty()) {
      const bool have = ev.ok && ev.results[0].array.has_value();
      const ArrayFigures a = have ? *ev.results[0].array : ArrayFigures{};
      const double v[6] = {a.compute_cycles,    a.stall_cycles,    a.util * 100,
                           a.mapping_eff * 100, a.dram_read_bytes, a.dram_write_bytes};
      for (size_t k = 0; k < array_where.size(); ++k)
        row[array_where[k]] = !have              ? ""
                              : k == 2 || k == 3 ? fmt::format("{:.4g}", v[k])
                                                 : fmt::format("{:.0f}", v[k]);
    }
    out.push_back(std::move(row));
    if (progress) progress(i + 1, ops.size());
  }
  return out;
}

}  // namespace xpusim
