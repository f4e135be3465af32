#include "sim/base/repo_path.h"

#include <filesystem>
#include <system_error>
#include <vector>

namespace xpusim {

std::string find_repo_path(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> bases = {fs::current_path()};
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      bases.push_back(p);
  for (const auto& b : bases)
    if (fs::exists(b / relative)) return (b / relative).string();
  return relative;
}

}  // namespace xpusim
