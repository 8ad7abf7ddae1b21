#include "eval/sweep.h"

#include <charconv>

#include "model/kv_cache.h"
#include "util/error.h"

namespace s1 {
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    items.push_back(a == std::string::npos ? "" : item.substr(a, b - a + 1));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

namespace {

nlohmann::json optional_int(const std::optional<int>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

std::optional<int> read_optional_int(const nlohmann::json& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) fail("setting field '{}' is not an integer: {}", key, it->dump());
  return it->get<int>();
}

std::string show(const std::optional<int>& v) { return v ? std::to_string(*v) : "none"; }

}  // namespace

std::vector<std::optional<int>> parse_count_list(const std::string& flag, const std::string& text,
                                                 int min_value) {
  std::vector<std::optional<int>> values;
  if (text.empty()) return {std::nullopt};
  for (const std::string& item : split_list(text)) {
    if (item == "none") {
      values.push_back(std::nullopt);
      continue;
    }
    int value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size())
      fail("{} '{}': '{}' is not a whole number (give a comma-separated list such as 0,256,1024)", flag, text,
           item);
    if (value < min_value) fail("{} '{}': {} is below {}", flag, text, value, min_value);
    values.push_back(value);
  }
  return values;
}

nlohmann::json EvalSetting::to_json() const {
  nlohmann::json json = {{"think_max", optional_int(think_max)},
                         {"think_min", optional_int(think_min)},
                         {"wait", optional_int(wait)},
                         {"n", n},
                         {"vote", vote ? nlohmann::json(vote_method_name(*vote)) : nlohmann::json()},
                         {"method", control_method_name(method)}};
  if (think_stop) json["think_stop"] = think_stop_name(think_stop);  // absent when natural, as in older records
  return json;
}

EvalSetting EvalSetting::from_json(const nlohmann::json& json) {
  if (!json.is_object()) fail("a setting must be a JSON object, got {}", json.dump());
  EvalSetting s;
  s.think_max = read_optional_int(json, "think_max");
  s.think_min = read_optional_int(json, "think_min");
  s.wait = read_optional_int(json, "wait");
  s.n = read_optional_int(json, "n").value_or(1);
  if (auto vote = json.find("vote"); vote != json.end() && vote->is_string())
    s.vote = parse_vote_method(vote->get<std::string>());
  if (auto method = json.find("method"); method != json.end() && method->is_string())
    s.method = parse_control_method(method->get<std::string>());
  if (auto stop = json.find("think_stop"); stop != json.end() && stop->is_string())
    s.think_stop = parse_think_stop(stop->get<std::string>(), "setting field 'think_stop'");
  return s;
}

std::string EvalSetting::key() const {
  // Natural stopping adds nothing: the keys of records written before --think-stop stay valid.
  return fmt::format("{}|max={}|min={}|wait={}|n={}|vote={}{}", control_method_name(method), show(think_max),
                     show(think_min), show(wait), n, vote ? vote_method_name(*vote) : "none",
                     think_stop ? "|stop=" + think_stop_name(think_stop) : "");
}

int probe_cache_positions(const EvalSetting& setting) {
  if (!setting.think_stop) return 0;
  // Each probe: the forced end (a few tokens; 32 is ample) and its answer cap,
  // plus the copy of the partly filled block it forked.
  constexpr int kForcedEndSlack = 32, kBlock = KvCache::kBlockTokens;
  return Generator::kProbesInFlight * (kForcedEndSlack + setting.think_stop->answer_max + 2 * kBlock);
}

std::string EvalSetting::curve() const {
  std::string s = control_method_name(method);
  if (think_stop) s += " " + think_stop_name(think_stop);
  if (n > 1) s += fmt::format(" n={} {}", n, vote ? vote_method_name(*vote) : "");
  return s;
}

std::string EvalSetting::label() const {
  std::string s = curve();
  if (think_max) s += fmt::format(" max={}", *think_max);
  if (think_min) s += fmt::format(" min={}", *think_min);
  if (wait) s += fmt::format(" wait={}", *wait);
  return s;
}

std::vector<EvalSetting> expand_sweep(const SweepLists& lists) {
  const auto think_max = parse_count_list("--think-max", lists.think_max, 0);
  const auto think_min = parse_count_list("--think-min", lists.think_min, 0);
  const auto wait = parse_count_list("--wait", lists.wait, 0);
  std::vector<int> ns;
  for (const auto& n : parse_count_list("--n", lists.n, 1)) {
    if (!n) fail("--n '{}': give sample counts (1 or more)", lists.n);
    ns.push_back(*n);
  }
  std::vector<VoteMethod> votes;
  for (const auto& name : split_list(lists.vote)) votes.push_back(parse_vote_method(name));
  std::vector<ControlMethod> methods;
  for (const auto& name : split_list(lists.method)) methods.push_back(parse_control_method(name));
  std::vector<std::optional<ProbeStop>> stops;
  for (const auto& name : split_list(lists.think_stop)) stops.push_back(parse_think_stop(name));

  std::vector<EvalSetting> settings;
  for (ControlMethod method : methods)
    for (int n : ns)
      for (VoteMethod vote : votes)
        for (const auto& stop : stops)
          for (const auto& w : wait)
            for (const auto& min : think_min)
              for (const auto& max : think_max) {
                EvalSetting s{max, min, w, n, n > 1 ? std::optional(vote) : std::nullopt, method, stop};
                if (max && min && *min > *max)
                  fail("setting '{}': --think-min {} is above --think-max {}", s.label(), *min, *max);
                if (method != ControlMethod::budget && method != ControlMethod::class_conditional && !max)
                  fail("setting '{}': the {} method needs --think-max", s.label(), control_method_name(method));
                if (method != ControlMethod::budget && (min || w || stop))
                  fail("setting '{}': --think-min, --wait and --think-stop apply to the budget method only",
                       s.label());
                bool seen = false;  // n == 1 makes every vote method the same setting
                for (const auto& other : settings) seen = seen || other.key() == s.key();
                if (!seen) settings.push_back(s);
              }
  return settings;
}

}  // namespace s1
