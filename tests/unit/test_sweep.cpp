// Design-space sweeps (issue 16): sweep files and their errors, expansion (lists, ranges, groups,
// Latin hypercube), the Pareto front against brute force, and the store: reuse across sweeps,
// workers equal to a serial run, SIGKILL and --resume, shards and merge.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cli_helpers.h"
#include "sim/config/config_store.h"
#include "sim/run/sweep_runner.h"
#include "sim/run/sweep_store.h"
#include "test_helpers.h"

namespace xpusim {
namespace {

using testing::CliResult;
using testing::config_error_of;
using testing::run_cli;
using testing::TempDir;

SweepConfig sweep_of(const TempDir& dir, const std::string& text) {
  ConfigStore store;
  return parse_sweep(store.load(dir.write("s.yaml", text), "sweeps"));
}

const char* kSmall = R"(type: sweep
name: small
experiment: default
set: ["hw=[h100]", "phases=[decode]", "quant=[bf16]", "numerics=false"]
parameters:
  - {key: hw.hbm.bw, range: {from: 1 TB/s, to: 4 TB/s, steps: 3, scale: log}}
  - {key: batch, values: [1, 16]}
constraints: [ok, latency_ms <= 1000]
objectives: [{minimize: latency_ms}, {maximize: tokens_per_s}]
)";

TEST(Sweep, ExpandsRangesListsAndZippedGroups) {
  TempDir dir;
  SweepConfig s = sweep_of(dir, kSmall);
  EXPECT_EQ(sweep_size(s), 6u);
  const auto points = expand_sweep(s);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].assignments, (std::vector<std::string>{"hw.hbm.bw=1 TB/s", "batch=1"}));
  EXPECT_EQ(points[1].assignments[1], "batch=16");          // the last parameter varies fastest
  EXPECT_EQ(points[2].assignments[0], "hw.hbm.bw=2 TB/s");  // log: 1, 2, 4
  EXPECT_EQ(points[5].assignments[0], "hw.hbm.bw=4 TB/s");

  s = sweep_of(dir, R"(type: sweep
name: zip
set: ["hw=[h100]"]
parameters:
  - {key: hw.sm.count, values: [66, 132], group: g}
  - {key: hw.hbm.bw, values: [1 TB/s, 2 TB/s], group: g}
  - {key: batch, values: [1, 2, 4]}
)");
  EXPECT_EQ(sweep_size(s), 6u);  // 2 zipped x 3
  const auto z = expand_sweep(s);
  for (const auto& p : z)
    EXPECT_EQ(p.assignments[0] == "hw.sm.count=66", p.assignments[1] == "hw.hbm.bw=1 TB/s");
}

TEST(Sweep, LatinHypercubePutsOneSampleInEachStratum) {
  TempDir dir;
  SweepConfig s = sweep_of(dir, R"(type: sweep
name: lhs
set: ["hw=[h100]"]
parameters:
  - {key: hw.sm.count, sample: {from: 10, to: 110, integer: false}}
  - {key: hw.hbm.bw, sample: {from: 1, to: 1001, scale: linear}}
sampling: {method: lhs, count: 10, seed: 7}
)");
  const auto points = expand_sweep(s);
  ASSERT_EQ(points.size(), 10u);
  for (size_t param = 0; param < 2; ++param) {
    std::set<int> strata;
    const double lo = param == 0 ? 10 : 1, width = 100;
    for (const auto& p : points) {
      const std::string& a = p.assignments[param];
      const double v = std::stod(a.substr(a.find('=') + 1));
      strata.insert(int((v - lo) / (param == 0 ? width : 1000) * 10));
    }
    EXPECT_EQ(strata.size(), 10u) << "parameter " << param;
  }
  EXPECT_EQ(expand_sweep(s)[3].assignments, points[3].assignments) << "the seed fixes the draw";
}

TEST(Sweep, BadSweepFilesAreClearErrorsBeforeAnyPointRuns) {
  TempDir dir;
  auto err = [&](const std::string& body) {
    return config_error_of([&] { sweep_of(dir, "type: sweep\nname: bad\n" + body); });
  };
  EXPECT_NE(err("parameters:\n  - {key: batch, range: {from: 1, to: 8, steps: 0}}\n")
                .find("parameters[0].range.steps"),
            std::string::npos);
  EXPECT_NE(err("parameters:\n  - {key: hw.hbm.bw, range: {from: 0 TB/s, to: 4 TB/s, steps: 3, "
                "scale: log}}\n")
                .find("a log range must stay above zero"),
            std::string::npos);
  EXPECT_NE(err("parameters:\n  - {key: batch, valeus: [1]}\n").find("did you mean 'values'"),
            std::string::npos);
  EXPECT_NE(err("parameters:\n  - {key: batch, values: [1]}\nconstraints: [latncy_ms < 3]\n")
                .find("did you mean 'latency_ms'"),
            std::string::npos);
  EXPECT_NE(err("parameters:\n  - {key: batch, values: [1]}\nobjectives: [{minimize: area_mm3}]\n")
                .find("did you mean 'area_mm2'"),
            std::string::npos);
  EXPECT_NE(err("parameters:\n  - {key: batch, values: [1, 2], group: g}\n  - {key: ctx, values: "
                "[1], group: g}\n")
                .find("group 'g' zips 2"),
            std::string::npos);
  const std::string pos = err("parameters:\n  - {key: batch, values: []}\n");
  EXPECT_NE(pos.find("s.yaml:4:"), std::string::npos) << pos;

  // An unknown key path is found by resolving the points, before any is computed.
  dir.write("k.yaml",
            "type: sweep\nname: k\nset: [\"hw=[h100]\"]\nparameters:\n"
            "  - {key: hw.hbm.bandwidth, values: [1 TB/s]}\n");
  CliResult r = run_cli("sweep k.yaml --store k.sqlite", dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("hbm.bandwidth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sweep point 0"), std::string::npos) << r.err;
  // A million points need --yes.
  dir.write("m.yaml",
            "type: sweep\nname: m\nparameters:\n"
            "  - {key: batch, range: {from: 1, to: 1000, steps: 1000, integer: true}}\n"
            "  - {key: ctx, range: {from: 1, to: 1000, steps: 1000, integer: true}}\n");
  r = run_cli("sweep m.yaml --store m.sqlite", dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("1000000 design points; --yes"), std::string::npos) << r.err;
}

// The front equals a brute-force check of dominance, with ties and infeasible rows.
TEST(Sweep, ParetoFrontMatchesBruteForce) {
  std::mt19937 rng(3);
  const std::vector<SweepObjective> obj = {{"latency_ms", false}, {"tokens_per_s", true}};
  const size_t lat = *metric_index("latency_ms"), tps = *metric_index("tokens_per_s");
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<MetricRow> rows;
    std::vector<size_t> candidates;
    const int n = 1 + int(rng() % 30);
    for (int i = 0; i < n; ++i) {
      MetricRow m(sweep_metrics().size());
      m[lat] = double(rng() % 6);  // few values: many ties
      if (rng() % 10) m[tps] = double(rng() % 6);
      rows.push_back(m);
      if (rng() % 4) candidates.push_back(size_t(i));  // the rest are infeasible
    }
    std::vector<size_t> brute;
    for (size_t a : candidates) {
      if (!rows[a][tps]) continue;
      bool dominated = false;
      for (size_t b : candidates) {
        if (!rows[b][tps]) continue;
        const bool no_worse = *rows[b][lat] <= *rows[a][lat] && *rows[b][tps] >= *rows[a][tps];
        const bool better = *rows[b][lat] < *rows[a][lat] || *rows[b][tps] > *rows[a][tps];
        dominated = dominated || (no_worse && better);
      }
      if (!dominated) brute.push_back(a);
    }
    EXPECT_EQ(pareto_front(obj, rows, candidates), brute) << "trial " << trial;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process of `parent`, from /proc (no procps needed), or 0.
int first_child_of(pid_t parent) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: the command may hold spaces, so read after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    int ppid = 0;
    if (rest >> state >> ppid && ppid == parent) return std::stoi(name);
  }
  return 0;
}

std::string replaced(const std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  return at == std::string::npos ? text : text.substr(0, at) + to + text.substr(at + from.size());
}

std::map<std::string, std::string> rows_by_point(const std::string& csv) {
  std::map<std::string, std::string> m;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) m[line.substr(0, line.find(','))] += line + "\n";
  return m;
}

TEST(Sweep, StoreReusesPointsAndWorkersMatchASerialRun) {
  TempDir dir;
  dir.write("s.yaml", kSmall);
  CliResult serial = run_cli("sweep s.yaml --store a.sqlite --format csv", dir.path());
  ASSERT_EQ(serial.code, 0) << serial.err;
  EXPECT_NE(serial.err.find("6 computed"), std::string::npos) << serial.err;
  EXPECT_EQ(rows_by_point(serial.out).size(), 6u);
  CliResult parallel = run_cli("sweep s.yaml --store b.sqlite -j 2 --format csv", dir.path());
  ASSERT_EQ(parallel.code, 0) << parallel.err;
  EXPECT_EQ(rows_by_point(parallel.out), rows_by_point(serial.out));

  // Without --resume a sweep the store holds is refused; another sweep reuses stored points.
  CliResult again = run_cli("sweep s.yaml --store a.sqlite", dir.path());
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  dir.write("o.yaml",
            replaced(replaced(kSmall, "name: small", "name: other"), "[1, 16]", "[1, 16, 32]"));
  CliResult o = run_cli("sweep o.yaml --store a.sqlite", dir.path());
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.err.find("3 computed, 6 found in the store"), std::string::npos) << o.err;

  // Shards and merge give the serial table.
  for (const char* s : {"0/2", "1/2"}) {
    CliResult sh = run_cli(std::string("sweep s.yaml --shard ") + s, dir.path());
    ASSERT_EQ(sh.code, 0) << sh.err;
  }
  CliResult m = run_cli(
      "sweep merge merged.sqlite xpusim-out/sweeps/small.shard0of2.sqlite "
      "xpusim-out/sweeps/small.shard1of2.sqlite",
      dir.path());
  ASSERT_EQ(m.code, 0) << m.err;
  CliResult e = run_cli("sweep export s.yaml --store merged.sqlite", dir.path());
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(rows_by_point(e.out), rows_by_point(serial.out));
}

// 40 points (10 SM counts x 4 batches, both phases) with the numerics column off: enough work to
// be killed part-way through. `extra` is appended to the sweep file.
std::string forty_points(const std::string& name, const std::string& extra = "") {
  return "type: sweep\nname: " + name + "\n" +
         R"(set: ["hw=[h100]", "phases=[prefill, decode]", "numerics=false"]
parameters:
  - {key: hw.sm.count, range: {from: 60, to: 132, steps: 10, integer: true}}
  - {key: batch, values: [1, 4, 16, 64]}
)" + (extra.empty() ? "" : extra + "\n");
}

TEST(Sweep, SigkillThenResumeLosesAndDuplicatesNothing) {
  TempDir dir;
  dir.write("k.yaml", forty_points("kill", "objectives: [{minimize: latency_ms}]"));
  CliResult ref = run_cli("sweep k.yaml --store ref.sqlite --format csv", dir.path());
  ASSERT_EQ(ref.code, 0) << ref.err;
  const auto expected = rows_by_point(ref.out);
  ASSERT_EQ(expected.size(), 40u);
  bool killed_part_way = false;
  for (int ms : {30, 80, 150, 300}) {
    const std::string store = dir.path(fmt::format("k{}.sqlite", ms));
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      if (chdir(dir.path().c_str()) != 0 || null < 0) _exit(127);
      dup2(null, 1);
      dup2(null, 2);
      execl(XPUSIM_BINARY, XPUSIM_BINARY, "sweep", "k.yaml", "--store", store.c_str(), "-j", "2",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    killed_part_way = killed_part_way || WIFSIGNALED(status);
    CliResult resumed = run_cli("sweep k.yaml --resume --format csv --store " + store, dir.path());
    ASSERT_EQ(resumed.code, 0) << resumed.err;
    EXPECT_EQ(rows_by_point(resumed.out), expected) << "killed after " << ms << " ms";
  }
  EXPECT_TRUE(killed_part_way);
}

// mpirun -np 2: rank 0 hands the points to rank 1 and writes the store; the table is the serial
// run's, point for point.
TEST(Sweep, TwoRankMpirunMatchesASerialRun) {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "mpirun is not installed (Debian openmpi-bin; ./test.sh installs it)";
  TempDir dir;
  dir.write("s.yaml", kSmall);
  CliResult serial = run_cli("sweep s.yaml --store serial.sqlite --format csv", dir.path());
  ASSERT_EQ(serial.code, 0) << serial.err;
  const std::string cmd = fmt::format(
      // OpenMPI keeps allocations alive past MPI_Finalize: LeakSanitizer (the test preset) would
      // report them as the program's; every other test checks xpusim's own leaks.
      "cd '{}' && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "ASAN_OPTIONS=detect_leaks=0 "
      "XPUSIM_CACHE_DIR='{}/.cache' mpirun --oversubscribe -np 2 {} sweep s.yaml --store "
      "mpi.sqlite --format csv > mpi.csv 2> mpi.err",
      dir.path(), dir.path(), XPUSIM_BINARY);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(dir.path("mpi.err"));
  EXPECT_NE(read_file(dir.path("mpi.err")).find("6 computed on 1 MPI ranks"), std::string::npos)
      << read_file(dir.path("mpi.err"));
  EXPECT_EQ(rows_by_point(read_file(dir.path("mpi.csv"))), rows_by_point(serial.out));
}

// The pid of the process whose environment holds all of `vars` (exact NAME=VALUE entries), or 0.
int process_with_env(const std::vector<std::string>& vars) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(e.path() / "environ", std::ios::binary);
    std::set<std::string> env;
    for (std::string v; std::getline(in, v, '\0');) env.insert(v);
    if (std::all_of(vars.begin(), vars.end(), [&](const std::string& v) { return env.count(v); }))
      return std::stoi(name);
  }
  return 0;
}

// mpirun --enable-recovery -np 3, and worker rank 2 is killed once the sweep has stored a point:
// rank 0 stops hearing its heartbeats, hands its point to rank 1, and the table is the serial
// run's, point for point, with nothing stored twice. The 5 s timeout leaves room for a loaded CI
// machine (ASan, 2 cores) to schedule the heartbeat threads.
TEST(Sweep, AKilledMpiRankLosesNothing) {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "mpirun is not installed (Debian openmpi-bin; ./test.sh installs it)";
  TempDir dir;
  dir.write("k.yaml", forty_points("rank"));
  CliResult ref = run_cli("sweep k.yaml --store ref.sqlite --format csv", dir.path());
  ASSERT_EQ(ref.code, 0) << ref.err;
  const std::string cache = dir.path(".cache");
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = fmt::format(
        "cd '{}' && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
        "ASAN_OPTIONS=detect_leaks=0 XPUSIM_CACHE_DIR='{}' mpirun --enable-recovery "
        "--oversubscribe -np 3 {} sweep k.yaml --store mpi.sqlite --format csv --mpi-timeout 5 "
        "> mpi.csv 2> mpi.err",
        dir.path(), cache, XPUSIM_BINARY);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool killed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!killed && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!std::filesystem::exists(dir.path("mpi.sqlite"))) continue;
    try {
      if (SweepStore(dir.path("mpi.sqlite")).done_indices("rank").empty()) continue;
    } catch (const std::exception&) {  // the sweep is still creating its store
      continue;
    }
    const int rank2 = process_with_env({"XPUSIM_CACHE_DIR=" + cache, "OMPI_COMM_WORLD_RANK=2"});
    if (rank2 > 0) killed = ::kill(rank2, SIGKILL) == 0;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const std::string err = read_file(dir.path("mpi.err"));
  ASSERT_TRUE(killed) << "rank 2 was not found to kill\n" << err;
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << err;
  EXPECT_NE(err.find("40 computed on 2 MPI ranks, 1 of which died"), std::string::npos) << err;
  EXPECT_EQ(rows_by_point(read_file(dir.path("mpi.csv"))), rows_by_point(ref.out));
  EXPECT_EQ(SweepStore(dir.path("mpi.sqlite")).done_indices("rank").size(), 40u);
}

// Two processes that open a new store at the same moment both set it up (SQLite refuses the
// loser at once; the store retries): two sweeps started together into one store both finish.
TEST(Sweep, TwoSweepsCreatingOneStoreAtOnceBothFinish) {
  TempDir dir;
  dir.write("a.yaml", forty_points("first"));
  dir.write("b.yaml", forty_points("second"));
  for (int round = 0; round < 8; ++round) {
    const std::string store = fmt::format("s{}.sqlite", round);
    const std::string cmd = fmt::format(
        "cd '{}' && ({} sweep a.yaml --store {} > /dev/null 2> a.err & {} sweep b.yaml --store {} "
        "> /dev/null 2> b.err; b=$?; wait $!; a=$?; test $a = 0 && test $b = 0)",
        dir.path(), XPUSIM_BINARY, store, XPUSIM_BINARY, store);
    ASSERT_EQ(std::system(cmd.c_str()), 0)
        << "round " << round << "\n" << read_file(dir.path("a.err")) << read_file(dir.path("b.err"));
  }
}

// A worker killed mid-sweep loses only its point in flight: it is handed out again and the table
// equals a serial run's.
TEST(Sweep, AKilledWorkerLosesNothing) {
  TempDir dir;
  dir.write("k.yaml", forty_points("worker"));
  CliResult ref = run_cli("sweep k.yaml --store ref.sqlite --format csv", dir.path());
  ASSERT_EQ(ref.code, 0) << ref.err;
  const std::string out = dir.path("out.csv");
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = open("/dev/null", O_WRONLY);
    if (chdir(dir.path().c_str()) != 0 || o < 0 || null < 0) _exit(127);
    dup2(o, 1);
    dup2(null, 2);
    execl(XPUSIM_BINARY, XPUSIM_BINARY, "sweep", "k.yaml", "--store", "w.sqlite", "-j", "2",
          "--format", "csv", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill the first worker process that appears (a child of the sweep).
  bool killed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!killed && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    const int child = first_child_of(pid);
    if (child > 0) killed = ::kill(child, SIGKILL) == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed) << "no worker appeared to kill";
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(rows_by_point(read_file(out)), rows_by_point(ref.out));
}

}  // namespace
}  // namespace xpusim
