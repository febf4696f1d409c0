// The C boundary with ORT: every callback Anvil hands to ORT runs its body through Guard, so no
// C++ exception ever crosses into ORT, and Anvil's Status becomes an OrtStatus.
#pragma once
#include <exception>
#include <string>

#include "core/status.h"
#include "ep/ort_api.h"

namespace anvil {

inline OrtStatus* ToOrtStatus(const Status& s, OrtErrorCode code = ORT_FAIL) {
  return s.ok() ? nullptr : Ort::GetApi().CreateStatus(code, s.message().c_str());
}

// Runs fn() (returning Status or OrtStatus*) and converts exceptions into an OrtStatus.
template <typename Fn>
OrtStatus* Guard(const char* where, Fn&& fn) noexcept {
  try {
    if constexpr (std::is_same_v<decltype(fn()), Status>) {
      return ToOrtStatus(fn());
    } else {
      return fn();
    }
  } catch (const Ort::Exception& e) {
    return Ort::GetApi().CreateStatus(e.GetOrtErrorCode(), (std::string("Anvil: ") + where + ": " + e.what()).c_str());
  } catch (const std::exception& e) {
    return Ort::GetApi().CreateStatus(ORT_FAIL, (std::string("Anvil: ") + where + ": " + e.what()).c_str());
  } catch (...) {
    return Ort::GetApi().CreateStatus(ORT_FAIL, (std::string("Anvil: ") + where + ": unknown error").c_str());
  }
}

}  // namespace anvil
