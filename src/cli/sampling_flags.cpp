#include "cli/sampling_flags.h"

#include "cli/number_checks.h"
#include "util/error.h"

namespace s1::cli {

void add_sampling_flags(CLI::App& app, SamplingParams& params) {
  const char* group = "Sampling";
  app.add_option("--temp", params.temperature, "Temperature; 0 = greedy")
      ->check(non_negative_number())->capture_default_str()->group(group);
  app.add_option("--top-k", params.top_k, "Keep the k most likely tokens; 0 = off")
      ->check(non_negative_number())->capture_default_str()->group(group);
  app.add_option("--top-p", params.top_p, "Nucleus sampling: keep tokens up to this cumulative probability; 1 = off")
      ->check(number_where("in [0, 1]", [](double v) { return v >= 0 && v <= 1; }))->capture_default_str()->group(group);
  app.add_option("--min-p", params.min_p, "Drop tokens less likely than min-p times the top token; 0 = off")
      ->check(number_where("in [0, 1]", [](double v) { return v >= 0 && v <= 1; }))->capture_default_str()->group(group);
  app.add_option("--repeat-penalty", params.repeat_penalty, "Penalize repeated tokens; 1 = off")
      ->check(positive_number())->capture_default_str()->group(group);
  app.add_option("--repeat-last-n", params.repeat_last_n, "Tokens the penalties look back on; 0 = off, -1 = all")
      ->check(number_where(">= -1", [](double v) { return v >= -1; }))->capture_default_str()->group(group);
  app.add_option("--presence-penalty", params.presence_penalty, "Subtracted once from every seen token")
      ->capture_default_str()->group(group);
  app.add_option("--frequency-penalty", params.frequency_penalty, "Subtracted per occurrence of a seen token")
      ->capture_default_str()->group(group);
  app.add_option_function<uint64_t>("-s,--seed", [&params](const uint64_t& seed) { params.seed = seed; },
                                    "RNG seed (default: random)")
      ->group(group);
  app.add_option_function<std::vector<std::string>>(
         "--logit-bias",
         [&params](const std::vector<std::string>& specs) {
           for (const std::string& spec : specs) {
             try {
               parse_logit_bias(spec, params.logit_bias);
             } catch (const s1::Error& e) {
               throw CLI::ValidationError(e.what());
             }
           }
         },
         "TOKEN(+|-)BIAS, e.g. 15043+1 or 15043-inf (repeatable)")
      ->group(group);
}

}  // namespace s1::cli
