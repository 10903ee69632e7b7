#include "kube/json_fields.h"

#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

using json = nlohmann::json;

const json kObject = json::parse(R"({
  "metadata": {"name": "a", "generation": 3, "labels": {"x": "y"}},
  "spec": {"cpu": 4, "memoryMiB": 1.5, "name": 7, "list": ["first"]}
})");

TEST(JsonFieldsTest, MembersOfTheRightTypeAreRead) {
  EXPECT_EQ(memberString(member(kObject, "metadata"), "name"), "a");
  EXPECT_EQ(memberInt(member(kObject, "spec"), "cpu"), 4);
  EXPECT_EQ(member(member(kObject, "metadata"), "labels"), json({{"x", "y"}}));
  EXPECT_EQ(stringAt(kObject, "/metadata/name"_json_pointer), "a");
  EXPECT_EQ(intAt(kObject, "/metadata/generation"_json_pointer), 3);
  EXPECT_EQ(stringAt(kObject, "/spec/list/0"_json_pointer), "first");
}

TEST(JsonFieldsTest, MissingOrMistypedFieldsReadAsEmptyWithoutThrowing) {
  EXPECT_TRUE(member(kObject, "status").is_null());
  EXPECT_TRUE(member(json::array({1}), "spec").is_null());
  EXPECT_TRUE(member(json("text"), "spec").is_null());
  EXPECT_EQ(memberString(member(kObject, "spec"), "name"), "");  // a number
  EXPECT_EQ(memberInt(member(kObject, "spec"), "memoryMiB"), 0);  // not an integer
  EXPECT_EQ(memberInt(member(kObject, "metadata"), "name"), 0);    // a string
  EXPECT_EQ(stringAt(kObject, "/spec/cpu"_json_pointer), "");
  EXPECT_EQ(intAt(kObject, "/metadata/name"_json_pointer), 0);
  EXPECT_EQ(stringAt(kObject, "/spec/list/5"_json_pointer), "");
  EXPECT_EQ(stringAt(kObject, "/spec/cpu/deeper"_json_pointer), "");  // through a number
  EXPECT_EQ(intAt(json(nullptr), "/a"_json_pointer), 0);
}

}  // namespace
}  // namespace dwcp::kube
