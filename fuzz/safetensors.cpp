// libFuzzer target: any bytes must parse into a safetensors File or end in
// s1::Error. Every tensor a parsed file hands out must lie inside the input.
#include <cstdint>
#include <vector>

#include "hf/safetensors.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = s1::safetensors::File::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
    uint64_t checksum = 0;
    for (const auto& t : file.tensors())
      if (t.n_bytes) checksum += t.data[0] + t.data[t.n_bytes - 1];  // ASan checks the bounds
    for (const auto& [key, value] : file.metadata()) checksum += key.size() + value.size();
    volatile uint64_t sink = checksum;  // the reads above must happen
    (void)sink;
  } catch (const s1::Error&) {
  }
  return 0;
}
