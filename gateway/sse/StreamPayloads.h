// StreamPayloads: the JSON `data` Herald itself puts in SSE events: the
// `envelope=1` wrapper of a notification and the `herald.reset` payload. Pure.
#pragma once

#include <string>
#include <string_view>

#include "gateway/core/Notification.h"

namespace herald::sse {

inline constexpr std::string_view kResetEvent = "herald.reset";

// {"channel":"…","id":"…","event":"…","data":…} ("event" absent when unset).
std::string envelopeData(const Notification& notification);

// {"channel":"…","reason":"truncated"|"expired"|"lost"|"invalid_cursor"}.
std::string resetData(std::string_view channel, ResetReason reason);

// The whole `herald.reset` event (no `id:` line).
std::string encodeReset(std::string_view channel, ResetReason reason);

}  // namespace herald::sse
