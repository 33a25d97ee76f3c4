// See printer.h.
#include "tp/printer.h"

#include <cctype>

namespace tp {

namespace {

const char* const kKeywords[] = {"input", "matrix", "output", "avg", "outer_avg"};

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string operand_names_expr(const Program& p, const Value& v) {
  std::vector<std::string> names;
  for (std::size_t k = 0; k < v.operands.size(); ++k)
    names.push_back(p.value(v.operands[k]).name + (k < v.column.size() && v.column[k] ? "'" : ""));
  return to_string(v.expr, names);
}

}  // namespace

bool is_plain_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  for (const char* k : kKeywords)
    if (s == k) return false;
  Function f;
  return !function_from_spelling(s, f);
}

std::string dump(const Program& p) {
  std::string out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const Value& v = p.values()[i];
    switch (v.op) {
      case Op::InitVector: {
        const InputGroup& g = p.input_groups()[v.group];
        if (v.index_in_group != 0) break;
        out += "input ";
        for (std::size_t k = 0; k < g.members.size(); ++k)
          out += (k ? ", " : "") + p.value(g.members[k]).name;
        out += " ~ N(0, ";
        if (g.members.size() == 1) {
          out += format_number(g.covariance(0, 0));
        } else {
          out += "[";
          for (Eigen::Index r = 0; r < g.covariance.rows(); ++r) {
            out += r ? ", [" : "[";
            for (Eigen::Index c = 0; c < g.covariance.cols(); ++c)
              out += (c ? ", " : "") + format_number(g.covariance(r, c));
            out += "]";
          }
          out += "]";
        }
        out += ")\n";
        break;
      }
      case Op::InitMatrix:
        out += "matrix " + v.name + " ~ N(0, " + format_number(v.variance) + "/n)\n";
        break;
      case Op::MatMul:
        out += v.name + " = " + p.value(v.operands[0]).name + (v.transposed ? "' " : " ") +
               p.value(v.operands[1]).name + "\n";
        break;
      case Op::Nonlin:
      case Op::ScalarExpr:
        out += v.name + " = " + operand_names_expr(p, v) + "\n";
        break;
      case Op::Moment:
        out += v.name + " = avg(" + operand_names_expr(p, v) + ")\n";
        break;
      case Op::OuterNonlin:
        out += v.name + " = outer_avg(" + operand_names_expr(p, v) + ")\n";
        break;
      case Op::WidthPower:
        out += v.name;
        out += " = n^(";
        out += std::to_string(v.width_num);
        if (v.width_den != 1) {
          out += '/';
          out += std::to_string(v.width_den);
        }
        out += ")\n";
        break;
    }
  }
  for (const Output& o : p.outputs()) {
    const std::string& value_name = p.value(o.value).name;
    if (o.name == value_name) out += "output " + value_name + "\n";
    else if (is_plain_identifier(o.name)) out += "output " + o.name + " = " + value_name + "\n";
    else out += "output " + quote(o.name) + " = " + value_name + "\n";
  }
  return out;
}

}  // namespace tp
