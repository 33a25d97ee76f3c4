// Expression trees: construction with constant folding, symbolic derivatives, printing. See expr.h.
#include "tp/expr.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <set>
#include <stdexcept>

namespace tp {

namespace {

struct FunctionInfo {
  Function fn;
  const char* spelling;
  const char* doc;
};

const FunctionInfo kFunctions[] = {
#define TP_FUNCTION(name, spelling, doc) {Function::name, spelling, doc},
#include "tp/functions.def"
#undef TP_FUNCTION
};

ExprPtr make(ExprKind k, ExprPtr a, ExprPtr b = nullptr) {
  auto e = std::make_shared<Expr>(k);
  e->lhs = std::move(a);
  e->rhs = std::move(b);
  return e;
}

bool is_constant(const ExprPtr& e) { return e->kind == ExprKind::Const; }

double fold_call(Function f, double x);

// Precedence levels used by the printer (higher binds tighter); matches the parser's grammar.
int precedence(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Add:
    case ExprKind::Sub: return 1;
    case ExprKind::Mul:
    case ExprKind::Div: return 2;
    case ExprKind::Neg: return 3;
    case ExprKind::Pow: return 4;
    case ExprKind::Const: return e.value < 0 || std::signbit(e.value) ? 3 : 5;
    case ExprKind::Arg:
    case ExprKind::Call: return 5;
  }
  return 5;
}

void print(const ExprPtr& e, const std::vector<std::string>& names, int min_prec, std::string& out) {
  const bool paren = precedence(*e) < min_prec;
  if (paren) out += '(';
  switch (e->kind) {
    case ExprKind::Const: out += format_number(e->value); break;
    case ExprKind::Arg:
      out += e->arg < static_cast<int>(names.size()) ? names[e->arg] : "_arg" + std::to_string(e->arg);
      break;
    case ExprKind::Neg:
      out += '-';
      print(e->lhs, names, 3, out);
      break;
    case ExprKind::Add:
    case ExprKind::Sub:
      print(e->lhs, names, 1, out);
      out += e->kind == ExprKind::Add ? " + " : " - ";
      print(e->rhs, names, 2, out);
      break;
    case ExprKind::Mul:
    case ExprKind::Div:
      print(e->lhs, names, 2, out);
      out += e->kind == ExprKind::Mul ? " * " : " / ";
      print(e->rhs, names, 3, out);
      break;
    case ExprKind::Pow:
      print(e->lhs, names, 5, out);
      out += '^';
      print(e->rhs, names, 4, out);
      break;
    case ExprKind::Call:
      out += function_spelling(e->fn);
      out += '(';
      print(e->lhs, names, 0, out);
      out += ')';
      break;
  }
  if (paren) out += ')';
}

}  // namespace

const char* function_spelling(Function f) { return kFunctions[static_cast<int>(f)].spelling; }
const char* function_description(Function f) { return kFunctions[static_cast<int>(f)].doc; }

const std::vector<Function>& all_functions() {
  static const std::vector<Function> all = [] {
    std::vector<Function> v;
    for (const auto& info : kFunctions) v.push_back(info.fn);
    return v;
  }();
  return all;
}

bool function_from_spelling(const std::string& s, Function& out) {
  for (const auto& info : kFunctions)
    if (s == info.spelling) {
      out = info.fn;
      return true;
    }
  return false;
}

ExprPtr constant(double v) {
  auto e = std::make_shared<Expr>(ExprKind::Const);
  e->value = v;
  return e;
}

ExprPtr argument(int index) {
  auto e = std::make_shared<Expr>(ExprKind::Arg);
  e->arg = index;
  return e;
}

bool is_const(const ExprPtr& e, double v) { return e->kind == ExprKind::Const && e->value == v; }

ExprPtr neg(ExprPtr a) {
  if (is_constant(a)) return constant(-a->value);
  if (a->kind == ExprKind::Neg) return a->lhs;
  return make(ExprKind::Neg, std::move(a));
}

ExprPtr add(ExprPtr a, ExprPtr b) {
  if (is_constant(a) && is_constant(b)) return constant(a->value + b->value);
  if (is_const(a, 0)) return b;
  if (is_const(b, 0)) return a;
  return make(ExprKind::Add, std::move(a), std::move(b));
}

ExprPtr sub(ExprPtr a, ExprPtr b) {
  if (is_constant(a) && is_constant(b)) return constant(a->value - b->value);
  if (is_const(b, 0)) return a;
  if (is_const(a, 0)) return neg(std::move(b));
  return make(ExprKind::Sub, std::move(a), std::move(b));
}

ExprPtr mul(ExprPtr a, ExprPtr b) {
  if (is_constant(a) && is_constant(b)) return constant(a->value * b->value);
  if (is_const(a, 0) || is_const(b, 0)) return constant(0);
  if (is_const(a, 1)) return b;
  if (is_const(b, 1)) return a;
  if (is_const(a, -1)) return neg(std::move(b));
  if (is_const(b, -1)) return neg(std::move(a));
  return make(ExprKind::Mul, std::move(a), std::move(b));
}

ExprPtr div(ExprPtr a, ExprPtr b) {
  if (is_constant(a) && is_constant(b) && b->value != 0) return constant(a->value / b->value);
  if (is_const(b, 1)) return a;
  if (is_const(a, 0) && is_constant(b) && b->value != 0) return constant(0);
  return make(ExprKind::Div, std::move(a), std::move(b));
}

ExprPtr pow(ExprPtr a, ExprPtr b) {
  if (is_constant(a) && is_constant(b)) return constant(std::pow(a->value, b->value));
  if (is_const(b, 1)) return a;
  if (is_const(b, 0)) return constant(1);
  return make(ExprKind::Pow, std::move(a), std::move(b));
}

ExprPtr call(Function f, ExprPtr a) {
  if (is_constant(a)) {
    const double v = fold_call(f, a->value);
    if (std::isfinite(v)) return constant(v);
  }
  auto e = make(ExprKind::Call, std::move(a));
  std::const_pointer_cast<Expr>(e)->fn = f;
  return e;
}

namespace {

ExprPtr balanced_sum(const std::vector<ExprPtr>& terms, std::size_t begin, std::size_t end) {
  if (end - begin == 1) return terms[begin];
  const std::size_t mid = begin + (end - begin) / 2;
  return add(balanced_sum(terms, begin, mid), balanced_sum(terms, mid, end));
}

}  // namespace

ExprPtr balanced_sum(const std::vector<ExprPtr>& terms) {
  return terms.empty() ? nullptr : balanced_sum(terms, 0, terms.size());
}

namespace {

double fold_call(Function f, double x) {
  switch (f) {
    case Function::relu: return x > 0 ? x : 0.0;
    case Function::step: return x > 0 ? 1.0 : 0.0;
    case Function::tanh: return std::tanh(x);
    case Function::erf: return std::erf(x);
    case Function::gelu: return 0.5 * x * std::erfc(-x / std::numbers::sqrt2);
    case Function::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Function::sin: return std::sin(x);
    case Function::cos: return std::cos(x);
    case Function::exp: return std::exp(x);
    case Function::log: return std::log(x);
    case Function::sqrt: return std::sqrt(x);
    case Function::abs: return std::abs(x);
    case Function::sign: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
    case Function::normcdf: return 0.5 * std::erfc(-x / std::numbers::sqrt2);
    case Function::normpdf: return std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
  }
  return std::nan("");
}

void collect_arguments(const ExprPtr& e, std::set<int>& out) {
  if (!e) return;
  if (e->kind == ExprKind::Arg) out.insert(e->arg);
  collect_arguments(e->lhs, out);
  collect_arguments(e->rhs, out);
}

// d/dx f(x) as an expression in the argument x of the call.
ExprPtr call_derivative(Function f, const ExprPtr& x, const ExprPtr& self) {
  switch (f) {
    case Function::relu: return call(Function::step, x);
    case Function::step: return constant(0);
    case Function::tanh: return sub(constant(1), pow(self, constant(2)));
    case Function::erf:
      return mul(constant(2 / std::sqrt(std::numbers::pi)), call(Function::exp, neg(pow(x, constant(2)))));
    case Function::gelu: return add(call(Function::normcdf, x), mul(x, call(Function::normpdf, x)));
    case Function::sigmoid: return mul(self, sub(constant(1), self));
    case Function::sin: return call(Function::cos, x);
    case Function::cos: return neg(call(Function::sin, x));
    case Function::exp: return self;
    case Function::log: return div(constant(1), x);
    case Function::sqrt: return div(constant(0.5), self);
    case Function::abs: return call(Function::sign, x);
    case Function::sign: return constant(0);
    case Function::normcdf: return call(Function::normpdf, x);
    case Function::normpdf: return neg(mul(x, self));
  }
  return constant(0);
}

}  // namespace

Parity parity_product(Parity a, Parity b) {
  if (a == Parity::neither || b == Parity::neither) return Parity::neither;
  return a == b ? Parity::even : Parity::odd;
}

Parity parity(const ExprPtr& e, const std::vector<Parity>& args) {
  switch (e->kind) {
    case ExprKind::Const: return Parity::even;
    case ExprKind::Arg:
      return e->arg >= 0 && e->arg < static_cast<int>(args.size()) ? args[static_cast<std::size_t>(e->arg)] : Parity::neither;
    case ExprKind::Neg: return parity(e->lhs, args);
    case ExprKind::Add:
    case ExprKind::Sub: {
      const Parity a = parity(e->lhs, args), b = parity(e->rhs, args);
      return a == b ? a : Parity::neither;
    }
    case ExprKind::Mul:
    case ExprKind::Div: return parity_product(parity(e->lhs, args), parity(e->rhs, args));
    case ExprKind::Pow: {
      const Parity base = parity(e->lhs, args);
      if (base == Parity::even && parity(e->rhs, args) == Parity::even) return Parity::even;
      if (base != Parity::odd || e->rhs->kind != ExprKind::Const || e->rhs->value != std::floor(e->rhs->value))
        return Parity::neither;
      return std::fmod(e->rhs->value, 2.0) == 0 ? Parity::even : Parity::odd;
    }
    case ExprKind::Call: {
      const Parity a = parity(e->lhs, args);
      if (a != Parity::odd) return a;
      switch (e->fn) {
        case Function::tanh:
        case Function::erf:
        case Function::sin:
        case Function::sign: return Parity::odd;
        case Function::cos:
        case Function::abs:
        case Function::normpdf: return Parity::even;
        case Function::relu:
        case Function::step:
        case Function::gelu:
        case Function::sigmoid:
        case Function::exp:
        case Function::log:
        case Function::sqrt:
        case Function::normcdf: return Parity::neither;
      }
      return Parity::neither;
    }
  }
  return Parity::neither;
}

int max_argument(const ExprPtr& e) {
  std::set<int> s;
  collect_arguments(e, s);
  return s.empty() ? -1 : *s.rbegin();
}

std::vector<int> arguments_used(const ExprPtr& e) {
  std::set<int> s;
  collect_arguments(e, s);
  return {s.begin(), s.end()};
}

ExprPtr substitute(const ExprPtr& e, const std::vector<ExprPtr>& subs) {
  switch (e->kind) {
    case ExprKind::Const: return e;
    case ExprKind::Arg:
      if (e->arg < 0 || e->arg >= static_cast<int>(subs.size()) || !subs[e->arg])
        throw std::logic_error("tp::substitute: no substitution for argument " + std::to_string(e->arg));
      return subs[e->arg];
    case ExprKind::Neg: return neg(substitute(e->lhs, subs));
    case ExprKind::Add: return add(substitute(e->lhs, subs), substitute(e->rhs, subs));
    case ExprKind::Sub: return sub(substitute(e->lhs, subs), substitute(e->rhs, subs));
    case ExprKind::Mul: return mul(substitute(e->lhs, subs), substitute(e->rhs, subs));
    case ExprKind::Div: return div(substitute(e->lhs, subs), substitute(e->rhs, subs));
    case ExprKind::Pow: return pow(substitute(e->lhs, subs), substitute(e->rhs, subs));
    case ExprKind::Call: return call(e->fn, substitute(e->lhs, subs));
  }
  return e;
}

ExprPtr remap_arguments(const ExprPtr& e, const std::vector<int>& mapping) {
  std::vector<ExprPtr> subs(mapping.size());
  for (std::size_t i = 0; i < mapping.size(); ++i)
    if (mapping[i] >= 0) subs[i] = argument(mapping[i]);
  return substitute(e, subs);
}

ExprPtr derivative(const ExprPtr& e, int i) {
  switch (e->kind) {
    case ExprKind::Const: return constant(0);
    case ExprKind::Arg: return constant(e->arg == i ? 1 : 0);
    case ExprKind::Neg: return neg(derivative(e->lhs, i));
    case ExprKind::Add: return add(derivative(e->lhs, i), derivative(e->rhs, i));
    case ExprKind::Sub: return sub(derivative(e->lhs, i), derivative(e->rhs, i));
    case ExprKind::Mul:
      return add(mul(derivative(e->lhs, i), e->rhs), mul(e->lhs, derivative(e->rhs, i)));
    case ExprKind::Div: {
      // (a/b)' = a'/b - a b' / b^2
      auto da = derivative(e->lhs, i), db = derivative(e->rhs, i);
      return sub(div(da, e->rhs), div(mul(e->lhs, db), pow(e->rhs, constant(2))));
    }
    case ExprKind::Pow: {
      auto da = derivative(e->lhs, i), db = derivative(e->rhs, i);
      ExprPtr out = constant(0);
      if (!is_const(da, 0)) {
        // b a^(b-1) a'
        out = mul(mul(e->rhs, pow(e->lhs, sub(e->rhs, constant(1)))), da);
      }
      if (!is_const(db, 0)) {
        // a^b log(a) b'
        out = add(out, mul(mul(e, call(Function::log, e->lhs)), db));
      }
      return out;
    }
    case ExprKind::Call: {
      auto dx = derivative(e->lhs, i);
      if (is_const(dx, 0)) return constant(0);
      return mul(call_derivative(e->fn, e->lhs, e), dx);
    }
  }
  return constant(0);
}

bool equal(const ExprPtr& a, const ExprPtr& b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case ExprKind::Const: return a->value == b->value || (std::isnan(a->value) && std::isnan(b->value));
    case ExprKind::Arg: return a->arg == b->arg;
    case ExprKind::Call: return a->fn == b->fn && equal(a->lhs, b->lhs);
    default: return equal(a->lhs, b->lhs) && equal(a->rhs, b->rhs);
  }
}

std::string to_string(const ExprPtr& e, const std::vector<std::string>& names) {
  std::string out;
  print(e, names, 0, out);
  return out;
}

std::string format_number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "nan";
  return std::string(buf, end);
}

}  // namespace tp
