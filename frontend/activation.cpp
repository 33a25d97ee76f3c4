// See activation.h.
#include "frontend/activation.h"

#include "frontend/sema.h"

namespace tp::frontend {

ExprPtr parse_activation(const std::string& text, std::string& error) {
  if (text.find('\n') != std::string::npos || text.find(';') != std::string::npos || text.find('#') != std::string::npos) {
    error = "an activation is one expression in x on one line, e.g. 'tanh' or 'x * Phi(x)'";
    return nullptr;
  }
  Function f;
  const std::string body = function_from_spelling(text, f) ? text + "(x)" : text == "identity" ? "x" : text;
  const std::string program = "input x ~ N(0, 1)\nact = " + body + "\noutput avg(act)\n";
  DiagnosticEngine diags;
  auto p = compile_source(program, diags);
  if (!p) {
    for (const auto& d : diags.diagnostics())
      if (d.severity == Severity::Error) {
        error = d.message;
        for (const auto& note : d.notes) error += "; " + note;
        break;
      }
    return nullptr;
  }
  const Value& act = p->value(p->find("act"));
  if (act.op != Op::Nonlin || act.operands.size() != 1) {
    error = "'" + text + "' is not a function of x alone";
    return nullptr;
  }
  return act.expr;
}

}  // namespace tp::frontend
