#include "tensor/dtype.h"

#include <array>
#include <cctype>
#include <string>

namespace s1 {
namespace {

struct Entry {
  uint32_t id;
  DTypeTraits traits;
};

// Block sizes follow ggml's type traits (ggml.c).
constexpr std::array<Entry, 32> kTable = {{
    {0, {"f32", 1, 4}},         {1, {"f16", 1, 2}},         {2, {"q4_0", 32, 18}},
    {3, {"q4_1", 32, 20}},      {6, {"q5_0", 32, 22}},      {7, {"q5_1", 32, 24}},
    {8, {"q8_0", 32, 34}},      {9, {"q8_1", 32, 36}},      {10, {"q2_K", 256, 84}},
    {11, {"q3_K", 256, 110}},   {12, {"q4_K", 256, 144}},   {13, {"q5_K", 256, 176}},
    {14, {"q6_K", 256, 210}},   {15, {"q8_K", 256, 292}},   {16, {"iq2_xxs", 256, 66}},
    {17, {"iq2_xs", 256, 74}},  {18, {"iq3_xxs", 256, 98}}, {19, {"iq1_s", 256, 50}},
    {20, {"iq4_nl", 32, 18}},   {21, {"iq3_s", 256, 110}},  {22, {"iq2_s", 256, 82}},
    {23, {"iq4_xs", 256, 136}}, {24, {"i8", 1, 1}},         {25, {"i16", 1, 2}},
    {26, {"i32", 1, 4}},        {27, {"i64", 1, 8}},        {28, {"f64", 1, 8}},
    {29, {"iq1_m", 256, 56}},   {30, {"bf16", 1, 2}},       {34, {"tq1_0", 256, 54}},
    {35, {"tq2_0", 256, 66}},   {39, {"mxfp4", 32, 17}},
}};

}  // namespace

std::optional<DTypeTraits> dtype_traits(uint32_t id) {
  for (const auto& e : kTable)
    if (e.id == id) return e.traits;
  return std::nullopt;
}

const DTypeTraits& traits(DType type) {
  for (const auto& e : kTable)
    if (e.id == uint32_t(type)) return e.traits;
  return kTable[0].traits;  // unreachable for a DType built from a valid id
}

std::string_view dtype_name(DType type) { return traits(type).name; }

std::optional<DType> parse_dtype(std::string_view name) {
  std::string lower;
  for (char c : name) lower += char(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& e : kTable) {
    std::string candidate;
    for (char c : e.traits.name) candidate += char(std::tolower(static_cast<unsigned char>(c)));
    if (candidate == lower) return DType(e.id);
  }
  return std::nullopt;
}

}  // namespace s1
