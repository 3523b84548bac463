#include "api/Idempotency.h"

#include <cstdint>

namespace herald {

namespace {

constexpr std::uint64_t kFnvPrime = 1099511628211ULL;
constexpr std::uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
// A second, unrelated starting value (the first 64 bits of the fractional part of pi)
// makes the second hash independent of the first.
constexpr std::uint64_t kSecondOffsetBasis = 0x243F6A8885A308D3ULL;
constexpr char kFirstPrintable = 0x20;
constexpr char kLastPrintable = 0x7E;
constexpr int kHexDigitsPerHash = 16;
constexpr int kBitsPerHexDigit = 4;

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash, bool reversed) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto byte = static_cast<unsigned char>(reversed ? bytes[bytes.size() - 1 - i] : bytes[i]);
    hash ^= byte;
    hash *= kFnvPrime;
  }
  return hash;
}

void appendHex(std::string& out, std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = (kHexDigitsPerHash - 1) * kBitsPerHexDigit; shift >= 0; shift -= kBitsPerHexDigit) {
    out += kDigits[(value >> shift) & 0xF];
  }
}

}  // namespace

bool isValidIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) {
    return false;
  }
  for (char c : key) {
    if (c < kFirstPrintable || c > kLastPrintable) {
      return false;
    }
  }
  return true;
}

std::string bodyDigest(std::string_view body) {
  std::string digest;
  digest.reserve(2 * kHexDigitsPerHash);
  appendHex(digest, fnv1a(body, kFnvOffsetBasis, false));
  // Hashing the bytes backwards from another basis: a body colliding in one hash will not in both.
  appendHex(digest, fnv1a(body, kSecondOffsetBasis, true));
  return digest;
}

}  // namespace herald
