#include "cli/generation_output.h"

#include <fmt/format.h>

#include <cstdio>

#include "reasoning/record_json.h"

namespace s1::cli {

static constexpr const char* kDim = "\x1b[2m";
static constexpr const char* kReset = "\x1b[0m";

GenerationPrinter::GenerationPrinter(bool terminal, bool json, int n_samples)
    : terminal_(terminal), json_(json), stream_(!json && n_samples == 1) {}

void GenerationPrinter::write(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void GenerationPrinter::on_event(const Event& e) {
  if (!stream_) return;
  switch (e.kind) {
    case EventKind::thinking_text:
      if (!in_thinking_) write(terminal_ ? kDim : "<thinking>\n");
      in_thinking_ = true;
      write(e.text);
      break;
    case EventKind::thinking_ended:
    case EventKind::forced_end:
      if (in_thinking_) write(terminal_ ? std::string(kReset) + "\n" : "\n</thinking>\n");
      in_thinking_ = false;
      if (e.kind == EventKind::forced_end && terminal_) write(fmt::format("{}[thinking ended early]{}\n", kDim, kReset));
      break;
    case EventKind::answer_text:
      write(e.text);
      break;
    case EventKind::searched: {
      std::string line = fmt::format("[search \"{}\": {} hits", e.text, e.results.size());
      for (const SearchResult& r : e.results) line += fmt::format("; {} ({})", r.title, r.path);
      write(terminal_ ? fmt::format("\n{}{}]{}\n", kReset, line, kDim) : "\n" + line + "]\n");
      break;
    }
    case EventKind::probe: {  // a probe stop's look at the answer so far
      const std::string line =
          fmt::format("[probe at {} thinking tokens: {}]", e.count, e.text.empty() ? "(no answer)" : e.text);
      write(terminal_ ? fmt::format("\n{}{}{}\n", kReset, line, kDim) : "\n" + line + "\n");
      break;
    }
    default:
      break;
  }
}

void GenerationPrinter::finish(const GenerationResult& result, const ThinkingFormat& format, int tries) {
  if (json_) {
    auto record = to_json(result);
    if (tries > 1) record["tries"] = tries;
    write(record.dump() + "\n");
    return;
  }
  if (in_thinking_) write(terminal_ ? kReset : "\n</thinking>");
  if (!stream_) {
    for (size_t i = 0; i < result.samples.size(); ++i) {
      const auto& s = result.samples[i];
      write(fmt::format("--- sample {} ({} thinking tokens{}): {}\n", i, s.thinking_tokens,
                        s.forced_end ? ", forced end" : "", s.extracted.value_or("(no answer)")));
    }
    write(fmt::format("vote: {} ({} of {})\n", result.vote.answer.value_or("(no answer)"), result.vote.votes,
                      result.samples.size()));
  } else {
    write("\n");
  }
  const auto& s = result.samples.at(result.vote.winner >= 0 ? size_t(result.vote.winner) : 0);
  const double gen_seconds = result.total_seconds - result.prefill_seconds;
  int generated = 0;
  for (const auto& sample : result.samples) generated += sample.thinking_tokens + sample.answer_tokens + sample.probe_tokens;
  const std::string probes =
      s.probes > 0 ? fmt::format(" | {} probes, {} tokens{}", s.probes, s.probe_tokens, s.probe_stopped ? ", agreed" : "")
                   : "";
  std::fprintf(stderr,
               "[%s format | thinking: %d tokens%s, %d waits%s | answer: %d tokens | prompt %d tokens, prefilled %lld | "
               "%.1f tok/s%s]\n",
               format.name.c_str(), s.thinking_tokens, s.forced_end ? " (forced end)" : "", s.waits, probes.c_str(),
               s.answer_tokens, result.prompt_tokens, static_cast<long long>(result.prefill_tokens),
               gen_seconds > 0 ? generated / gen_seconds : 0.0,
               tries > 1 ? fmt::format(" | {} tries", tries).c_str() : "");
}

}  // namespace s1::cli
