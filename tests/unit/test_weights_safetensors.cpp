// Tests of the safetensors reader and writer: exact round trips of every float dtype, a file
// built byte by byte from the format's description (so the reader is not only checked against
// our own writer), and one test per kind of corrupt or hostile file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/test_helpers.h"
#include "workloads/numerics/formats.h"
#include "workloads/weights/safetensors.h"
#include "workloads/weights/safetensors_writer.h"
#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

using Bytes = std::vector<std::uint8_t>;

// 8-byte little-endian length (or `length` when given), header text, then `data`.
Bytes framed(const std::string& header, const Bytes& data = {},
             std::uint64_t length = std::numeric_limits<std::uint64_t>::max()) {
  const std::uint64_t n =
      length == std::numeric_limits<std::uint64_t>::max() ? header.size() : length;
  Bytes out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The message of the WeightsError that parsing `bytes` throws (a test failure if none).
std::string error_of_bytes(const Bytes& bytes) {
  try {
    SafetensorsFile::from_bytes(bytes, "t.safetensors");
  } catch (const WeightsError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a WeightsError";
  return "";
}

// One F32 tensor "a" of shape [2] with the given header fields.
std::string one_tensor(const std::string& dtype, const std::string& shape,
                       const std::string& offsets) {
  return R"({"a":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + offsets +
         "}}";
}

TEST(Safetensors, HandBuiltFileIsReadExactly) {
  // Two tensors as the specification lays them out: F32 [2] at [0, 8), BF16 [1, 2] at [8, 12).
  Bytes data(12);
  const float f[2] = {1.5f, -0.25f};
  std::memcpy(data.data(), f, 8);
  const std::uint16_t b[2] = {0x3F80, 0xC040};  // bf16 1.0 and -3.0
  std::memcpy(data.data() + 8, b, 4);
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("v":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]}}  )";  // trailing spaces allowed
  const auto file = SafetensorsFile::from_bytes(framed(header, data), "hand.safetensors");
  EXPECT_EQ(file.names(), (std::vector<std::string>{"v", "w"}));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.data_offset(), 8 + header.size());
  EXPECT_EQ(file.info("v").dtype, TensorDtype::kBF16);
  EXPECT_EQ(file.info("v").shape, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(file.to_float("w"), (std::vector<float>{1.5f, -0.25f}));
  EXPECT_EQ(file.to_float("v"), (std::vector<float>{1.0f, -3.0f}));
  const auto raw = file.raw_bytes("v");
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[0], 0x80);
  EXPECT_EQ(raw[1], 0x3F);
}

TEST(Safetensors, FloatDtypesRoundTripExactly) {
  // Values exactly representable in every format tested, plus format-specific extremes.
  const std::vector<float> common = {0.0f, -0.0f, 1.0f, -2.5f, 0.375f, 448.0f, -0.015625f};
  const std::vector<float> f32 = {3.14159274f, -1e-40f /* subnormal */, 1e38f,
                                  std::numeric_limits<float>::infinity()};
  const std::vector<float> bf16 = {numerics::round_to_bf16(3.14159f),
                                   numerics::round_to_bf16(1e38f),
                                   0x1p-133f /* smallest subnormal */};
  const std::vector<float> f16 = {65504.0f, 0x1p-24f, numerics::round_to_fp16(3.14159f)};
  const std::vector<float> e5m2 = {57344.0f, 0x1p-16f};
  struct Case {
    TensorDtype dtype;
    std::vector<float> values;
  };
  std::vector<Case> cases = {{TensorDtype::kF32, f32},
                             {TensorDtype::kF64, f32},
                             {TensorDtype::kBF16, bf16},
                             {TensorDtype::kF16, f16},
                             {TensorDtype::kF8E4M3, {0x1p-9f, -448.0f}},
                             {TensorDtype::kF8E5M2, e5m2}};
  std::vector<TensorToWrite> tensors;
  for (auto& c : cases) {
    c.values.insert(c.values.end(), common.begin(), common.end());
    tensors.push_back(make_tensor(std::string(dtype_name(c.dtype)), c.dtype,
                                  {static_cast<std::int64_t>(c.values.size())}, c.values));
  }
  const auto file = SafetensorsFile::from_bytes(serialize_safetensors(tensors, {{"k", "v"}}), "rt");
  EXPECT_EQ(file.metadata().at("k"), "v");
  for (const auto& c : cases) {
    const auto got = file.to_float(dtype_name(c.dtype));
    ASSERT_EQ(got.size(), c.values.size()) << dtype_name(c.dtype);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i], c.values[i]) << dtype_name(c.dtype) << " element " << i;
      EXPECT_EQ(std::signbit(got[i]), std::signbit(c.values[i])) << dtype_name(c.dtype) << " " << i;
    }
  }
}

TEST(Safetensors, NanSurvivesEveryFloatDtype) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto d : {TensorDtype::kF32, TensorDtype::kF64, TensorDtype::kF16, TensorDtype::kBF16,
                 TensorDtype::kF8E4M3, TensorDtype::kF8E5M2}) {
    const auto file = SafetensorsFile::from_bytes(
        serialize_safetensors({make_tensor("x", d, {1}, std::vector<float>{nan})}), "nan");
    EXPECT_TRUE(std::isnan(file.to_float("x")[0])) << dtype_name(d);
  }
}

TEST(Safetensors, IntegerAndBoolDtypesConvertToFloat) {
  Bytes data;
  auto put = [&](const auto& v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    data.insert(data.end(), p, p + sizeof(v));
  };
  put(std::int8_t{-128}), put(std::uint8_t{255}), put(std::int16_t{-300}),
      put(std::uint16_t{65535});
  put(std::int32_t{-70000}), put(std::uint32_t{16777216}), put(std::int64_t{-5}),
      put(std::uint64_t{7});
  put(std::uint8_t{0}), put(std::uint8_t{2});  // BOOL: any nonzero byte is true
  const std::string header = R"({"i8":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},)"
                             R"("u8":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},)"
                             R"("i16":{"dtype":"I16","shape":[],"data_offsets":[2,4]},)"
                             R"("u16":{"dtype":"U16","shape":[1],"data_offsets":[4,6]},)"
                             R"("i32":{"dtype":"I32","shape":[1],"data_offsets":[6,10]},)"
                             R"("u32":{"dtype":"U32","shape":[1],"data_offsets":[10,14]},)"
                             R"("i64":{"dtype":"I64","shape":[1,1],"data_offsets":[14,22]},)"
                             R"("u64":{"dtype":"U64","shape":[1],"data_offsets":[22,30]},)"
                             R"("b":{"dtype":"BOOL","shape":[2],"data_offsets":[30,32]},)"
                             R"("empty":{"dtype":"F32","shape":[0,3],"data_offsets":[32,32]}})";
  const auto f = SafetensorsFile::from_bytes(framed(header, data), "ints");
  EXPECT_EQ(f.to_float("i8")[0], -128.0f);
  EXPECT_EQ(f.to_float("u8")[0], 255.0f);
  EXPECT_EQ(f.info("i16").shape.size(), 0u);  // a scalar
  EXPECT_EQ(f.to_float("i16")[0], -300.0f);
  EXPECT_EQ(f.to_float("u16")[0], 65535.0f);
  EXPECT_EQ(f.to_float("i32")[0], -70000.0f);
  EXPECT_EQ(f.to_float("u32")[0], 16777216.0f);
  EXPECT_EQ(f.to_float("i64")[0], -5.0f);
  EXPECT_EQ(f.to_float("u64")[0], 7.0f);
  EXPECT_EQ(f.to_float("b"), (std::vector<float>{0.0f, 1.0f}));
  EXPECT_TRUE(f.to_float("empty").empty());
  EXPECT_EQ(f.info("empty").num_elements(), 0);
}

TEST(Safetensors, OpensAMappedFileAndReportsMissingTensors) {
  xpusim::testing::TempDir dir;
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  write_safetensors(dir.path("m.safetensors"), {make_tensor("m", TensorDtype::kF16, {2, 3}, v)});
  const auto file = SafetensorsFile::open(dir.path("m.safetensors"));
  EXPECT_EQ(file.to_float("m"), v);
  EXPECT_EQ(file.size(), 1u);
  EXPECT_TRUE(file.contains("m"));
  EXPECT_FALSE(file.contains("n"));
  const auto msg = xpusim::testing::config_error_of([&] { file.info("n"); });
  EXPECT_NE(msg.find("no tensor named 'n'"), std::string::npos) << msg;
}

TEST(Safetensors, MissingEmptyAndNonRegularFilesAreCleanErrors) {
  xpusim::testing::TempDir dir;
  auto open_error = [](const std::string& p) {
    return xpusim::testing::config_error_of([&] { SafetensorsFile::open(p); });
  };
  EXPECT_NE(open_error(dir.path("absent.safetensors")).find("cannot open"), std::string::npos);
  EXPECT_NE(open_error(dir.path()).find("not a regular file"), std::string::npos);
  const auto empty = dir.write("empty.safetensors", "");
  EXPECT_NE(open_error(empty).find("file is 0 bytes"), std::string::npos) << open_error(empty);
}

TEST(Safetensors, EveryTruncationIsACleanError) {
  const std::vector<float> v = {1, -2, 3, 0.5f};
  const auto full = serialize_safetensors({make_tensor("a", TensorDtype::kF32, {2, 2}, v),
                                           make_tensor("b", TensorDtype::kBF16, {4}, v)},
                                          {{"note", "x"}});
  for (std::size_t len = 0; len < full.size(); ++len) {
    const auto msg = error_of_bytes(Bytes(full.begin(), full.begin() + len));
    EXPECT_NE(msg.find("t.safetensors"), std::string::npos) << "length " << len << ": " << msg;
  }
  Bytes longer = full;
  longer.push_back(0);  // one trailing byte that belongs to no tensor
  EXPECT_NE(error_of_bytes(longer).find("1 bytes after the last tensor"), std::string::npos);
}

TEST(Safetensors, FramingErrorsGiveTheByteOffset) {
  const std::string ok = one_tensor(R"("F32")", "[2]", "[0,8]");
  auto msg = error_of_bytes(framed(ok, Bytes(8), ok.size() + 100));
  EXPECT_NE(msg.find("at byte 0: header length"), std::string::npos) << msg;
  EXPECT_NE(msg.find("runs past the end of the file"), std::string::npos) << msg;
  msg = error_of_bytes(framed(ok, Bytes(8), std::uint64_t{1} << 62));
  EXPECT_NE(msg.find("exceeds the limit of 100000000 bytes"), std::string::npos) << msg;
  msg = error_of_bytes(framed(ok, Bytes(8), std::numeric_limits<std::uint64_t>::max() - 1));
  EXPECT_NE(msg.find("exceeds the limit"), std::string::npos) << msg;
  msg = error_of_bytes(framed("", Bytes(8)));
  EXPECT_NE(msg.find("header length is 0"), std::string::npos) << msg;
  msg = error_of_bytes(framed(" " + ok));
  EXPECT_NE(msg.find("does not start with '{'"), std::string::npos) << msg;
  msg = error_of_bytes(framed(R"({"a": {"dtype": "F32",, }})"));
  EXPECT_NE(msg.find("invalid JSON header at byte 30"), std::string::npos) << msg;
  msg = error_of_bytes(framed("[1, 2]"));
  EXPECT_NE(msg.find("does not start with '{'"), std::string::npos) << msg;
  msg = error_of_bytes(framed(R"({"a": 1} trailing)"));
  EXPECT_NE(msg.find("invalid JSON header"), std::string::npos) << msg;
}

TEST(Safetensors, HeaderEntryErrors) {
  struct Case {
    std::string header;
    std::size_t data;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {one_tensor(R"("F4")", "[2]", "[0,1]"), 1,
       "unknown or unsupported dtype 'F4' (supported: BOOL"},
      {one_tensor(R"("f32")", "[2]", "[0,8]"), 8, "unknown or unsupported dtype 'f32'"},
      {one_tensor("32", "[2]", "[0,8]"), 8, "'dtype' is an integer, expected a string"},
      {one_tensor(R"("F32")", "[3]", "[0,8]"), 8,
       "shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] hold 8"},
      {one_tensor(R"("F32")", "[-2]", "[0,8]"), 8, "shape[0] -2 is negative"},
      {one_tensor(R"("F32")", "[2.0]", "[0,8]"), 8, "shape[0] is not an integer"},
      {one_tensor(R"("F32")", "[\"2\"]", "[0,8]"), 8, "shape[0] is a string"},
      {one_tensor(R"("F32")", "2", "[0,8]"), 8, "'shape' is an integer, expected an array"},
      {one_tensor(R"("F32")", "[4294967296,4294967296]", "[0,8]"), 8, "more elements than 64-bit"},
      {one_tensor(R"("F32")", "[4611686018427387904]", "[0,8]"), 8, "more elements than 64-bit"},
      {one_tensor(R"("F32")", "[18446744073709551615]", "[0,8]"), 8, "is too large"},
      {one_tensor(R"("F32")", "[99999999999999999999999]", "[0,8]"), 8,
       "shape[0] is not an integer"},
      {one_tensor(R"("F32")", "[2]", "[0,16]"), 8,
       "run past the end of the data section (8 bytes)"},
      {one_tensor(R"("F32")", "[2]", "[8,0]"), 8, "has begin after end"},
      {one_tensor(R"("F32")", "[2]", "[0]"), 8, "must be an array of two integers"},
      {one_tensor(R"("F32")", "[2]", "[0,8,9]"), 8, "must be an array of two integers"},
      {one_tensor(R"("F32")", "[2]", "[-1,8]"), 8, "data_offsets[0] -1 is negative"},
      {one_tensor(R"("F32")", "[2]", "[0,18446744073709551615]"), 8, "run past the end"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", 8, "header field 'data_offsets' is missing"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8,
       "unknown header field 'x'"},
      {R"({"a":[1,2]})", 8, "header entry is an array, expected an object"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       8, "duplicate JSON key 'a'"},
      {R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8,
       "duplicate JSON key 'dtype'"},
      {R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", 8,
       "nested more than 3 levels"},
      {R"({"__metadata__":{"n":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8,
       "'__metadata__' value 'n' is an integer, expected a string"},
      {R"({"__metadata__":"x"})", 0, "'__metadata__' is a string, expected an object"},
  };
  for (const auto& c : cases) {
    const auto msg = error_of_bytes(framed(c.header, Bytes(c.data)));
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.header << "\n-> " << msg;
  }
}

TEST(Safetensors, TensorsMustTileTheDataSection) {
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  auto msg = error_of_bytes(framed(overlap, Bytes(12)));
  EXPECT_NE(msg.find("tensors 'a' [0, 8) and 'b' [4, 12) overlap"), std::string::npos) << msg;
  const std::string same = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})";
  msg = error_of_bytes(framed(same, Bytes(8)));
  EXPECT_NE(msg.find("overlap"), std::string::npos) << msg;
  const std::string gap = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  msg = error_of_bytes(framed(gap, Bytes(12)));
  EXPECT_NE(msg.find("data section bytes [4, 8)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("belong to no tensor"), std::string::npos) << msg;
  // Empty tensors take no bytes, so they may sit at any boundary.
  const std::string empties = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("z0":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                              R"("z1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})";
  EXPECT_NO_THROW(SafetensorsFile::from_bytes(framed(empties, Bytes(4)), "e"));
}

TEST(Safetensors, EveryBadTensorIsReportedAtOnce) {
  const std::string header = R"({"a":{"dtype":"X1","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"X2","shape":[1],"data_offsets":[4,8]}})";
  const auto msg = error_of_bytes(framed(header, Bytes(8)));
  EXPECT_NE(msg.find("'X1'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'X2'"), std::string::npos) << msg;
}

TEST(Safetensors, HugeNamesAreCutInMessages) {
  const std::string name(5000, 'n');
  const std::string header =
      R"({")" + name + R"(":{"dtype":"Q","shape":[1],"data_offsets":[0,4]}})";
  const auto msg = error_of_bytes(framed(header, Bytes(4)));
  EXPECT_NE(msg.find("...' (5000 bytes)"), std::string::npos);
  EXPECT_LT(msg.size(), 600u);
}

TEST(SafetensorsWriter, RejectsInconsistentInput) {
  EXPECT_THROW(make_tensor("a", TensorDtype::kF32, {3}, std::vector<float>{1, 2}),
               std::invalid_argument);
  EXPECT_THROW(make_tensor("a", TensorDtype::kI32, {1}, std::vector<float>{1}),
               std::invalid_argument);
  const auto t = make_tensor("a", TensorDtype::kF32, {1}, std::vector<float>{1});
  EXPECT_THROW(serialize_safetensors({t, t}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", TensorDtype::kF32, {1}, Bytes(4)}}),
               std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"b", TensorDtype::kF32, {2}, Bytes(4)}}),
               std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"b", TensorDtype::kF32, {-1}, Bytes(0)}}),
               std::invalid_argument);
}

TEST(SafetensorsWriter, HeaderIsPaddedToEightBytes) {
  for (int n = 1; n < 10; ++n) {
    const auto bytes = serialize_safetensors(
        {make_tensor(std::string(n, 'x'), TensorDtype::kF32, {1}, std::vector<float>{1})});
    std::uint64_t len = 0;
    std::memcpy(&len, bytes.data(), 8);
    EXPECT_EQ(len % 8, 0u);
    EXPECT_EQ(bytes.size(), 8 + len + 4);
  }
}

TEST(SafetensorsWriter, EveryTensorStartsAlignedToItsElementSize) {
  const std::vector<float> v = {1, 2, 3};
  const auto file = SafetensorsFile::from_bytes(
      serialize_safetensors({make_tensor("a8", TensorDtype::kF8E4M3, {3}, v),
                             make_tensor("b16", TensorDtype::kBF16, {3}, v),
                             make_tensor("c64", TensorDtype::kF64, {3}, v),
                             make_tensor("d32", TensorDtype::kF32, {3}, v)}),
      "aligned");
  EXPECT_EQ(file.data_offset() % 8, 0u);
  for (const auto& name : file.names()) {
    const auto& info = file.info(name);
    EXPECT_EQ(info.begin % dtype_size(info.dtype), 0u) << name;
    EXPECT_EQ(file.to_float(name), v) << name;
  }
  EXPECT_EQ(file.info("c64").begin, 0u);  // widest first
}

}  // namespace
}  // namespace xpusim::weights
