// The Jinja evaluator: walks the statement tree with a chain of variable
// frames (a new one per loop iteration and per macro call, as Jinja scopes
// them) and appends to an output buffer.
#include "tokenizer/jinja.h"

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_parser.h"
#include "tokenizer/jinja_runtime.h"
#include "util/error.h"

namespace s1::jinja {
namespace {

struct Frame {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Frame> parent;

  const Value* find(const std::string& name) const {
    for (const Frame* f = this; f; f = f->parent.get())
      for (const auto& [k, v] : f->vars)
        if (k == name) return &v;
    return nullptr;
  }
  void set(const std::string& name, Value value) {
    for (auto& [k, v] : vars) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    vars.emplace_back(name, std::move(value));
  }
};

class Renderer {
 public:
  Renderer(const std::string& name, const RenderOptions& options) : name_(name) { rt_.options = options; }

  std::string run(const Body& body, const Value& context) {
    auto globals = std::make_shared<Frame>();
    for (auto& [k, v] : make_globals(rt_).items) globals->set(k, std::move(v));
    frame_ = std::make_shared<Frame>();
    frame_->parent = globals;
    if (context.is_dict())
      for (const auto& [k, v] : context.dict().items) frame_->set(k, v);
    std::string out;
    out_ = &out;
    try {
      exec_body(body);
    } catch (const Error& e) {
      fail("{}:{}: {}", name_, line_, e.what());
    }
    return out;
  }

 private:
  enum class Flow { normal, break_loop, continue_loop };

  struct DepthGuard {
    explicit DepthGuard(Renderer& r) : r_(r) {
      if (++r_.depth_ > r_.rt_.options.limits.max_depth)
        fail("nesting deeper than {} levels (runaway macro recursion?)", r_.rt_.options.limits.max_depth);
    }
    ~DepthGuard() { --r_.depth_; }
    Renderer& r_;
  };

  // Runs `fn` with `frame` as the current frame, restoring the previous one after.
  template <typename Fn>
  auto with_frame(std::shared_ptr<Frame> frame, Fn fn) {
    struct Restore {
      Renderer& r;
      std::shared_ptr<Frame> saved;
      ~Restore() { r.frame_ = std::move(saved); }
    } restore{*this, std::exchange(frame_, std::move(frame))};
    return fn();
  }

  std::shared_ptr<Frame> child_frame() const {
    auto f = std::make_shared<Frame>();
    f->parent = frame_;
    return f;
  }

  void emit(const std::string& s) {
    if (out_->size() + s.size() > rt_.options.limits.max_output_bytes)
      fail("output exceeds the {}-byte limit", rt_.options.limits.max_output_bytes);
    *out_ += s;
  }

  std::string capture(const Body& body) {
    std::string buffer;
    std::string* saved = std::exchange(out_, &buffer);
    struct Restore {
      std::string*& out;
      std::string* saved;
      ~Restore() { out = saved; }
    } restore{out_, saved};
    exec_body(body);
    return buffer;
  }

  Flow exec_body(const Body& body) {
    for (const auto& stmt : body) {
      Flow flow = exec(*stmt);
      if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
  }

  Flow exec(const Stmt& s) {
    DepthGuard guard(*this);
    rt_.count_step();
    line_ = s.line;
    switch (s.kind) {
      case Stmt::Kind::text:
        emit(s.text);
        break;
      case Stmt::Kind::output:
        emit(to_str(eval(*s.exprs[0])));
        break;
      case Stmt::Kind::if_chain:
        for (size_t i = 0; i < s.exprs.size(); ++i)
          if (eval(*s.exprs[i]).truthy()) return exec_body(s.bodies[i]);
        if (s.bodies.size() > s.exprs.size()) return exec_body(s.bodies.back());
        break;
      case Stmt::Kind::for_loop:
        exec_for(s);
        break;
      case Stmt::Kind::set:
        assign(s.names, eval(*s.exprs[0]));
        break;
      case Stmt::Kind::set_attr: {
        const Value* target = frame_->find(s.names[0]);
        if (!target || !target->is_dict() || !target->dict().is_namespace)
          fail("cannot set attribute '{}' on '{}': only namespace() objects allow it", s.text, s.names[0]);
        Value value = eval(*s.exprs[0]);
        if (reaches(value, target->container_id())) fail("cannot store a namespace inside itself");
        target->dict().set(s.text, std::move(value));
        break;
      }
      case Stmt::Kind::set_block:
        frame_->set(s.names[0], Value(capture(s.bodies[0])));
        break;
      case Stmt::Kind::macro:
        frame_->set(s.text, make_macro(s.text, s, s.bodies[0], frame_));
        break;
      case Stmt::Kind::call_block: {
        Value caller = make_macro("caller", s, s.bodies[0], frame_);
        emit(to_str(eval_call(*s.exprs[0], &caller)));
        break;
      }
      case Stmt::Kind::filter_block: {
        auto frame = child_frame();
        frame->set(kFilterBlockInput, Value(capture(s.bodies[0])));
        emit(to_str(with_frame(frame, [&] { return eval(*s.exprs[0]); })));
        break;
      }
      case Stmt::Kind::scope:
        return exec_body(s.bodies[0]);
      case Stmt::Kind::loop_break:
        return Flow::break_loop;
      case Stmt::Kind::loop_continue:
        return Flow::continue_loop;
      case Stmt::Kind::do_expr:
        eval(*s.exprs[0]);
        break;
    }
    return Flow::normal;
  }

  void assign(const std::vector<std::string>& names, const Value& value) { bind(*frame_, names, value); }

  static void bind(Frame& frame, const std::vector<std::string>& names, const Value& value) {
    if (names.size() == 1) {
      frame.set(names[0], value);
      return;
    }
    List items = iterate(value);
    if (items.size() != names.size())
      fail("cannot unpack {} values into {} names", items.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) frame.set(names[i], items[i]);
  }

  void exec_for(const Stmt& s) {
    List all = iterate(eval(*s.exprs[0]));
    List items;
    if (s.exprs[1]) {
      for (auto& item : all) {
        auto frame = child_frame();
        bind(*frame, s.names, item);
        if (with_frame(frame, [&] { return eval(*s.exprs[1]); }).truthy()) items.push_back(std::move(item));
      }
    } else {
      items = std::move(all);
    }
    rt_.count_iterations(int64_t(items.size()));
    if (items.empty()) {
      exec_body(s.bodies[1]);
      return;
    }
    int64_t n = int64_t(items.size());
    for (int64_t i = 0; i < n; ++i) {
      auto frame = child_frame();
      bind(*frame, s.names, items[size_t(i)]);
      Dict loop;
      loop.set("index", Value(i + 1));
      loop.set("index0", Value(i));
      loop.set("revindex", Value(n - i));
      loop.set("revindex0", Value(n - i - 1));
      loop.set("first", Value(i == 0));
      loop.set("last", Value(i == n - 1));
      loop.set("length", Value(n));
      loop.set("depth", Value(int64_t(1)));
      loop.set("depth0", Value(int64_t(0)));
      loop.set("previtem", i > 0 ? items[size_t(i - 1)] : Value::undefined("previtem"));
      loop.set("nextitem", i + 1 < n ? items[size_t(i + 1)] : Value::undefined("nextitem"));
      loop.set("cycle", Value(std::make_shared<Callable>(
                            Callable{"cycle", [i](CallArgs& args) {
                                       if (args.positional.empty())
                                         fail("loop.cycle() needs at least one value");
                                       return args.positional[size_t(i) % args.positional.size()];
                                     }})));
      frame->set("loop", Value(std::move(loop)));
      Flow flow = with_frame(frame, [&] { return exec_body(s.bodies[0]); });
      if (flow == Flow::break_loop) break;
    }
  }

  // Macros (and a call block's caller) see their definition frame through a
  // weak reference: no reference cycle when a macro is stored in that frame,
  // and a clear error if one outlives it.
  Value make_macro(const std::string& name, const Stmt& s, const Body& body,
                   const std::shared_ptr<Frame>& scope) {
    std::weak_ptr<Frame> weak_scope = scope;
    const Stmt* def = &s;
    const Body* code = &body;
    return Value(std::make_shared<Callable>(Callable{
        name, [this, name, def, code, weak_scope](CallArgs& args) {
          auto scope = weak_scope.lock();
          if (!scope) fail("macro '{}' called after its defining scope ended", name);
          DepthGuard guard(*this);
          auto frame = std::make_shared<Frame>();
          frame->parent = scope;
          // A call block's expression names the callee's arguments in exprs[1..];
          // a macro's defaults sit in exprs[i] for names[i].
          size_t defaults_offset = def->kind == Stmt::Kind::call_block ? 1 : 0;
          const auto& params = def->names;
          if (args.positional.size() > params.size())
            fail("macro '{}' takes {} arguments but got {}", name, params.size(), args.positional.size());
          for (size_t i = 0; i < params.size(); ++i) {
            const Value* given = i < args.positional.size() ? &args.positional[i] : nullptr;
            for (const auto& [k, v] : args.named)
              if (k == params[i]) given = &v;
            if (given) {
              frame->set(params[i], *given);
            } else if (const Expr* fallback = def->exprs.size() > i + defaults_offset
                                                  ? def->exprs[i + defaults_offset].get()
                                                  : nullptr) {
              Value v = with_frame(frame, [&] { return eval(*fallback); });
              frame->set(params[i], std::move(v));
            } else {
              frame->set(params[i], Value::undefined(params[i]));
            }
          }
          for (const auto& [k, v] : args.named) {
            bool known = std::find(params.begin(), params.end(), k) != params.end();
            if (k == "caller")
              frame->set("caller", v);
            else if (!known)
              fail("macro '{}' has no parameter named '{}'", name, k);
          }
          return Value(with_frame(frame, [&] { return capture(*code); }));
        }}));
  }

  Value lookup(const std::string& name) const {
    if (const Value* v = frame_->find(name)) return *v;
    return Value::undefined(name);
  }

  CallArgs eval_arguments(const Expr& e, size_t first) {
    CallArgs args;
    for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i]));
    for (const auto& [k, v] : e.kwargs) args.named.emplace_back(k, eval(*v));
    return args;
  }

  Value eval_call(const Expr& e, const Value* caller = nullptr) {
    const Expr& callee = *e.args[0];
    CallArgs args = eval_arguments(e, 1);
    if (caller) args.named.emplace_back("caller", *caller);
    Value fn;
    if (callee.kind == Expr::Kind::attr) {
      Value object = eval(*callee.args[0]);
      if (object.is_undefined()) fail_undefined(object);
      if (auto result = call_method(rt_, object, callee.name, args)) return *result;
      fn = get_attr(object, callee.name);
    } else {
      fn = eval(callee);
    }
    if (fn.is_undefined()) fail_undefined(fn);
    if (!fn.is_callable()) fail("'{}' object is not callable", fn.type_name());
    // Keep the callable alive while it runs, even if the call rebinds its name.
    auto callable = std::make_shared<Callable>(fn.callable());
    return callable->call(args);
  }

  Value eval(const Expr& e) {
    DepthGuard guard(*this);
    rt_.count_step();
    line_ = e.line;
    switch (e.kind) {
      case Expr::Kind::literal:
        return e.value;
      case Expr::Kind::name:
        return lookup(e.name);
      case Expr::Kind::list:
      case Expr::Kind::tuple: {
        List items;
        for (const auto& item : e.args) items.push_back(eval(*item));
        return e.kind == Expr::Kind::tuple ? Value::tuple(std::move(items)) : Value(std::move(items));
      }
      case Expr::Kind::dict: {
        Dict dict;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value key = eval(*e.args[i]);
          if (!key.is_string()) fail("dict keys must be strings, not '{}'", key.type_name());
          dict.set(key.as_string(), eval(*e.args[i + 1]));
        }
        return Value(std::move(dict));
      }
      case Expr::Kind::attr:
        return get_attr(eval(*e.args[0]), e.name);
      case Expr::Kind::index: {
        Value object = eval(*e.args[0]);
        return get_item(object, eval(*e.args[1]));
      }
      case Expr::Kind::slice: {
        Value object = eval(*e.args[0]);
        auto part = [&](size_t i) { return e.args[i] ? eval(*e.args[i]) : Value::none(); };
        Value start = part(1), stop = part(2), step = part(3);
        return slice(object, start, stop, step);
      }
      case Expr::Kind::call:
        return eval_call(e);
      case Expr::Kind::filter: {
        Value input = eval(*e.args[0]);
        return apply_filter(rt_, e.name, input, eval_arguments(e, 1));
      }
      case Expr::Kind::test: {
        Value input = eval(*e.args[0]);
        bool result = apply_test(rt_, e.name, input, eval_arguments(e, 1));
        return Value(result != e.negated);
      }
      case Expr::Kind::unary: {
        Value v = eval(*e.args[0]);
        if (e.name == "not") return Value(!v.truthy());
        if (e.name == "-") return negate(v);
        if (!v.is_number()) fail("bad operand type for unary +: '{}'", v.type_name());
        return v;
      }
      case Expr::Kind::binary: {
        Value a = eval(*e.args[0]);
        if (e.name == "and") return a.truthy() ? eval(*e.args[1]) : a;
        if (e.name == "or") return a.truthy() ? a : eval(*e.args[1]);
        Value b = eval(*e.args[1]);
        return binary_op(rt_, e.name, a, b);
      }
      case Expr::Kind::compare: {
        Value left = eval(*e.args[0]);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.args[i + 1]);
          if (!binary_op(rt_, e.ops[i], left, right).truthy()) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::ternary:
        if (eval(*e.args[0]).truthy()) return eval(*e.args[1]);
        return e.args[2] ? eval(*e.args[2]) : Value::undefined();
    }
    return Value::undefined();
  }

  const std::string& name_;
  Runtime rt_;
  std::shared_ptr<Frame> frame_;
  std::string* out_ = nullptr;
  int depth_ = 0;
  int line_ = 0;
};

}  // namespace

Template::Template(std::string_view source, std::string name)
    : name_(std::move(name)), body_(std::make_shared<const Body>(parse(tokenize(source, name_), name_))) {}

Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const Value& context, const RenderOptions& options) const {
  return Renderer(name_, options).run(*body_, context);
}

}  // namespace s1::jinja
