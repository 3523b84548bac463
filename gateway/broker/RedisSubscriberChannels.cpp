// The per-channel half of RedisSubscriber: reference counts, SUBSCRIBE
// bookkeeping, backfill and delivery. Everything here runs on the subscriber
// thread (see RedisSubscriber.h); RedisSubscriber.cpp holds the connection loop.
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include <boost/asio/post.hpp>

#include <algorithm>

#include "gateway/broker/RedisSubscriber.h"
#include "gateway/broker/ResumeProof.h"

namespace herald {

void RedisSubscriber::addShard(ChannelSubscription& subscription, unsigned shard) {
  subscription.shards.add(shard);
}

void RedisSubscriber::removeShard(ChannelSubscription& subscription, unsigned shard) {
  subscription.shards.remove(shard);
}

void RedisSubscriber::failPending(ChannelSubscription& subscription) {
  // A failed subscribe holds no reference: the caller will not unsubscribe it.
  auto pending = std::exchange(subscription.pending, {});
  for (auto& request : pending) {
    removeShard(subscription, request.shard);
  }
  for (auto& request : pending) {
    if (request.done) {
      request.done(false);
    }
  }
}

void RedisSubscriber::handleRequests() {
  std::vector<std::string> needBaseline;
  for (auto& request : takeRequests()) {
    if (request.subscribe) {
      auto& subscription = channels_[request.channel];
      addShard(subscription, request.shard);
      if (subscription.confirmed) {
        if (request.done) {
          request.done(true);
        }
        continue;
      }
      subscription.pending.push_back({request.shard, std::move(request.done)});
      if (!subscription.subscribed && !subscription.baselinePending) {
        subscription.baselinePending = true;
        needBaseline.push_back(request.channel);
      }
      continue;
    }
    auto found = channels_.find(request.channel);
    if (found == channels_.end()) {
      continue;
    }
    auto& subscription = found->second;
    removeShard(subscription, request.shard);
    if (subscription.shards.total() > 0) {
      continue;
    }
    if (subscription.subscribed) {
      sendCommand({"UNSUBSCRIBE", store_.keys().live(request.channel)});
      subscription.subscribed = false;
      subscription.confirmed = false;
    }
    if (subscription.subscribesInFlight == 0 && !subscription.baselinePending) {
      channels_.erase(found);
    }
  }
  if (needBaseline.empty()) {
    return;
  }

  // The newest id when the first subscriber arrives: what a backfill after an
  // outage starts from if nothing was delivered, so subscribers that joined live
  // never get older history. Read before SUBSCRIBE, so every live message is newer.
  std::vector<NotificationId> newest;
  try {
    awaitCommandConnection();
    newest = store_.newestIds(needBaseline);
  } catch (const RedisError& error) {
    spdlog::warn("redis subscriber cannot read the newest ids of {} channel(s): {}", needBaseline.size(),
                 error.what());
    for (const auto& channel : needBaseline) {
      auto found = channels_.find(channel);
      found->second.baselinePending = false;
      failPending(found->second);
      if (found->second.shards.total() == 0 && !found->second.subscribed &&
          found->second.subscribesInFlight == 0) {
        channels_.erase(found);
      }
    }
    return;
  }
  std::vector<std::string> names;
  for (std::size_t i = 0; i < needBaseline.size(); ++i) {
    auto& subscription = channels_[needBaseline[i]];
    subscription.baselinePending = false;
    subscription.lastDelivered = std::max(subscription.lastDelivered, newest[i]);
    subscription.subscribed = true;
    ++subscription.subscribesInFlight;
    names.push_back(store_.keys().live(needBaseline[i]));
  }
  std::vector<std::string_view> command{"SUBSCRIBE"};
  command.insert(command.end(), names.begin(), names.end());
  sendCommand(command);
}

void RedisSubscriber::handleRequestsWhileDisconnected() {
  for (auto& request : takeRequests()) {
    if (request.subscribe) {
      if (request.done) {
        request.done(false);
      }
      continue;
    }
    auto found = channels_.find(request.channel);
    if (found == channels_.end()) {
      continue;
    }
    removeShard(found->second, request.shard);
    if (found->second.shards.total() == 0) {
      channels_.erase(found);
    }
  }
}

void RedisSubscriber::handleReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    // The answer to a SUBSCRIBE (an ACL refusal, a proxy): its subscribers must not wait
    // forever. Failing the connection fails every pending subscribe and starts over.
    throwIfErrorReply(reply, "pub/sub command");
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) {
    return;
  }
  const std::string_view kind = replyText(*reply.element[0]);
  const std::string_view liveChannel = replyText(*reply.element[1]);
  if (kind == "message") {
    onMessage(liveChannel, replyText(*reply.element[2]));
  } else if (kind == "subscribe" && liveChannel.starts_with(store_.keys().livePrefix())) {
    onSubscribeConfirmed(std::string(liveChannel.substr(store_.keys().livePrefix().size())));
  }
  // "unsubscribe" needs nothing: the channel's state went when its count reached 0.
}

void RedisSubscriber::onSubscribeConfirmed(const std::string& channel) {
  auto found = channels_.find(channel);
  if (found == channels_.end()) {
    return;
  }
  auto& subscription = found->second;
  if (--subscription.subscribesInFlight > 0) {
    return;  // a later SUBSCRIBE of this channel is still on its way
  }
  if (!subscription.subscribed) {
    if (subscription.shards.total() == 0 && !subscription.baselinePending) {
      channels_.erase(found);
    }
    return;
  }
  if (subscription.needsBackfill) {
    // Read after this batch of replies, pipelined with the other channels' (runBackfills);
    // live messages until then are covered by that read.
    backfillQueue_.push_back(channel);
    return;
  }
  confirm(found);
}

void RedisSubscriber::confirm(std::unordered_map<std::string, ChannelSubscription>::iterator found) {
  const std::string& channel = found->first;
  auto& subscription = found->second;
  subscription.confirmed = true;
  auto pending = std::exchange(subscription.pending, {});
  for (auto& request : pending) {
    if (request.done) {
      request.done(true);
    }
  }
  if (subscription.shards.total() == 0) {
    // Everyone left while the SUBSCRIBE was on its way.
    sendCommand({"UNSUBSCRIBE", store_.keys().live(channel)});
    channels_.erase(found);
  }
}

void RedisSubscriber::awaitCommandConnection() const {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (!client_.connected() && !stopping_.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void RedisSubscriber::runBackfills() {
  auto queue = std::exchange(backfillQueue_, {});
  for (std::size_t first = 0; first < queue.size(); first += kBackfillBatch) {
    std::vector<std::pair<std::string, NotificationId>> reads;
    for (std::size_t i = first; i < std::min(queue.size(), first + kBackfillBatch); ++i) {
      auto found = channels_.find(queue[i]);
      // Everyone may have left meanwhile (the UNSUBSCRIBE is already sent).
      if (found != channels_.end() && found->second.subscribed && found->second.needsBackfill) {
        reads.emplace_back(queue[i], found->second.lastDelivered);
      }
    }
    // A failure here propagates as RedisError: the connection is dropped and the
    // whole re-subscribe and backfill is retried.
    awaitCommandConnection();
    auto results = store_.readAfterMany(reads);
    for (std::size_t i = 0; i < reads.size(); ++i) {
      auto found = channels_.find(reads[i].first);
      backfill(found->first, found->second, results[i]);
      confirm(found);
    }
  }
}

void RedisSubscriber::backfill(const std::string& channel, ChannelSubscription& subscription,
                               ChannelRead& read) {
  const NotificationId from = subscription.lastDelivered;
  const Notification* firstAfter = read.entries.empty() ? nullptr : read.entries.front().get();
  auto reason = assessResume(from, read.meta, firstAfter, read.removal);
  if (reason == ResetReason::invalidCursor) {
    // Redis holds less than was delivered (its data was replaced): what the
    // subscribers saw is gone, and newer ids may be lower than ours.
    reason = ResetReason::lost;
    subscription.lastDelivered = read.meta.newest;
  }
  if (reason) {
    spdlog::warn("redis backfill of channel {} from {} is incomplete: {}", channel, from.str(),
                 toString(*reason));
    if (subscription.shards.mask() != 0) {
      listener_->onChannelReset(subscription.shards.mask(), channel, *reason);
    }
  }
  for (const auto& notification : read.entries) {
    deliver(subscription, notification);
  }
  subscription.needsBackfill = false;
}

void RedisSubscriber::onMessage(std::string_view liveChannel, std::string_view payload) {
  const std::string& prefix = store_.keys().livePrefix();
  if (!liveChannel.starts_with(prefix)) {
    return;
  }
  const std::string channel(liveChannel.substr(prefix.size()));
  auto found = channels_.find(channel);
  if (found == channels_.end() || !found->second.confirmed) {
    return;  // not (or no longer) subscribed; a backfill covers what precedes confirmation
  }
  auto notification = parseLivePayload(channel, payload);
  if (!notification) {
    spdlog::error("redis pub/sub message on {} is malformed; dropped", liveChannel);
    return;
  }
  deliver(found->second, notification);
}

void RedisSubscriber::deliver(ChannelSubscription& subscription, const NotificationPtr& notification) {
  if (notification->id <= subscription.lastDelivered) {
    return;  // already delivered (live and backfill overlap after a reconnect)
  }
  subscription.lastDelivered = notification->id;
  if (subscription.shards.mask() != 0) {
    listener_->onNotification(subscription.shards.mask(), notification);
  }
}

void RedisSubscriber::onConnectionLost() {
  connected_.store(false);
  backfillQueue_.clear();
  if (link_) {
    boost::asio::post(client_.io(), [link = std::move(link_)] {
      link->close(std::make_exception_ptr(RedisError("Redis pub/sub connection dropped")));
    });
  }
  link_.reset();
  inbox_.reset();
  for (auto it = channels_.begin(); it != channels_.end();) {
    auto& subscription = it->second;
    subscription.subscribed = false;
    subscription.confirmed = false;
    subscription.subscribesInFlight = 0;
    subscription.baselinePending = false;
    subscription.needsBackfill = true;
    failPending(subscription);
    it = subscription.shards.total() == 0 ? channels_.erase(it) : std::next(it);
  }
}

}  // namespace herald
