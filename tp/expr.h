// Coordinatewise expressions: the φ of Nonlin and Moment (TP4 Def. 7.1) and the arithmetic of scalars.
//
// An Expr is an immutable tree over numbered arguments (arg i refers to the i-th operand of the op that
// owns it), constants and the functions of the catalogue (functions.def). It supports exact symbolic
// differentiation (derivative) with light algebraic simplification, printing in the .tp syntax, and is
// compiled to vectorised bytecode for numbers (compiled_expr.h) so it is never interpreted per coordinate.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tp {

enum class Function : std::uint8_t {
#define TP_FUNCTION(name, spelling, doc) name,
#include "tp/functions.def"
#undef TP_FUNCTION
};

/// The .tp spelling of a catalogue function, e.g. "Phi" for normcdf.
const char* function_spelling(Function f);
/// One line describing the function (for --help and errors).
const char* function_description(Function f);
/// All catalogue functions in declaration order.
const std::vector<Function>& all_functions();
/// Looks up a function by its .tp spelling; returns false if there is none.
bool function_from_spelling(const std::string& s, Function& out);

enum class ExprKind : std::uint8_t { Const, Arg, Neg, Add, Sub, Mul, Div, Pow, Call };

class Expr;
using ExprPtr = std::shared_ptr<const Expr>;

/// One node of an expression tree. Build with the free functions below (they simplify trivially
/// constant sub-trees, e.g. 0*x -> 0, x^1 -> x); never mutate after construction.
class Expr {
 public:
  ExprKind kind;
  double value = 0.0;         ///< Const: the number
  int arg = -1;               ///< Arg: operand index
  Function fn{};              ///< Call: the function
  ExprPtr lhs, rhs;           ///< unary ops and Call use lhs only

  Expr(ExprKind k) : kind(k) {}
};

ExprPtr constant(double v);
ExprPtr argument(int index);
ExprPtr neg(ExprPtr a);
ExprPtr add(ExprPtr a, ExprPtr b);
ExprPtr sub(ExprPtr a, ExprPtr b);
ExprPtr mul(ExprPtr a, ExprPtr b);
ExprPtr div(ExprPtr a, ExprPtr b);
ExprPtr pow(ExprPtr a, ExprPtr b);
ExprPtr call(Function f, ExprPtr a);
/// terms[0] + … + terms[k-1] as a balanced tree of Adds (depth ⌈log2 k⌉, the terms in order), so that a sum
/// over many data points stays shallow for the recursive walkers below; nullptr for no terms.
ExprPtr balanced_sum(const std::vector<ExprPtr>& terms);

bool is_const(const ExprPtr& e, double v);
/// The largest argument index used, or -1 for a constant expression.
int max_argument(const ExprPtr& e);
/// The sorted set of argument indices used.
std::vector<int> arguments_used(const ExprPtr& e);
/// Replaces arg i by mapping[i] (mapping must cover every used argument).
ExprPtr remap_arguments(const ExprPtr& e, const std::vector<int>& mapping);
/// Substitutes whole expressions for arguments: arg i -> subs[i].
ExprPtr substitute(const ExprPtr& e, const std::vector<ExprPtr>& subs);
/// ∂e/∂(arg i), symbolic and simplified. step' and sign' are taken as 0 (the distributional parts are
/// dropped, which is what the ZDot derivative form of TP4 needs for a.e.-differentiable φ).
ExprPtr derivative(const ExprPtr& e, int i);
/// Parity under x → −x of every argument at once: even, odd, or neither (not provable by these rules).
enum class Parity { even, odd, neither };
/// The parity of a product of two factors of the given parities.
Parity parity_product(Parity a, Parity b);
/// The parity of e when argument i has parity args[i] (arguments beyond args: neither). Conservative: the
/// rules of sums, products, integer powers and the odd/even catalogue functions (tanh, erf, sin, sign odd;
/// cos, abs, phi even).
Parity parity(const ExprPtr& e, const std::vector<Parity>& args);
/// Structural equality.
bool equal(const ExprPtr& a, const ExprPtr& b);
/// Prints in .tp syntax with the given operand names; parses back to an equal tree.
std::string to_string(const ExprPtr& e, const std::vector<std::string>& names);
/// Shortest decimal that reads back to exactly v (round-trip), e.g. "0.1", "1e-300".
std::string format_number(double v);

}  // namespace tp
