// The xpusim command-line interface: one function per subcommand. Each returns the process exit
// code (0 ok, 2 user error); ConfigError and UsageError propagate to main, which prints them.
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

int cmd_run(const Args& args);
int cmd_predict(const Args& args);
int cmd_check(const Args& args);
int cmd_describe(const Args& args);
int cmd_list(const Args& args);
int cmd_validate(const Args& args);
int cmd_numerics(const Args& args);

}  // namespace xpusim::cli
