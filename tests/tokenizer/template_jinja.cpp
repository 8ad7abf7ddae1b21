// Unit tests of the Jinja interpreter on small templates. Expected strings
// were checked against Python's Jinja2 3.1 configured as transformers does
// (trim_blocks, lstrip_blocks, loopcontrols, json.dumps-based tojson).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/jinja.h"
#include "util/error.h"

namespace {

using s1::jinja::RenderOptions;
using s1::jinja::Template;

nlohmann::json default_context() {
  return nlohmann::json::parse(R"({
    "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello <b>!"}],
    "name": "Ann", "n": 3, "d": {"a": 1, "b": [1, 2.5, null, true]}})");
}

std::string render(const std::string& source, const nlohmann::json& context = default_context(),
                   const RenderOptions& options = {}) {
  return Template(source, "t").render(s1::jinja::from_json(context), options);
}

std::string error_of(const std::string& source, const RenderOptions& options = {}) {
  try {
    render(source, default_context(), options);
  } catch (const s1::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TemplateJinja, LoopVariables) {
  EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/"
                   "{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}"),
            "1/0/3/2/True/False/3 2/1/2/1/False/False/3 3/2/1/0/False/True/3 ");
  EXPECT_EQ(render("{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}"),
            "2242");
  EXPECT_EQ(render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(
      render("{% for a, b in [[1,2],[3,4]] %}{{ a }}{{ b }}{% endfor %}|{% for k in d %}{{ k }}{% endfor %}"),
      "1234|ab");
  EXPECT_EQ(render("{% for a in [1] %}{{ loop.previtem is defined }}{{ loop.nextitem is defined }}"
                   "{{ loop.cycle('x','y') }}{% endfor %}"),
            "FalseFalsex");
  EXPECT_EQ(render("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}"
                   "{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
            "0134");
}

TEST(TemplateJinja, ScopingAndNamespace) {
  // A set inside a loop body lasts one iteration; namespace() carries state out.
  EXPECT_EQ(render("{% set x = 5 %}{% for i in [1,2] %}{{ x }}{% set x = i %}{% endfor %}|{{ x }}"), "55|5");
  EXPECT_EQ(render("{% if true %}{% set y = 3 %}{% endif %}{{ y }}"), "3");
  EXPECT_EQ(render("{% set ns = namespace(total=0) %}{% for x in range(5) %}{% set ns.total = ns.total + x %}"
                   "{% endfor %}{{ ns.total }}"),
            "10");
  EXPECT_EQ(render("{% set ns = namespace(items=[]) %}{% for m in messages %}"
                   "{% set ns.items = ns.items + [m.role] %}{% endfor %}{{ ns.items }}"),
            "['user', 'assistant']");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}block {{ name }}{% endset %}[{{ t }}]"),
            "12[block Ann]");
  EXPECT_NE(error_of("{% set d.a = 1 %}").find("only namespace() objects"), std::string::npos);
}

TEST(TemplateJinja, MacrosAndCall) {
  EXPECT_EQ(render("{% macro greet(who, punct='!') %}Hello {{ who }}{{ punct }}{% endmacro %}"
                   "{{ greet('Bob') }} {{ greet('Al', punct='?') }} {{ greet(who='Z') }}"),
            "Hello Bob! Hello Al? Hello Z!");
  EXPECT_EQ(
      render("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside {{ name }}{% endcall %}"),
      "[inside Ann]");
  EXPECT_EQ(render("{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(3) }}"),
            "321");
  EXPECT_EQ(render("{% filter upper %}hello {{ name }}{% endfilter %}"), "HELLO ANN");
}

TEST(TemplateJinja, Filters) {
  EXPECT_EQ(render("{{ '  hi  ' | trim }}|{{ [1,2,3] | length }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|"
                   "{{ 'a-b' | replace('-', '+') }}|{{ [1,2] | join(', ') }}|{{ nope | default('dflt') }}|"
                   "{{ [4,5] | first }}|{{ [4,5] | last }}"),
            "hi|3|ABC|abc|a+b|1, 2|dflt|4|5");
  EXPECT_EQ(
      render("{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|"
             "{{ messages | rejectattr('role', 'equalto', 'user') | list | length }}|"
             "{{ [1,2,3,4] | select('odd') | list }}|{{ messages | map(attribute='role') | list }}"),
      "Hi|1|[1, 3]|['user', 'assistant']");
  EXPECT_EQ(
      render("{{ '42' | int + 1 }}|{{ 'x' | int }}|{{ '3.7' | int }}|{{ 3.9 | int }}|{{ '2.5' | float }}|"
             "{{ 'hello world' | capitalize }}|{{ 'hello world' | title }}|{{ 5 | string }}|"
             "{{ [3,1,2] | sort }}|{{ [1,1,2] | unique | list }}|{{ -3 | abs }}|{{ d | items | list }}"),
      "43|0|3|3|2.5|Hello world|Hello World|5|[1, 2, 3]|[1, 2]|3|[('a', 1), ('b', [1, 2.5, None, True])]");
  EXPECT_EQ(render("{{ [1,2,3] | map('string') | join('-') }}|{{ 'line1\\nline2' | indent(2) }}|"
                   "{{ '' | default('E', true) }}|{{ 'héllo' | length }}|{{ 'héllo' | reverse }}"),
            "1-2-3|line1\n  line2|E|5|olléh");
}

TEST(TemplateJinja, ToJsonMatchesPythonJsonDumps) {
  EXPECT_EQ(render("{{ d | tojson }}"), R"({"a": 1, "b": [1, 2.5, null, true]})");
  EXPECT_EQ(render("{{ d | tojson(indent=2) }}"),
            "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2.5,\n    null,\n"
            "    true\n  ]\n}");
  EXPECT_EQ(
      render("{{ 'é\\n\"x\"' | tojson }}|{{ {} | tojson }}|{{ [] | tojson(indent=4) }}|{{ 3.0 | tojson }}"),
      "\"é\\n\\\"x\\\"\"|{}|[]|3.0");
}

// DeepSeek-V3.2's from_json (json.loads where transformers users add it).
TEST(TemplateJinja, FromJsonParsesAJsonString) {
  EXPECT_EQ(render(R"({{ ('{"city": "Paris", "days": [1, 2]}' | from_json).days[1] }})"), "2");
  EXPECT_EQ(render(R"({% for k, v in ('{"b": 1, "a": true}' | from_json).items() %}{{ k }}={{ v }};{% endfor %})"),
            "b=1;a=True;");
  EXPECT_EQ(error_of("{{ 'not json' | from_json }}"), "t:1: from_json: not valid JSON: 'not json'");
  EXPECT_EQ(error_of("{{ 3 | from_json }}"), "t:1: from_json: expects a string, not 'int'");
}

TEST(TemplateJinja, PythonValueRendering) {
  EXPECT_EQ(render("{{ [1, 'a', none, true, 2.5] }}|{{ {'a': [1, 2], 'b': \"it's\"} }}|{{ none }}|{{ true }}|"
                   "{{ (1, 2) }}|{{ ['a\"b', \"c'd\"] }}"),
            "[1, 'a', None, True, 2.5]|{'a': [1, 2], 'b': \"it's\"}|None|True|(1, 2)|['a\"b', \"c'd\"]");
  EXPECT_EQ(
      render(
          "{{ 1.0 }}|{{ 1e20 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ 0.1 + 0.2 }}|{{ 1/3 }}|{{ 1e16 }}|{{ 1e15 }}"),
      "1.0|1e+20|0.0001|1e-05|0.30000000000000004|0.3333333333333333|1e+16|1000000000000000.0");
}

TEST(TemplateJinja, Operators) {
  EXPECT_EQ(
      render(
          "{{ 10/4 }}|{{ 10//4 }}|{{ -7//2 }}|{{ -7 % 3 }}|{{ 2**10 }}|{{ 7 % -3 }}|{{ 'a' ~ 1 ~ none ~ true "
          "}}|"
          "{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 'x' * 3 }}|{{ [1] + [2] }}|{{ -2 ** 2 }}|{{ (1 + 2) ~ 3 }}"),
      "2.5|2|-4|2|1024|-2|a1NoneTrue|7|9|xxx|[1, 2]|4|33");
  EXPECT_EQ(
      render("{{ not true }}|{{ 1 if false else 2 }}|{{ 'x' if true }}|{{ 1 in [1,2] }}|{{ 3 not in [1,2] }}|"
             "{{ 'b' in 'abc' }}|{{ 'a' in d }}|{{ -n }}|{{ 1 < 2 < 3 }}|{{ 3 > 2 > 5 }}|{{ false or 0 or "
             "'z' }}|"
             "{{ '%s-%d' % ('a', 4) }}|{{ 0x10 }}"),
      "False|2|x|True|True|True|True|-3|True|False|z|a-4|16");
}

TEST(TemplateJinja, Tests) {
  EXPECT_EQ(
      render("{{ name is defined }}|{{ nope is undefined }}|{{ none is none }}|{{ name is string }}|"
             "{{ n is number }}|{{ d is mapping }}|{{ [] is iterable }}|{{ 'x' is sequence }}|{{ true is "
             "true }}|"
             "{{ false is false }}|{{ 3 is odd }}|{{ 4 is even }}|{{ 3 is equalto 3 }}|{{ 3 is eq(4) }}|"
             "{{ 1 is in [1] }}|{{ name is not none }}"),
      "True|True|True|True|True|True|True|True|True|True|True|True|True|False|True|True");
}

TEST(TemplateJinja, StringAndDictMethods) {
  EXPECT_EQ(render("{{ '  a b  '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'xxaxx'.rstrip('x') }}|"
                   "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'abc'.startswith('ab') }}|"
                   "{{ 'abc'.endswith('bc') }}|{{ 'aaa'.replace('a','b', 2) }}|{{ 'hello world'.title() }}|"
                   "{{ '{} and {}'.format(1, 'x') }}|{{ 'a.b.c'.split('.', 1) }}"),
            "a b|axx|xxa|['a', 'b', '', 'c']|['a', 'b']|True|True|bba|Hello World|1 and x|['a', 'b.c']");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{{ d.keys() | list }}|"
                   "{{ d.get('a') }}|{{ d.get('zz', 'dflt') }}|{{ d.get('zz') }}"),
            "a=1;b=[1, 2.5, None, True];|['a', 'b']|1|dflt|None");
}

TEST(TemplateJinja, SlicingAndIndexing) {
  EXPECT_EQ(render("{{ 'hello'[::-1] }}|{{ [1,2,3,4,5][1:4] }}|{{ [1,2,3,4,5][::2] }}|{{ [1,2,3][-1] }}|"
                   "{{ 'abcdef'[-3:] }}|{{ [1,2,3,4,5][4:1:-1] }}|{{ 'xy'[5:] }}|{{ [1,2,3][-100:100] }}|{{ "
                   "'héllo'[1] }}"),
            "olleh|[2, 3, 4]|[1, 3, 5]|3|def|[5, 4, 3]||[1, 2, 3]|é");
  EXPECT_EQ(render("{{ d.a }}|{{ d['b'][1] }}|{{ d.missing }}|{{ d.b.0 }}|{{ messages[0].role }}|"
                   "{{ messages[5] is defined }}"),
            "1|2.5||1|user|False");
}

TEST(TemplateJinja, WhitespaceControl) {
  EXPECT_EQ(render("{% if true %}\n    indented\n{% endif %}\n  after"), "    indented\n  after");
  EXPECT_EQ(render("<div>\n    {% if true %}\n    yes\n    {% endif %}\n</div>"), "<div>\n    yes\n</div>");
  EXPECT_EQ(render("{# comment #}\nline\n  {# indented comment #}\nx"), "line\nx");
  EXPECT_EQ(render("a   {{- name -}}   b {{ name }} c"), "aAnnb Ann c");
  EXPECT_EQ(render("{% for m in messages %}\n{{ m.role }}: {{ m.content }}\n{% endfor %}"),
            "user: Hi\nassistant: Hello <b>!\n");
  EXPECT_EQ(render("{%+ if true %}  keep{% endif +%}\nnext"), "  keep\nnext");
  EXPECT_EQ(render("  {% if true %}x{% endif %}"), "x");
  EXPECT_EQ(render("x {% if true %}\ny{% endif %}"), "x y");
  EXPECT_EQ(render("{{ 'a' }}\n{{ 'b' }}\n"), "a\nb");  // one trailing newline is dropped
  EXPECT_EQ(render("a\r\nb"), "a\nb");
}

TEST(TemplateJinja, UndefinedBehavesLikeJinja) {
  EXPECT_EQ(render("{{ nope }}|{{ nope | length }}|{% for x in nope %}no{% endfor %}|{{ 'a' in nope }}|"
                   "{{ d.missing is defined }}"),
            "|0||False|False");
  EXPECT_NE(error_of("{{ nope.attr }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ d.missing.deeper }}").find("'missing' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ nope + 1 }}").find("'nope' is undefined"), std::string::npos);
}

TEST(TemplateJinja, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("a\n{{ raise_exception('bad thing') }}"), "t:2: bad thing");
  EXPECT_EQ(error_of("\n\n{{ x | nosuchfilter }}"), "t:3: unknown filter 'nosuchfilter'");
  EXPECT_EQ(error_of("{{ x is nosuchtest }}"), "t:1: unknown test 'nosuchtest'");
  // As in Jinja, unknown names are rejected when parsing, even in branches never taken.
  EXPECT_EQ(error_of("{% if false %}\n{{ x | nosuchfilter }}{% endif %}"),
            "t:2: unknown filter 'nosuchfilter'");
  EXPECT_EQ(error_of("{{ foo( }}"), "t:1: unexpected '}'");
  EXPECT_EQ(error_of("ok\n{% if x %}unterminated"), "t:2: 'if' block is never closed (expected 'elif')");
  EXPECT_EQ(error_of("{% endfor %}"), "t:1: unexpected 'endfor' (no open block it closes)");
  EXPECT_EQ(error_of("{{ 'abc"), "t:1: unterminated string literal");
  EXPECT_EQ(error_of("x\n{{ name"), "t:2: unterminated tag ('{{' is never closed with '}}')");
  EXPECT_EQ(error_of("{# never closed"), "t:1: unterminated comment ('{#' is never closed)");
  EXPECT_EQ(error_of("{% include 'x' %}"), "t:1: unknown or unsupported tag 'include'");
  EXPECT_EQ(error_of("{{ 1 / 0 }}"), "t:1: division by zero");
  EXPECT_EQ(error_of("{% for x in 5 %}{% endfor %}"), "t:1: 'int' object is not iterable");
  EXPECT_EQ(error_of("{% break %}"), "t:1: 'break' outside of a for loop");
}

TEST(TemplateJinja, HostileTemplatesHitLimits) {
  RenderOptions small;
  small.limits.max_output_bytes = 1000;
  small.limits.max_loop_iterations = 10000;
  small.limits.max_steps = 100000;
  EXPECT_NE(error_of("{% macro inf() %}{{ inf() }}{% endmacro %}{{ inf() }}").find("nesting deeper than"),
            std::string::npos);
  EXPECT_NE(error_of("{% for i in range(100000) %}{% endfor %}", small).find("loop iterations"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 100000 }}", small).find("output limit"), std::string::npos);
  EXPECT_NE(error_of("{% for i in range(5000) %}xxxxxxxxxx{% endfor %}", small).find("output exceeds"),
            std::string::npos);
  EXPECT_NE(
      error_of("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", small).find("nesting deeper"),
      std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}")
                .find("nested deeper than"),
            std::string::npos);
  std::string deep_ifs;
  for (int i = 0; i < 200; ++i) deep_ifs += "{% if true %}";
  EXPECT_NE(error_of(deep_ifs).find("blocks nested deeper"), std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace() %}{% set ns.self = [ns] %}").find("inside itself"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("integer overflow"), std::string::npos);
}

TEST(TemplateJinja, StrftimeNowUsesTheGivenTime) {
  RenderOptions options;
  options.now = std::time_t(1721952000);  // 2024-07-26 00:00:00 UTC
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y') }}", default_context(), options), "26 Jul 2024");
}

TEST(TemplateJinja, ChatTemplateApiAndChatMLFallback) {
  auto messages =
      nlohmann::json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])");
  EXPECT_EQ(s1::ChatTemplate::chatml().render(messages, true),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(s1::ChatTemplate::chatml().render(messages, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n");
  s1::ChatTemplate t(
      "{{ bos_token }}{{ messages | length }}{{ eos_token }}{{ extra }}{{ add_generation_prompt }}");
  EXPECT_EQ(t.render(messages, false, {{"extra", 7}}, "<s>", "</s>"), "<s>2</s>7False");
  EXPECT_THROW(t.render(nlohmann::json::object(), false), s1::Error);
}

}  // namespace
