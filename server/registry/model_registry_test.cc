#include "server/registry/model_registry.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_servable.h"

namespace fastrel::server {
namespace {

using ::testing::ElementsAre;
using testing::FakeServable;
using ::testing::HasSubstr;

TEST(ModelRegistryTest, FirstModelIsTheDefault) {
  ModelRegistry registry;
  auto a = std::make_shared<FakeServable>("a");
  auto b = std::make_shared<FakeServable>("b");
  ASSERT_TRUE(registry.Add(a).ok());
  ASSERT_TRUE(registry.Add(b).ok());
  EXPECT_EQ(*registry.Get(""), a);
  EXPECT_EQ(*registry.Get("b"), b);
  ASSERT_TRUE(registry.SetDefault("b").ok());
  EXPECT_EQ(*registry.Get(""), b);
  EXPECT_THAT(registry.Names(), ElementsAre("a", "b"));
}

TEST(ModelRegistryTest, UnknownModelIsNotFoundAndListsTheServedOnes) {
  ModelRegistry registry;
  ASSERT_TRUE(registry.Add(std::make_shared<FakeServable>("demo")).ok());
  auto got = registry.Get("nope");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("unknown model 'nope'"));
  EXPECT_THAT(got.status().message(), HasSubstr("demo"));
  EXPECT_EQ(registry.SetDefault("nope").code(), absl::StatusCode::kNotFound);
}

TEST(ModelRegistryTest, DuplicateNameIsRejectedAndReplaceSwaps) {
  ModelRegistry registry;
  auto v1 = std::make_shared<FakeServable>("m");
  auto v2 = std::make_shared<FakeServable>("m");
  ASSERT_TRUE(registry.Add(v1).ok());
  EXPECT_EQ(registry.Add(v2).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.Replace(v2).ok());
  EXPECT_EQ(*registry.Get("m"), v2);
  EXPECT_EQ(registry.Replace(std::make_shared<FakeServable>("x")).code(),
            absl::StatusCode::kNotFound);
}

TEST(ModelRegistryTest, FindVariantByName) {
  FakeServable model("m", {"full", "lat-a"});
  EXPECT_EQ(model.FindVariant("full"), 0);
  EXPECT_EQ(model.FindVariant("lat-a"), 1);
  EXPECT_EQ(model.FindVariant("nope"), -1);
}

}  // namespace
}  // namespace fastrel::server
