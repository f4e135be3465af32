// libFuzzer target: the bytes are a whole safetensors file (8-byte header length, JSON header,
// data), parsed from memory; on success every tensor's bytes are read and converted to fp32.
// Expected outcomes: a file whose tensors all lie inside it, or WeightsError.
#include <cstdint>
#include <vector>

#include "tests/fuzz/fuzz_outcome.h"
#include "workloads/weights/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using xpusim::weights::SafetensorsFile;
  xpusim::fuzz::expect_result_or_user_error([&] {
    const auto file =
        SafetensorsFile::from_bytes(std::vector<std::uint8_t>(data, data + size), "fuzz.safetensors");
    for (const auto& name : file.names()) {
      const auto& info = file.info(name);
      const auto raw = file.raw_bytes(name);
      xpusim::fuzz::require(file.data_offset() + info.end <= size, "tensor inside the file");
      xpusim::fuzz::require(raw.size() == info.end - info.begin, "raw bytes match the offsets");
      // Converting a huge tensor would only measure memory; the parser is the target.
      if (raw.size() <= (1u << 16))
        xpusim::fuzz::require(
            file.to_float(name).size() == static_cast<std::size_t>(info.num_elements()),
            "fp32 conversion has one value per element");
    }
  });
  return 0;
}
