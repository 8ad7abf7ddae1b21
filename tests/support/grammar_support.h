#pragma once
// Grammar checks on a real vocabulary (Qwen2's, from ../shared), for the
// suites that hold text up to a grammar: the sampler's and the tool calls'.
#include <memory>
#include <string>

#include "sampling/grammar.h"
#include "sampling/grammar_matcher.h"
#include "tokenizer/tokenizer.h"

namespace s1test {

const s1::Tokenizer& qwen2();
std::shared_ptr<const s1::GrammarVocabulary> qwen2_vocabulary();

// Feeds `text` as the tokenizer splits it, or one byte per token; true when
// every token is allowed and the text is a complete sentence.
bool grammar_accepts(const std::shared_ptr<const s1::Grammar>& grammar, const std::string& text, bool bytewise = false);

}  // namespace s1test
