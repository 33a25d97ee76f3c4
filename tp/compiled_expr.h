// Expressions compiled to straight-line bytecode over whole arrays (TP4 Def. 7.1 Nonlin/Moment numerics).
//
// Each instruction applies one operation to all m coordinates at once with Eigen array expressions, so
// interpretation costs O(#instructions) per call, not per coordinate. Shared sub-trees (e.g. tanh in
// tanh' = 1 - tanh^2) are computed once. Instructions whose inputs are all scalars stay scalar.
#pragma once

#include <Eigen/Core>
#include <span>
#include <unordered_map>
#include <vector>

#include "tp/expr.h"

namespace tp {

/// One operand of an evaluation: a scalar, or an array of m coordinates (not owned).
struct ExprInput {
  double scalar = 0.0;
  const Eigen::ArrayXd* array = nullptr;  ///< null means scalar
};

class CompiledExpr {
 public:
  /// Compiles e; arg_is_vector[i] says whether operand i is an array (true) or a scalar.
  CompiledExpr(const ExprPtr& e, std::vector<bool> arg_is_vector);

  /// Evaluates at m coordinates. Every array input must have size m; scalar results are broadcast.
  Eigen::ArrayXd eval(std::span<const ExprInput> inputs, Eigen::Index m) const;
  /// Evaluates an expression whose operands are all scalars.
  double eval_scalar(std::span<const double> inputs) const;
  /// True if the result does not depend on any array operand.
  bool is_scalar() const { return code_.empty() ? true : code_.back().scalar; }

 private:
  enum class OpCode : std::uint8_t { Const, Arg, Neg, Add, Sub, Mul, Div, Pow, Square, Call };
  struct Instr {
    OpCode op;
    bool scalar;        // result is a scalar
    Function fn{};      // Call
    int a = -1, b = -1; // register operands (Arg: operand index)
    double value = 0.0; // Const
  };
  int emit(const ExprPtr& e, std::unordered_map<const Expr*, int>& memo);

  std::vector<bool> arg_is_vector_;
  std::vector<Instr> code_;
};

/// Applies a catalogue function to every coordinate (vectorised where Eigen has a kernel).
Eigen::ArrayXd apply_function(Function f, const Eigen::ArrayXd& x);
/// Applies a catalogue function to one number.
double apply_function(Function f, double x);

}  // namespace tp
