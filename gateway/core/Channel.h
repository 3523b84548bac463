// Channel names: what the contract allows a channel to be called.
//
// A channel is 1-200 bytes of `A-Z a-z 0-9 _ - . : @ =`; `user:<id>` is the
// convention for per-user delivery. Both listeners validate with this one
// function so a name accepted for publishing is always subscribable.
#pragma once

#include <cstddef>
#include <string_view>

namespace herald {

inline constexpr std::size_t kMaxChannelNameBytes = 200;

bool isValidChannelName(std::string_view name);

}  // namespace herald
