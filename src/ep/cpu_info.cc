#include "ep/cpu_info.h"

#include <cpuid.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace anvil {
namespace {

int CountPhysicalCores() {
  std::set<std::pair<int, int>> cores;  // (package, core)
  for (int cpu = 0;; ++cpu) {
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream pkg(base + "physical_package_id"), core(base + "core_id");
    if (!pkg || !core) break;
    int p = 0, c = 0;
    pkg >> p;
    core >> c;
    cores.emplace(p, c);
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

CpuInfo Detect() {
  CpuInfo info;
  unsigned a, b, c, d;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    info.avx2 = b & (1u << 5);
    info.avx512f = b & (1u << 16);
    info.amx_bf16 = d & (1u << 22);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) info.avx512_bf16 = a & (1u << 5);
  // The OS must save the wide registers, or the features are unusable.
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27))) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0x6) != 0x6) info.avx2 = false;
    if ((lo & 0xe6) != 0xe6) info.avx512f = info.avx512_bf16 = false;
  }
  info.physical_cores = CountPhysicalCores();
  return info;
}

}  // namespace

std::string CpuInfo::FeatureList() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(avx2, "avx2");
  add(avx512f, "avx512f");
  add(avx512_bf16, "avx512_bf16");
  add(amx_bf16, "amx_bf16");
  return out;
}

const CpuInfo& GetCpuInfo() {
  static const CpuInfo info = Detect();
  return info;
}

}  // namespace anvil
