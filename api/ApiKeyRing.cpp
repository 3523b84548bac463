#include "api/ApiKeyRing.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/HttpRules.h"
#include "api/Idempotency.h"

namespace herald {

namespace {
std::vector<std::string> loadKeys(const Config& config) {
  std::vector<std::string> keys = config.apiKeys;
  if (!config.apiKeyFile.empty()) {
    std::ifstream file(config.apiKeyFile);
    if (!file) {
      throw std::runtime_error("--api-key-file: cannot read " + config.apiKeyFile);
    }
    std::stringstream contents;
    contents << file.rdbuf();
    auto fileKeys = parseApiKeyFile(contents.str());
    keys.insert(keys.end(), fileKeys.begin(), fileKeys.end());
  }
  return keys;
}
}  // namespace

ApiKeyRing::ApiKeyRing(const Config& config)
    : config_(config),
      configured_(!config.apiKeys.empty() || !config.apiKeyFile.empty()),
      keys_(std::make_shared<const std::vector<std::string>>(loadKeys(config))) {}

std::optional<std::string> ApiKeyRing::scopeOf(std::string_view authorization) const {
  auto keys = current();
  const std::string* key = bearerKey(authorization, *keys);
  if (key == nullptr) {
    return std::nullopt;
  }
  return bodyDigest(*key);
}

bool ApiKeyRing::reload() {
  if (config_.apiKeyFile.empty()) {
    spdlog::info("SIGHUP: no --api-key-file to reload");
    return false;
  }
  try {
    auto keys = std::make_shared<const std::vector<std::string>>(loadKeys(config_));
    std::size_t count = keys->size();
    {
      std::lock_guard lock(mutex_);
      keys_ = std::move(keys);
    }
    // The count only: keys are credentials.
    spdlog::info("reloaded {}: {} api keys in use", config_.apiKeyFile, count);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: {}; keeping the previous keys", e.what());
    return false;
  }
}

std::shared_ptr<const std::vector<std::string>> ApiKeyRing::current() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

}  // namespace herald
