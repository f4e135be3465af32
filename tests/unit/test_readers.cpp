// Readers are bounded and strict (issue 11): only regular files, never beyond a stated size,
// UTF-8 text checked where it was read, CSV as spreadsheets and pandas write it, and error lists
// that stay linear and capped.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "arch/registry.h"
#include "sim/base/csv.h"
#include "sim/base/file_read.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "test_helpers.h"

namespace xpusim {
namespace {

using testing::config_error_of;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the real binary with a 20 s guard (a hang fails the test instead of stalling it);
// returns its exit code and writes its stderr to dir/err.txt.
int run_guarded(const std::string& args, const TempDir& dir) {
  const std::string cmd = fmt::format("cd '{}' && timeout 20 {} {} >'{}' 2>'{}' </dev/null",
                                      dir.path(), XPUSIM_BINARY, args, dir.path("out.txt"),
                                      dir.path("err.txt"));
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Readers, NonRegularFilesAreErrorsNotHangs) {
  TempDir dir;
  const std::string fifo = dir.path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& p : {fifo, std::string("/dev/zero"), dir.path()}) {
    const std::string msg =
        config_error_of([&] { read_file_bounded(p, "--ops", kMaxTableFileBytes); });
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("not a regular file") != std::string::npos ||
                msg.find("is a directory") != std::string::npos)
        << msg;
  }
  // The commands that read them exit 2 at once (timeout would give 124).
  EXPECT_EQ(run_guarded("predict --hw h100 --ops /dev/zero", dir), 2);
  EXPECT_NE(slurp(dir.path("err.txt")).find("/dev/zero"), std::string::npos);
  EXPECT_EQ(run_guarded("predict --hw h100 --ops fifo", dir), 2);
  EXPECT_EQ(run_guarded("numerics --text /dev/zero", dir), 2);
  EXPECT_EQ(run_guarded(fmt::format("numerics --text '{}'", dir.path()), dir), 2);
  EXPECT_NE(slurp(dir.path("err.txt")).find("is a directory"), std::string::npos);
  EXPECT_EQ(run_guarded("check fifo", dir), 2);
}

TEST(Readers, SizeLimitsAreStatedAndEnforced) {
  TempDir dir;
  const std::string f = dir.write("big.csv", std::string(5000, 'x'));
  std::string msg = config_error_of([&] { read_file_bounded(f, "--ops", 4096); });
  EXPECT_NE(msg.find("the file is 5000 bytes, more than the limit of 4096 bytes"),
            std::string::npos)
      << msg;
  std::istringstream in(std::string(5000, 'x'));
  msg = config_error_of([&] { read_stream_bounded(in, "<stdin>", "--ops", 4096); });
  EXPECT_NE(msg.find("<stdin>: error: --ops: the input is more than the limit"), std::string::npos)
      << msg;
  EXPECT_EQ(read_file_bounded(dir.write("ok.txt", "abc"), "", 3), "abc");
}

TEST(Readers, TextThatIsNotUtf8IsAnErrorWhereItWasRead) {
  TempDir dir;
  // A 0xFF byte in a preset's name: the error points at its line and column before any output.
  const std::string f =
      dir.write("bad.yaml", "type: gpu\nbase: h100\nname: \"h1\xff\"\n");
  std::string msg = config_error_of([&] { ConfigStore().load_file(f); });
  EXPECT_NE(msg.find(f + ":3:10: error: byte 0xFF is not valid UTF-8"), std::string::npos) << msg;
  EXPECT_EQ(run_guarded(fmt::format("run --hw '{}' --phase decode", f), dir), 2);
  // Overlong encodings and surrogates are not UTF-8 either; real multi-byte text is.
  for (std::string bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82"})
    EXPECT_THROW(check_utf8(bad, "t", ""), ConfigError) << bad;
  EXPECT_NO_THROW(check_utf8("µs, 4×A100, ≤ 10 %, 🙂", "t", ""));
  // A CSV field too.
  msg = config_error_of([&] { read_csv("M,K\n1,\x80\n", "ops.csv"); });
  EXPECT_NE(msg.find("ops.csv:2:3: error: byte 0x80"), std::string::npos) << msg;
}

TEST(Readers, CsvAsSpreadsheetsAndPandasWriteIt) {
  // Excel's "CSV UTF-8": a byte-order mark and CRLF; a quoted field holding a comma, a quote and
  // a line break; the empty rows a spreadsheet writes as commas.
  const CsvTable t = read_csv(
      "\xEF\xBB\xBFkind,M,note\r\ngemm,1,\"a, \"\"b\"\"\r\nc\"\r\n,,\r\ngemm,2,plain\r\n", "x.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"kind", "M", "note"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].fields[2].text, "a, \"b\"\r\nc");
  EXPECT_EQ(t.rows[1].line, 5);  // lines count the break inside the quoted field
  EXPECT_EQ(t.rows[1].fields[2].text, "plain");
  // pandas' default index column has no name: an error that says how to drop it, not a silently
  // ignored column; a column named twice is ambiguous.
  std::string msg = config_error_of([&] { read_csv(",M,K\n0,1,2\n", "p.csv"); });
  EXPECT_NE(msg.find("column 1 has no name"), std::string::npos) << msg;
  EXPECT_NE(msg.find("index=False"), std::string::npos) << msg;
  msg = config_error_of([&] { read_csv("M,K,M\n1,2,3\n", "d.csv"); });
  EXPECT_NE(msg.find("column 'M' appears twice (columns 1 and 3)"), std::string::npos) << msg;
  msg = config_error_of([&] { read_csv("M,K\n\"1,2\n", "q.csv"); });
  EXPECT_NE(msg.find("q.csv:2:1: error: unterminated quoted field"), std::string::npos) << msg;
}

TEST(Readers, ErrorListsStayLinearAndCapped) {
  TempDir dir;
  std::string text = "type: gpu\nbase: h100\n";
  constexpr int kKeys = 40000;
  for (int i = 0; i < kKeys; ++i) text += fmt::format("unknown_key_{}: 1\n", i);
  const std::string f = dir.write("many.yaml", text);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = config_error_of([&] {
    ConfigStore store;
    make_device(store.load_file(f), "many");
  });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // 100 listed, then the count of the rest; the time bound is loose (a quadratic list took 12 s).
  EXPECT_NE(msg.find(fmt::format("... and {} more problems (only the first {} are listed)",
                                 kKeys - ErrorList::kMaxListed, ErrorList::kMaxListed)),
            std::string::npos)
      << msg.substr(msg.size() > 300 ? msg.size() - 300 : 0);
  EXPECT_LT(std::count(msg.begin(), msg.end(), '\n'), 110);
  EXPECT_LT(s, 5.0);
}

// A path inside an experiment resolves against the experiment's folder, as base: does, and a
// missing one is reported at the line and column that name it.
TEST(Readers, PathsInAnExperimentResolveBesideIt) {
  TempDir dir;
  std::string gpu = slurp(std::string(XPUSIM_SOURCE_DIR) + "/configs/hw/gpu/h100.yaml");
  gpu.replace(gpu.find("name: h100"), 10, "name: mygpu");
  dir.write("hw/mygpu.yaml", gpu);
  const std::string exp =
      dir.write("sub/e.yaml",
                "type: experiment\nname: rel\nhw: [../hw/mygpu.yaml, ../hw/none.yaml]\n"
                "model: llama2-7b\nphases: [decode]\nnumerics: false\n");
  ConfigStore store;
  ExperimentRunner runner(store);
  const std::string msg = config_error_of([&] { runner.run(store.load_file(exp), {}); });
  EXPECT_NE(msg.find(exp + ":3:24: error: no file '../hw/none.yaml'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("mygpu.yaml"), std::string::npos) << msg;  // the sibling was found
  const std::string ok = dir.write(
      "sub/ok.yaml",
      "type: experiment\nname: rel\nhw: [../hw/mygpu.yaml]\nmodel: llama2-7b\n"
      "phases: [decode]\nnumerics: false\n");
  const auto r = ExperimentRunner(store).run(store.load_file(ok), {});
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].hw, "mygpu");
  EXPECT_TRUE(r.points[0].ok) << r.points[0].reason;
}

}  // namespace
}  // namespace xpusim
