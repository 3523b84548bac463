#include "gateway/broker/redis/ClusterKeys.h"

#include <stdexcept>

namespace herald {

ClusterKeys::ClusterKeys(std::string prefix) : prefix_(std::move(prefix)) {
  if (prefix_.find_first_of("{}") != std::string::npos) {
    throw std::invalid_argument("--redis-prefix must not contain '{' or '}' with Redis Cluster (got '" +
                                prefix_ + "')");
  }
}

}  // namespace herald
