// Idempotency: the checks on an `Idempotency-Key` header and the digest of a request body.
//
// The broker remembers a key with the digest of the body it came with: the same
// key with the same (byte-identical) body replays the first answer, with another
// body it is a conflict. The digest is two independent 64-bit FNV-1a hashes, so
// it is cheap, stable across nodes and builds, and collisions are negligible for
// this purpose (it is not a defence against a hostile publisher, who holds a key).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herald {

inline constexpr std::size_t kMaxIdempotencyKeyBytes = 200;

// 1-200 bytes of printable ASCII (0x20-0x7E).
bool isValidIdempotencyKey(std::string_view key);

// 32 lowercase hex characters identifying `body`'s exact bytes.
std::string bodyDigest(std::string_view body);

}  // namespace herald
