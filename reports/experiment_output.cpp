// Table, JSON and CSV renderings of experiment results, and the output folder.
#include "reports/experiment_output.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "sim/base/csv.h"
#include "sim/base/file_name.h"
#include "sim/base/output_files.h"

namespace fs = std::filesystem;

namespace xpusim {
namespace {

std::string ctx_label(const PointResult& p) {
  if (p.phase == Phase::kDecode) return fmt::format("ctx {}", p.ctx);
  if (p.phase == Phase::kGenerate) return fmt::format("{}+{}", p.prompt, p.gen);
  return fmt::format("{}", p.prompt);
}

// "int8 kv:fp8 2:4 tp4 pp2": the options that differ from the plain baseline.
std::string setup_label(const PointResult& p) {
  std::string out = p.quant;
  if (p.kv_quant != "bf16" && p.kv_quant != "fp16") out += " kv:" + p.kv_quant;
  if (p.prune != "none" && !p.prune.empty()) out += " " + p.prune;
  if (p.tp > 1) out += fmt::format(" tp{}", p.tp);
  if (p.pp > 1) out += fmt::format(" pp{}", p.pp);
  if (p.ep > 1) out += fmt::format(" ep{}", p.ep);
  return out;
}

// "tp2 pp1 ep1 on 2 devices": what must be equal for two points' latencies to compare schemes.
std::string layout_label(const PointResult& p) {
  return fmt::format("tp{} pp{} ep{}", p.tp, p.pp, p.ep);
}

// The first point on the same hardware, phase and parallel layout: the baseline of the speed-up
// column. A scheme that runs on another layout (tp: auto picks per scheme) is not compared.
const PointResult* baseline_of(const ExperimentResult& r, const PointResult& p) {
  for (const auto& b : r.points)
    if (b.hw == p.hw && b.phase == p.phase && layout_label(b) == layout_label(p)) return &b;
  return nullptr;
}

// The first point on the same hardware and phase when its layout differs from p's.
const PointResult* other_layout_first(const ExperimentResult& r, const PointResult& p) {
  for (const auto& b : r.points)
    if (b.hw == p.hw && b.phase == p.phase)
      return layout_label(b) == layout_label(p) ? nullptr : &b;
  return nullptr;
}

// Every warning of a point in one CSV cell, "; "-separated.
std::string join_warnings(const std::vector<std::string>& warnings) {
  std::string out;
  for (const auto& w : warnings) out += (out.empty() ? "" : "; ") + w;
  return out;
}

std::string numerics_label(const PointResult& p) {
  if (!p.numerics) return "";
  if (!p.numerics->ok) return "ppl n/a";
  return fmt::format("ppl {:.3f} ({:+.2f}%)", p.numerics->perplexity,
                     p.numerics->perplexity_delta_pct);
}

std::string json_number_or_null_csv(const std::optional<double>& v, double scale) {
  return v ? fmt::format("{:.9g}", *v * scale) : "";
}

}  // namespace

nlohmann::ordered_json point_to_json(const PointResult& p) {
  nlohmann::ordered_json j = point_identity_json(p);
  if (!p.ok) {
    j["error"] = p.reason;
    j["latency_ms"] = nullptr;
    j["tokens_per_s"] = nullptr;
  } else {
    j["latency_ms"] = p.latency_s * 1e3;
    j["tokens_per_s"] = p.tokens_per_s;
  }
  if (p.phase == Phase::kGenerate) {
    j["ttft_ms"] =
        p.ttft_s ? nlohmann::ordered_json(*p.ttft_s * 1e3) : nlohmann::ordered_json(nullptr);
    j["tpot_ms"] =
        p.tpot_s ? nlohmann::ordered_json(*p.tpot_s * 1e3) : nlohmann::ordered_json(nullptr);
  }
  if (!p.warnings.empty()) j["warnings"] = p.warnings;
  if (p.numerics) {
    nlohmann::ordered_json n;
    n["reference_model"] = "tiny-llama";
    n["scheme"] = p.numerics->scheme;
    n["datapath"] = p.numerics->datapath;
    if (p.numerics->ok) {
      n["perplexity"] = p.numerics->perplexity;
      n["perplexity_delta_pct"] = p.numerics->perplexity_delta_pct;
      n["logit_rel_err"] = p.numerics->logit_rel_err;
      n["top1_agreement"] = p.numerics->top1_agreement;
    } else {
      n["error"] = p.numerics->note;
    }
    j["numerics"] = n;
  }
  // Board energy (arch/power.h); null where the hardware has no energy parameters.
  const bool energy = p.ok && p.energy_j && p.latency_s > 0;
  j["energy_j"] = energy ? nlohmann::ordered_json(*p.energy_j) : nlohmann::ordered_json(nullptr);
  j["avg_power_w"] =
      energy ? nlohmann::ordered_json(*p.energy_j / p.latency_s) : nlohmann::ordered_json(nullptr);
  if (energy) {
    const double tokens = p.tokens_per_s * p.latency_s;  // output tokens for generate
    j[p.phase == Phase::kGenerate ? "j_per_output_token" : "j_per_token"] = *p.energy_j / tokens;
    j["tokens_per_j"] = tokens / *p.energy_j;
  }
  // Die area of one device (arch/area.h); null where the hardware has no area parameters.
  j["area_mm2"] =
      p.area ? nlohmann::ordered_json(p.area->total_mm2) : nlohmann::ordered_json(nullptr);
  if (p.area) {
    nlohmann::ordered_json parts;
    for (const auto& part : p.area->parts) parts[part.name] = part.mm2;
    j["area"] = {{"node", p.area->node}, {"parts_mm2", parts}};
  }
  j["bound"] = p.bound;
  j["family"] = p.family;
  if (!p.peak_flops_per_s.empty()) {  // the device's roofline for the formats of its ops
    nlohmann::ordered_json peaks;
    for (const auto& [dtype, v] : p.peak_flops_per_s) peaks[dtype] = v;
    j["roofline"] = {{"peak_flops_per_s", peaks},
                     {"mem_bw_bytes_per_s", p.roofline.mem_bw_bytes_per_s},
                     {"mem_level", p.roofline.mem_level}};
  }
  j["weight_bytes"] = p.weight_bytes;  // per device
  j["kv_cache_bytes"] = p.kv_bytes;
  j["activation_bytes"] = p.activation_bytes;
  if (p.pp > 1) {
    j["microbatches"] = p.microbatches;
    j["pipeline_bubble"] = p.bubble;
  }
  nlohmann::ordered_json ops = nlohmann::ordered_json::array();
  for (const auto& r : p.ops) {
    nlohmann::ordered_json o;
    o["name"] = r.op.name;
    o["kind"] = op_kind_name(r.op.kind);
    o["shape"] = op_shape_label(r.op);
    o["dtype"] = dtype_name(r.op.dtype);
    o["count"] = r.count;
    o["time_ms"] = r.result.time_s * 1e3;
    o["total_ms"] = r.total_s * 1e3;
    o["flops"] = r.result.flops;
    nlohmann::ordered_json bytes;
    for (const auto& [level, b] : r.result.bytes_per_level) bytes[level] = b;
    o["bytes"] = bytes;
    o["bound"] = bound_name(r.result.bound);
    o["unit"] = r.result.unit.label();
    o["energy_j"] = r.energy_j ? nlohmann::ordered_json(*r.energy_j) : nlohmann::ordered_json(nullptr);
    o["avg_power_w"] = r.energy_j && r.total_s > 0 ? nlohmann::ordered_json(*r.energy_j / r.total_s)
                                                   : nlohmann::ordered_json(nullptr);
    if (r.result.clock_hz) o["clock_mhz"] = *r.result.clock_hz / 1e6;
    if (const auto& a = r.result.array) {  // a TPU's array figures, one instance
      o["compute_cycles"] = a->compute_cycles;
      o["stall_cycles"] = a->stall_cycles;
      o["util_pct"] = a->util * 100;
      o["mapping_eff_pct"] = a->mapping_eff * 100;
      o["dram_read_bytes"] = a->dram_read_bytes;
      o["dram_write_bytes"] = a->dram_write_bytes;
    }
    ops.push_back(o);
  }
  j["ops"] = ops;
  return j;
}

void print_table(const ExperimentResult& r, std::ostream& out) {
  if (r.config.description.empty())
    out << fmt::format("{}: {}\n", r.config.name, r.config.model);
  else
    out << fmt::format("{}: {}\n", r.config.name, r.config.description);
  if (!r.points.empty()) out << fmt::format("stack: {}\n", r.points.front().stack);
  bool several = false, numerics = false;
  for (const auto& p : r.points) {
    several = several || p.quant != r.points.front().quant;
    numerics = numerics || p.numerics.has_value();
  }
  out << fmt::format("{:<12} {:<12} {:<14} {:<9} {:>5} {:>10} {:>12} {:>12} {:>9} {:<8}", "hw",
                     "model", "setup", "phase", "batch", "tokens", "latency_ms", "tokens/s",
                     "tokens/J", "bound");
  if (several) out << fmt::format(" {:>7}", "speedup");
  if (numerics) out << "  numerics (tiny-llama)";
  out << "\n" << std::string(111 + (several ? 8 : 0) + (numerics ? 23 : 0), '-') << "\n";
  std::vector<std::string> not_compared;
  for (const auto& p : r.points) {
    if (!p.ok) {
      out << fmt::format("{:<12} {:<12} {:<14} {:<9} {:>5} {:>10} {}\n", p.hw, p.model,
                         setup_label(p), phase_name(p.phase), p.batch, ctx_label(p),
                         "n/a: " + p.reason);
      continue;
    }
    const std::string per_joule =
        p.energy_j && *p.energy_j > 0
            ? fmt::format("{:.3g}", p.tokens_per_s * p.latency_s / *p.energy_j)
            : "-";
    out << fmt::format("{:<12} {:<12} {:<14} {:<9} {:>5} {:>10} {:>12.3f} {:>12.1f} {:>9} {:<8}",
                       p.hw, p.model, setup_label(p), phase_name(p.phase), p.batch, ctx_label(p),
                       p.latency_s * 1e3, p.tokens_per_s, per_joule, p.bound);
    if (several) {
      const PointResult* o = other_layout_first(r, p);
      const PointResult* b = o ? nullptr : baseline_of(r, p);
      out << (b && b->ok ? fmt::format(" {:>6.2f}x", b->latency_s / p.latency_s)
                         : fmt::format(" {:>7}", "-"));
      if (o)
        not_compared.push_back(fmt::format(
            "  {} {} {}: {} runs on {}, the first scheme ({}) on {}; not compared", p.hw,
            phase_name(p.phase), p.quant, p.quant, layout_label(p), o->quant, layout_label(*o)));
    }
    if (numerics) out << "  " << numerics_label(p);
    if (p.ttft_s)
      out << fmt::format("  ttft {:.2f} ms, tpot {:.3f} ms", *p.ttft_s * 1e3, *p.tpot_s * 1e3);
    for (const auto& w : p.warnings) out << "  (what-if: " << w << ")";
    out << "\n";
  }
  if (!not_compared.empty()) {
    out << "speedup '-': a different parallel layout from the baseline scheme's\n";
    for (const auto& line : not_compared) out << line << "\n";
  }
}

void print_graph(const ExperimentResult& r, const std::string& format, std::ostream& out) {
  if (format == "csv")
    out << "hw,model,phase,batch,prompt,ctx,op,kind,count,dtype,shape,gflop,mb\n";
  for (const auto& p : r.points) {
    if (format == "json") {
      nlohmann::ordered_json j = point_identity_json(p);
      nlohmann::ordered_json ops = nlohmann::ordered_json::array();
      for (const auto& o : p.ops)
        ops.push_back({{"name", o.op.name},
                       {"kind", op_kind_name(o.op.kind)},
                       {"count", o.count},
                       {"dtype", dtype_name(o.op.dtype)},
                       {"shape", op_shape_label(o.op)},
                       {"flops", o.op.flops},
                       {"bytes", o.op.total_bytes()}});
      j["ops"] = ops;
      out << j.dump() << "\n";
      continue;
    }
    if (format == "csv") {
      for (const auto& o : p.ops)
        out << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{:.9g},{:.9g}\n", csv_escape(p.hw),
                           csv_escape(p.model), phase_name(p.phase), p.batch, p.prompt, p.ctx,
                           csv_escape(o.op.name), op_kind_name(o.op.kind), o.count,
                           dtype_name(o.op.dtype), csv_escape(op_shape_label(o.op)),
                           o.op.flops / 1e9, o.op.total_bytes() / 1e6);
      continue;
    }
    out << fmt::format("# {} {} {} batch={} prompt={} ctx={}\n", p.hw, p.model, phase_name(p.phase),
                       p.batch, p.prompt, p.ctx);
    out << fmt::format("{:<18} {:<11} {:>6} {:<6} {:<44} {:>12} {:>12}\n", "op", "kind", "count",
                       "dtype", "shape", "GFLOP", "MB");
    for (const auto& o : p.ops)
      out << fmt::format("{:<18} {:<11} {:>6} {:<6} {:<44} {:>12.4f} {:>12.4f}\n", o.op.name,
                         op_kind_name(o.op.kind), o.count, dtype_name(o.op.dtype),
                         op_shape_label(o.op), o.op.flops / 1e9, o.op.total_bytes() / 1e6);
  }
}

void print_json_lines(const ExperimentResult& r, std::ostream& out) {
  for (const auto& p : r.points) out << point_to_json(p).dump() << "\n";
}

void print_csv(const ExperimentResult& r, std::ostream& out) {
  out << "hw,model,phase,batch,prompt,ctx,gen,ok,latency_ms,tokens_per_s,ttft_ms,tpot_ms,energy_j,"
         "avg_power_w,bound,"
         "error,quant,kv_quant,prune,tp,pp,ep,perplexity,perplexity_delta_pct,warnings\n";
  for (const auto& p : r.points) {
    out << fmt::format("{},{},{},{},{},{},{},{},", csv_escape(p.hw), csv_escape(p.model),
                       phase_name(p.phase), p.batch, p.prompt, p.ctx, p.gen,
                       p.ok ? "true" : "false");
    if (p.ok)
      out << fmt::format("{:.9g},{:.9g},", p.latency_s * 1e3, p.tokens_per_s);
    else
      out << ",,";
    out << json_number_or_null_csv(p.ttft_s, 1e3) << ',' << json_number_or_null_csv(p.tpot_s, 1e3)
        << ',' << (p.ok ? json_number_or_null_csv(p.energy_j, 1) : "") << ','
        << (p.ok && p.energy_j && p.latency_s > 0
                ? fmt::format("{:.9g}", *p.energy_j / p.latency_s)
                : "")
        << ',' << p.bound << ',' << csv_escape(p.reason) << ',' << p.quant << ',' << p.kv_quant
        << ',' << csv_escape(p.prune) << ',' << p.tp << ',' << p.pp << ',' << p.ep << ','
        << (p.numerics && p.numerics->ok ? fmt::format("{:.6g},{:.6g}", p.numerics->perplexity,
                                                       p.numerics->perplexity_delta_pct)
                                         : ",")
        << ',' << csv_escape(join_warnings(p.warnings)) << "\n";
  }
}

bool is_run_output_folder(const fs::path& dir) {
  // What a run writes, and the *.tmp files of versions that renamed file by file.
  static const std::set<std::string> kFiles = {"results.json", "results.csv", "ops.csv",
                                               "stats.json", "stats.csv"};
  auto regular = [](const fs::directory_entry& e) {
    std::error_code ec;
    return !e.is_symlink(ec) && e.is_regular_file(ec);
  };
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "resolved" && !it->is_symlink(ec) && it->is_directory(ec)) {
      for (fs::directory_iterator r(it->path(), ec); !ec && r != end; r.increment(ec)) {
        const std::string n = r->path().filename().string();
        if (!regular(*r) || !(n.ends_with(".yaml") || n.ends_with(".tmp"))) return false;
      }
      continue;
    }
    if (!regular(*it) || !(kFiles.count(name) || name.ends_with(".tmp"))) return false;
  }
  return !ec;
}

void write_output_dir(const ExperimentResult& r, const std::string& dir) {
  StagedFolder out(dir, is_run_output_folder);
  {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& p : r.points) all.push_back(point_to_json(p));
    out.write("results.json", all.dump(2) + "\n");
  }
  {
    std::ostringstream f;
    print_csv(r, f);
    out.write("results.csv", f.str());
  }
  {
    std::ostringstream f;
    // Bytes per memory level as "hbm=…;l2=…": levels are nested, so their sum means nothing.
    f << "hw,model,phase,op,kind,shape,dtype,count,time_ms,total_ms,flops,bytes_per_level,bound,"
         "unit\n";
    for (const auto& p : r.points) {
      for (const auto& o : p.ops) {
        std::string bytes;
        for (const auto& [level, b] : o.result.bytes_per_level)
          bytes += fmt::format("{}{}={:.6g}", bytes.empty() ? "" : ";", level, b);
        f << fmt::format("{},{},{},{},{},{},{},{},{:.6g},{:.6g},{:.6g},{},{},{}\n",
                         csv_escape(p.hw), csv_escape(p.model), phase_name(p.phase), o.op.name,
                         op_kind_name(o.op.kind), csv_escape(op_shape_label(o.op)),
                         dtype_name(o.op.dtype), o.count, o.result.time_s * 1e3, o.total_s * 1e3,
                         o.result.flops, bytes, bound_name(o.result.bound), o.result.unit.label());
      }
    }
    out.write("ops.csv", f.str());
  }
  {
    std::ostringstream f;
    write_stats_json(r.stats, f);
    out.write("stats.json", f.str());
  }
  {
    std::ostringstream f;
    write_stats_csv(r.stats, f);
    out.write("stats.csv", f.str());
  }
  // Names given in files were checked against the file-name rule when they were loaded; a file
  // without `name:` is named by its path, whose stem stands in here. Two files of one name get
  // -2, -3, ... rather than overwriting each other.
  std::set<std::string> used;
  for (const auto& file : r.resolved) {
    const std::string base = file.role + "-" + safe_file_name(file.name, "unnamed");
    std::string name = base;
    for (int k = 2; used.count(name); ++k) name = fmt::format("{}-{}", base, k);
    used.insert(name);
    out.write("resolved/" + name + ".yaml",
              "# Fully resolved configuration (presets, includes and overrides applied).\n" +
                  to_yaml(file.tree));
  }
  out.publish();
}

}  // namespace xpusim
