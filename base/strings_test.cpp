#include "base/strings.h"

#include <gtest/gtest.h>

namespace dwcp::base {
namespace {

TEST(StringsTest, TrimRemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(trim("  a b\t\r\n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim("x"), "x");
}

TEST(StringsTest, SplitKeepsEmptyPieces) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
  EXPECT_EQ(split("a,", ','), (std::vector<std::string_view>{"a", ""}));
}

TEST(StringsTest, ParseIntIsStrict) {
  EXPECT_EQ(parseInt<int>("42"), 42);
  EXPECT_EQ(parseInt<int>("-7"), -7);
  EXPECT_EQ(parseInt<uint16_t>("65535"), 65535);
  for (const char* bad : {"", "+1", " 1", "1 ", "0x10", "1.0", "12a", "-"}) {
    EXPECT_EQ(parseInt<int>(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parseInt<uint16_t>("65536"), std::nullopt);
  EXPECT_EQ(parseInt<uint32_t>("-1"), std::nullopt);
  EXPECT_EQ(parseInt<int64_t>("9223372036854775808"), std::nullopt);
}

TEST(StringsTest, ParseDoubleIsStrictAndFinite) {
  EXPECT_EQ(parseDouble("1.5"), 1.5);
  EXPECT_EQ(parseDouble("-2"), -2.0);
  EXPECT_EQ(parseDouble("1e3"), 1000.0);
  for (const char* bad : {"", "+1", "1.5x", " 1", "inf", "nan", "1e999"}) {
    EXPECT_EQ(parseDouble(bad), std::nullopt) << bad;
  }
}

TEST(StringsTest, SplitHostPortAcceptsNamesV4AndBracketedV6) {
  auto hp = splitHostPort("example.com:443");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "example.com");
  EXPECT_EQ(hp->port, 443);
  hp = splitHostPort("[::1]:7443");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 7443);
  hp = splitHostPort(":8080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "");
  EXPECT_EQ(hp->port, 8080);
  for (const char* bad : {"host", "host:", "host:65536", "host:-1", "::1:80", "[::1]", "[]:80", "[::1]80", "h:8o"}) {
    EXPECT_EQ(splitHostPort(bad), std::nullopt) << bad;
  }
}

TEST(StringsTest, TruncateUtf8NeverSplitsACharacter) {
  EXPECT_EQ(truncateUtf8("abc", 3), "abc");
  EXPECT_EQ(truncateUtf8("abcd", 3), "abc");
  EXPECT_EQ(truncateUtf8("", 0), "");
  const std::string euro = "a\xE2\x82\xAC";  // 'a' then a 3-byte character
  EXPECT_EQ(truncateUtf8(euro, 4), euro);
  for (size_t limit : {1u, 2u, 3u}) EXPECT_EQ(truncateUtf8(euro, limit), "a") << limit;
  EXPECT_EQ(truncateUtf8("\xE2\x82\xAC", 2), "");
}

TEST(StringsTest, IsCamelCaseIsStrict) {
  EXPECT_TRUE(isCamelCase("A"));
  EXPECT_TRUE(isCamelCase("RegionFailedOver2"));
  EXPECT_FALSE(isCamelCase("regionFailedOver"));
  EXPECT_FALSE(isCamelCase("Snake_Case"));
  EXPECT_FALSE(isCamelCase(""));
  EXPECT_TRUE(isCamelCase(std::string(1024, 'A')));
  EXPECT_FALSE(isCamelCase(std::string(1025, 'A')));
}

}  // namespace
}  // namespace dwcp::base
