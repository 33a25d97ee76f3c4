// See builder.h.
#include "tp/builder.h"

#include <cmath>
#include <numeric>
#include <set>

#include "tp/covariance.h"
#include "tp/errors.h"
#include "tp/verify.h"

namespace tp {

ValueId ProgramBuilder::push(Value v) {
  v.kind = op_result_kind(v.op);
  const auto id = static_cast<ValueId>(program_.values_.size());
  generated_name_.push_back(v.name.empty());
  if (v.name.empty()) {
    // "_" + std::to_string(id), spelled so that GCC 12 does not warn falsely (-Wrestrict, GCC PR 105329).
    v.name = std::to_string(id);
    v.name.insert(v.name.begin(), '_');
  }
  program_.values_.push_back(std::move(v));
  return id;
}

void ProgramBuilder::check_id(ValueId id, const char* what) const {
  if (id < 0 || static_cast<std::size_t>(id) >= program_.values_.size())
    throw IrError(std::string("tp::ProgramBuilder: ") + what + " refers to undefined value id " + std::to_string(id));
}

void ProgramBuilder::check_expr_operands(const Value& v, bool need_vector) const {
  bool any_vector = false;
  for (ValueId id : v.operands) {
    check_id(id, "expression operand");
    const Value& x = program_.value(id);
    if (x.kind == ValueKind::Matrix)
      throw IrError("tp::ProgramBuilder: matrix '" + x.name + "' cannot be an operand of a coordinatewise expression");
    any_vector |= x.kind == ValueKind::Vector;
  }
  if (need_vector && !any_vector)
    throw IrError("tp::ProgramBuilder: " + std::string(op_spelling(v.op)) + " '" + v.name + "' needs a vector operand");
  if (!need_vector && any_vector)
    throw IrError("tp::ProgramBuilder: scalar expression '" + v.name + "' has a vector operand");
  if (!v.expr) throw IrError("tp::ProgramBuilder: '" + v.name + "' has no expression");
  if (max_argument(v.expr) >= static_cast<int>(v.operands.size()))
    throw IrError("tp::ProgramBuilder: expression of '" + v.name + "' uses more arguments than it has operands");
}

std::vector<ValueId> ProgramBuilder::add_inputs(const std::vector<std::string>& names,
                                                const Eigen::MatrixXd& covariance,
                                                const std::vector<SourceRange>& ranges, SourceRange group_range) {
  if (names.empty()) throw IrError("tp::ProgramBuilder: an input group needs at least one vector");
  if (covariance.rows() != static_cast<Eigen::Index>(names.size()) || covariance.cols() != covariance.rows())
    throw IrError("tp::ProgramBuilder: covariance of input group is " + std::to_string(covariance.rows()) + "x" +
                  std::to_string(covariance.cols()) + " for " + std::to_string(names.size()) + " vectors");
  if (auto problem = covariance_problem(covariance); !problem.empty())
    throw IrError("tp::ProgramBuilder: covariance of input group is " + problem);
  InputGroup g;
  g.covariance = covariance;
  g.range = group_range;
  const int group = static_cast<int>(program_.groups_.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    Value v;
    v.op = Op::InitVector;
    v.name = names[i];
    v.range = i < ranges.size() ? ranges[i] : SourceRange{};
    v.group = group;
    v.index_in_group = static_cast<int>(i);
    g.members.push_back(push(std::move(v)));
  }
  program_.groups_.push_back(std::move(g));
  return program_.groups_.back().members;
}

ValueId ProgramBuilder::add_matrix(std::string name, double variance, SourceRange range) {
  if (!(variance > 0) || !std::isfinite(variance))
    throw IrError("tp::ProgramBuilder: matrix '" + name + "' needs a positive finite variance, got " +
                  format_number(variance));
  Value v;
  v.op = Op::InitMatrix;
  v.name = std::move(name);
  v.variance = variance;
  v.range = range;
  return push(std::move(v));
}

ValueId ProgramBuilder::add_matmul(std::string name, ValueId matrix, ValueId vector, bool transposed,
                                   SourceRange range) {
  check_id(matrix, "MatMul matrix");
  check_id(vector, "MatMul vector");
  if (program_.value(matrix).kind != ValueKind::Matrix)
    throw IrError("tp::ProgramBuilder: MatMul needs a matrix on the left, '" + program_.value(matrix).name +
                  "' is a " + std::string(kind_name(program_.value(matrix).kind)));
  if (program_.value(vector).kind != ValueKind::Vector)
    throw IrError("tp::ProgramBuilder: MatMul needs a vector on the right, '" + program_.value(vector).name +
                  "' is a " + std::string(kind_name(program_.value(vector).kind)));
  Value v;
  v.op = Op::MatMul;
  v.name = std::move(name);
  v.operands = {matrix, vector};
  v.transposed = transposed;
  v.range = range;
  return push(std::move(v));
}

ValueId ProgramBuilder::add_nonlin(std::string name, ExprPtr expr, std::vector<ValueId> operands, SourceRange range) {
  Value v;
  v.op = Op::Nonlin;
  v.name = std::move(name);
  v.expr = std::move(expr);
  v.operands = std::move(operands);
  v.range = range;
  check_expr_operands(v, true);
  return push(std::move(v));
}

ValueId ProgramBuilder::add_moment(std::string name, ExprPtr expr, std::vector<ValueId> operands, SourceRange range) {
  Value v;
  v.op = Op::Moment;
  v.name = std::move(name);
  v.expr = std::move(expr);
  v.operands = std::move(operands);
  v.range = range;
  check_expr_operands(v, true);
  return push(std::move(v));
}

ValueId ProgramBuilder::add_outer_nonlin(std::string name, ExprPtr expr, std::vector<ValueId> operands,
                                         std::vector<bool> column, SourceRange range) {
  Value v;
  v.op = Op::OuterNonlin;
  v.name = std::move(name);
  v.expr = std::move(expr);
  v.operands = std::move(operands);
  v.column = std::move(column);
  v.range = range;
  check_expr_operands(v, true);
  bool any_column = false;
  if (v.column.size() != v.operands.size())
    throw IrError("tp::ProgramBuilder: outer nonlinearity '" + v.name + "' needs one column flag per operand");
  for (std::size_t i = 0; i < v.operands.size(); ++i) {
    if (!v.column[i]) continue;
    if (program_.value(v.operands[i]).kind != ValueKind::Vector)
      throw IrError("tp::ProgramBuilder: outer nonlinearity '" + v.name + "' marks the scalar '" +
                    program_.value(v.operands[i]).name + "' as a column vector");
    any_column = true;
  }
  if (!any_column)
    throw IrError("tp::ProgramBuilder: outer nonlinearity '" + v.name + "' has no column (summed) vector operand");
  return push(std::move(v));
}

ValueId ProgramBuilder::add_scalar(std::string name, ExprPtr expr, std::vector<ValueId> operands, SourceRange range) {
  Value v;
  v.op = Op::ScalarExpr;
  v.name = std::move(name);
  v.expr = std::move(expr);
  v.operands = std::move(operands);
  v.range = range;
  check_expr_operands(v, false);
  return push(std::move(v));
}

ValueId ProgramBuilder::add_width_power(std::string name, std::int64_t num, std::int64_t den, SourceRange range) {
  if (den <= 0) throw IrError("tp::ProgramBuilder: width power '" + name + "' needs a positive denominator");
  const std::int64_t g = std::gcd(num < 0 ? -num : num, den);
  Value v;
  v.op = Op::WidthPower;
  v.name = std::move(name);
  v.width_num = num / g;
  v.width_den = den / g;
  v.range = range;
  return push(std::move(v));
}

void ProgramBuilder::add_output(std::string name, ValueId value, SourceRange range) {
  check_id(value, "output");
  if (program_.value(value).kind != ValueKind::Scalar)
    throw IrError("tp::ProgramBuilder: output '" + name + "' must be a scalar, '" + program_.value(value).name +
                  "' is a " + std::string(kind_name(program_.value(value).kind)));
  program_.outputs_.push_back(Output{std::move(name), value, range});
}

Program ProgramBuilder::finish() {
  std::set<std::string> taken;
  for (std::size_t i = 0; i < program_.values_.size(); ++i)
    if (!generated_name_[i]) taken.insert(program_.values_[i].name);
  for (std::size_t i = 0; i < program_.values_.size(); ++i) {
    if (!generated_name_[i]) continue;
    std::string& name = program_.values_[i].name;
    while (taken.count(name)) name += "_";
    taken.insert(name);
  }
  verify_or_throw(program_);
  Program out = std::move(program_);
  program_ = Program{};
  generated_name_.clear();
  return out;
}

}  // namespace tp
