// The portable binary runs on any x86-64-v2 machine only if no instruction of a
// later extension leaks out of the per-instruction-set kernels: a shared inline
// function compiled in src/tensor/avx512/ and kept by the linker, or a static
// initializer there, would fault at start on an AVX2-only laptop. This reads
// build/s1's machine code (objdump) and finds every function that uses AVX
// (VEX/EVEX encodings: mnemonics v..., mask registers k...) outside the code
// that the dispatch guards, i.e. functions whose names say their set.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <regex>
#include <string>

namespace {

#if defined(__x86_64__)
std::string disassembly() {
  const std::string command = std::string("objdump -d --no-show-raw-insn -C '") + S1_BINARY + "'";
  FILE* pipe = popen(command.c_str(), "r");
  std::string text;
  if (!pipe) return text;
  char buffer[1 << 16];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  pclose(pipe);
  return text;
}

TEST(InstructionSets, OnlyTheDispatchedKernelsUseAvx) {
  const std::string text = disassembly();
  ASSERT_GT(text.size(), 100000u) << "objdump gave no disassembly of " << S1_BINARY;
  const std::regex function_start(R"(^[0-9a-f]+ <(.*)>:$)");
  const std::regex instruction(R"(^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$)");
  std::map<std::string, std::string> leaks;  // function -> first offending instruction
  std::string function;
  int functions = 0, avx512_functions = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    std::smatch m;
    if (std::regex_match(line, m, function_start)) {
      function = m[1].str();
      ++functions;
      continue;
    }
    if (line.empty() || (line[0] != ' ' && line[0] != '\t')) continue;
    const size_t colon = line.find(":\t");
    if (colon == std::string::npos) continue;
    const std::string rest = line.substr(colon + 2);
    const std::string mnemonic = rest.substr(0, rest.find(' '));
    const bool avx = !mnemonic.empty() && (mnemonic[0] == 'v' || mnemonic[0] == 'k');
    if (!avx) continue;
    const bool avx512 = rest.find("%zmm") != std::string::npos || rest.find("%k") != std::string::npos ||
                        mnemonic[0] == 'k';
    const bool allowed = function.find("avx512") != std::string::npos ||
                         (!avx512 && function.find("avx2") != std::string::npos);
    if (function.find("avx512") != std::string::npos && avx512) ++avx512_functions;
    if (!allowed && !leaks.count(function)) leaks[function] = rest;
  }
  EXPECT_GT(functions, 1000);
  EXPECT_GT(avx512_functions, 0) << "the AVX-512 kernels were not found by name";
  for (const auto& [name, first] : leaks) ADD_FAILURE() << name << " uses " << first;
}
#endif

}  // namespace
