#pragma once
// Curated records in the columns of s1's s1K data set (simplescaling/s1K on
// Hugging Face): question, solution, cot_type, source_type, metadata, cot,
// thinking_trajectories (a list of strings) and attempt. The s1 repository's
// data/tokenization.py reads question, thinking_trajectories and attempt to
// build the `text` column its train/sft.py (TRL's SFTTrainer) trains on, so
// rows in this form go through its pipeline unchanged (deploy/train/).
#include <nlohmann/json.hpp>

#include "data/curate.h"

namespace s1::data {

// One row; `source` fills source_type when the record names none.
nlohmann::json to_s1k_row(const CurationRecord& record, const std::string& source);

}  // namespace s1::data
