// libFuzzer target: the bytes are the text of a configuration file (hardware, model or
// experiment), loaded and validated exactly as `xpusim check FILE` does: read from disk (size
// and UTF-8 checks), YAML into the config tree, base/include resolved, then the schema of its
// `type:`. Expected outcomes: success or ConfigError.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/config/config_store.h"
#include "sim/run/config_check.h"
#include "tests/fuzz/fuzz_outcome.h"

namespace {

const xpusim::ConfigStore* g_store = nullptr;
std::string g_dir;
std::string g_file;

void remove_dir() {
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static const xpusim::ConfigStore store;
  g_store = &store;
  std::string tmpl = (std::filesystem::temp_directory_path() / "xpusim_fuzz_config_XXXXXX");
  if (!mkdtemp(tmpl.data())) std::abort();
  g_dir = tmpl;
  g_file = g_dir + "/fuzz.yaml";
  std::atexit(remove_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(g_file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();
  }
  xpusim::fuzz::expect_result_or_user_error(
      [&] { xpusim::check_config(*g_store, g_store->load(g_file, ""), g_file); });
  return 0;
}
