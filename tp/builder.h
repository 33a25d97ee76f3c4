// The only way to make a Program: every add_* validates its operands as it constructs (Halide IR::make
// style), and finish() runs the verifier. Misuse throws tp::IrError naming the offending value.
#pragma once

#include <string>
#include <vector>

#include "tp/ir.h"

namespace tp {

class ProgramBuilder {
 public:
  /// Declares a jointly Gaussian group of initial vectors with the given covariance (symmetric PSD,
  /// names.size() square). Returns their ids in order.
  std::vector<ValueId> add_inputs(const std::vector<std::string>& names, const Eigen::MatrixXd& covariance,
                                  const std::vector<SourceRange>& ranges = {}, SourceRange group_range = {});
  /// An n×n matrix with iid N(0, variance/n) entries; variance > 0 and finite.
  ValueId add_matrix(std::string name, double variance, SourceRange range = {});
  /// W x, or Wᵀ x when transposed. matrix must be a Matrix value, vector a Vector value.
  ValueId add_matmul(std::string name, ValueId matrix, ValueId vector, bool transposed, SourceRange range = {});
  /// A coordinatewise expression; operands are vectors or scalars, at least one a vector.
  ValueId add_nonlin(std::string name, ExprPtr expr, std::vector<ValueId> operands, SourceRange range = {});
  /// avg over coordinates of expr; operands as for add_nonlin.
  ValueId add_moment(std::string name, ExprPtr expr, std::vector<ValueId> operands, SourceRange range = {});
  /// TP4b's outer nonlinearity y_α = avg_β expr(operands): column[i] marks operand i as β-indexed (a vector);
  /// at least one column vector.
  ValueId add_outer_nonlin(std::string name, ExprPtr expr, std::vector<ValueId> operands, std::vector<bool> column,
                           SourceRange range = {});
  /// Arithmetic over scalar operands (possibly none: a constant).
  ValueId add_scalar(std::string name, ExprPtr expr, std::vector<ValueId> operands, SourceRange range = {});
  /// The width factor n^(num/den); den > 0. The fraction is reduced to lowest terms.
  ValueId add_width_power(std::string name, std::int64_t num, std::int64_t den, SourceRange range = {});
  /// Reports a scalar value under a name.
  void add_output(std::string name, ValueId value, SourceRange range = {});

  const Value& value(ValueId id) const { return program_.value(id); }
  std::size_t size() const { return program_.size(); }
  /// Makes generated names unique, verifies, and hands over the program. The builder is empty afterwards.
  Program finish();

 private:
  ValueId push(Value v);
  void check_id(ValueId id, const char* what) const;
  void check_expr_operands(const Value& v, bool need_vector) const;
  Program program_;
  std::vector<bool> generated_name_;
};

}  // namespace tp
