// Op table and Program queries. See ir.h.
#include "tp/ir.h"

#include <cmath>

namespace tp {

std::string_view op_spelling(Op op) {
  switch (op) {
#define TP_OP(name, spelling, kind) \
  case Op::name: return spelling;
#include "tp/ops.def"
#undef TP_OP
  }
  return "?";
}

ValueKind op_result_kind(Op op) {
  switch (op) {
#define TP_OP(name, spelling, kind) \
  case Op::name: return ValueKind::kind;
#include "tp/ops.def"
#undef TP_OP
  }
  return ValueKind::Scalar;
}

std::string_view kind_name(ValueKind k) {
  switch (k) {
    case ValueKind::Vector: return "vector";
    case ValueKind::Matrix: return "matrix";
    case ValueKind::Scalar: return "scalar";
  }
  return "?";
}

ValueId Program::find(std::string_view name) const {
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i].name == name) return static_cast<ValueId>(i);
  return -1;
}

double Program::width_power(const Value& v, double n) {
  return std::pow(n, static_cast<double>(v.width_num) / static_cast<double>(v.width_den));
}

std::string Program::outer_nonlin_refusal() const {
  for (const auto& v : values_)
    if (v.op == Op::OuterNonlin)
      return "'" + v.name + "' is an outer nonlinearity outer_avg(...) (TP4b's NE⊗OR⊤, e.g. an Adam update): its "
             "infinite-width limit is TP4b's Master Theorem, which tpc does not evaluate; run the program at finite "
             "width with 'tpc run --width N --seeds K' instead";
  return "";
}

bool Program::uses_transpose() const {
  for (const auto& v : values_)
    if (v.op == Op::MatMul && v.transposed) return true;
  return false;
}

}  // namespace tp
