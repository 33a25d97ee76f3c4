// Generates the NETSOR program of an MLP's NNGP; the program's shape is in mlp_program.h.
#include "limits/mlp_program.h"

#include <cmath>
#include <sstream>

namespace tp::limits {

namespace {

std::string h(int layer, Eigen::Index input) { return "h_" + std::to_string(layer) + "_" + std::to_string(input + 1); }

/// φ applied to a named vector, parenthesised unless it is a name or a call; as a factor of a product
/// (factor = true) powers and products stay bare too.
std::string phi_of(const MlpKernelSpec& spec, const std::string& name, bool factor) {
  const std::string s = to_string(spec.activation, {name});
  switch (spec.activation->kind) {
    case ExprKind::Arg:
    case ExprKind::Call: return s;
    case ExprKind::Pow:
    case ExprKind::Mul: return factor ? s : "(" + s + ")";
    case ExprKind::Const:
    case ExprKind::Neg:
    case ExprKind::Add:
    case ExprKind::Sub:
    case ExprKind::Div: return "(" + s + ")";
  }
  return "(" + s + ")";
}

}  // namespace

std::string mlp_nngp_program(const MlpKernelSpec& spec, const Eigen::MatrixXd& inputs) {
  validate_mlp_kernel_spec(spec);
  if (inputs.rows() < 1 || inputs.cols() < 1) throw MlpKernelError("the inputs are empty");
  if (!inputs.allFinite()) throw MlpKernelError("the inputs must be finite");
  if (max_argument(spec.activation) < 0)
    throw MlpKernelError("the Tensor Program of this network needs an activation that depends on its argument");
  for (int l = 1; l <= spec.depth; ++l)
    if (!(spec.sw2_at(l) > 0))
      throw MlpKernelError("the Tensor Program of this network needs sw2 > 0 in layer " + std::to_string(l + 1) +
                           " (a matrix N(0, sw2/n) with sw2 > 0)");
  const Eigen::Index n = inputs.rows();
  const int depth = spec.depth;
  Eigen::MatrixXd k1 = spec.sw2_at(0) * (inputs * inputs.transpose()) / static_cast<double>(inputs.cols());
  k1.array() += spec.sb2_at(0);
  k1 = (0.5 * (k1 + k1.transpose())).eval();

  std::ostringstream out;
  out << "# The NNGP kernel of a depth-" << depth << " MLP with phi(x) = " << to_string(spec.activation, {"x"})
      << " on " << n << " input" << (n == 1 ? "" : "s") << " (tpc kernel --emit-program).\n"
      << "# h_1_i: first-layer preactivations, covariance K^1 = sw2 x_i.x_j/d + sb2; hidden layers\n"
      << "# h_l_i = W_l phi(h_{l-1}_i) + sb * b_l with W_l ~ N(0, sw2/n); as n -> infinity\n"
      << "# K_i_j = avg(sw2 * phi(h_L_i) * phi(h_L_j)) + sb2 -> the NNGP kernel K^" << depth + 1
      << "(x_i, x_j) of the readout.\n";
  std::string head = "input ";
  for (Eigen::Index i = 0; i < n; ++i) head += (i ? ", " : "") + h(1, i);
  head += " ~ N(0, ";
  out << head;
  if (n == 1) {
    out << format_number(k1(0, 0));
  } else {
    const std::string indent(head.size() + 1, ' ');
    out << "[";
    for (Eigen::Index i = 0; i < n; ++i) {
      out << (i ? ",\n" + indent : std::string()) << "[";
      for (Eigen::Index j = 0; j < n; ++j) out << (j ? ", " : "") << format_number(k1(i, j));
      out << "]";
    }
    out << "]";
  }
  out << ")\n";
  for (int l = 2; l <= depth; ++l) {
    const double sw2 = spec.sw2_at(l - 1), sb2 = spec.sb2_at(l - 1);
    out << "\nmatrix W_" << l << " ~ N(0, " << format_number(sw2) << "/n)\n";
    if (sb2 > 0) out << "input b_" << l << " ~ N(0, 1)\n";
    for (Eigen::Index i = 0; i < n; ++i) {
      out << h(l, i) << " = W_" << l << " " << phi_of(spec, h(l - 1, i), false);
      if (sb2 > 0) out << " + " << format_number(std::sqrt(sb2)) << " * b_" << l;
      out << "\n";
    }
  }
  out << "\n";
  const double sw2 = spec.sw2_at(depth), sb2 = spec.sb2_at(depth);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = i; j < n; ++j) {
      out << "output K_" << i + 1 << "_" << j + 1 << " = avg(" << format_number(sw2) << " * "
          << phi_of(spec, h(depth, i), true) << " * " << phi_of(spec, h(depth, j), true) << ")";
      if (sb2 > 0) out << " + " << format_number(sb2);
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace tp::limits
