// ChannelGrants: may the holder of a token subscribe to a channel? Pure.
//
// A token's `sub` grants exactly `user:<sub>`; each entry of its `channels`
// claim grants that exact name, or, when it ends in `*`, every name starting
// with what comes before the star (`user:1*` grants `user:1` and `user:10`, so
// backends that mean one user grant `user:1`, not a prefix). A lone `*` grants
// every channel. Nothing else is a pattern.
#pragma once

#include <string>
#include <string_view>

#include "gateway/auth/TokenVerifier.h"

namespace herald {

inline constexpr std::string_view kUserChannelPrefix = "user:";

// `user:<subject>`: the channel a subject is given, and subscribed to when it names none.
std::string userChannel(std::string_view subject);

bool grantsChannel(const TokenClaims& claims, std::string_view channel);

}  // namespace herald
