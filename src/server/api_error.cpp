#include "server/api_error.h"

namespace s1::server {

std::string ApiError::type() const {
  if (status_ == 401) return "authentication_error";
  if (status_ == 429) return "rate_limit_error";
  if (status_ >= 500) return "server_error";
  return "invalid_request_error";
}

nlohmann::json ApiError::body() const {
  nlohmann::json error = {{"message", what()}, {"type", type()}, {"code", code_}};
  error["param"] = param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_);
  return {{"error", error}};
}

void bad_request(const std::string& param, const std::string& message, const std::string& code) {
  throw ApiError(400, code, message, param);
}

}  // namespace s1::server
