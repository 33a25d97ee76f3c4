// The Tensor Program IR: a flat, immutable SSA program over the NETSOR⊤ op set (ops.def).
//
// Glossary (TP4 = Yang & Hu 2021, §7 and App. F; TP3 = NETSOR⊤):
//   width n       the common length of every vector; matrices are n×n.
//   InitVector    an initial vector whose coordinates are iid draws of a jointly Gaussian group (ZInit).
//   InitMatrix    W with iid entries N(0, σ_W²/n).
//   MatMul        W x or Wᵀ x (NETSOR⊤ allows transposes). In the limit Z^{Wx} = Ẑ^{Wx} + Ż^{Wx}
//                 (ZHat: the Gaussian part; ZDot: the correction from earlier Wᵀ uses, TP4 Def. 7.3).
//   Nonlin        y = φ(x_1..x_k; θ_1..θ_l): a coordinatewise expression over vectors x and scalars θ.
//   Moment        θ = (1/n) Σ_α φ(x_α; θ): a scalar, "avg(...)" in the language.
//   OuterNonlin   y_α = (1/n) Σ_β ψ(x_α; x'_β; θ): TP4b's outer nonlinearity (NE⊗OR⊤, Yang & Littwin 2023,
//                 "Tensor Programs IVb", arXiv 2308.01814). Operands flagged `column` enter with the summed index β, the
//                 others with α; Adam's update of a matrix applied to a vector, ΔW x, is one (O(n²) to evaluate).
//   ScalarExpr    arithmetic over scalars (constants included).
//   WidthPower    the scalar n^e, e rational: a width-dependent factor kept explicit so one program runs at
//                 finite width (its value) and in the limit (0 for e < 0, 1 for e = 0, unbounded for e > 0).
// Values are numbered in definition order; an op's operands always precede it.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tp/expr.h"
#include "tp/source_range.h"

namespace tp {

enum class Op : std::uint8_t {
#define TP_OP(name, spelling, kind) name,
#include "tp/ops.def"
#undef TP_OP
};

enum class ValueKind : std::uint8_t { Vector, Matrix, Scalar };

std::string_view op_spelling(Op op);
ValueKind op_result_kind(Op op);
std::string_view kind_name(ValueKind k);  ///< "vector", "matrix", "scalar"

using ValueId = std::int32_t;

/// One SSA value. Fields beyond op/kind/name/range are meaningful only for the ops noted.
struct Value {
  Op op{};
  ValueKind kind{};
  std::string name;              ///< unique within the program
  SourceRange range;             ///< where the user wrote it (invalid for generated values)
  std::vector<ValueId> operands; ///< MatMul: {matrix, vector}; Nonlin/Moment/ScalarExpr: expression args
  ExprPtr expr;                  ///< Nonlin, Moment, ScalarExpr: the expression over the operands
  bool transposed = false;       ///< MatMul: Wᵀ x
  double variance = 0.0;         ///< InitMatrix: σ², entries ~ N(0, σ²/n)
  int group = -1;                ///< InitVector: index into Program::input_groups()
  int index_in_group = -1;       ///< InitVector: row/column in the group's covariance
  std::int64_t width_num = 0;    ///< WidthPower: the exponent e = width_num / width_den (lowest terms)
  std::int64_t width_den = 1;    ///< WidthPower: > 0
  std::vector<bool> column;      ///< OuterNonlin: per operand, true if it is a column (β-indexed) vector
};

/// A set of initial vectors whose coordinates are iid draws of N(0, covariance).
struct InputGroup {
  std::vector<ValueId> members;
  Eigen::MatrixXd covariance;  ///< symmetric positive semidefinite, members.size() square
  SourceRange range;
};

/// A named scalar the program reports.
struct Output {
  std::string name;
  ValueId value = -1;
  SourceRange range;
};

/// An immutable, verified Tensor Program. Build one with ProgramBuilder.
class Program {
 public:
  const std::vector<Value>& values() const { return values_; }
  const Value& value(ValueId id) const { return values_.at(static_cast<std::size_t>(id)); }
  std::size_t size() const { return values_.size(); }
  const std::vector<InputGroup>& input_groups() const { return groups_; }
  const std::vector<Output>& outputs() const { return outputs_; }
  /// Finds a value by name; returns -1 if there is none.
  ValueId find(std::string_view name) const;
  /// n^e for a WidthPower value at width n.
  static double width_power(const Value& v, double n);
  /// True if some MatMul uses a transpose (a NETSOR⊤ program, not plain NETSOR).
  bool uses_transpose() const;
  /// "" for a NETSOR⊤ program; else why the limit routes (Master Theorem of TP4 by quadrature, Monte Carlo
  /// or exactly) cannot evaluate it: it has TP4b's outer nonlinearity (the value named), whose limit is TP4b's
  /// NE⊗OR⊤ Master Theorem, which tpc does not evaluate (it runs at finite width: `tpc run`).
  std::string outer_nonlin_refusal() const;

 private:
  friend class ProgramBuilder;
  std::vector<Value> values_;
  std::vector<InputGroup> groups_;
  std::vector<Output> outputs_;
};

}  // namespace tp
