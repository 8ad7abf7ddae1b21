#pragma once
// A Jinja2 interpreter for chat templates: parses once, renders many times.
//
// It follows what Hugging Face transformers sets up: trim_blocks and
// lstrip_blocks on, no autoescaping, the loopcontrols extension (break,
// continue), `{% generation %}` blocks, a tojson filter with Python
// json.dumps spacing and non-ASCII kept, and the globals raise_exception()
// and strftime_now(). Rendering is bounded (output size, loop iterations,
// evaluation steps, recursion) so hostile templates end in an s1::Error
// instead of exhausting memory or time. Every error names the template and
// the line ("chat template:12: unknown filter 'foo'").
//
// Not supported: {% raw %}, {% include/extends/import/block %}, recursive
// loops, *args/**kwargs in calls, Python tuples as a distinct type (they are
// lists), and non-ASCII case mapping in upper/lower/title.
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tokenizer/jinja_value.h"

namespace s1::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t(16) << 20;  // also caps any single string built
  int64_t max_loop_iterations = 1'000'000;     // summed over all loops (and range() sizes)
  int64_t max_steps = 20'000'000;              // expression and statement evaluations
  int max_depth = 256;                         // nested evaluation incl. macro calls
};

struct RenderOptions {
  RenderLimits limits;
  // The time strftime_now() formats (UTC); unset means the current time.
  std::optional<std::time_t> now;
};

struct Stmt;

class Template {
 public:
  // Parses `source`; s1::Error on syntax errors. `name` prefixes messages.
  explicit Template(std::string_view source, std::string name = "template");
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // `context` is a dict of the template's variables. Errors (including
  // raise_exception from the template) throw s1::Error.
  std::string render(const Value& context, const RenderOptions& options = {}) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

}  // namespace s1::jinja
