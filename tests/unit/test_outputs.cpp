// Outputs are whole or absent, every write is checked, names never become paths outside the
// output folder, and exit codes scripts can trust (0 ok, 1 failed write, 2 user error, 3 no point
// ran). The SIGKILL test runs the real binary and kills it while it simulates and while it writes.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "arch/registry.h"
#include "cli_helpers.h"
#include "reports/experiment_output.h"
#include "sim/base/file_name.h"
#include "sim/base/output_files.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "test_helpers.h"
#include "workloads/model.h"

namespace fs = std::filesystem;
using xpusim::testing::run_cli;
using xpusim::testing::TempDir;

namespace xpusim {
namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FileName, RejectsSeparatorsDotsControlCharactersAndEmptyNames) {
  for (const char* ok : {"h100", "llama2-7b", "opt-6.7b", "my experiment", "a.b"})
    EXPECT_FALSE(file_name_problem(ok)) << ok;
  for (const char* bad :
       {"", "../x", "a/b", "a\\b", "..", ".", ".hidden", "a..b", "a\x01z", "tab\there"})
    EXPECT_TRUE(file_name_problem(bad)) << bad;
  EXPECT_TRUE(file_name_problem(std::string(129, 'a')));
  EXPECT_EQ(safe_file_name("h100", "x"), "h100");
  EXPECT_EQ(safe_file_name("../configs/my-gpu.yaml", "x"), "my-gpu");
  EXPECT_EQ(safe_file_name("dir/.hidden.yaml", "x"), "hidden");
  EXPECT_EQ(safe_file_name("/", "unnamed"), "unnamed");
}

TEST(OutputFiles, WriteToAFullDeviceNamesThePathAndTheReason) {
  try {
    write_file("/dev/full", "some results\n");
    FAIL() << "expected an OutputError";
  } catch (const OutputError& e) {
    EXPECT_EQ(e.path(), "/dev/full");
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_file("/nonexistent-dir/x.csv", "x"), OutputError);
}

TEST(OutputFiles, StagedFolderReplacesAnEarlierFolderWhole) {
  TempDir dir;
  const fs::path target = dir.path("out/run");
  {
    StagedFolder f(target, {});
    f.write("a.txt", "first");
    f.write("sub/b.txt", "first");
    EXPECT_FALSE(fs::exists(target)) << "nothing at the target before publish()";
    f.publish();
  }
  {
    StagedFolder f(target, {});
    f.write("c.txt", "second");
    f.publish();
  }
  EXPECT_EQ(read_text(target / "c.txt"), "second");
  EXPECT_FALSE(fs::exists(target / "a.txt")) << "a stale file sat beside the new ones";
  EXPECT_FALSE(fs::exists(target / "sub"));
  for (const auto& e : fs::directory_iterator(dir.path("out")))
    EXPECT_EQ(e.path().filename(), "run") << "left behind: " << e.path();
}

TEST(OutputFiles, UnpublishedFolderIsRemovedAndStaleOnesOfDeadRunsToo) {
  TempDir dir;
  const fs::path target = dir.path("out/run");
  fs::create_directories(dir.path("out/.run.partial-999999999/resolved"));  // no such pid
  fs::create_directories(dir.path("out/.run.old-999999998"));
  const std::string live = dir.path("out/.run.partial-" + std::to_string(getppid()));
  fs::create_directories(live);
  {
    StagedFolder f(target, {});
    f.write("a.txt", "x");
    EXPECT_TRUE(fs::exists(f.staging()));
  }  // an error before publish(): the destructor removes the staging folder
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(fs::exists(dir.path("out/.run.partial-999999999")));
  EXPECT_FALSE(fs::exists(dir.path("out/.run.old-999999998")));
  EXPECT_TRUE(fs::exists(live)) << "a live process's staging folder was removed";
}

TEST(OutputFiles, RefusesToReplaceWhatItDoesNotOwn) {
  TempDir dir;
  dir.write("file", "precious");
  EXPECT_THROW(StagedFolder(dir.path("file"), {}), OutputError);
  EXPECT_EQ(read_text(dir.path("file")), "precious");

  dir.write("out/results.json", "[]");
  dir.write("out/resolved/hw-h100.yaml", "");
  dir.write("out/stats.csv.tmp", "");  // left by versions that renamed file by file
  EXPECT_TRUE(is_run_output_folder(dir.path("out")));
  dir.write("out/notes.txt", "precious");
  EXPECT_FALSE(is_run_output_folder(dir.path("out")));
  EXPECT_THROW(StagedFolder(dir.path("out"), is_run_output_folder), OutputError);
  EXPECT_EQ(read_text(dir.path("out/notes.txt")), "precious");
}

// --- names -------------------------------------------------------------------------------------

TEST(Names, BadExperimentAndHardwareNamesAreConfigErrorsWithTheirPlace) {
  TempDir dir;
  struct Case {
    std::string yaml, expect;
  } cases[] = {
      {"type: experiment\nname: ../x\nhw: [h100]\nmodel: gpt2\n",
       ":2:7: error: name: '../x' cannot name a file (the name contains '/')"},
      {"type: experiment\nname: a/b\nhw: [h100]\nmodel: gpt2\n",
       ":2:7: error: name: 'a/b' cannot name a file (the name contains '/')"},
      {"type: experiment\nname: \"\"\nhw: [h100]\nmodel: gpt2\n",
       ":2:7: error: name: '' cannot name a file (the name is empty)"},
      {"type: experiment\nname: \".x\"\nhw: [h100]\nmodel: gpt2\n",
       ":2:7: error: name: '.x' cannot name a file (the name starts with '.')"},
      {"type: experiment\nname: \"a\\x01b\"\nhw: [h100]\nmodel: gpt2\n",
       ":2:7: error: name: 'a\\x01b' cannot name a file (the name contains the control character "
       "0x01)"},
      {"type: gpu\nbase: h100\nname: ../../etc/gpu\n",
       ":3:7: error: name: '../../etc/gpu' cannot name a file"},
      {"type: model\nbase: gpt2\nname: a\\b\n", ":3:7: error: name: 'a\\b' cannot name a file"},
  };
  for (const auto& c : cases) {
    const std::string f = dir.write("bad.yaml", c.yaml);
    ConfigStore store;
    std::string msg = testing::config_error_of([&] {
      CfgNode tree = store.load_file(f);
      const std::string type = tree.find("type")->scalar;
      ErrorList errors;
      if (type == "experiment") parse_experiment(tree, errors);
      if (type == "model") parse_model(tree);
      if (type == "gpu") make_device(tree, "bad");
      errors.throw_if_any();
    });
    EXPECT_NE(msg.find(f + c.expect), std::string::npos) << c.yaml << "\n" << msg;
    EXPECT_NE(msg.find("allowed: a name of 1 to 128 bytes"), std::string::npos) << msg;
  }
}

TEST(Names, CheckAndRunRejectBadNamesAndWriteNothingOutside) {
  TempDir dir;
  fs::create_directories(dir.path("work"));
  const std::string names[] = {"../x", "a/b", "\"\""};
  for (const auto& name : names) {
    dir.write("work/e.yaml",
              "type: experiment\nname: " + name + "\nhw: [h100]\nmodel: gpt2\nphases: [prefill]\n");
    for (const char* cmd : {"check e.yaml", "run e.yaml"}) {
      auto r = run_cli(cmd, dir.path("work"));
      EXPECT_EQ(r.code, 2) << cmd << " " << name << "\n" << r.err;
      EXPECT_NE(r.err.find("e.yaml:2:7: error: name: '"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("allowed: a name of"), std::string::npos) << r.err;
    }
  }
  auto r =
      run_cli("run --hw h100 --model gpt2 --phase prefill --set name=../escaped", dir.path("work"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("name: '../escaped' cannot name a file"), std::string::npos) << r.err;
  dir.write("work/gpu.yaml", "type: gpu\nbase: h100\nname: ../gpu\n");
  r = run_cli("run --hw gpu.yaml --model gpt2 --phase prefill", dir.path("work"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("gpu.yaml:3:7: error: name: '../gpu' cannot name a file"), std::string::npos)
      << r.err;
  std::set<std::string> top;
  for (const auto& e : fs::directory_iterator(dir.path())) top.insert(e.path().filename());
  EXPECT_EQ(top, (std::set<std::string>{"work"})) << "a name reached a path outside";
  EXPECT_FALSE(fs::exists(dir.path("work/xpusim-out")));
}

TEST(Names, AHardwareFileWithoutANameIsFiledUnderItsStem) {
  TempDir dir;
  dir.write("sub/my-gpu.yaml", "type: gpu\nbase: h100\nname: ~\n");  // h100's name unset
  auto r = run_cli("run --hw sub/my-gpu.yaml --model gpt2 --phase prefill --out xpusim-out/default",
                   dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path("xpusim-out/default/resolved/hw-my-gpu.yaml")));
}

// --- exit codes and checked writes ---------------------------------------------------------------

TEST(ExitCodes, ARunWithNoPointThatCouldRunExitsThree) {
  TempDir dir;
  const std::string point = " --hw h100 --model bert-base --quant bf16 --set numerics=false";
  auto none = run_cli("run --no-out --phase decode" + point, dir.path());
  EXPECT_EQ(none.code, 3) << none.err;
  EXPECT_NE(none.err.find("none of the 1 point could run"), std::string::npos) << none.err;
  auto json =
      run_cli("run --phase decode --format json --out xpusim-out/default" + point, dir.path());
  EXPECT_EQ(json.code, 3);
  EXPECT_TRUE(fs::exists(dir.path("xpusim-out/default/results.json"))) << "written all the same";
  auto some = run_cli("run --no-out --phase prefill,decode" + point, dir.path());
  EXPECT_EQ(some.code, 0) << "one point ran: " << some.err;
}

TEST(ExitCodes, AFullDiskIsExitOneWithThePathAndNoSuccessLine) {
  TempDir dir;
  dir.write("ops.csv", "kind,M,K,N,dtype\ngemm,1,64,64,bf16\n");
  fs::create_symlink("/dev/full", dir.path("full"));
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"predict --hw h100 --ops ops.csv --out /dev/full",
       "cannot write /dev/full: No space left on device"},
      {"predict --hw h100 --ops ops.csv > /dev/full",
       "cannot write standard output: No space left on device"},
      {"validate --hw h100 --out /dev/full", "cannot write /dev/full: No space left on device"},
      {"numerics --windows 1 --seq 16 --schemes fp32 > /dev/full",
       "cannot write standard output: No space left on device"},
      {"list > /dev/full", "cannot write standard output: No space left on device"},
      {"run --hw h100 --model gpt2 --phase prefill --quant bf16 --set numerics=false --out full",
       "cannot write /dev/full: it exists and is not a folder"},
      {"run --hw h100 --model gpt2 --phase prefill --quant bf16 --set numerics=false --out "
       "/dev/full/x",
       "cannot write /dev/full: Not a directory"},
      {"run --hw h100 --model gpt2 --phase prefill --quant bf16 --set numerics=false --no-out > "
       "/dev/full",
       "cannot write standard output: No space left on device"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args, dir.path());
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.find("results, per-op breakdown"), std::string::npos) << c.args;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << c.args;
  }
}

// --- SIGKILL -------------------------------------------------------------------------------------

// Starts xpusim in `dir` with stdout and stderr discarded; everything exec needs is prepared
// before fork.
pid_t spawn(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<char*> argv{const_cast<char*>(XPUSIM_BINARY)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    if (chdir(dir.c_str()) != 0 || null < 0) _exit(127);
    dup2(null, 1);
    dup2(null, 2);
    execv(XPUSIM_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

// The output location holds nothing or one run's complete folder: every file, JSON that parses,
// results and resolved hardware files of the same run, and no visible *.tmp.
void expect_whole_or_absent(const fs::path& root, const std::string& when) {
  SCOPED_TRACE(when);
  const fs::path out = root / "default";
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(".")) {
      it.disable_recursion_pending();  // a hidden staging folder
      continue;
    }
    EXPECT_FALSE(name.ends_with(".tmp")) << it->path();
    if (it.depth() == 0) {
      EXPECT_EQ(name, "default");
    }
  }
  if (!fs::exists(out)) return;
  for (const char* f : {"results.json", "results.csv", "ops.csv", "stats.json", "stats.csv",
                        "resolved/experiment-default.yaml", "resolved/model-llama2-7b.yaml"})
    ASSERT_TRUE(fs::exists(out / f)) << f;
  nlohmann::json results, stats;
  ASSERT_NO_THROW(results = nlohmann::json::parse(read_text(out / "results.json")));
  ASSERT_NO_THROW(stats = nlohmann::json::parse(read_text(out / "stats.json")));
  std::set<std::string> hw_results, hw_resolved;
  for (const auto& p : results) hw_results.insert("hw-" + p["hw"].get<std::string>() + ".yaml");
  for (const auto& e : fs::directory_iterator(out / "resolved"))
    if (e.path().filename().string().starts_with("hw-")) hw_resolved.insert(e.path().filename());
  EXPECT_EQ(hw_results, hw_resolved) << "files of two runs mixed";
  const std::string csv = read_text(out / "results.csv");
  EXPECT_EQ(size_t(std::count(csv.begin(), csv.end(), '\n')), results.size() + 1);
}

TEST(OutputFolder, SigkillAtAnyMomentLeavesNoPartialOrMixedFolder) {
  TempDir dir;
  const fs::path root = dir.path("xpusim-out");
  // An earlier run on other hardware, so that a mixed folder would show.
  auto first =
      run_cli("run --hw tpu-v4 --model llama2-7b --phase prefill --set name=default", dir.path());
  ASSERT_EQ(first.code, 0) << first.err;
  const std::vector<std::string> args = {"run",
                                         "--hw",
                                         "h100,a100,h200",
                                         "--model",
                                         "llama2-7b",
                                         "--phase",
                                         "prefill,decode,generate",
                                         "--gen",
                                         "32",
                                         "--quant",
                                         "bf16,int8",
                                         "--set",
                                         "name=default"};
  using namespace std::chrono;
  int killed_while_writing = 0;
  // While it simulates (fixed delays), then while it writes and publishes (after its staging
  // folder appears; writing this folder takes about 20 ms here).
  for (int ms : {5, 20, 50, 100}) {
    const pid_t pid = spawn(args, dir.path());
    std::this_thread::sleep_for(milliseconds(ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    expect_whole_or_absent(root, fmt::format("killed after {} ms", ms));
  }
  for (int us : {0, 1000, 3000, 6000, 10000, 15000, 20000, 25000, 30000}) {
    const pid_t pid = spawn(args, dir.path());
    const auto deadline = steady_clock::now() + seconds(10);
    int status = 0;
    bool exited = false;
    const fs::path staging = root / (".default.partial-" + std::to_string(pid));
    while (!fs::exists(staging) && steady_clock::now() < deadline) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(microseconds(50));
    }
    if (!exited) {
      std::this_thread::sleep_for(microseconds(us));
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      if (WIFSIGNALED(status)) ++killed_while_writing;
    }
    expect_whole_or_absent(root, fmt::format("killed {} us into writing", us));
  }
  EXPECT_GE(killed_while_writing, 1) << "no kill landed while the folder was being written";
  // The next run completes and removes what the killed runs left hidden.
  const pid_t pid = spawn(args, dir.path());
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  expect_whole_or_absent(root, "after a complete run");
  ASSERT_TRUE(fs::exists(root / "default/resolved/hw-a100.yaml"));
  EXPECT_FALSE(fs::exists(root / "default/resolved/hw-tpu-v4.yaml"));
  for (const auto& e : fs::directory_iterator(root))
    EXPECT_EQ(e.path().filename(), "default") << "left behind: " << e.path();
}

// numerics names its agreement column for what it is (issue 11: 26.6 % top-1 with synthetic
// weights read like an accuracy).
TEST(NumericsCli, TheTableSaysAgreementIsNotAccuracy) {
  TempDir dir;
  const auto r = run_cli("numerics --schemes bf16 --windows 1 --seq 16", dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("=fp32@1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("agreement with fp32, not accuracy"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("top-1"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace xpusim
