// xpusim's version and the git commit it was built from (cmake/version.cmake writes both at
// build time; "unknown" outside a git checkout, a "-dirty" suffix for uncommitted changes).
#pragma once

#include <string_view>

namespace xpusim {

std::string_view version();     // the project version, e.g. "0.1.0"
std::string_view git_commit();  // 12 hex digits, "<hash>-dirty", or "unknown"

}  // namespace xpusim
