#pragma once
// What the processor we run on can do, probed once at start (cpuid and the
// OS's saved-register mask on x86, the kernel's hwcaps on ARM), never assumed
// from the machine that built the binary.
#include <string>

namespace s1 {

struct CpuFeatures {
  std::string model;  // "Intel(R) Xeon(R) ...", or "" where the OS does not say
  // x86-64
  bool avx2 = false, fma = false, f16c = false, avx_vnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false,
       avx512bf16 = false;
  // AArch64
  bool neon = false, dotprod = false, i8mm = false;

  // The features present, lower case and space separated ("avx2 fma f16c ...").
  std::string list() const;
};

const CpuFeatures& cpu_features();

}  // namespace s1
