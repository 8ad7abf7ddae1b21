#pragma once
// Errors as OpenAI's API reports them: an HTTP status and the body
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Request handling throws ApiError; the HTTP layer turns it into the response.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace s1::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message, std::string param = "")
      : std::runtime_error(message), status_(status), code_(std::move(code)), param_(std::move(param)) {}

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& param() const { return param_; }
  // OpenAI's error type for the status: invalid_request_error, authentication_error, ...
  std::string type() const;
  nlohmann::json body() const;

 private:
  int status_;
  std::string code_, param_;
};

// 400 invalid_request_error naming the offending field.
[[noreturn]] void bad_request(const std::string& param, const std::string& message,
                             const std::string& code = "invalid_value");

}  // namespace s1::server
