// The tokenizer's parts on tiny in-memory vocabularies: UTF-8 handling, the
// byte alphabet, pre-tokenizers, merge order, special tokens, decoding and
// the streaming detokenizer.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "gguf/gguf.h"
#include "support/test_support.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace {

using s1::TokenType;
using s1::Utf8Kind;
using Ids = std::vector<int32_t>;

// Bytes -> their byte-level token text ("a b" -> "aĠb").
std::string byte_level(std::string_view bytes) {
  std::string text;
  for (char b : bytes) s1::utf8_append(text, s1::byte_to_codepoint(uint8_t(b)));
  return text;
}

// Token i < 256 is byte i; each merge (given as plain byte strings) adds its
// result as the next token; then the specials.
s1::Vocab tiny_vocab(const std::vector<std::pair<std::string, std::string>>& merges, std::string pre = "qwen2") {
  s1::Vocab v;
  v.pre = std::move(pre);
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_level(std::string(1, char(b))));
  for (const auto& [left, right] : merges) {
    v.merges.push_back(byte_level(left) + " " + byte_level(right));
    v.tokens.push_back(byte_level(left + right));
  }
  v.types.assign(v.tokens.size(), int32_t(TokenType::normal));
  auto add = [&](std::string text, TokenType type) {
    v.tokens.push_back(std::move(text));
    v.types.push_back(int32_t(type));
  };
  add("<|endoftext|>", TokenType::control);
  add("<|im_start|>", TokenType::control);
  add("<|im_end|>", TokenType::control);
  add("<|im", TokenType::control);
  add("<think>", TokenType::user_defined);
  add("\xE2\x82\xAC", TokenType::user_defined);  // "€": not a tag (DeepSeek LLM has "ü", "ö" so)
  v.eos = int32_t(v.tokens.size()) - 6;
  v.bos = v.eos;
  return v;
}

int32_t id_of(const s1::Tokenizer& tok, std::string_view plain) {
  const int32_t id = tok.find_token(byte_level(plain));
  EXPECT_GE(id, 0) << "no token for '" << plain << "'";
  return id;
}

Ids bytes_of(std::string_view text) {
  Ids ids;
  for (char b : text) ids.push_back(uint8_t(b));
  return ids;
}

TEST(TokenizerUtf8, ClassifiesSequences) {
  EXPECT_EQ(s1::utf8_step("a").kind, Utf8Kind::valid);
  EXPECT_EQ(s1::utf8_step("\xE2\x82\xAC").length, 3u);                        // €
  EXPECT_EQ(s1::utf8_step("\xF0\x9F\x98").kind, Utf8Kind::truncated);          // 3 of 4 bytes
  EXPECT_EQ(s1::utf8_step("\xF0\x9F\x98").length, 3u);
  EXPECT_EQ(s1::utf8_step("\xFF").kind, Utf8Kind::invalid);
  EXPECT_EQ(s1::utf8_step("\xE0\x80\x80").kind, Utf8Kind::invalid);           // overlong
  EXPECT_EQ(s1::utf8_step("\xED\xA0\x80").kind, Utf8Kind::invalid);           // surrogate
  EXPECT_EQ(s1::utf8_step("\xF4\x90\x80\x80").kind, Utf8Kind::invalid);       // above U+10FFFF
  EXPECT_EQ(s1::utf8_step("\xE2\x82x").length, 2u);                            // maximal subpart
  EXPECT_EQ(s1::utf8_valid_prefix("abcdefghij\xC3\xA9k\xFFz"), 13u);
  EXPECT_EQ(s1::utf8_sanitize("a\xFF" "b\xE2\x82" "c\xF0\x9F"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD");
}

TEST(TokenizerUtf8, ByteAlphabetIsGpt2s) {
  EXPECT_EQ(s1::byte_to_codepoint(' '), 0x120u);   // Ġ
  EXPECT_EQ(s1::byte_to_codepoint('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(s1::byte_to_codepoint('a'), uint32_t('a'));
  EXPECT_EQ(s1::byte_to_codepoint(0xAD), 0x143u);  // soft hyphen is moved
  for (int b = 0; b < 256; ++b) EXPECT_EQ(s1::codepoint_to_byte(s1::byte_to_codepoint(uint8_t(b))), b);
  EXPECT_EQ(s1::codepoint_to_byte(0x20AC), -1);
}

std::vector<std::string> split(std::string_view pre, std::string_view text) {
  std::vector<std::string_view> words;
  s1::PreTokenizer(pre).split(text, words);
  return {words.begin(), words.end()};
}

TEST(TokenizerPre, SplitsLikeEachModelFamily) {
  using W = std::vector<std::string>;
  EXPECT_EQ(split("qwen2", "Hello world's 1234"), (W{"Hello", " world", "'s", " ", "1", "2", "3", "4"}));
  EXPECT_EQ(split("llama-bpe", "Hello world's 1234"), (W{"Hello", " world", "'s", " ", "123", "4"}));
  EXPECT_EQ(split("gpt2", "Hello world's 1234"), (W{"Hello", " world", "'s", " 1234"}));
  EXPECT_EQ(split("qwen2", "a  \n\n b"), (W{"a", "  \n\n", " b"}));
  EXPECT_EQ(split("deepseek-llm", "ab\ncd 12"), (W{"ab", "\n", "cd", " ", "12"}));
}

TEST(TokenizerPre, InvalidUtf8BecomesWordsOfItsOwn) {
  using W = std::vector<std::string>;
  EXPECT_EQ(split("qwen2", "ab\xFF\xFE" "cd \xE2\x82"), (W{"ab", "\xFF\xFE", "cd", " ", "\xE2\x82"}));
}

TEST(TokenizerPre, AcceptsLlamaCppAliasesAndRejectsOthers) {
  EXPECT_EQ(s1::PreTokenizer("deepseek-r1-qwen").kind(), s1::PreTokenizerKind::qwen2);
  EXPECT_EQ(s1::PreTokenizer("llama3").kind(), s1::PreTokenizerKind::llama3);
  EXPECT_EQ(s1::PreTokenizer("phi-2").kind(), s1::PreTokenizerKind::gpt2);
  EXPECT_EQ(s1::PreTokenizer("gpt-2").name(), "gpt2");
  try {
    s1::PreTokenizer("tekken");
    FAIL() << "no error";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'tekken'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("qwen2"), std::string::npos) << e.what();
  }
}

TEST(TokenizerBpe, MergesLowestRankFirst) {
  const s1::Tokenizer bc_first(tiny_vocab({{"b", "c"}, {"a", "b"}}));
  EXPECT_EQ(bc_first.encode("abc"), (Ids{'a', id_of(bc_first, "bc")}));
  const s1::Tokenizer ab_first(tiny_vocab({{"a", "b"}, {"b", "c"}}));
  EXPECT_EQ(ab_first.encode("abc"), (Ids{id_of(ab_first, "ab"), 'c'}));
}

TEST(TokenizerBpe, EqualRanksMergeLeftmostFirst) {
  const s1::Tokenizer tok(tiny_vocab({{"a", "a"}}));
  EXPECT_EQ(tok.encode("aaa"), (Ids{id_of(tok, "aa"), 'a'}));
  EXPECT_EQ(tok.encode("aaaa"), (Ids{id_of(tok, "aa"), id_of(tok, "aa")}));
}

TEST(TokenizerBpe, LongWordsMergeCompletely) {
  const s1::Tokenizer tok(tiny_vocab({{"a", "a"}, {"aa", "aa"}}));
  const Ids ids = tok.encode(std::string(100001, 'a'));
  ASSERT_EQ(ids.size(), 25001u);
  EXPECT_EQ(ids.back(), 'a');
  EXPECT_EQ(std::count(ids.begin(), ids.end(), id_of(tok, "aaaa")), 25000);
}

TEST(TokenizerBpe, RepeatedWordsGiveTheSameIds) {  // the second time they come from the cache
  const s1::Tokenizer tok(tiny_vocab({{"a", "b"}, {" ", "ab"}}));
  EXPECT_EQ(tok.encode("ab ab ab"), (Ids{id_of(tok, "ab"), id_of(tok, " ab"), id_of(tok, " ab")}));
  EXPECT_EQ(tok.encode("ab ab ab"), tok.encode("ab ab ab"));
}

TEST(TokenizerBpe, Llama3TakesAWordThatIsATokenWhole) {
  // "abc" is a token but no merge sequence reaches it.
  auto vocab = [](std::string pre) {
    auto v = tiny_vocab({{"a", "b"}}, std::move(pre));
    v.tokens.push_back(byte_level("abc"));
    v.types.push_back(int32_t(TokenType::normal));
    return v;
  };
  const s1::Tokenizer llama3(vocab("llama-bpe")), qwen2(vocab("qwen2"));
  EXPECT_EQ(llama3.encode("abc"), Ids{llama3.find_token("abc")});
  EXPECT_EQ(qwen2.encode("abc"), (Ids{id_of(qwen2, "ab"), 'c'}));
}

// Control tokens only with parse_special; user-defined ones in any text, as
// llama.cpp matches them; in a plain span (a chat's user content) neither
// control tokens nor user-defined tags, but other user-defined tokens still.
TEST(TokenizerSpecial, ControlWhenAskedUserDefinedAlwaysLongestFirst) {
  const s1::Tokenizer tok(tiny_vocab({}));
  const int32_t im_end = tok.find_token("<|im_end|>"), im = tok.find_token("<|im"), think = tok.find_token("<think>");
  const int32_t euro = tok.find_token("\xE2\x82\xAC");
  EXPECT_EQ(tok.encode("x<|im_end|>y", {.parse_special = true}), (Ids{'x', im_end, 'y'}));
  EXPECT_EQ(tok.encode("<|imx<think>", {.parse_special = true}), (Ids{im, 'x', think}));
  EXPECT_EQ(tok.encode("<|im_end|>"), bytes_of("<|im_end|>"));
  EXPECT_EQ(tok.encode("<think>"), (Ids{think}));
  EXPECT_EQ(tok.encode("5\xE2\x82\xAC!"), (Ids{'5', euro, '!'}));
  const std::string chat = "<|im_end|>5\xE2\x82\xAC!<think><|im_end|><think>";
  const s1::TextSpan user[] = {{10, 32}};  // "5€!<think><|im_end|>"
  Ids want = {im_end, '5', euro, '!'};
  for (int32_t b : bytes_of("<think><|im_end|>")) want.push_back(b);
  want.push_back(think);
  EXPECT_EQ(tok.encode(chat, {.parse_special = true, .plain_spans = user}), want);
  EXPECT_EQ(tok.encode("a", {.add_bos = true}), (Ids{tok.bos(), 'a'}));
}

TEST(TokenizerDecode, ControlTokensOnlyWhenAsked) {
  const s1::Tokenizer tok(tiny_vocab({{" ", "a"}}));
  const Ids ids = {tok.find_token("<|im_start|>"), id_of(tok, " a"), '\n', tok.find_token("<think>")};
  EXPECT_EQ(tok.decode(ids), " a\n<think>");
  EXPECT_EQ(tok.decode(ids, true), "<|im_start|> a\n<think>");
  EXPECT_THROW(tok.decode(Ids{tok.n_vocab()}), s1::Error);
  EXPECT_THROW(tok.piece(-1), s1::Error);
}

TEST(TokenizerDecode, AnyBytesRoundTrip) {
  const s1::Tokenizer tok(tiny_vocab({{"a", "b"}, {"\xE2", "\x82"}}));
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(rng() % 40, '\0');
    for (char& b : bytes) b = char(rng() % 4 == 0 ? 'a' + rng() % 3 : rng() % 256);
    EXPECT_EQ(tok.decode(tok.encode(bytes)), bytes);
  }
}

TEST(TokenizerVocab, RejectsInconsistentVocabularies) {
  auto v = tiny_vocab({});
  v.types.pop_back();
  EXPECT_THROW(s1::Tokenizer{v}, s1::Error);
  v = tiny_vocab({});
  v.merges.push_back("nospace");
  EXPECT_THROW(s1::Tokenizer{v}, s1::Error);
  EXPECT_THROW(s1::Tokenizer{s1::Vocab{}}, s1::Error);
  v = tiny_vocab({}, "tekken");
  v.source = "m.gguf";
  try {
    s1::Tokenizer{v};
    FAIL() << "no error";
  } catch (const s1::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("m.gguf: unsupported pre-tokenizer 'tekken'", 0), 0u) << e.what();
  }
  // Names llama.cpp splits differently from every kind we implement are
  // refused, not approximated (see kAliases in tokenizer/pretokenizer.cpp).
  for (const char* inexact : {"mpt", "olmo", "default", "dbrx", "smaug-bpe"}) {
    v = tiny_vocab({}, inexact);
    EXPECT_THROW(s1::Tokenizer{v}, s1::Error) << inexact;
  }
}

TEST(TokenizerVocab, KnowsEndOfGeneration) {
  const s1::Tokenizer tok(tiny_vocab({}));
  EXPECT_TRUE(tok.is_end_of_generation(tok.eos()));
  EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<|im_end|>")));
  EXPECT_FALSE(tok.is_end_of_generation(tok.find_token("<|im_start|>")));
  EXPECT_FALSE(tok.is_end_of_generation('a'));
}

TEST(TokenizerVocab, LoadsFromGguf) {
  const auto v = tiny_vocab({{"a", "b"}});
  s1::gguf::Writer w;
  w.set("tokenizer.ggml.model", {std::string("gpt2")});
  w.set("tokenizer.ggml.pre", {std::string("deepseek-r1-qwen")});
  w.set("tokenizer.ggml.tokens", s1::gguf::make_string_array(v.tokens));
  w.set("tokenizer.ggml.token_type", s1::gguf::make_int_array(v.types));
  w.set("tokenizer.ggml.merges", s1::gguf::make_string_array(v.merges));
  w.set("tokenizer.ggml.eos_token_id", {uint32_t(v.eos)});
  const auto path = s1test::temp_dir("tok") / "vocab.gguf";
  w.write(path.string());
  const auto tok = s1::Tokenizer::load(path.string());
  EXPECT_EQ(tok.pretokenizer().kind(), s1::PreTokenizerKind::qwen2);
  EXPECT_EQ(tok.eos(), v.eos);
  EXPECT_EQ(tok.bos(), -1);
  EXPECT_EQ(tok.encode("ab<|im_end|>", {.parse_special = true}), (Ids{id_of(tok, "ab"), tok.find_token("<|im_end|>")}));

  w.set("tokenizer.ggml.model", {std::string("llama")});
  w.write(path.string());
  EXPECT_THROW(s1::Tokenizer::load(path.string()), s1::Error);
}

TEST(TokenizerStream, HoldsSplitCharactersAndReplacesBadBytes) {
  const s1::Tokenizer tok(tiny_vocab({}));
  s1::StreamDecoder stream(tok);
  EXPECT_EQ(stream.feed('a'), "a");
  EXPECT_EQ(stream.feed(0xE2), "");
  EXPECT_EQ(stream.feed(0x82), "");
  EXPECT_EQ(stream.feed(0xAC), "\xE2\x82\xAC");
  EXPECT_EQ(stream.feed(0xFF), "\xEF\xBF\xBD");            // can never start a character
  EXPECT_EQ(stream.feed(0xE2), "");
  EXPECT_EQ(stream.feed('b'), "\xEF\xBF\xBD" "b");         // the held byte can no longer complete
  EXPECT_EQ(stream.feed(tok.find_token("<|im_end|>")), "");  // control token, not asked for
  EXPECT_EQ(stream.feed(0xF0), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.flush(), "");
  EXPECT_THROW(stream.feed(-5), s1::Error);
}

TEST(TokenizerStream, StreamedTextEqualsDecodedText) {
  const auto tok = s1::Tokenizer::load((s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string());
  const std::string text = "Über 3 Äpfel 🚀 кошка 我想在apple工作 \xE2\x9C\x85 done";
  s1::StreamDecoder stream(tok);
  std::string streamed;
  for (int32_t id : tok.encode(text)) streamed += stream.feed(id);
  streamed += stream.flush();
  EXPECT_EQ(streamed, text);
}

TEST(TokenizerThreads, ConcurrentEncodesAgree) {
  const s1::Tokenizer tok(tiny_vocab({{"a", "b"}, {" ", "ab"}, {"c", "d"}}));
  std::string text;
  for (int i = 0; i < 2000; ++i) text += i % 3 ? " ab" : " cd x";
  const Ids expected = tok.encode(text);
  std::vector<Ids> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { for (int i = 0; i < 20; ++i) r = tok.encode(text); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

}  // namespace
