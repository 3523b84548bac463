// ShardHub's channel lists: O(1) removal that keeps every other member reachable.
#include "gateway/hub/ShardHub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace herald {
namespace {

struct CountingSubscriber : Subscriber {
  int notifications = 0;
  std::uint32_t slot = 0;
  void onNotification(const NotificationPtr&, const Frame&) override { ++notifications; }
  void onChannelReset(const std::string&, ResetReason) override {}
  void onHeartbeat(const Frame&) override {}
  void onDrain() override {}
  void onWriteCheck(std::chrono::steady_clock::time_point) override {}
};

TEST(ShardHub, HundredThousandSubscribersOfOneChannelLeaveInAnyOrder) {
  boost::asio::io_context io;
  Admission admission(0);
  ShardHub hub(0, io, std::chrono::milliseconds(1000), admission);
  // With a linear search this is ~5e9 compares: the test's timeout catches it.
  constexpr std::size_t kCount = 100000;
  std::vector<CountingSubscriber> subscribers(kCount);
  for (auto& subscriber : subscribers) {
    hub.addSubscriber("one", &subscriber, subscriber.slot);
  }
  std::vector<std::size_t> order(kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    order[i] = i;
  }
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  // Half leave, in random order; the other half must all still get a notification.
  for (std::size_t i = 0; i < kCount / 2; ++i) {
    auto& leaving = subscribers[order[i]];
    hub.removeSubscriber("one", &leaving, leaving.slot);
    hub.removeSubscriber("one", &leaving, leaving.slot);  // twice is harmless
  }
  auto notification = std::make_shared<Notification>();
  notification->channel = "one";
  hub.deliver(notification, std::make_shared<const std::string>("x"));
  for (std::size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(subscribers[order[i]].notifications, i < kCount / 2 ? 0 : 1) << i;
    if (::testing::Test::HasFailure()) {
      break;
    }
  }
  for (std::size_t i = kCount / 2; i < kCount; ++i) {
    hub.removeSubscriber("one", &subscribers[order[i]], subscribers[order[i]].slot);
  }
  hub.deliver(notification, std::make_shared<const std::string>("x"));
  EXPECT_EQ(subscribers[order[kCount - 1]].notifications, 1);
}

}  // namespace
}  // namespace herald
