// See graph_unroll_update.h.
#include "tp/graph_unroll_update.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tp {

ExprPtr OuterArgs::arg(ValueId v, bool col) {
  for (std::size_t k = 0; k < ids.size(); ++k)
    if (ids[k] == v && column[k] == col) return argument(static_cast<int>(k));
  ids.push_back(v);
  column.push_back(col);
  return argument(static_cast<int>(ids.size()) - 1);
}

ExprPtr entrywise_update_sum(const GraphTraining& tr, const std::vector<ExprPtr>& grads, const ExprPtr& eps,
                             const ExprPtr& rho) {
  if (tr.optimizer == Optimizer::sgd) throw std::invalid_argument("bug: entrywise_update_sum called for SGD");
  const int t = static_cast<int>(grads.size());
  std::vector<ExprPtr> psi;
  auto decayed = [&](int u, const ExprPtr& e) { return rho && u < t ? mul(pow(rho, constant(t - u)), e) : e; };
  for (int u = 1; u <= t; ++u) {
    if (tr.optimizer == Optimizer::signsgd) {
      if (grads[static_cast<std::size_t>(u - 1)]) psi.push_back(decayed(u, call(Function::sign, grads[static_cast<std::size_t>(u - 1)])));
      continue;
    }
    // Adam: the moments of G_0..G_{u−1}, bias-corrected (one weight per term: (1−β)β^{u−1−τ}/(1−β^u))
    std::vector<ExprPtr> m, v;
    auto weighted = [](double w, const ExprPtr& e) { return w == 1.0 ? e : mul(constant(w), e); };
    for (int tau = 0; tau < u; ++tau) {
      const ExprPtr& g = grads[static_cast<std::size_t>(tau)];
      if (!g) continue;
      m.push_back(weighted((1 - tr.beta1) * std::pow(tr.beta1, u - 1 - tau) / (1.0 - std::pow(tr.beta1, u)), g));
      v.push_back(weighted((1 - tr.beta2) * std::pow(tr.beta2, u - 1 - tau) / (1.0 - std::pow(tr.beta2, u)), mul(g, g)));
    }
    if (m.empty()) continue;
    psi.push_back(decayed(u, div(balanced_sum(m), add(call(Function::sqrt, balanced_sum(v)), eps))));
  }
  if (psi.empty()) return nullptr;
  return balanced_sum(psi);
}

SizeExp entrywise_update_size(const TensorScaling& sc, const SizeExp& gamma) {
  if (!gamma) return std::nullopt;
  return sc.eps_modelled ? SizeExp(std::min(Rational(0), *gamma + sc.d)) : SizeExp(Rational(0));
}

}  // namespace tp
