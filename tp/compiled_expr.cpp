// Bytecode compilation and vectorised evaluation of expressions. See compiled_expr.h.
#include "tp/compiled_expr.h"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <variant>

namespace tp {

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

}  // namespace

double apply_function(Function f, double x) {
  switch (f) {
    case Function::relu: return x > 0 ? x : 0.0;
    case Function::step: return x > 0 ? 1.0 : 0.0;
    case Function::tanh: return std::tanh(x);
    case Function::erf: return std::erf(x);
    case Function::gelu: return 0.5 * x * std::erfc(-x * kInvSqrt2);
    case Function::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Function::sin: return std::sin(x);
    case Function::cos: return std::cos(x);
    case Function::exp: return std::exp(x);
    case Function::log: return std::log(x);
    case Function::sqrt: return std::sqrt(x);
    case Function::abs: return std::abs(x);
    case Function::sign: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
    case Function::normcdf: return 0.5 * std::erfc(-x * kInvSqrt2);
    case Function::normpdf: return kInvSqrt2Pi * std::exp(-0.5 * x * x);
  }
  return std::nan("");
}

Eigen::ArrayXd apply_function(Function f, const Eigen::ArrayXd& x) {
  switch (f) {
    case Function::relu: return x.max(0.0);
    case Function::step: return (x > 0.0).cast<double>();
    case Function::tanh: return x.tanh();
    case Function::sin: return x.sin();
    case Function::cos: return x.cos();
    case Function::exp: return x.exp();
    case Function::log: return x.log();
    case Function::sqrt: return x.sqrt();
    case Function::abs: return x.abs();
    case Function::sigmoid: return 1.0 / (1.0 + (-x).exp());
    case Function::normpdf: return kInvSqrt2Pi * (-0.5 * x.square()).exp();
    case Function::erf:
    case Function::gelu:
    case Function::sign:
    case Function::normcdf: return x.unaryExpr([f](double v) { return apply_function(f, v); });
  }
  return x;
}

CompiledExpr::CompiledExpr(const ExprPtr& e, std::vector<bool> arg_is_vector)
    : arg_is_vector_(std::move(arg_is_vector)) {
  std::unordered_map<const Expr*, int> memo;
  emit(e, memo);
}

int CompiledExpr::emit(const ExprPtr& e, std::unordered_map<const Expr*, int>& memo) {
  if (auto it = memo.find(e.get()); it != memo.end()) return it->second;
  Instr in{};
  switch (e->kind) {
    case ExprKind::Const:
      in.op = OpCode::Const;
      in.scalar = true;
      in.value = e->value;
      break;
    case ExprKind::Arg:
      if (e->arg < 0 || e->arg >= static_cast<int>(arg_is_vector_.size()))
        throw std::logic_error("tp::CompiledExpr: bug: argument index out of range");
      in.op = OpCode::Arg;
      in.a = e->arg;
      in.scalar = !arg_is_vector_[e->arg];
      break;
    case ExprKind::Neg:
    case ExprKind::Call:
      in.op = e->kind == ExprKind::Neg ? OpCode::Neg : OpCode::Call;
      in.fn = e->fn;
      in.a = emit(e->lhs, memo);
      in.scalar = code_[in.a].scalar;
      break;
    case ExprKind::Pow:
      in.a = emit(e->lhs, memo);
      if (is_const(e->rhs, 2)) {
        in.op = OpCode::Square;
        in.scalar = code_[in.a].scalar;
        break;
      }
      in.op = OpCode::Pow;
      in.b = emit(e->rhs, memo);
      in.scalar = code_[in.a].scalar && code_[in.b].scalar;
      break;
    case ExprKind::Add:
    case ExprKind::Sub:
    case ExprKind::Mul:
    case ExprKind::Div:
      in.op = e->kind == ExprKind::Add   ? OpCode::Add
              : e->kind == ExprKind::Sub ? OpCode::Sub
              : e->kind == ExprKind::Mul ? OpCode::Mul
                                         : OpCode::Div;
      in.a = emit(e->lhs, memo);
      in.b = emit(e->rhs, memo);
      in.scalar = code_[in.a].scalar && code_[in.b].scalar;
      break;
  }
  code_.push_back(in);
  memo.emplace(e.get(), static_cast<int>(code_.size()) - 1);
  return static_cast<int>(code_.size()) - 1;
}

namespace {

// A register holds either a scalar or an array; binary ops broadcast scalars.
using Reg = std::variant<double, Eigen::ArrayXd>;

template <class F>
Reg binary(const Reg& x, const Reg& y, F f) {
  if (auto xs = std::get_if<double>(&x)) {
    if (auto ys = std::get_if<double>(&y)) return f(*xs, *ys);
    const auto& ya = std::get<Eigen::ArrayXd>(y);
    return Eigen::ArrayXd(f(Eigen::ArrayXd::Constant(ya.size(), *xs), ya));
  }
  const auto& xa = std::get<Eigen::ArrayXd>(x);
  if (auto ys = std::get_if<double>(&y)) return Eigen::ArrayXd(f(xa, Eigen::ArrayXd::Constant(xa.size(), *ys)));
  return Eigen::ArrayXd(f(xa, std::get<Eigen::ArrayXd>(y)));
}

double pow_scalar(double a, double b) { return std::pow(a, b); }

}  // namespace

Eigen::ArrayXd CompiledExpr::eval(std::span<const ExprInput> inputs, Eigen::Index m) const {
  std::vector<Reg> regs(code_.size());
  for (std::size_t k = 0; k < code_.size(); ++k) {
    const Instr& in = code_[k];
    Reg& out = regs[k];
    switch (in.op) {
      case OpCode::Const: out = in.value; break;
      case OpCode::Arg: {
        const ExprInput& x = inputs[in.a];
        if (x.array) {
          if (x.array->size() != m) throw std::logic_error("tp::CompiledExpr: bug: operand size mismatch");
          out = *x.array;
        } else {
          out = x.scalar;
        }
        break;
      }
      case OpCode::Neg:
        if (auto s = std::get_if<double>(&regs[in.a])) out = -*s;
        else out = Eigen::ArrayXd(-std::get<Eigen::ArrayXd>(regs[in.a]));
        break;
      case OpCode::Square:
        if (auto s = std::get_if<double>(&regs[in.a])) out = *s * *s;
        else out = Eigen::ArrayXd(std::get<Eigen::ArrayXd>(regs[in.a]).square());
        break;
      case OpCode::Call:
        if (auto s = std::get_if<double>(&regs[in.a])) out = apply_function(in.fn, *s);
        else out = apply_function(in.fn, std::get<Eigen::ArrayXd>(regs[in.a]));
        break;
      case OpCode::Add: out = binary(regs[in.a], regs[in.b], [](const auto& p, const auto& q) { return p + q; }); break;
      case OpCode::Sub: out = binary(regs[in.a], regs[in.b], [](const auto& p, const auto& q) { return p - q; }); break;
      case OpCode::Mul: out = binary(regs[in.a], regs[in.b], [](const auto& p, const auto& q) { return p * q; }); break;
      case OpCode::Div: out = binary(regs[in.a], regs[in.b], [](const auto& p, const auto& q) { return p / q; }); break;
      case OpCode::Pow:
        out = binary(regs[in.a], regs[in.b], [](const auto& p, const auto& q) {
          if constexpr (std::is_same_v<std::decay_t<decltype(p)>, double>) return pow_scalar(p, q);
          else return p.pow(q);
        });
        break;
    }
  }
  if (regs.empty()) return Eigen::ArrayXd::Zero(m);
  if (auto s = std::get_if<double>(&regs.back())) return Eigen::ArrayXd::Constant(m, *s);
  return std::move(std::get<Eigen::ArrayXd>(regs.back()));
}

double CompiledExpr::eval_scalar(std::span<const double> inputs) const {
  std::vector<ExprInput> in(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) in[i].scalar = inputs[i];
  for (std::size_t i = 0; i < arg_is_vector_.size(); ++i)
    if (arg_is_vector_[i]) throw std::logic_error("tp::CompiledExpr::eval_scalar: bug: array operand");
  return eval(in, 1)(0);
}

}  // namespace tp
