#include "support/grammar_support.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace s1test {

const s1::Tokenizer& qwen2() {
  static const s1::Tokenizer tokenizer = s1::Tokenizer::load((shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string());
  return tokenizer;
}

std::shared_ptr<const s1::GrammarVocabulary> qwen2_vocabulary() {
  static const auto vocabulary = std::make_shared<const s1::GrammarVocabulary>(qwen2());
  return vocabulary;
}

bool grammar_accepts(const std::shared_ptr<const s1::Grammar>& grammar, const std::string& text, bool bytewise) {
  s1::GrammarMatcher matcher(grammar, qwen2_vocabulary());
  std::vector<int32_t> tokens;
  if (bytewise) {
    for (char c : text) {
      const auto ids = qwen2().encode(std::string(1, c));
      if (ids.size() != 1) ADD_FAILURE() << "byte " << int(uint8_t(c)) << " is not one token";
      tokens.push_back(ids[0]);
    }
  } else {
    tokens = qwen2().encode(text);
  }
  for (int32_t t : tokens) {
    if (!matcher.allows(t)) return false;
    matcher.accept(t);
  }
  return matcher.accepting() && matcher.allows(qwen2().eos() >= 0 ? qwen2().eos() : qwen2().eot());
}

}  // namespace s1test
