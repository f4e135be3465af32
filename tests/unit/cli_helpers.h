// Runs the real xpusim binary (the CMake target's path, XPUSIM_BINARY) as a user's shell would:
// in a given folder, stdout captured, stderr to a file.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace xpusim::testing {

struct CliResult {
  int code = -1;
  std::string out;  // stdout only; stderr goes to err
  std::string err;
};

inline CliResult run_cli(const std::string& args, const std::string& dir) {
  const std::string err_file = dir + "/stderr.txt";
  // The banner check needs the variable unset, as a user's shell would have it.
  // The numerics disk cache of each test is its own (never the user's, never shared).
  std::string cmd = "cd '" + dir + "' && env -u SYSC_DISABLE_COPYRIGHT_MESSAGE XPUSIM_CACHE_DIR='" +
                    dir + "/.cache' " + XPUSIM_BINARY + " " + args + " 2>'" + err_file + "'";
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_file);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  return r;
}

}  // namespace xpusim::testing
