#include "engine/model/safetensors.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

namespace fs = std::filesystem;

uint16_t FloatToHalfBits(float f) {  // exact for the values used below
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const int exp = static_cast<int>((x >> 23) & 0xff) - 127 + 15;
  const uint32_t mant = (x >> 13) & 0x3ff;
  if (f == 0) return static_cast<uint16_t>(sign);
  return static_cast<uint16_t>(sign | (exp << 10) | mant);
}

struct Entry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string Bytes(const void* p, size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

// Serializes entries; `patch` may edit the header JSON before writing.
std::string Serialize(const std::vector<Entry>& entries,
                      const std::function<void(nlohmann::json*)>& patch = {}) {
  nlohmann::json h = nlohmann::json::object();
  std::string data;
  for (const Entry& e : entries) {
    h[e.name] = {{"dtype", e.dtype},
                 {"shape", e.shape},
                 {"data_offsets", {data.size(), data.size() + e.bytes.size()}}};
    data += e.bytes;
  }
  h["__metadata__"] = {{"format", "pt"}};
  if (patch) patch(&h);
  std::string header = h.dump();
  uint64_t n = header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("safetensors_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    const float f32[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.125f, 1024.0f};
    uint16_t f16[4], bf16[4];
    const float halves[4] = {1.0f, -0.5f, 65504.0f, 0.0f};
    for (int i = 0; i < 4; ++i) {
      f16[i] = FloatToHalfBits(halves[i]);
      uint32_t x;
      std::memcpy(&x, &halves[i], 4);
      bf16[i] = static_cast<uint16_t>(x >> 16);
    }
    entries_ = {{"a.f32", "F32", {2, 3}, Bytes(f32, sizeof(f32))},
                {"b.f16", "F16", {4}, Bytes(f16, sizeof(f16))},
                {"c.bf16", "BF16", {2, 2}, Bytes(bf16, sizeof(bf16))},
                {"d.i64", "I64", {1}, std::string(8, '\0')}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Opens `content` and expects an error that names the file and `what`.
  void ExpectOpenError(const std::string& content, const std::string& what) {
    const std::string path = Write("bad.safetensors", content);
    auto f = SafetensorsFile::Open(path);
    ASSERT_FALSE(f.ok()) << what;
    EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status();
    EXPECT_NE(f.status().message().find(what), std::string::npos) << f.status();
  }

  fs::path dir_;
  std::vector<Entry> entries_;
};

TEST_F(SafetensorsTest, ReadsF32F16Bf16) {
  auto f = SafetensorsFile::Open(Write("ok.safetensors", Serialize(entries_)));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ((*f)->tensors().size(), 4u);
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  const int64_t s23[] = {2, 3}, s4[] = {4}, s22[] = {2, 2}, s1[] = {1};
  auto a = (*f)->ReadFloat("a.f32", s23);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a,
            (std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f, -0.125f, 1024.0f}));
  auto b = (*f)->ReadFloat("b.f16", s4);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, (std::vector<float>{1.0f, -0.5f, 65504.0f, 0.0f}));
  auto c = (*f)->ReadFloat("c.bf16", s22);
  ASSERT_TRUE(c.ok()) << c.status();
  // bf16 keeps 8 mantissa bits: 65504 truncates to 65280.
  EXPECT_EQ(*c, (std::vector<float>{1.0f, -0.5f, 65280.0f, 0.0f}));
  // Non-float dtype, missing tensor, wrong shape: errors naming the tensor.
  auto d = (*f)->ReadFloat("d.i64", s1);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("d.i64"), std::string::npos);
  EXPECT_NE(d.status().message().find("I64"), std::string::npos);
  auto missing = (*f)->ReadFloat("nope", s1);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_NE(missing.status().message().find((dir_ / "ok.safetensors").string()),
            std::string::npos);
  auto wrong = (*f)->ReadFloat("a.f32", s4);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("a.f32"), std::string::npos);
  EXPECT_NE(wrong.status().message().find("[2, 3]"), std::string::npos);
}

TEST(HalfTest, SpecialValues) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
  EXPECT_EQ(BFloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(Fnv1a64Hex({}), "cbf29ce484222325");
  const uint8_t a[] = {'a'};
  EXPECT_EQ(Fnv1a64Hex(a), "af63dc4c8601ec8c");
}

TEST_F(SafetensorsTest, MissingFile) {
  auto f = SafetensorsFile::Open((dir_ / "absent.safetensors").string());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("absent.safetensors"), std::string::npos);
}

TEST_F(SafetensorsTest, CorruptFilesAreErrors) {
  const std::string good = Serialize(entries_);
  ExpectOpenError("", "truncated");
  ExpectOpenError(good.substr(0, 5), "truncated");
  // Truncated data: the last tensor's range runs past the end.
  ExpectOpenError(good.substr(0, good.size() - 3), "d.i64");
  // Header length past EOF.
  std::string big = good;
  big[6] = 1;
  ExpectOpenError(big, "header length");
  ExpectOpenError(std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8) + "{}",
                  "header length");
  // Malformed JSON.
  std::string bad_json = good;
  bad_json[8] = '[';
  ExpectOpenError(bad_json, "JSON");
  // Offsets out of range / inconsistent / overlapping.
  ExpectOpenError(Serialize(entries_,
                            [](nlohmann::json* h) {
                              (*h)["a.f32"]["data_offsets"] = {0, 1000000};
                            }),
                  "a.f32");
  ExpectOpenError(Serialize(entries_,
                            [](nlohmann::json* h) {
                              (*h)["a.f32"]["data_offsets"] = {8, 4};
                            }),
                  "a.f32");
  ExpectOpenError(Serialize(entries_,
                            [](nlohmann::json* h) {
                              (*h)["b.f16"]["data_offsets"] = {16, 24};
                            }),
                  "overlaps");
  ExpectOpenError(Serialize(entries_,
                            [](nlohmann::json* h) {
                              (*h)["a.f32"]["shape"] = {3, 3};
                            }),
                  "a.f32");
  ExpectOpenError(Serialize(entries_,
                            [](nlohmann::json* h) {
                              (*h)["a.f32"]["shape"] = {-2, 3};
                            }),
                  "a.f32");
  ExpectOpenError(
      Serialize(
          entries_,
          [](nlohmann::json* h) {
            (*h)["a.f32"]["shape"] = {uint64_t{1} << 40, uint64_t{1} << 40};
          }),
      "a.f32");
  ExpectOpenError(
      Serialize(entries_,
                [](nlohmann::json* h) { (*h)["a.f32"]["dtype"] = "F8_E9"; }),
      "unsupported dtype");
  ExpectOpenError(
      Serialize(entries_,
                [](nlohmann::json* h) { (*h)["a.f32"].erase("data_offsets"); }),
      "data_offsets");
  ExpectOpenError(
      Serialize(entries_, [](nlohmann::json* h) { (*h)["a.f32"] = 7; }),
      "a.f32");
}

TEST_F(SafetensorsTest, RandomCorruptionNeverCrashes) {
  const std::string good = Serialize(entries_);
  std::mt19937 rng(11);
  int errors = 0;
  for (int trial = 0; trial < 500; ++trial) {
    std::string s = good;
    const int flips = 1 + trial % 4;
    for (int i = 0; i < flips; ++i) {
      s[rng() % s.size()] = static_cast<char>(rng());
    }
    if (trial % 3 == 0) s.resize(rng() % s.size());
    auto f = SafetensorsFile::Open(Write("fuzz.safetensors", s));
    if (!f.ok()) {
      ++errors;
      continue;
    }
    for (const auto& t : (*f)->tensors()) {
      (void)(*f)->ReadFloat(t.name, t.shape);  // in bounds by construction
    }
  }
  EXPECT_GT(errors, 100);
}

TEST(SafetensorsDemoTest, DemoModelIsF16) {
  auto f = SafetensorsFile::Open(FASTREL_SOURCE_DIR
                                 "/models/demo/model.safetensors");
  ASSERT_TRUE(f.ok()) << f.status();
  const SafetensorsTensor* t = (*f)->Find("classifier.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, SafetensorsDType::kF16);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{1, 256}));
}

}  // namespace
}  // namespace fastrel
