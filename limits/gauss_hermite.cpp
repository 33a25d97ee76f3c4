// Gauss–Hermite rules for N(0,1) in 50-digit arithmetic, rounded to double and cached per order.
#include "limits/gauss_hermite.h"

#include <Eigen/Eigenvalues>
#include <boost/multiprecision/cpp_bin_float.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace tp::limits {
namespace {

using Real = boost::multiprecision::cpp_bin_float_50;

/// Values of the orthonormal Hermite polynomials p_n(x) and p_{n−1}(x).
struct HermitePair {
  Real pn;
  Real pn_minus_1;
};

/// Tables √j and 1/√j for j = 0..n, so the recurrence costs three multiplications per step.
struct RecurrenceTables {
  std::vector<Real> sqrt_j;
  std::vector<Real> inv_sqrt_j;

  explicit RecurrenceTables(int n) : sqrt_j(n + 1), inv_sqrt_j(n + 1) {
    for (int j = 1; j <= n; ++j) {
      sqrt_j[j] = boost::multiprecision::sqrt(Real(j));
      inv_sqrt_j[j] = 1 / sqrt_j[j];
    }
  }
};

/// p_{j+1}(x) = (x p_j(x) − √j p_{j−1}(x)) / √(j+1), p_{−1} = 0, p_0 = 1 (orthonormal for N(0,1)).
HermitePair evaluate(const Real& x, int n, const RecurrenceTables& t) {
  Real prev = 0;
  Real cur = 1;
  for (int j = 0; j < n; ++j) {
    Real next = (x * cur - t.sqrt_j[j] * prev) * t.inv_sqrt_j[j + 1];
    prev = std::move(cur);
    cur = std::move(next);
  }
  return {cur, prev};
}

/// Golub–Welsch starting points in double: eigenvalues of the symmetric tridiagonal Jacobi matrix with zero
/// diagonal and off-diagonal √1, …, √(n−1), ascending.
Eigen::VectorXd initial_nodes(int n) {
  Eigen::VectorXd diag = Eigen::VectorXd::Zero(n);
  Eigen::VectorXd sub(n - 1);
  for (int j = 1; j < n; ++j) sub(j - 1) = std::sqrt(static_cast<double>(j));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver;
  solver.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
  if (solver.info() != Eigen::Success) throw std::logic_error("bug: Golub–Welsch eigenvalues did not converge");
  return solver.eigenvalues();
}

/// Builds the rule:
///  1. starting nodes from Golub–Welsch in double;
///  2. for each non-negative node, Newton x ← x − p_n(x)/(√n p_{n−1}(x)) in 50 digits (p_n' = √n p_{n−1});
///  3. weights w = 1/(n p_{n−1}(x)²), mirrored to the negative nodes, normalized to sum 1 in 50 digits;
///  4. round to double.
std::unique_ptr<GaussHermiteRule> compute_rule(int n) {
  auto rule = std::make_unique<GaussHermiteRule>();
  rule->order = n;
  rule->nodes.assign(n, 0.0);
  rule->weights.assign(n, 0.0);
  if (n == 1) {
    rule->weights[0] = 1.0;
    return rule;
  }
  const Eigen::VectorXd start = initial_nodes(n);
  const RecurrenceTables tables(n);
  const Real tolerance = Real("1e-45");
  std::vector<Real> x(n);
  std::vector<Real> w(n);
  for (int i = n / 2; i < n; ++i) {  // nodes with index >= n/2 are >= 0
    Real xi = (n % 2 == 1 && i == n / 2) ? Real(0) : Real(start(i));
    HermitePair p = evaluate(xi, n, tables);
    bool converged = xi == 0;  // the middle node of an odd rule is exactly 0 by symmetry
    for (int iter = 0; iter < 30 && !converged; ++iter) {
      const Real step = p.pn / (tables.sqrt_j[n] * p.pn_minus_1);
      xi -= step;
      p = evaluate(xi, n, tables);
      converged = boost::multiprecision::abs(step) <= tolerance * (1 + boost::multiprecision::abs(xi));
    }
    if (!converged) throw std::logic_error("bug: Newton did not converge for Gauss–Hermite order " + std::to_string(n));
    x[i] = xi;
    w[i] = 1 / (Real(n) * p.pn_minus_1 * p.pn_minus_1);
    x[n - 1 - i] = -xi;
    w[n - 1 - i] = w[i];
  }
  Real total = 0;
  for (const Real& wi : w) total += wi;
  if (boost::multiprecision::abs(total - 1) > Real("1e-30")) {
    throw std::logic_error("bug: Gauss–Hermite weights of order " + std::to_string(n) + " sum to " + total.str(20));
  }
  for (int i = 0; i < n; ++i) {
    if (i > 0 && !(x[i] > x[i - 1])) {
      throw std::logic_error("bug: Gauss–Hermite nodes of order " + std::to_string(n) + " not distinct");
    }
    rule->nodes[i] = static_cast<double>(x[i]);
    rule->weights[i] = static_cast<double>(w[i] / total);
  }
  return rule;
}

}  // namespace

const GaussHermiteRule& gauss_hermite_rule(int order) {
  if (order < 1 || order > max_gauss_hermite_order) {
    throw std::invalid_argument("Gauss–Hermite order must be between 1 and " +
                                std::to_string(max_gauss_hermite_order) + ", got " + std::to_string(order));
  }
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<GaussHermiteRule>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[order];
  if (!slot) slot = compute_rule(order);
  return *slot;
}

}  // namespace tp::limits
