// libFuzzer target: the bytes are an operator CSV for `xpusim predict`, read by read_csv and
// predicted row by row on the h100 preset with a fresh op cache. Expected outcomes: an output
// table with one row per input row, or ConfigError.
#include <cstdint>
#include <memory>
#include <string_view>

#include "arch/registry.h"
#include "sim/base/csv.h"
#include "sim/config/config_store.h"
#include "sim/run/predict.h"
#include "tests/fuzz/fuzz_outcome.h"

namespace {

xpusim::Device* g_device = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static const xpusim::ConfigStore store;
  static const std::unique_ptr<xpusim::Device> device =
      xpusim::make_device(store.load("h100", "hw"), "h100");
  g_device = device.get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  xpusim::fuzz::expect_result_or_user_error([&] {
    const xpusim::CsvTable table = xpusim::read_csv(text, "fuzz.csv");
    xpusim::OpCache cache;
    const auto out = xpusim::predict_table(*g_device, cache, table);
    xpusim::fuzz::require(out.size() == table.rows.size() + 1, "one output row per input row");
    for (const auto& row : out)
      xpusim::fuzz::require(row.size() == out.front().size(), "every output row as wide as the header");
  });
  return 0;
}
