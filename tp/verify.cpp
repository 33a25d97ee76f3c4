// See verify.h. Checks, in order: 1. names unique and non-empty; 2. operands defined earlier (SSA);
// 3. operand kinds per op; 4. expressions use only existing operands; 5. matrix variances and input
// covariances valid; 6. outputs are scalars.
#include "tp/verify.h"

#include <cmath>
#include <numeric>
#include <set>

#include "tp/covariance.h"
#include "tp/errors.h"

namespace tp {

std::vector<std::string> verify(const Program& p) {
  std::vector<std::string> bad;
  std::set<std::string> names;
  const auto& vs = p.values();
  for (std::size_t i = 0; i < vs.size(); ++i) {
    const Value& v = vs[i];
    const std::string who = "value " + std::to_string(i) + " '" + v.name + "'";
    if (v.name.empty()) bad.push_back(who + " has no name");
    if (!names.insert(v.name).second) bad.push_back(who + " reuses a name");
    if (v.kind != op_result_kind(v.op)) bad.push_back(who + " has the wrong kind for its op");
    for (ValueId o : v.operands)
      if (o < 0 || static_cast<std::size_t>(o) >= i) bad.push_back(who + " uses a value not defined before it");
    if (!bad.empty() && bad.back().find("not defined before") != std::string::npos) continue;
    auto kind_of = [&](ValueId o) { return vs[static_cast<std::size_t>(o)].kind; };
    switch (v.op) {
      case Op::InitVector:
        if (v.group < 0 || static_cast<std::size_t>(v.group) >= p.input_groups().size())
          bad.push_back(who + " belongs to no input group");
        else if (v.index_in_group < 0 ||
                 static_cast<std::size_t>(v.index_in_group) >= p.input_groups()[v.group].members.size() ||
                 p.input_groups()[v.group].members[v.index_in_group] != static_cast<ValueId>(i))
          bad.push_back(who + " is not where its input group says");
        break;
      case Op::InitMatrix:
        if (!(v.variance > 0) || !std::isfinite(v.variance)) bad.push_back(who + " has a non-positive variance");
        break;
      case Op::MatMul:
        if (v.operands.size() != 2 || kind_of(v.operands[0]) != ValueKind::Matrix ||
            kind_of(v.operands[1]) != ValueKind::Vector)
          bad.push_back(who + " is a MatMul whose operands are not (matrix, vector)");
        break;
      case Op::WidthPower:
        if (v.width_den <= 0 || std::gcd(v.width_num < 0 ? -v.width_num : v.width_num, v.width_den) != 1)
          bad.push_back(who + " has a width exponent that is not a reduced fraction");
        if (!v.operands.empty()) bad.push_back(who + " is a width power with operands");
        break;
      case Op::OuterNonlin:
        if (v.column.size() != v.operands.size()) {
          bad.push_back(who + " is an outer nonlinearity without a column flag per operand");
          break;
        } else {
          bool any_column = false;
          for (std::size_t k = 0; k < v.operands.size(); ++k) {
            if (v.column[k] && kind_of(v.operands[k]) != ValueKind::Vector) bad.push_back(who + " has a column operand that is not a vector");
            any_column = any_column || v.column[k];
          }
          if (!any_column) bad.push_back(who + " is an outer nonlinearity without a column (summed) vector");
        }
        [[fallthrough]];
      case Op::Nonlin:
      case Op::Moment:
      case Op::ScalarExpr: {
        bool any_vector = false, any_matrix = false;
        for (ValueId o : v.operands) {
          any_vector |= kind_of(o) == ValueKind::Vector;
          any_matrix |= kind_of(o) == ValueKind::Matrix;
        }
        if (any_matrix) bad.push_back(who + " has a matrix operand in an expression");
        if (v.op == Op::ScalarExpr && any_vector) bad.push_back(who + " is scalar arithmetic over a vector");
        if (v.op != Op::ScalarExpr && v.op != Op::OuterNonlin && !any_vector) bad.push_back(who + " is coordinatewise but has no vector operand");
        if (!v.expr) bad.push_back(who + " has no expression");
        else if (max_argument(v.expr) >= static_cast<int>(v.operands.size()))
          bad.push_back(who + " has an expression argument without an operand");
        break;
      }
    }
  }
  for (std::size_t g = 0; g < p.input_groups().size(); ++g) {
    const auto& grp = p.input_groups()[g];
    if (grp.covariance.rows() != static_cast<Eigen::Index>(grp.members.size()))
      bad.push_back("input group " + std::to_string(g) + " has a covariance of the wrong size");
    else if (auto problem = covariance_problem(grp.covariance); !problem.empty())
      bad.push_back("input group " + std::to_string(g) + " has a covariance that is " + problem);
  }
  for (const auto& o : p.outputs())
    if (o.value < 0 || static_cast<std::size_t>(o.value) >= vs.size() || vs[o.value].kind != ValueKind::Scalar)
      bad.push_back("output '" + o.name + "' is not a scalar value");
  return bad;
}

void verify_or_throw(const Program& p) {
  auto bad = verify(p);
  if (bad.empty()) return;
  std::string msg = "bug: tp::verify found a malformed program:";
  for (const auto& b : bad) msg += "\n  " + b;
  throw IrError(msg);
}

}  // namespace tp
