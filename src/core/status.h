// Anvil's one internal status type. Errors travel as values; C++ exceptions are caught only at
// the C boundary with ORT (src/ep/boundary.h) as a safety net.
#pragma once
#include <sstream>
#include <string>
#include <utility>

namespace anvil {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Error(std::string message) {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    return s;
  }
  bool ok() const { return ok_; }
  const std::string& message() const { return message_; }

 private:
  bool ok_ = true;
  std::string message_;
};

template <typename... Parts>
Status Fail(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return Status::Error(os.str());
}

}  // namespace anvil

#define ANVIL_RETURN_IF_ERROR(expr)         \
  do {                                      \
    ::anvil::Status anvil_status_ = (expr); \
    if (!anvil_status_.ok()) return anvil_status_; \
  } while (0)

#define ANVIL_CHECK(cond, ...) \
  do {                         \
    if (!(cond)) return ::anvil::Fail(__VA_ARGS__); \
  } while (0)
