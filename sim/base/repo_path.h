// Finding the repository's own files (models, datasets) from wherever a binary runs.
#pragma once

#include <string>

namespace xpusim {

// A path of the repository (e.g. "workloads/models/tiny-llama"), looked for in the working
// directory and in the folders above the executable (which lives in build/<preset>/); returned
// unchanged when found nowhere, so that the caller's error names it.
std::string find_repo_path(const std::string& relative);

}  // namespace xpusim
