// Shared option parsing for the subcommands, on top of Boost.Program_options: unknown options
// become UsageErrors with a "did you mean", and --help prints the subcommand's options.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "sim/cli/cli.h"
#include "sim/base/repo_path.h"

namespace xpusim::cli {

namespace po = boost::program_options;

// Parses `args`; returns false (after printing help to stdout) when --help was given.
bool parse_options(const Args& args, const std::string& usage, po::options_description& opts,
                   const po::positional_options_description& positional, po::variables_map& vm);

// Comma-separated and repeated option values as one list: {"a,b", "c"} -> {a, b, c}.
std::vector<std::string> split_list(const std::vector<std::string>& values);

using xpusim::find_repo_path;  // sim/repo_path.h

}  // namespace xpusim::cli
