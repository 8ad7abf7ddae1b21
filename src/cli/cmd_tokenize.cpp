// `s1 tokenize -m MODEL [--file F] [--ids] [--parse-special]`: the token ids a
// model's tokenizer gives a text (stdin by default). No BOS is added, and
// special-token text is plain text unless --parse-special.
//   --ids: one JSON array of ids on one line.
//   else:  one "id<TAB>piece" line per token; the piece is the token's bytes
//          with control characters and bytes that are not (complete) UTF-8
//          escaped (\n, \t, \r, \\, \xNN), so every piece stays on its line.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/command.h"
#include "cli/default_model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"
#include "util/file.h"

namespace s1::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string file;
  bool ids = false;
  bool parse_special = false;
};

std::string read_input(const std::string& path) {
  if (path.empty()) return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return read_file(path);
}

std::string escape_piece(std::string_view piece) {
  std::string out;
  while (!piece.empty()) {
    const Utf8Step step = utf8_step(piece);
    const auto byte = uint8_t(piece[0]);
    if (step.kind != Utf8Kind::valid) {
      for (size_t i = 0; i < step.length; ++i) out += fmt::format("\\x{:02X}", uint8_t(piece[i]));
    } else if (step.length > 1) {
      out.append(piece.substr(0, step.length));
    } else if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte == '\r') {
      out += "\\r";
    } else if (byte == '\\') {
      out += "\\\\";
    } else if (byte < 0x20 || byte == 0x7F) {
      out += fmt::format("\\x{:02X}", byte);
    } else {
      out.push_back(char(byte));
    }
    piece.remove_prefix(step.length);
  }
  return out;
}

int run_tokenize(const TokenizeOptions& opts) {
  const Tokenizer tokenizer = Tokenizer::load(model_or_bundled(opts.model));
  const std::string text = read_input(opts.file);
  const std::vector<int32_t> ids = tokenizer.encode(text, {.add_bos = false, .parse_special = opts.parse_special});
  if (opts.ids) {
    fmt::print("[{}]\n", fmt::join(ids, ","));
    return 0;
  }
  std::string out;
  for (int32_t id : ids) out += fmt::format("{}\t{}\n", id, escape_piece(tokenizer.piece(id, true)));
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(tokenize, "Show the tokens a model's tokenizer gives a text") {
  auto opts = std::make_shared<s1::cli::TokenizeOptions>();
  s1::cli::add_model_option(app, opts->model, "GGUF model (only its tokenizer is read)");
  app.add_option("--file", opts->file, "Read the text from this file instead of standard input");
  app.add_flag("--ids", opts->ids, "Print the ids as one JSON array on one line");
  app.add_flag("--parse-special", opts->parse_special, "Read special-token text (<|im_end|>) as those tokens");
  return [opts] { return s1::cli::run_tokenize(*opts); };
}
