// Fuzz-style robustness tests of the weight loaders: thousands of corrupted safetensors files
// and config.json texts (random byte flips, truncations, garbage, and headers assembled from
// hostile values) from a fixed seed. Each must either load consistently or throw WeightsError;
// any other exception, a crash or a sanitizer report is a failure. Runs in about a second
// under ASan.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "workloads/weights/hf_config.h"
#include "workloads/weights/safetensors.h"
#include "workloads/weights/safetensors_writer.h"
#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Outcome {
  int loaded = 0;
  int rejected = 0;
};

// Parses `bytes`; on success reads every tensor, checking that sizes agree with the header.
void try_parse(const Bytes& bytes, Outcome& outcome, const std::string& what) {
  try {
    const auto file = SafetensorsFile::from_bytes(bytes, "fuzz.safetensors");
    for (const auto& name : file.names()) {
      const auto& info = file.info(name);
      const auto raw = file.raw_bytes(name);
      ASSERT_EQ(raw.size(), static_cast<std::size_t>(info.num_elements()) * dtype_size(info.dtype))
          << what;
      ASSERT_LE(file.data_offset() + info.end, bytes.size()) << what;
      ASSERT_EQ(file.to_float(name).size(), static_cast<std::size_t>(info.num_elements())) << what;
    }
    ++outcome.loaded;
  } catch (const WeightsError& e) {
    ASSERT_FALSE(std::string(e.what()).empty()) << what;
    ++outcome.rejected;
  } catch (const std::exception& e) {
    FAIL() << what << ": unexpected " << typeid(e).name() << ": " << e.what();
  }
}

Bytes valid_file() {
  const std::vector<float> v = {1.0f, -2.0f, 0.5f, 3.0f, -0.25f, 8.0f};
  return serialize_safetensors(
      {make_tensor("model.embed_tokens.weight", TensorDtype::kBF16, {2, 3}, v),
       make_tensor("w", TensorDtype::kF32, {6}, v), make_tensor("h", TensorDtype::kF16, {3, 2}, v),
       make_tensor("e4", TensorDtype::kF8E4M3, {6}, v),
       make_tensor("e5", TensorDtype::kF8E5M2, {1, 6}, v),
       make_tensor("d", TensorDtype::kF64, {2}, {v.data(), 2})},
      {{"format", "pt"}});
}

Bytes framed(const std::string& header, std::uint64_t length, std::size_t data_bytes,
             std::mt19937& rng) {
  Bytes out(8);
  std::memcpy(out.data(), &length, 8);
  out.insert(out.end(), header.begin(), header.end());
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<std::uint8_t>(rng()));
  return out;
}

TEST(WeightsFuzz, FlippedTruncatedAndGarbageSafetensorsNeverCrash) {
  std::mt19937 rng(20240601);
  const Bytes base = valid_file();
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, base.data(), 8);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  Outcome outcome;

  // 1. Random byte changes, mostly in the framing and header where they matter.
  for (int c = 0; c < 2000; ++c) {
    Bytes b = base;
    const int flips = 1 + static_cast<int>(pick(4));
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = pick(4) ? pick(8 + header_len) : pick(b.size());
      b[at] = pick(2) ? static_cast<std::uint8_t>(rng())
                      : static_cast<std::uint8_t>(b[at] ^ (1u << pick(8)));
    }
    if (pick(4) == 0) b.resize(pick(b.size() + 1));  // and sometimes truncate too
    try_parse(b, outcome, "flip case " + std::to_string(c));
    if (::testing::Test::HasFatalFailure()) return;
  }
  // 2. Pure garbage, with and without a plausible length prefix.
  for (int c = 0; c < 500; ++c) {
    Bytes b(pick(300));
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() >= 8 && pick(2)) {
      const std::uint64_t len = pick(b.size() - 7);
      std::memcpy(b.data(), &len, 8);
    }
    try_parse(b, outcome, "garbage case " + std::to_string(c));
    if (::testing::Test::HasFatalFailure()) return;
  }
  // 3. JSON-token soup behind a correct length.
  const std::vector<std::string> tokens = {"{",
                                           "}",
                                           "[",
                                           "]",
                                           ":",
                                           ",",
                                           "\"a\"",
                                           "\"b\"",
                                           "\"dtype\"",
                                           "\"shape\"",
                                           "\"data_offsets\"",
                                           "\"F32\"",
                                           "\"BF16\"",
                                           "\"F8_E4M3\"",
                                           "\"__metadata__\"",
                                           "0",
                                           "4",
                                           "8",
                                           "-1",
                                           "1e400",
                                           "2.5",
                                           "18446744073709551615",
                                           "4294967296",
                                           "null",
                                           "true",
                                           "\"\\u0000\"",
                                           "\"\xff\"",
                                           " "};
  for (int c = 0; c < 1000; ++c) {
    std::string h = "{";
    const std::size_t n = pick(40);
    for (std::size_t i = 0; i < n; ++i) h += tokens[pick(tokens.size())];
    try_parse(framed(h, h.size(), pick(16), rng), outcome,
              "soup case " + std::to_string(c) + ": " + h);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // 4. Well-formed headers: consistent ones (shape, dtype and contiguous offsets agree), then
  // usually one field replaced by a hostile value, to reach every entry and tiling check.
  const std::vector<std::pair<std::string, std::size_t>> dtypes = {
      {"\"F32\"", 4}, {"\"BF16\"", 2}, {"\"U8\"", 1}, {"\"BOOL\"", 1}, {"\"I64\"", 8}};
  const std::vector<std::string> bad_values = {"\"F4\"",
                                               "\"\"",
                                               "1",
                                               "null",
                                               "-1",
                                               "1.5",
                                               "4294967296",
                                               "9223372036854775807",
                                               "18446744073709551615",
                                               "\"2\"",
                                               "0",
                                               "3",
                                               "12",
                                               "[]",
                                               "{}",
                                               "[0]"};
  int structured_loaded = 0;
  for (int c = 0; c < 1500; ++c) {
    struct Field {
      std::string dtype, shape, begin, end;
    };
    std::vector<Field> fields(1 + pick(3));
    std::uint64_t offset = 0;
    for (auto& f : fields) {
      const auto& [dtype, size] = dtypes[pick(dtypes.size())];
      std::uint64_t n = 1;
      f.dtype = dtype;
      f.shape = "[";
      for (std::size_t r = 0, rank = pick(3); r < rank; ++r) {
        const std::uint64_t d = pick(4);
        n *= d;
        f.shape += (r ? "," : "") + std::to_string(d);
      }
      f.shape += "]";
      f.begin = std::to_string(offset);
      offset += n * size;
      f.end = std::to_string(offset);
    }
    if (pick(4)) {  // corrupt one field of one tensor
      auto& f = fields[pick(fields.size())];
      std::string* slots[] = {&f.dtype, &f.shape, &f.begin, &f.end};
      std::string& slot = *slots[pick(4)];
      const auto& v = bad_values[pick(bad_values.size())];
      slot = slot.starts_with("[") && pick(2) ? "[" + v + "]" : v;
    }
    std::string h = "{";
    for (std::size_t t = 0; t < fields.size(); ++t)
      h += (t ? ",\"t" : "\"t") + std::to_string(t) + "\":{\"dtype\":" + fields[t].dtype +
           ",\"shape\":" + fields[t].shape + ",\"data_offsets\":[" + fields[t].begin + "," +
           fields[t].end + "]}";
    h += "}";
    const std::size_t data = pick(8) ? offset : pick(offset + 9);
    const int before = outcome.loaded;
    try_parse(framed(h, h.size(), data, rng), outcome,
              "structured case " + std::to_string(c) + ": " + h);
    if (::testing::Test::HasFatalFailure()) return;
    structured_loaded += outcome.loaded - before;
  }
  // The generators must reach past the framing: some hostile-but-valid headers load.
  EXPECT_GT(structured_loaded, 200);
  EXPECT_GT(outcome.rejected, 4000);
}

TEST(WeightsFuzz, CorruptedConfigJsonNeverCrashes) {
  const std::string base = R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256,
    "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0}, "head_dim": 16})";
  std::mt19937 rng(7);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  const std::string alphabet = "{}[]:,\"0123456789-.eE truefalsn\\";
  int loaded = 0;
  for (int c = 0; c < 1500; ++c) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(pick(3));
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = pick(text.size());
      switch (pick(3)) {
        case 0:
          text[at] = alphabet[pick(alphabet.size())];
          break;
        case 1:
          text.erase(at, 1 + pick(4));
          break;
        default:
          text.insert(at, 1, pick(8) ? alphabet[pick(alphabet.size())] : static_cast<char>(rng()));
          break;
      }
    }
    try {
      parse_hf_config(text, "config.json");
      ++loaded;
    } catch (const WeightsError&) {
    } catch (const std::exception& e) {
      FAIL() << "case " << c << ": unexpected " << e.what() << "\n" << text;
    }
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace xpusim::weights
