// What the CPU offers Anvil: features it uses and the physical core count.
#pragma once
#include <string>

namespace anvil {

struct CpuInfo {
  bool avx2 = false;
  bool avx512f = false;
  bool avx512_bf16 = false;
  bool amx_bf16 = false;  // CPU support; the OS permission is requested when bf16 is used
  int physical_cores = 1;
  std::string FeatureList() const;  // "avx2,avx512f,avx512_bf16,amx_bf16"
};

const CpuInfo& GetCpuInfo();

}  // namespace anvil
