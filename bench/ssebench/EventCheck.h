// EventCheck: what the load generator verifies about each event it receives.
//
// Every event the bench publishes carries `{"seq":N,"t":T}`: N counts the
// channel's notifications from 1 and T is the publish wall-clock time in µs.
// Per connection, seq must go up by exactly one (a jump is a gap, a repeat or
// step back a duplicate) and the SSE id must strictly increase (ids of both
// servers are numbers separated by `-` or `:`, compared field by field).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ssebench {

struct Payload {
  std::uint64_t seq = 0;
  std::uint64_t publishedUs = 0;
};

// Reads seq and t from the bench's payload; nullopt for anything else.
std::optional<Payload> parsePayload(std::string_view data);

// -1, 0, 1 like strcmp, comparing `<n>[-:]<n>...` numerically field by field.
int compareIds(std::string_view a, std::string_view b);

struct SequenceState {
  std::uint64_t lastSeq = 0;
  std::uint64_t received = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t gaps = 0;  // events skipped over (seq jumped past them)
  std::uint64_t idRegressions = 0;
};

// Accounts one event's seq; returns true when it is new (not a duplicate).
bool acceptSeq(SequenceState& state, std::uint64_t seq);

}  // namespace ssebench
