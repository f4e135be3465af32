// The xpusim command-line interface: one function per subcommand. Each returns the process exit
// code (0 ok, 3 a run none of whose points could run); ConfigError and UsageError (exit 2),
// OutputError and other failures (exit 1) propagate to main, which prints them.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace xpusim::cli {

// Bad command-line arguments (the user's fault): printed with the subcommand's usage hint.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Args = std::vector<std::string>;

// Exit codes, as the README documents them for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;     // a failed write, or an internal error
inline constexpr int kExitUserError = 2;   // bad configuration or arguments
inline constexpr int kExitNoPointRan = 3;  // `run`: every point ok: false

int cmd_run(const Args& args);
int cmd_predict(const Args& args);
int cmd_check(const Args& args);
int cmd_describe(const Args& args);
int cmd_list(const Args& args);
int cmd_validate(const Args& args);
int cmd_numerics(const Args& args);
int cmd_sweep(const Args& args);
int cmd_report(const Args& args);

}  // namespace xpusim::cli
