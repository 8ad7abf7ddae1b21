// llama-server's utility endpoints (/tokenize, /detokenize, /apply-template,
// /props) and GET /v1/models/{id}, checked against the engine's own
// tokenizer and template (the truth the endpoints must only pass on).
#include <gtest/gtest.h>

#include "server/server_fixture.h"
#include "tokenizer/tokenizer.h"

namespace s1test {
namespace {

using nlohmann::json;

TEST(LlamaServerEndpoints, TokenizeDetokenizeAndApplyTemplate) {
  TestServer server;
  const s1::Tokenizer tok = s1::Tokenizer::load(tiny_model());
  const std::string text = "Hi <|im_end|> there";
  HttpResult t = post_json(server.port(), "/tokenize", json{{"content", text}});
  ASSERT_EQ(t.status, 200) << t.body;
  const auto ids = tok.encode(text, {.parse_special = true});
  EXPECT_EQ(t.body["tokens"], json(ids));
  HttpResult plain = post_json(server.port(), "/tokenize", json{{"content", text}, {"parse_special", false}});
  EXPECT_EQ(plain.body["tokens"], json(tok.encode(text)));
  HttpResult pieces = post_json(server.port(), "/tokenize", json{{"content", "ab"}, {"with_pieces", true}});
  ASSERT_EQ(pieces.body["tokens"].size(), tok.encode("ab").size());
  EXPECT_EQ(pieces.body["tokens"][0]["id"], tok.encode("ab")[0]);
  EXPECT_EQ(pieces.body["tokens"][0]["piece"], "a");

  HttpResult back = post_json(server.port(), "/detokenize", json{{"tokens", ids}});
  EXPECT_EQ(back.body["content"], text);
  EXPECT_EQ(post_json(server.port(), "/detokenize", json{{"tokens", {-1}}}).status, 400);
  EXPECT_EQ(post_json(server.port(), "/detokenize", json{{"tokens", {tok.n_vocab()}}}).status, 400);

  const json messages = json::array({{{"role", "user"}, {"content", "2+2?"}}});
  HttpResult rendered = post_json(server.port(), "/apply-template", json{{"messages", messages}});
  ASSERT_EQ(rendered.status, 200) << rendered.body;
  EXPECT_EQ(rendered.body["prompt"], "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(LlamaServerEndpoints, PropsAndOneModel) {
  TestServer server;
  HttpResult props = get_json(server.port(), "/props");
  ASSERT_EQ(props.status, 200);
  EXPECT_EQ(props.body["total_slots"], 4);
  EXPECT_EQ(props.body["default_generation_settings"]["n_ctx"], 16384);
  EXPECT_EQ(props.body["model_alias"], "tiny");
  EXPECT_NE(props.body["chat_template"].get<std::string>().find("im_start"), std::string::npos);
  HttpResult model = get_json(server.port(), "/v1/models/tiny");
  ASSERT_EQ(model.status, 200);
  EXPECT_EQ(model.body["id"], "tiny");
  HttpResult other = get_json(server.port(), "/v1/models/gpt-4");
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.body["error"]["code"], "model_not_found");
}

}  // namespace
}  // namespace s1test
