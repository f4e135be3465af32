// `xpusim sweep FILE`: runs a design-space sweep into its SQLite store (resumable), then prints
// the result table's Pareto front; `xpusim sweep export` writes the table as CSV or JSON;
// `xpusim sweep merge` joins the stores of shards.
#include <fmt/format.h>
#include <unistd.h>

#include <exception>
#include <fstream>
#include <iostream>

#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/config/config_store.h"
#include "sim/run/sweep_mpi.h"
#include "sim/run/sweep_runner.h"

namespace xpusim::cli {
namespace {

const char* kSweepUsage =
    "usage: xpusim sweep FILE|NAME [--store DB] [--resume] [-j N] [--shard I/N] [--yes]\n"
    "                  [--format table|csv|json] [--mpi-timeout S]\n"
    "       xpusim sweep export FILE|NAME|DB [--store DB] [--sweep NAME] [--format csv|json] [-o "
    "FILE]\n"
    "       xpusim sweep merge DB SHARD_DB...\n\n"
    "Runs every design point of a sweep file (configs/sweeps/*.yaml) into a SQLite store\n"
    "(default xpusim-out/sweeps/<name>.sqlite). A point already in the store, computed by any\n"
    "sweep, is not computed again; a sweep that was interrupted continues with --resume.\n"
    "The table shows the Pareto front of the sweep's objectives among points meeting its\n"
    "constraints; export writes every row.";

constexpr uint64_t kConfirmPoints = 100000;

std::string default_store(const std::string& name) { return default_sweep_store(name); }

void print_front(const SweepConfig& sweep, const std::vector<SweepRow>& rows, std::ostream& out) {
  size_t feasible = 0, front = 0;
  for (const auto& r : rows) {
    feasible += r.feasible;
    front += r.pareto;
  }
  out << fmt::format(
      "sweep {}: {} rows, {} meeting the constraints, {} on the Pareto front of {}\n", sweep.name,
      rows.size(), feasible, front,
      sweep.objectives.empty() ? std::string("(no objectives)") : [&] {
        std::string s;
        for (const auto& o : sweep.objectives)
          s += fmt::format("{}{} {}", s.empty() ? "" : ", ", o.maximize ? "max" : "min", o.metric);
        return s;
      }());
  if (rows.empty()) return;
  std::vector<std::string> params;
  for (const auto& a : rows.front().assignments) params.push_back(a.substr(0, a.find('=')));
  std::string head = fmt::format("{:>6}", "point");
  for (const auto& p : params) head += fmt::format(" {:>16}", p.substr(0, 16));
  head += fmt::format(" {:<10} {:<8} {:<6} {:>12} {:>12} {:>10}", "hw", "phase", "quant",
                      "latency_ms", "tokens/s", "ttft_ms");
  out << head << "\n" << std::string(head.size(), '-') << "\n";
  for (const auto& r : rows) {
    if (!sweep.objectives.empty() && !r.pareto) continue;
    std::string line = fmt::format("{:>6}", r.index);
    for (const auto& a : r.assignments)
      line += fmt::format(" {:>16}", a.substr(a.find('=') + 1).substr(0, 16));
    auto num = [&](const char* k) {
      return r.row.contains(k) && r.row[k].is_number()
                 ? fmt::format("{:.4g}", r.row[k].get<double>())
                 : std::string("-");
    };
    line += fmt::format(" {:<10} {:<8} {:<6} {:>12} {:>12} {:>10}", r.row.value("hw", ""),
                        r.row.value("phase", ""), r.row.value("quant", ""), num("latency_ms"),
                        num("tokens_per_s"), num("ttft_ms"));
    out << line << "\n";
  }
}

int sweep_export(const Args& args) {
  po::options_description opts("sweep export options");
  std::string target, store_path, name, format = "csv", out_file;
  opts.add_options()("target", po::value(&target), "sweep file or name, or a store")(
      "store", po::value(&store_path), "the store (default: the sweep's)")(
      "sweep", po::value(&name), "the sweep's name in the store")("format", po::value(&format),
                                                                  "csv|json (default csv)")(
      "out,o", po::value(&out_file), "output file (default: standard output)");
  po::positional_options_description pos;
  pos.add("target", 1);
  po::variables_map vm;
  if (!parse_options(args, kSweepUsage, opts, pos, vm)) return 0;
  if (format != "csv" && format != "json")
    throw UsageError(fmt::format("--format '{}' is not one of csv, json", format));
  if (target.empty()) throw UsageError("sweep export needs a sweep file, name or store");
  std::optional<SweepConfig> sweep;
  if (target.ends_with(".sqlite") || target.ends_with(".db")) {
    store_path = target;
  } else {
    ConfigStore cs;
    sweep = parse_sweep(cs.load(target, "sweeps"));
    if (store_path.empty()) store_path = default_store(sweep->name);
    if (name.empty()) name = sweep->name;
  }
  if (!std::filesystem::is_regular_file(store_path))
    throw UsageError(fmt::format("no store at {} (run the sweep first)", store_path));
  SweepStore db(store_path);
  if (name.empty()) {
    const auto names = db.sweeps();
    if (names.size() != 1)
      throw UsageError(fmt::format("{} holds {} sweeps ({}); name one with --sweep", store_path,
                                   names.size(), fmt::join(names, ", ")));
    name = names.front();
  }
  const auto rows = sweep ? sweep_rows(*sweep, db) : stored_rows(name, db);
  std::ofstream file;
  if (!out_file.empty()) {
    file.open(out_file, std::ios::trunc);
    if (!file) throw OutputError(out_file, "cannot open for writing");
  }
  std::ostream& out = out_file.empty() ? std::cout : file;
  if (format == "csv")
    write_sweep_csv(rows, out);
  else
    write_sweep_json(rows, out);
  if (!out_file.empty() && !file.flush()) throw OutputError(out_file, "write failed");
  return 0;
}

int sweep_merge(const Args& args) {
  if (args.size() < 2 || args[0] == "--help" || args[0] == "-h") {
    std::cout << kSweepUsage << "\n";
    return args.size() < 2 && !(args.size() == 1 && (args[0] == "--help" || args[0] == "-h"))
               ? kExitUserError
               : 0;
  }
  SweepStore db(args[0]);
  size_t added = 0;
  for (size_t i = 1; i < args.size(); ++i) added += db.merge_from(args[i]);
  std::cerr << fmt::format("xpusim sweep merge: {} point{} added to {}\n", added,
                           added == 1 ? "" : "s", args[0]);
  return 0;
}

}  // namespace

int cmd_sweep(const Args& args) {
  if (!args.empty() && args[0] == "export") return sweep_export(Args(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "merge") return sweep_merge(Args(args.begin() + 1, args.end()));
  po::options_description opts("sweep options");
  std::string file, store_path, format = "table", shard;
  int jobs = 1;
  double mpi_timeout = 30;
  opts.add_options()("file", po::value(&file), "sweep file or preset name")(
      "store", po::value(&store_path), "SQLite store (default xpusim-out/sweeps/<name>.sqlite)")(
      "resume", "continue a sweep the store already holds points of")(
      "jobs,j", po::value(&jobs), "worker processes (default 1)")(
      "shard", po::value(&shard), "I/N: run only the points whose index % N == I (job arrays)")(
      "mpi-timeout", po::value(&mpi_timeout),
      "under mpirun: seconds without a heartbeat after which a rank is taken for dead "
      "(default 30)")(
      "yes", "run a sweep of more than 100000 points")(
      "format", po::value(&format), "table|csv|json: what to print at the end (default table)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, kSweepUsage, opts, pos, vm)) return 0;
  if (file.empty()) throw UsageError("sweep needs a sweep file or name");
  if (format != "table" && format != "csv" && format != "json")
    throw UsageError(fmt::format("--format '{}' is not one of table, csv, json", format));
  if (jobs < 1 || jobs > 1024) throw UsageError(fmt::format("-j {}: expected 1 to 1024", jobs));
  if (!(mpi_timeout >= 0.5 && mpi_timeout <= 86400))
    throw UsageError(
        fmt::format("--mpi-timeout {}: expected 0.5 to 86400 seconds", mpi_timeout));
  SweepRunOptions options;
  options.resume = vm.count("resume") > 0;
  options.jobs = jobs;
  if (!shard.empty()) {
    int i = -1, n = 0;
    char slash = 0;
    std::istringstream in(shard);
    if (!(in >> i >> slash >> n) || slash != '/' || n < 1 || i < 0 || i >= n || !in.eof())
      throw UsageError(fmt::format("--shard '{}': expected I/N with 0 <= I < N", shard));
    options.shard = i;
    options.shard_count = n;
  }
  ConfigStore store;
  const SweepConfig sweep = parse_sweep(store.load(file, "sweeps"));
  const std::string reference = find_repo_path("workloads/models/tiny-llama");
  options.reference_model = std::filesystem::exists(reference) ? reference : "";
  // Under mpirun: ranks above 0 compute what rank 0 hands out; rank 0 runs the sweep below.
  std::unique_ptr<SweepMpi> mpi;
  if (sweep_mpi_launched()) {
    mpi = std::make_unique<SweepMpi>(mpi_timeout);
    if (mpi->rank() > 0) return mpi->serve(store, sweep, options.reference_model);
    options.dispatch = mpi->dispatcher();
  }
  // Rank 0 stops the other ranks on every way out (an error before dispatching included).
  // Destroyed after the store below is closed: on a normal way out, a job in which a rank died
  // ends here without MPI_Finalize (sweep_mpi.h says why).
  struct StopRanks {
    SweepMpi* m;
    ~StopRanks() {
      if (!m) return;
      if (std::uncaught_exceptions() == 0) m->end_without_finalize_if_a_rank_died(0);
      m->stop_all();
    }
  } stop_ranks{mpi.get()};
  const uint64_t n = sweep_size(sweep);
  if (n > kConfirmPoints && !vm.count("yes"))
    throw UsageError(fmt::format("sweep '{}' has {} design points; --yes runs more than {}",
                                 sweep.name, n, kConfirmPoints));
  if (store_path.empty())
    store_path =
        default_store(options.shard_count > 1 ? fmt::format("{}.shard{}of{}", sweep.name,
                                                            options.shard, options.shard_count)
                                              : sweep.name);
  SweepStore db(store_path);
  SweepRunSummary summary;
  {
    ProgressLine line(std::cerr, isatty(STDERR_FILENO), "sweep", "points");
    options.progress = [&](size_t done, size_t total, const std::string& best) {
      line.update(done, total, best);
    };
    summary = run_sweep(store, sweep, db, options);
  }
  std::cerr << fmt::format(
      "xpusim sweep {}: {} points ({} computed{}, {} found in the store, {} done before) in {}\n",
      sweep.name, summary.points, summary.computed,
      mpi ? fmt::format(" on {} MPI ranks{}", mpi->size() - 1,
                        mpi->dead_ranks().empty()
                            ? std::string()
                            : fmt::format(", {} of which died", mpi->dead_ranks().size()))
          : std::string(),
      summary.reused,
      summary.already_done, store_path);
  const auto rows = sweep_rows(sweep, db);
  if (format == "csv")
    write_sweep_csv(rows, std::cout);
  else if (format == "json")
    write_sweep_json(rows, std::cout);
  else
    print_front(sweep, rows, std::cout);
  return 0;
}

}  // namespace xpusim::cli
