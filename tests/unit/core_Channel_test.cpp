#include "gateway/core/Channel.h"

#include <gtest/gtest.h>

#include "gateway/core/ListenAddress.h"

namespace herald {
namespace {

TEST(Channel, AcceptsTheContractAlphabet) {
  EXPECT_TRUE(isValidChannelName("user:42"));
  EXPECT_TRUE(isValidChannelName("AZaz09_-.:@="));
  EXPECT_TRUE(isValidChannelName(std::string(200, 'a')));
}

TEST(Channel, RejectsEverythingElse) {
  EXPECT_FALSE(isValidChannelName(""));
  EXPECT_FALSE(isValidChannelName(std::string(201, 'a')));
  for (const char* bad : {"a b", "a/b", "a*", "a,b", "é", "a\nb", "a#", "a?b", "a&b", "a%20"}) {
    EXPECT_FALSE(isValidChannelName(bad)) << bad;
  }
  EXPECT_FALSE(isValidChannelName(std::string("a\0b", 3)));
}

TEST(ListenAddress, ParsesHostPortAndV6) {
  auto a = ListenAddress::parse("0.0.0.0:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8080);
  auto b = ListenAddress::parse("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  for (const char* bad : {"", "8080", ":8080", "host:", "host:65536", "host:-1", "[::1:80", "h:8x"}) {
    EXPECT_FALSE(ListenAddress::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace herald
