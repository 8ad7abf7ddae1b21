#pragma once
// The settings an evaluation sweeps: every combination of the comma-separated
// lists given for --think-max, --think-min, --wait, --think-stop, --n, --vote
// and --method.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reasoning/budget.h"
#include "reasoning/methods.h"
#include "reasoning/vote.h"

namespace s1 {

struct EvalSetting {
  std::optional<int> think_max, think_min, wait;
  int n = 1;
  std::optional<VoteMethod> vote;  // unset when n == 1 (nothing to vote on)
  ControlMethod method = ControlMethod::budget;
  std::optional<ProbeStop> think_stop;  // probe stop (budget method only); unset: natural

  // {"think_max", "think_min", "wait", "n", "vote", "method"}, null where unset,
  // and "think_stop" ("probe:K:EVERY") when set.
  nlohmann::json to_json() const;
  static EvalSetting from_json(const nlohmann::json& json);  // s1::Error when malformed
  std::string key() const;                                   // stable identity, for resuming
  std::string label() const;  // short human-readable form ("budget max=256 n=1")
  // The settings of one scaling curve share these (all but the thinking controls).
  std::string curve() const;
};

// A probe stop's answer tokens count in the records and the totals; its forks
// need cache room: the most positions one sample's probes hold at once.
int probe_cache_positions(const EvalSetting& setting);

struct SweepLists {
  std::string think_max, think_min, wait;  // "0,256,1024"; "none" (or empty) leaves a control unset
  std::string think_stop;                  // "natural,probe:2:16"; empty: natural
  std::string n = "1";
  std::string vote = "majority";
  std::string method = "budget";
};

// Every combination, in list order (method outermost, then n, vote, think_stop,
// wait, think_min, think_max). s1::Error naming the flag for a list that does not
// parse, and naming the setting for a contradictory one (min > max, a
// conditional or rejection method without --think-max).
std::vector<EvalSetting> expand_sweep(const SweepLists& lists);

// "0,256,1024" -> {0, 256, 1024}; "none" -> unset. s1::Error naming `flag`.
// "a, b,c" -> {"a", "b", "c"}: items trimmed of spaces, empty ones kept.
std::vector<std::string> split_list(const std::string& text);

std::vector<std::optional<int>> parse_count_list(const std::string& flag, const std::string& text,
                                                 int min_value);

}  // namespace s1
