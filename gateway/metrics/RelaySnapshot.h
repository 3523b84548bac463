// RelaySnapshot: the stream side's counters at one moment, summed over the
// stream threads, plus the broker's state.
//
// The metrics code (herald_base) does not know the stream threads or the broker
// implementations; main.cpp hands it a function that fills this plain struct on
// every scrape, so /metrics and /v1/stats read the same numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/metrics/AtomicHistogram.h"

namespace herald {

struct RelaySnapshot {
  std::vector<std::int64_t> connectionsByThread;  // open SSE streams per stream thread
  std::uint64_t connectionsTotal = 0;
  std::uint64_t eventsDelivered = 0;
  std::uint64_t eventsReplayed = 0;
  std::uint64_t slowClientsDropped = 0;
  std::uint64_t streamsDrained = 0;                 // ended by the drain at shutdown
  std::uint64_t streamsShed = 0;                    // ended or refused to shed load
  std::vector<std::uint64_t> streamRejectedByCode;  // indexed like kErrorCodes
  HistogramSnapshot deliveryLag;
  bool brokerUp = false;
  std::uint64_t brokerReconnects = 0;
  std::string broker;  // Broker::describe()

  std::int64_t connections() const {
    std::int64_t total = 0;
    for (auto c : connectionsByThread) {
      total += c;
    }
    return total;
  }
};

}  // namespace herald
