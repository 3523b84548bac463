#include "tests/support/TestTokens.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace herald::test {

namespace {
constexpr int kRsaBits = 2048;
constexpr int kP256CoordinateBytes = 32;

std::string signingInput(const nlohmann::json& header, const nlohmann::json& payload) {
  return base64Url(header.dump()) + "." + base64Url(payload.dump());
}

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PKey readPrivateKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  return PKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
}

std::string digestSign(const std::string& pem, std::string_view input) {
  PKey key = readPrivateKey(pem);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t length = 0;
  if (!key || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    throw std::runtime_error("test signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("test signing failed");
  }
  signature.resize(length);
  return signature;
}

KeyPair pemsOf(EVP_PKEY* key) {
  auto write = [&](bool isPrivate) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (isPrivate) {
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio.get(), key);
    }
    char* data = nullptr;
    long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
  };
  KeyPair pair{write(true), write(false)};
  EVP_PKEY_free(key);
  return pair;
}
}  // namespace

std::string base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t at) { return static_cast<unsigned char>(bytes[at]); };
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out +=
        {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
  }
  if (bytes.size() - i == 1) {
    unsigned v = byte(i) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63]};
  } else if (bytes.size() - i == 2) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63]};
  }
  return out;
}

std::string hmacToken(const nlohmann::json& payload, std::string_view secret, std::string_view alg) {
  const EVP_MD* md = alg == "HS384" ? EVP_sha384() : alg == "HS512" ? EVP_sha512() : EVP_sha256();
  std::string input = signingInput({{"alg", alg}, {"typ", "JWT"}}, payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return input + "." + base64Url(std::string_view(reinterpret_cast<const char*>(mac), length));
}

std::string unsignedToken(const nlohmann::json& payload) {
  return signingInput({{"alg", "none"}, {"typ", "JWT"}}, payload) + ".";
}

KeyPair makeRsaKey() {
  return pemsOf(EVP_RSA_gen(kRsaBits));
}

KeyPair makeEcKey() {
  return pemsOf(EVP_EC_gen("P-256"));
}

std::string rs256Token(const nlohmann::json& payload, const KeyPair& key) {
  std::string input = signingInput({{"alg", "RS256"}, {"typ", "JWT"}}, payload);
  return input + "." + base64Url(digestSign(key.privatePem, input));
}

std::string es256Token(const nlohmann::json& payload, const KeyPair& key) {
  std::string input = signingInput({{"alg", "ES256"}, {"typ", "JWT"}}, payload);
  std::string der = digestSign(key.privatePem, input);
  // OpenSSL signs ECDSA as DER; JWS wants r and s as fixed-size big-endian numbers.
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())), &ECDSA_SIG_free);
  std::string raw(2 * kP256CoordinateBytes, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()),
               kP256CoordinateBytes);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()),
               reinterpret_cast<unsigned char*>(raw.data()) + kP256CoordinateBytes, kP256CoordinateBytes);
  return input + "." + base64Url(raw);
}

long long nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace herald::test
