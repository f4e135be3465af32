#include "sim/run/sweep_runner.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include "sim/base/csv.h"
#include "sim/base/hash.h"
#include "sim/base/version.h"
#include "sim/run/experiment.h"
#include "sim/run/numerics_cache.h"

namespace xpusim {
namespace {

// One result row's fields: the point's identity and its numbers (no per-operator detail).
nlohmann::ordered_json row_json(const PointResult& p) {
  nlohmann::ordered_json j = point_identity_json(p);
  j["error"] = p.ok ? "" : p.reason;
  auto num = [](bool have, double v) {
    return have ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
  };
  j["latency_ms"] = num(p.ok, p.latency_s * 1e3);
  j["tokens_per_s"] = num(p.ok, p.tokens_per_s);
  j["ttft_ms"] = num(p.ok && p.ttft_s.has_value(), p.ttft_s.value_or(0) * 1e3);
  j["tpot_ms"] = num(p.ok && p.tpot_s.has_value(), p.tpot_s.value_or(0) * 1e3);
  j["weight_gib"] = p.weight_bytes / double(1 << 30);
  j["kv_cache_gib"] = p.kv_bytes / double(1 << 30);
  const bool energy = p.ok && p.energy_j && *p.energy_j > 0 && p.latency_s > 0;
  const double tokens = p.tokens_per_s * p.latency_s;
  j["energy_j"] = num(energy, p.energy_j.value_or(0));
  j["j_per_token"] = num(energy && tokens > 0, energy ? *p.energy_j / tokens : 0);
  j["tokens_per_joule"] = num(energy, energy ? tokens / *p.energy_j : 0);
  j["power_w"] = num(energy, energy ? *p.energy_j / p.latency_s : 0);
  // Area: one device's die; throughput per mm² of all the devices' silicon.
  const bool area = p.area.has_value() && p.area->total_mm2 > 0;
  j["area_mm2"] = num(area, area ? p.area->total_mm2 : 0);
  j["tokens_per_s_per_mm2"] =
      num(area && p.ok, area ? p.tokens_per_s / (p.area->total_mm2 * std::max(1, p.devices)) : 0);
  j["bound"] = p.bound;
  j["warnings"] = p.warnings;
  if (p.numerics && p.numerics->ok) {
    j["perplexity"] = p.numerics->perplexity;
    j["perplexity_delta_pct"] = p.numerics->perplexity_delta_pct;
  }
  return j;
}

MetricRow metrics_of(const nlohmann::ordered_json& j) {
  MetricRow m(sweep_metrics().size());
  for (size_t i = 0; i < sweep_metrics().size(); ++i) {
    const char* name = sweep_metrics()[i].name;
    if (j.contains(name) && j[name].is_number()) m[i] = j[name].get<double>();
  }
  return m;
}

// The canonical key of a resolved point: the commit and every resolved file's canonical YAML.
std::string point_key(const ExperimentResult& r) {
  Fnv1a64 h;
  h.field("xpusim sweep point v1").field(git_commit());
  for (const auto& f : r.resolved) h.field(f.role).field(f.name).field(to_yaml(f.tree));
  return h.hex();
}

std::string assignments_json(const SweepPoint& p) { return nlohmann::json(p.assignments).dump(); }

// Runs one point; returns its rows as JSON text.
std::string compute_point(ExperimentRunner& runner, const ConfigStore& store,
                          const SweepConfig& sweep, const SweepPoint& p) {
  RunOverrides o{sweep.set};
  o.set.insert(o.set.end(), p.assignments.begin(), p.assignments.end());
  const ExperimentResult r = runner.run(store.load(sweep.experiment, "experiments"), o);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& pt : r.points) rows.push_back(row_json(pt));
  return rows.dump();
}

// --- forked workers: length-prefixed messages over pipes ----------------------------------------

bool write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= size_t(k);
  }
  return true;
}

bool read_all(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t k = ::read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= size_t(k);
  }
  return true;
}

struct Worker {
  pid_t pid = -1;
  int to = -1, from = -1;
  long long in_flight = -1;  // the point index it is computing
};

[[noreturn]] void worker_main(int in, int out, const ConfigStore& store, const SweepConfig& sweep,
                              const std::string& reference) {
  SweepPointComputer compute(store, sweep, reference);
  for (;;) {
    long long index = 0;
    if (!read_all(in, &index, sizeof index)) _exit(0);
    const std::string rows = compute(uint64_t(index));
    const uint64_t n = rows.size();
    if (!write_all(out, &index, sizeof index) || !write_all(out, &n, sizeof n) ||
        !write_all(out, rows.data(), rows.size()))
      _exit(1);
  }
}

Worker spawn_worker(const ConfigStore& store, const SweepConfig& sweep,
                    const std::string& reference, std::vector<Worker>& others) {
  int down[2], up[2];
  if (pipe(down) != 0 || pipe(up) != 0) throw std::runtime_error("pipe() failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    for (const auto& w : others) {
      close(w.to);
      close(w.from);
    }
    close(down[1]);
    close(up[0]);
    worker_main(down[0], up[1], store, sweep, reference);
  }
  close(down[0]);
  close(up[1]);
  return Worker{pid, down[1], up[0], -1};
}

}  // namespace

SweepPointComputer::SweepPointComputer(const ConfigStore& store, const SweepConfig& sweep,
                                       const std::string& reference_model)
    : store_(store),
      sweep_(sweep),
      points_(expand_sweep(sweep)),
      runner_(std::make_unique<ExperimentRunner>(store, reference_model)) {
  runner_->set_numerics_cache_dir(numerics_cache_dir_from_env());
}

SweepPointComputer::~SweepPointComputer() = default;

std::string SweepPointComputer::operator()(uint64_t index) {
  try {
    return compute_point(*runner_, store_, sweep_, points_.at(size_t(index)));
  } catch (const std::exception& e) {
    return nlohmann::json{{"error", e.what()}}.dump();
  }
}

void resolve_sweep_points(const ConfigStore& store, const SweepConfig& sweep,
                          const std::vector<const SweepPoint*>& points,
                          const std::string& reference_model,
                          const std::function<void(const SweepPoint&, const std::string&)>& each) {
  ExperimentRunner resolver(store, reference_model);
  std::vector<ConfigIssue> issues;
  const CfgNode& experiment = store.load(sweep.experiment, "experiments");
  for (const SweepPoint* p : points) {
    RunOverrides o{sweep.set};
    o.set.insert(o.set.end(), p->assignments.begin(), p->assignments.end());
    try {
      resolver.run(experiment, o, {}, [&](const ExperimentResult& r) {
        if (each) each(*p, point_key(r));
        return false;
      });
    } catch (const ConfigError& e) {
      for (auto issue : e.issues()) {
        issue.message +=
            fmt::format(" (sweep point {}: {})", p->index, fmt::join(p->assignments, ", "));
        issues.push_back(std::move(issue));
        if (issues.size() >= 20) break;
      }
      if (issues.size() >= 20) break;
    }
  }
  if (!issues.empty()) throw ConfigError(issues);
}

SweepRunSummary run_sweep(const ConfigStore& store, const SweepConfig& sweep, SweepStore& db,
                          const SweepRunOptions& options) {
  SweepRunSummary summary;
  const std::vector<SweepPoint> all = expand_sweep(sweep);
  std::vector<const SweepPoint*> mine;
  for (const auto& p : all)
    if (int(p.index % uint64_t(options.shard_count)) == options.shard) mine.push_back(&p);
  summary.points = mine.size();

  const std::vector<long long> done_list = db.done_indices(sweep.name);
  const std::set<long long> done(done_list.begin(), done_list.end());
  if (!done.empty() && !options.resume)
    throw ConfigError(SourceLoc{db.path(), 0, 0}, "",
                      fmt::format("the store already holds {} point{} of sweep '{}'; --resume "
                                  "continues it, --store FILE starts another",
                                  done.size(), done.size() == 1 ? "" : "s", sweep.name));

  // Resolve every point first: every configuration problem before anything runs, and the keys.
  std::vector<const SweepPoint*> pending;
  for (const SweepPoint* p : mine)
    if (!done.count(static_cast<long long>(p->index))) pending.push_back(p);
  std::vector<std::string> keys(all.size());
  size_t resolved = summary.points - pending.size();
  resolve_sweep_points(store, sweep, pending, options.reference_model,
                       [&](const SweepPoint& p, const std::string& key) {
                         keys[p.index] = key;
                         // Resolving is quick per point but not for 100,000 of them: say so.
                         if (options.progress && ++resolved % 256 == 0)
                           options.progress(resolved, mine.size(), "resolving the points");
                       });

  std::deque<const SweepPoint*> todo;
  for (const SweepPoint* p : mine) {
    const long long index = static_cast<long long>(p->index);
    if (done.count(index)) {
      ++summary.already_done;
      continue;
    }
    if (db.result(keys[p->index])) {  // computed before, by this sweep or another
      db.link(sweep.name, index, keys[p->index], assignments_json(*p));
      ++summary.reused;
      continue;
    }
    todo.push_back(p);
  }

  size_t finished = summary.already_done + summary.reused;
  std::string best;
  double best_v = 0;
  bool have_best = false;
  auto note = [&](const std::string& rows_json) {
    ++finished;
    if (!sweep.objectives.empty()) {
      const auto rows = nlohmann::ordered_json::parse(rows_json);
      if (rows.is_array())
        for (const auto& r : rows) {
          const auto m = metrics_of(r);
          if (!feasible(sweep, r.value("ok", false), m)) continue;
          const auto i = metric_index(sweep.objectives.front().metric);
          if (!i || !m[*i]) continue;
          const double v = *m[*i];
          const bool better =
              !have_best || (sweep.objectives.front().maximize ? v > best_v : v < best_v);
          if (better) {
            best_v = v;
            have_best = true;
            best = fmt::format("best {} {:.4g} ({} {})", sweep.objectives.front().metric, v,
                               r.value("hw", ""), r.value("phase", ""));
          }
        }
    }
    if (options.progress) options.progress(finished, summary.points, best);
  };
  std::vector<std::string> failures;
  auto store_result = [&](const SweepPoint& p, const std::string& rows_json) {
    const auto parsed = nlohmann::json::parse(rows_json, nullptr, false);
    if (parsed.is_object() && parsed.contains("error")) {
      failures.push_back(fmt::format("point {}: {}", p.index, parsed["error"].get<std::string>()));
      return;
    }
    db.record(sweep.name, static_cast<long long>(p.index), keys[p.index], assignments_json(p),
              rows_json);
    ++summary.computed;
    note(rows_json);
  };

  if (options.dispatch) {
    std::vector<uint64_t> indices;
    for (const SweepPoint* p : todo) indices.push_back(p->index);
    options.dispatch(indices, [&](uint64_t index, const std::string& rows) {
      store_result(all[size_t(index)], rows);
    });
  } else if (options.jobs <= 1 || todo.size() <= 1) {
    SweepPointComputer compute(store, sweep, options.reference_model);
    for (const SweepPoint* p : todo) store_result(*p, compute(p->index));
  } else {
    signal(SIGPIPE, SIG_IGN);  // a dead worker's pipe is an error to handle, not a signal
    std::vector<Worker> workers;
    const size_t n = std::min<size_t>(size_t(options.jobs), todo.size());
    for (size_t i = 0; i < n; ++i)
      workers.push_back(spawn_worker(store, sweep, options.reference_model, workers));
    auto hand_out = [&](Worker& w) {
      if (todo.empty()) return;
      const SweepPoint* p = todo.front();
      todo.pop_front();
      w.in_flight = static_cast<long long>(p->index);
      if (!write_all(w.to, &w.in_flight, sizeof w.in_flight)) {
        todo.push_front(p);  // handed out again; the worker's death shows on its pipe
        w.in_flight = -1;
      }
    };
    for (auto& w : workers) hand_out(w);
    int respawns = 0;
    while (std::any_of(workers.begin(), workers.end(), [](const Worker& w) { return w.pid > 0; })) {
      std::vector<pollfd> fds;
      for (const auto& w : workers) fds.push_back({w.pid > 0 ? w.from : -1, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
        throw std::runtime_error("poll() failed");
      for (size_t i = 0; i < workers.size(); ++i) {
        Worker& w = workers[i];
        if (w.pid <= 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        long long index = -1;
        uint64_t len = 0;
        std::string rows;
        bool ok = read_all(w.from, &index, sizeof index) && read_all(w.from, &len, sizeof len);
        if (ok) {
          rows.resize(len);
          ok = read_all(w.from, rows.data(), len);
        }
        if (!ok) {  // the worker died: its point goes back to the queue
          if (w.in_flight >= 0) todo.push_front(&all[size_t(w.in_flight)]);
          close(w.to);
          close(w.from);
          waitpid(w.pid, nullptr, 0);
          w = Worker{};
          if (!todo.empty() && respawns++ < 16 * int(workers.size())) {
            w = spawn_worker(store, sweep, options.reference_model, workers);
            hand_out(w);
          }
          continue;
        }
        w.in_flight = -1;
        store_result(all[size_t(index)], rows);
        if (todo.empty()) {
          close(w.to);  // no more work: the worker exits on EOF
          close(w.from);
          waitpid(w.pid, nullptr, 0);
          w = Worker{};
        } else {
          hand_out(w);
        }
      }
    }
    if (!todo.empty())
      throw std::runtime_error(
          fmt::format("{} sweep points were not computed: the workers kept dying", todo.size()));
  }
  if (!failures.empty())
    throw std::runtime_error(fmt::format("{} point{} failed: {}", failures.size(),
                                         failures.size() == 1 ? "" : "s", failures.front()));
  return summary;
}

namespace {

std::vector<SweepRow> rows_of(const std::vector<SweepStore::Entry>& entries) {
  std::vector<SweepRow> out;
  for (const auto& e : entries) {
    const auto assignments = nlohmann::json::parse(e.assignments_json, nullptr, false);
    const auto rows = nlohmann::ordered_json::parse(e.rows_json, nullptr, false);
    if (!rows.is_array()) continue;
    for (const auto& r : rows) {
      SweepRow row;
      row.index = e.index;
      if (assignments.is_array())
        for (const auto& a : assignments) row.assignments.push_back(a.get<std::string>());
      row.row = r;
      row.metrics = metrics_of(r);
      row.ok = r.value("ok", false);
      row.feasible = row.ok;
      out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace

std::vector<SweepRow> sweep_rows(const SweepConfig& sweep, const SweepStore& db) {
  std::vector<SweepRow> rows = rows_of(db.entries(sweep.name));
  // One front per phase: a prefill and a decode step answer different questions.
  std::vector<MetricRow> metrics;
  std::map<std::string, std::vector<size_t>> candidates;
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].feasible = feasible(sweep, rows[i].ok, rows[i].metrics);
    metrics.push_back(rows[i].metrics);
    if (rows[i].feasible) candidates[rows[i].row.value("phase", "")].push_back(i);
  }
  if (!sweep.objectives.empty())
    for (const auto& [phase, c] : candidates)
      for (size_t i : pareto_front(sweep.objectives, metrics, c)) rows[i].pareto = true;
  return rows;
}

std::vector<SweepRow> stored_rows(const std::string& sweep_name, const SweepStore& db) {
  return rows_of(db.entries(sweep_name));
}

namespace {

const std::vector<std::string> kIdentity = {
    "hw", "model", "phase", "batch", "prompt", "ctx", "gen", "quant", "kv_quant", "prune", "stack",
    "tp", "pp", "ep"};

std::string key_of(const std::string& assignment) {
  return assignment.substr(0, assignment.find('='));
}

std::string cell(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return csv_escape(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) return fmt::format("{:.9g}", v.get<double>());
  return csv_escape(v.dump());
}

}  // namespace

void write_sweep_csv(const std::vector<SweepRow>& rows, std::ostream& out) {
  // The swept keys, in the order of the first row (every row of a sweep has the same ones).
  std::vector<std::string> params;
  if (!rows.empty())
    for (const auto& a : rows.front().assignments) params.push_back(key_of(a));
  // Swept keys as "set:KEY", so that they never collide with the rows' own columns (batch).
  std::vector<std::string> header = {"point"};
  for (const auto& p : params) header.push_back("set:" + p);
  header.insert(header.end(), kIdentity.begin(), kIdentity.end());
  for (const auto& m : sweep_metrics())
    if (m.modelled && std::string(m.name) != "devices") header.emplace_back(m.name);
  for (const char* c : {"devices", "bound", "perplexity", "perplexity_delta_pct", "ok", "feasible",
                        "pareto", "error", "warnings"})
    header.emplace_back(c);
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << csv_escape(header[i]);
  out << "\n";
  for (const auto& r : rows) {
    out << r.index;
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string a = i < r.assignments.size() ? r.assignments[i] : "";
      out << ","
          << csv_escape(a.substr(a.find('=') == std::string::npos ? a.size() : a.find('=') + 1));
    }
    for (const auto& k : kIdentity) out << "," << cell(r.row.value(k, nlohmann::ordered_json()));
    for (const auto& m : sweep_metrics())
      if (m.modelled && std::string(m.name) != "devices")
        out << "," << cell(r.row.value(m.name, nlohmann::ordered_json()));
    std::string warnings;
    if (r.row.contains("warnings"))
      for (const auto& w : r.row["warnings"])
        warnings += (warnings.empty() ? "" : "; ") + w.get<std::string>();
    out << "," << cell(r.row.value("devices", nlohmann::ordered_json())) << ","
        << cell(r.row.value("bound", nlohmann::ordered_json())) << ","
        << cell(r.row.value("perplexity", nlohmann::ordered_json())) << ","
        << cell(r.row.value("perplexity_delta_pct", nlohmann::ordered_json())) << ","
        << (r.ok ? "true" : "false") << "," << (r.feasible ? "true" : "false") << ","
        << (r.pareto ? "true" : "false") << ","
        << cell(r.row.value("error", nlohmann::ordered_json())) << "," << csv_escape(warnings)
        << "\n";
  }
}

void write_sweep_json(const std::vector<SweepRow>& rows, std::ostream& out) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json j;
    j["point"] = r.index;
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    for (const auto& a : r.assignments)
      params[key_of(a)] = a.find('=') == std::string::npos ? "" : a.substr(a.find('=') + 1);
    j["parameters"] = params;
    for (const auto& [k, v] : r.row.items()) j[k] = v;
    j["feasible"] = r.feasible;
    j["pareto"] = r.pareto;
    all.push_back(std::move(j));
  }
  out << all.dump(2) << "\n";
}

}  // namespace xpusim
