// Fuzz target: the JWT front door. Mode 0 hands the bytes to the verifiers as a
// token (HS256 secret, RS256 key); mode 1 signs the bytes as a payload with the right
// secret, so the claim rules (exp, nbf, sub, channels) see arbitrary JSON. Either way
// the answer is claims or a refusal, never a crash or an escaped exception.
#include <openssl/hmac.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/auth/ChannelGrants.h"
#include "gateway/auth/TokenVerifier.h"

namespace {

constexpr const char* kSecret = "fuzz-secret";
constexpr const char* kRsaPublicKey = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0WrDSLfE5vPy7Ytouxy/
/WfEoZw4ejoi9VwitPqmMY1dw1XgYGSI8YBVYpRlW+2LdZBi43qV1ff095noGkfw
Le5q12ZTRjRTIPy+hWxXPpXd6INg0uZD2vX3FCOiao6+e3DFxOd6dQ/wXkLSfn93
qYiDKJeD/BGxJb2RaiAII45JmCApt33SVUhZpxl+scB2VJ2eXtCUBV7N6EpDlJW8
G5QRyf2AAMMZBdM3252oqkWhpvOdq8HGrfwllk+7U9QvUVQ2QqJy2cXYJIew/eVd
oLRJ4CHuiTq4+9CDzsMC1PCE5PPFmVEAXFqvq9efH6hhYNt4qGvKvn31CoUKLftZ
uwIDAQAB
-----END PUBLIC KEY-----
)";

std::string base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out += kAlphabet[(buffer >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0) {
    out += kAlphabet[(buffer << (6 - bits)) & 63];
  }
  return out;
}

std::string signedWithSecret(std::string_view payload) {
  std::string input = base64Url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64Url(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(std::string_view(kSecret).size()), reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return input + "." + base64Url(std::string_view(reinterpret_cast<const char*>(mac), length));
}

herald::TokenVerifier makeVerifier(bool rsa) {
  herald::TokenVerifier::Settings settings;
  if (rsa) {
    settings.publicKeyPem = kRsaPublicKey;
  } else {
    settings.hmacSecret = kSecret;
  }
  settings.audience = "herald";
  return herald::TokenVerifier(settings);
}

void use(const std::variant<herald::TokenClaims, herald::TokenRejection>& result) {
  if (const auto* claims = std::get_if<herald::TokenClaims>(&result)) {
    (void)herald::grantsChannel(*claims, "user:1");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const herald::TokenVerifier hmac = makeVerifier(false);
  static const herald::TokenVerifier rsa = makeVerifier(true);
  if (size == 0) {
    return 0;
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    use(hmac.verify(rest));
    use(rsa.verify(rest));
  } else {
    use(hmac.verify(signedWithSecret(rest)));
  }
  return 0;
}
