// Fuzzes the server's request handling short of the model: the input is a
// request body for /v1/chat/completions, /v1/completions and the live-control
// endpoint. A body that parses is then run through the response assembler
// (stop strings, SSE chunks, JSON of arbitrary model bytes). Any outcome but
// a response or an ApiError (a crash, a hang, a sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/api_error.h"
#include "server/completion_assembler.h"
#include "server/request_parser.h"
#include "server/sse.h"

namespace {

// Plays the body's own bytes back as the model's output for every sample.
void assemble(const s1::server::ApiRequest& request, std::string_view bytes) {
  s1::server::CompletionAssembler assembler(request, "fuzz-1", "fuzz");
  std::string out = s1::server::sse_event(assembler.opening_chunk());
  std::vector<s1::Event> events;
  for (size_t i = 0; i < bytes.size() && i < 256; i += 3)
    for (int sample = 0; sample < request.n; ++sample)
      events.push_back({i % 2 ? s1::EventKind::answer_text : s1::EventKind::thinking_text, sample,
                        std::string(bytes.substr(i, 3)), 0});
  for (const auto& chunk : assembler.on_events(events)) out += s1::server::sse_event(chunk);
  s1::GenerationResult result;
  result.samples.resize(size_t(request.n));
  result.vote.winner = request.n - 1;
  for (const auto& chunk : assembler.closing_chunks(result, false)) out += s1::server::sse_event(chunk);
  out += s1::server::json_text(assembler.response(result, false));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    assemble(s1::server::parse_chat_request(body), body);
  } catch (const s1::server::ApiError&) {
  }
  try {
    assemble(s1::server::parse_completion_request(body), body);
  } catch (const s1::server::ApiError&) {
  }
  try {
    s1::server::parse_control_command(body);
  } catch (const s1::server::ApiError&) {
  }
  return 0;
}
