#pragma once
// How `s1 run` shows a generation: the thinking streamed dimmed on a terminal
// (between the format's delimiters otherwise), the answer in plain text, and a
// summary line on stderr; or, with --json, only the final record.
#include <string>

#include "reasoning/generator.h"

namespace s1::cli {

class GenerationPrinter {
 public:
  GenerationPrinter(bool terminal, bool json, int n_samples);
  void on_event(const Event& event);
  void finish(const GenerationResult& result, const ThinkingFormat& format, int tries);

 private:
  void write(const std::string& text);
  bool terminal_, json_, stream_;
  bool in_thinking_ = false;
};

}  // namespace s1::cli
