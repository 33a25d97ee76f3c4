// Gaussian expectations by eigen-factored tensor Gauss–Hermite quadrature or antithetic Monte Carlo.
#include "limits/gaussian_expectation.h"

#include "limits/double_exponential_rule.h"
#include "limits/gauss_hermite.h"
#include "tp/singularity.h"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

namespace tp::limits {

CovarianceError::CovarianceError(const std::string& message, double smallest_eigenvalue)
    : std::invalid_argument(message), min_eigenvalue(smallest_eigenvalue) {}

DivergentIntegral::DivergentIntegral(const std::string& message, double last)
    : std::runtime_error(message), last_value(last) {}

namespace {

[[noreturn]] void refuse_pole(const std::string& pole) {
  throw DivergentIntegral("the Gaussian expectation does not exist: " + pole +
                              ", which is not integrable against the Gaussian density",
                          std::numeric_limits<double>::quiet_NaN());
}

}  // namespace

void check_integrable(const Program& p) {
  if (const std::string pole = find_pole(p); !pole.empty()) refuse_pole(pole);
}

void check_integrable_activation(const ExprPtr& phi) {
  for (const ExprPtr& f : {phi, derivative(phi, 0)})
    if (const std::string pole = find_pole(f, {true}, {"x"}); !pole.empty()) refuse_pole(pole);
}

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

/// Neumaier's compensated sum, so that 10^6 quadrature terms lose no more than a few ulps.
struct CompensatedSum {
  double sum = 0.0;
  double compensation = 0.0;
  void add(double x) {
    const double t = sum + x;
    compensation += std::abs(sum) >= std::abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + compensation; }
};

std::string format_point(const Eigen::VectorXd& z) {
  std::ostringstream out;
  out.precision(6);
  out << '(';
  for (Eigen::Index i = 0; i < z.size(); ++i) out << (i ? ", " : "") << z(i);
  out << ')';
  return out.str();
}

/// Calls f, checks the batch size, and rejects non-finite values as a divergent expectation.
Eigen::ArrayXd call_integrand(const BatchIntegrand& f, const Eigen::MatrixXd& points, const char* where) {
  Eigen::ArrayXd values = f(points);
  if (values.size() != points.cols()) {
    throw std::invalid_argument("integrand returned " + std::to_string(values.size()) + " values for " +
                                std::to_string(points.cols()) + " points");
  }
  for (Eigen::Index j = 0; j < values.size(); ++j) {
    if (!std::isfinite(values(j))) {
      std::ostringstream out;
      out << "the Gaussian expectation is not finite: the integrand is " << values(j) << " at Z = "
          << format_point(points.col(j)) << " (" << where
          << "); E f(Z) diverges or overflows double (e.g. f grows like exp(z^2/2) or faster)";
      throw DivergentIntegral(out.str(), not_a_number);
    }
  }
  return values;
}

/// Σ w_i f(x_i), Σ w_i |f(x_i)|, and the part of the latter from the tail: nodes with some |ξ_a| beyond
/// max(6, half the largest node), where the Gaussian density is below 1.5e−8 of its peak (and ~e^{−k/2} for
/// large k), so bounded or slowly growing f contribute almost nothing there.
struct QuadratureSum {
  double value = 0.0;
  double abs_value = 0.0;
  double abs_tail = 0.0;
  bool truncated = false;  ///< some nodes were skipped because their weight is below DBL_MIN
};

/// The tensor rule of `order` per direction, visited with an odometer over multi-indices and evaluated in
/// batches of columns L ξ. Products of weights below DBL_MIN are skipped: they cannot change a double sum
/// unless f is astronomically large there, and skipping them keeps e.g. exp(0.49 z²) finite at order 512.
QuadratureSum tensor_sum(const BatchIntegrand& f, const Eigen::MatrixXd& factor, int order, std::int64_t batch_size) {
  const Eigen::Index d = factor.rows();
  const auto r = static_cast<int>(factor.cols());
  if (r == 0) {
    const double v = call_integrand(f, Eigen::MatrixXd::Zero(d, 1), "Z = 0")(0);
    return {v, std::abs(v), 0.0, false};
  }
  const GaussHermiteRule& rule = gauss_hermite_rule(order);
  std::vector<double> x;
  std::vector<double> w;
  for (int i = 0; i < order; ++i) {
    if (rule.weights[i] >= DBL_MIN) {
      x.push_back(rule.nodes[i]);
      w.push_back(rule.weights[i]);
    }
  }
  const auto kept = static_cast<int>(x.size());
  bool truncated = kept < order;
  const double tail_radius = std::max(6.0, 0.5 * x.back());
  std::int64_t total = 1;
  for (int a = 0; a < r && total < batch_size; ++a) total *= kept;
  const std::int64_t capacity = std::max<std::int64_t>(1, std::min(batch_size, total));
  Eigen::MatrixXd xi(r, capacity);
  Eigen::ArrayXd weight(capacity);
  std::vector<bool> in_tail(capacity);
  const std::string where = "Gauss–Hermite order " + std::to_string(order);
  CompensatedSum sum;
  CompensatedSum abs_sum;
  CompensatedSum tail_sum;
  Eigen::Index m = 0;
  auto flush = [&] {
    const Eigen::ArrayXd values = call_integrand(f, factor * xi.leftCols(m), where.c_str());
    for (Eigen::Index j = 0; j < m; ++j) {
      sum.add(weight(j) * values(j));
      abs_sum.add(weight(j) * std::abs(values(j)));
      if (in_tail[j]) tail_sum.add(weight(j) * std::abs(values(j)));
    }
    m = 0;
  };
  std::vector<int> index(r, 0);
  for (;;) {
    double product = 1.0;
    for (int a = 0; a < r; ++a) product *= w[index[a]];
    if (product >= DBL_MIN) {
      bool tail = false;
      for (int a = 0; a < r; ++a) {
        xi(a, m) = x[index[a]];
        tail = tail || std::abs(x[index[a]]) > tail_radius;
      }
      in_tail[m] = tail;
      weight(m) = product;
      if (++m == capacity) flush();
    } else {
      truncated = true;
    }
    int a = 0;
    while (a < r && ++index[a] == kept) index[a++] = 0;
    if (a == r) break;
  }
  if (m > 0) flush();
  return {sum.value(), abs_sum.value(), tail_sum.value(), truncated};
}

/// k^r, saturating at limit + 1.
std::int64_t node_count(int k, int r, std::int64_t limit) {
  std::int64_t n = 1;
  for (int a = 0; a < r; ++a) {
    n *= k;
    if (n > limit) return limit + 1;
  }
  return n;
}

/// The orders k_0 < 2k_0 < … ≤ k_max the quadrature route will use (k_max from max_order and the node
/// budget, k_0 clamped to k_max/2); infeasible if not even orders 1 and 2 fit.
struct OrderPlan {
  int initial = 0;
  int max = 0;
  bool feasible() const { return initial >= 1 && 2 * initial <= max; }
};

OrderPlan plan_orders(int r, const ExpectationOptions& options) {
  OrderPlan plan;
  plan.max = options.max_order > 0 ? std::min(options.max_order, max_gauss_hermite_order) : max_gauss_hermite_order;
  while (plan.max > 0 && node_count(plan.max, r, options.max_quadrature_nodes) > options.max_quadrature_nodes) {
    --plan.max;
  }
  constexpr int by_rank[] = {16, 16, 16, 12, 8};
  const int wanted = options.initial_order > 0 ? options.initial_order : (r < 5 ? by_rank[r] : 6);
  plan.initial = std::min(wanted, plan.max / 2);
  return plan;
}

/// The quadrature route:
///  1. Q_k for k = k_0, then Q_2k, Q_4k, … while 2k ≤ k_max;
///  2. stop at the first |Q_k − Q_2k| ≤ rel_tol · Q_2k(|f|) + abs_tol and return Q_2k with that error;
///  3. otherwise the integral is declared divergent if all of these hold: the last difference exceeds 1% of
///     Q(|f|); the differences did not at least halve over the last doubling (judged on rules that skipped no
///     underflowing weights when there are two such differences, since skipping the far nodes hides the growth
///     of a divergent integrand); and more than 1% of Q(|f|) comes from the tail (see QuadratureSum; only f
///     growing like exp(z²/2) keeps a share there as k grows: for f ~ exp(a z²) it is about e^{−(1/2 − a) k}).
///     Else the finest value is returned with the last difference as its error (slowly converging f, e.g.
///     non-smooth ones, or too low a max_order).
Estimate quadrature_route(const BatchIntegrand& f, const Eigen::MatrixXd& factor, const ExpectationOptions& options) {
  const auto r = static_cast<int>(factor.cols());
  constexpr double eps = std::numeric_limits<double>::epsilon();
  if (r == 0) {
    return {tensor_sum(f, factor, 1, options.batch_size).value, 0.0, Route::quadrature};
  }
  const OrderPlan plan = plan_orders(r, options);
  if (!plan.feasible()) {
    throw std::invalid_argument("quadrature over effective rank " + std::to_string(r) +
                                " needs two orders k < 2k <= max_order with (2k)^" + std::to_string(r) +
                                " <= max_quadrature_nodes; raise them or use Monte Carlo");
  }
  int k = plan.initial;
  QuadratureSum coarse = tensor_sum(f, factor, k, options.batch_size);
  std::vector<std::pair<int, double>> history{{k, coarse.value}};
  std::vector<double> differences;
  std::vector<double> untruncated_differences;
  while (2 * k <= plan.max) {
    k *= 2;
    const QuadratureSum fine = tensor_sum(f, factor, k, options.batch_size);
    history.emplace_back(k, fine.value);
    const double difference = std::abs(fine.value - coarse.value);
    const double scale = std::max(fine.abs_value, std::abs(fine.value));
    if (difference <= options.rel_tol * scale + options.abs_tol) {
      return {fine.value, std::max(difference, eps * scale), Route::quadrature};
    }
    differences.push_back(difference);
    if (!fine.truncated) untruncated_differences.push_back(difference);
    coarse = fine;
  }
  const double last = differences.back();
  const double scale = std::max(coarse.abs_value, std::abs(coarse.value));
  const std::vector<double>& judged = untruncated_differences.size() >= 2 ? untruncated_differences : differences;
  const bool shrinking = judged.size() >= 2 && judged.back() < 0.5 * judged[judged.size() - 2];
  if (last > 1e-2 * scale && !shrinking && coarse.abs_tail > 1e-2 * scale) {
    std::ostringstream out;
    out.precision(6);
    out << "the Gaussian expectation is not finite: Gauss–Hermite values do not converge as the order doubles (";
    for (std::size_t i = 0; i < history.size(); ++i) {
      out << (i ? ", " : "") << "Q_" << history[i].first << " = " << history[i].second;
    }
    out << "); E f(Z) appears to diverge (e.g. f grows like exp(z^2/2) or faster)";
    throw DivergentIntegral(out.str(), coarse.value);
  }
  return {coarse.value, last, Route::quadrature};
}

/// The kinked quadrature route (header comment): nullopt when the kinks are not parallel on the support of Z (or
/// none crosses it), so that the caller keeps the plain Gauss–Hermite route.
std::optional<Estimate> kinked_route(const BatchIntegrand& f, const Eigen::MatrixXd& factor,
                                     const ExpectationOptions& options) {
  const auto r = static_cast<int>(factor.cols());
  if (r == 0 || options.kinks.empty()) return std::nullopt;
  // 1. The hyperplanes a·z + c = 0 in whitened coordinates: (Lᵀa)·ξ + c = 0.
  Eigen::VectorXd across;
  std::vector<std::pair<Eigen::VectorXd, double>> crossing;
  const double factor_norm = factor.norm();
  for (const Hyperplane& k : options.kinks) {
    if (k.normal.size() != factor.rows()) throw std::invalid_argument("kink hyperplane of the wrong dimension");
    const Eigen::VectorXd n = factor.transpose() * k.normal;
    if (n.norm() <= 1e-12 * k.normal.norm() * factor_norm) continue;  // constant on the support
    if (across.size() == 0) across = n.normalized();
    if (std::abs(n.dot(across)) < (1 - 1e-9) * n.norm()) return std::nullopt;
    crossing.emplace_back(n, k.offset);
  }
  if (crossing.empty()) return std::nullopt;
  std::vector<double> breakpoints;
  for (const auto& [n, c] : crossing) breakpoints.push_back(-c / n.dot(across));
  // 2. An orthonormal basis whose first vector runs across them; Z = (L Q) η.
  Eigen::MatrixXd q = Eigen::MatrixXd::Identity(r, r);
  if (r > 1) {
    const Eigen::MatrixXd column = across;
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(column);
    q = qr.householderQ() * Eigen::MatrixXd::Identity(r, r);
  }
  if (q.col(0).dot(across) < 0) q.col(0) = -q.col(0);
  const Eigen::MatrixXd rotated = factor * q;
  // 3. Level ℓ of the double-exponential rule across, Gauss–Hermite order k along the other r − 1 directions.
  constexpr double eps = std::numeric_limits<double>::epsilon();
  constexpr int first_level = 2, last_level = 10;
  const OrderPlan plan = plan_orders(std::max(r - 1, 1), options);
  int order = r > 1 ? std::max(plan.initial, 2) : 1;
  DoubleExponentialRule de;
  Estimate result{0.0, std::numeric_limits<double>::infinity(), Route::quadrature};
  double previous = 0.0, tail = 0.0, change = std::numeric_limits<double>::infinity();
  for (int level = first_level; level <= last_level; ++level, order = r > 1 ? std::min(2 * order, plan.max) : 1) {
    double_exponential_normal_rule(breakpoints, level, de);
    std::vector<double> outer_x{0.0}, outer_w{1.0};
    if (r > 1) {
      const GaussHermiteRule& gh = gauss_hermite_rule(order);
      outer_x.assign(gh.nodes.begin(), gh.nodes.end());
      outer_w.assign(gh.weights.begin(), gh.weights.end());
    }
    const auto inner = static_cast<std::int64_t>(de.nodes.size());
    if (level > first_level && inner * node_count(order, r - 1, options.max_quadrature_nodes) > options.max_quadrature_nodes)
      break;
    CompensatedSum sum, abs_sum;
    std::vector<double> node_abs(de.nodes.size(), 0.0), node_sum(de.nodes.size(), 0.0);
    std::vector<int> index(static_cast<std::size_t>(r - 1), 0);
    const auto outer_count = static_cast<int>(outer_x.size());
    Eigen::MatrixXd eta(r, inner);
    for (;;) {
      double w_outer = 1.0;
      for (int a = 0; a + 1 < r; ++a) w_outer *= outer_w[index[a]];
      if (w_outer >= DBL_MIN) {
        for (Eigen::Index j = 0; j < inner; ++j) {
          eta(0, j) = de.nodes[j];
          for (int a = 0; a + 1 < r; ++a) eta(a + 1, j) = outer_x[index[a]];
        }
        for (Eigen::Index start = 0; start < inner; start += options.batch_size) {
          const Eigen::Index m = std::min<Eigen::Index>(options.batch_size, inner - start);
          const Eigen::ArrayXd values = call_integrand(f, rotated * eta.middleCols(start, m), "double-exponential rule");
          for (Eigen::Index j = 0; j < m; ++j) {
            const double w = w_outer * de.weights[start + j];
            sum.add(w * values(j));
            abs_sum.add(w * std::abs(values(j)));
            node_abs[start + j] += w * std::abs(values(j));
            node_sum[start + j] += w * values(j);
          }
        }
      }
      int a = 0;
      while (a + 1 < r && ++index[a] == outer_count) index[a++] = 0;
      if (a + 1 >= r) break;
    }
    tail = 0.0;
    for (const auto& [last, second] : de.ends) {
      if (last < 0) continue;
      // a side with one node (a panel narrower than ~1e4 ulps) has no ratio: its node's own size stands in
      const double rest = second >= 0 ? truncation_estimate(node_abs[last], node_abs[second]) : node_abs[last];
      tail += rest;
      if (std::isfinite(rest) && node_abs[last] > 0) sum.add(0.5 * rest * node_sum[last] / node_abs[last]);
    }
    const double value = sum.value(), scale = std::max(abs_sum.value(), std::abs(value));
    if (level > first_level) change = std::abs(value - previous);
    previous = value;
    result = {value, std::max(change + tail, 16 * eps * scale), Route::quadrature};
    if (level >= first_level + 2 && change + tail <= options.rel_tol * scale + options.abs_tol) return result;
  }
  if (std::isinf(tail)) {
    std::ostringstream out;
    out.precision(6);
    out << "the Gaussian expectation is not finite: the integrand does not decay towards its singular point";
    for (double s : breakpoints) out << ' ' << s;
    out << " (in standard deviations along the direction across it): it is not integrable there";
    throw DivergentIntegral(out.str(), result.value);
  }
  return result;
}

/// Standard normals by Box–Muller on 53-bit uniforms of mt19937_64 (the same stream on every platform,
/// unlike std::normal_distribution).
class NormalStream {
 public:
  explicit NormalStream(std::uint64_t seed) : engine_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    constexpr double to_unit = 0x1.0p-53;
    const double u1 = 1.0 - static_cast<double>(engine_() >> 11) * to_unit;  // (0, 1]
    const double u2 = static_cast<double>(engine_() >> 11) * to_unit;        // [0, 1)
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace

CovarianceFactor factor_covariance(const Eigen::MatrixXd& cov, double rank_tolerance, double psd_tolerance) {
  const Eigen::Index d = cov.rows();
  if (d == 0 || cov.cols() != d) {
    throw CovarianceError("covariance must be a non-empty square matrix, got " + std::to_string(cov.rows()) + "x" +
                              std::to_string(cov.cols()),
                          not_a_number);
  }
  std::ostringstream out;
  out.precision(6);
  for (Eigen::Index i = 0; i < d; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      if (!std::isfinite(cov(i, j))) {
        out << "covariance entry (" << i << ", " << j << ") is not finite: " << cov(i, j);
        throw CovarianceError(out.str(), not_a_number);
      }
    }
  }
  const double magnitude = cov.cwiseAbs().maxCoeff();
  for (Eigen::Index i = 0; i < d; ++i) {
    for (Eigen::Index j = i + 1; j < d; ++j) {
      if (std::abs(cov(i, j) - cov(j, i)) > psd_tolerance * magnitude) {
        out << "covariance is not symmetric: entry (" << i << ", " << j << ") = " << cov(i, j) << " but (" << j << ", "
            << i << ") = " << cov(j, i);
        throw CovarianceError(out.str(), not_a_number);
      }
    }
  }
  const Eigen::MatrixXd symmetric = 0.5 * (cov + cov.transpose());
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(symmetric);
  if (solver.info() != Eigen::Success) throw std::logic_error("bug: covariance eigendecomposition failed");
  CovarianceFactor result;
  result.eigenvalues = solver.eigenvalues();
  const double smallest = result.eigenvalues(0);
  const double largest = std::max(result.eigenvalues(d - 1), -smallest);
  if (smallest < -psd_tolerance * largest) {
    out << "covariance is not positive semidefinite: smallest eigenvalue " << smallest << " (largest "
        << result.eigenvalues(d - 1) << ")";
    throw CovarianceError(out.str(), smallest);
  }
  std::vector<Eigen::Index> kept;
  for (Eigen::Index i = d - 1; i >= 0; --i) {
    if (result.eigenvalues(i) > rank_tolerance * largest && result.eigenvalues(i) > 0) kept.push_back(i);
  }
  result.factor.resize(d, static_cast<Eigen::Index>(kept.size()));
  for (std::size_t c = 0; c < kept.size(); ++c) {
    const auto col = static_cast<Eigen::Index>(c);
    result.factor.col(col) = std::sqrt(result.eigenvalues(kept[c])) * solver.eigenvectors().col(kept[c]);
  }
  return result;
}

namespace {

/// Monte Carlo never samples the far tail, so a tail that is not integrable (E exp(Z²)) would still give a
/// finite sample mean. Before sampling: along each whitened axis ±e_a and the diagonal ±(1, …, 1)/√r, the
/// integrand's share of the density, log|f(L s e)| − s²/2, must at s = 32 be below −50 or have fallen by at
/// least 1 (a factor e) since s = 16 — it is about −510 for any f growing slower than exp(z²/4σ²) (relu(z − 20)
/// included), stays 0 for exp(z²/2) (E infinite) and falls by 0.77 for exp(0.499 z²) (which quadrature also
/// refuses in double precision), while exp(0.49 z²) (E finite) falls by 7.7. An
/// infinite f there (an overflow) is refused the same way; NaN (a domain error far out) is left to sampling.
void check_monte_carlo_tail(const BatchIntegrand& f, const Eigen::MatrixXd& factor) {
  const Eigen::Index d = factor.rows(), r = factor.cols();
  std::vector<Eigen::VectorXd> directions;
  for (Eigen::Index a = 0; a < r; ++a) directions.push_back(Eigen::VectorXd::Unit(r, a));
  if (r > 1) directions.push_back(Eigen::VectorXd::Constant(r, 1.0 / std::sqrt(static_cast<double>(r))));
  Eigen::MatrixXd points(d, static_cast<Eigen::Index>(4 * directions.size()));
  const double radii[2] = {16.0, 32.0};
  for (std::size_t i = 0; i < directions.size(); ++i)
    for (int side = 0; side < 2; ++side)
      for (int k = 0; k < 2; ++k)
        points.col(static_cast<Eigen::Index>(4 * i + 2 * side + k)) = factor * directions[i] * (side ? -radii[k] : radii[k]);
  const Eigen::ArrayXd values = f(points);
  for (Eigen::Index j = 0; j + 1 < values.size(); j += 2) {
    const double near = values(j), far = values(j + 1);
    const bool overflow = std::isinf(far) || std::isinf(near);
    const double log_near = std::log(std::abs(near)) - radii[0] * radii[0] / 2,
                 log_far = std::log(std::abs(far)) - radii[1] * radii[1] / 2;
    if (!overflow && !(log_far > -50 && log_far > log_near - 1)) continue;
    std::ostringstream out;
    out.precision(3);
    out << "the tail of f is not integrable against the Gaussian density (|f| is "
        << std::abs(near) << " at Z = " << format_point(points.col(j)) << " and " << std::abs(far) << " at Z = "
        << format_point(points.col(j + 1)) << ", 16 and 32 standard deviations out: f grows like exp(z^2/2) or faster); "
           "Monte Carlo would print a finite sample mean";
    throw DivergentIntegral(out.str(), not_a_number);
  }
}

}  // namespace

double tensor_quadrature(const BatchIntegrand& f, const Eigen::MatrixXd& factor, int order, std::int64_t batch_size) {
  if (batch_size < 1) throw std::invalid_argument("batch_size must be positive");
  return tensor_sum(f, factor, order, batch_size).value;
}

Estimate monte_carlo_expectation(const BatchIntegrand& f, const Eigen::MatrixXd& factor, std::int64_t pairs,
                                 std::uint64_t seed, std::int64_t batch_size) {
  if (pairs < 2) throw std::invalid_argument("Monte Carlo needs at least 2 antithetic pairs");
  if (batch_size < 1) throw std::invalid_argument("batch_size must be positive");
  const Eigen::Index d = factor.rows();
  const Eigen::Index r = factor.cols();
  if (r == 0) {
    return {call_integrand(f, Eigen::MatrixXd::Zero(d, 1), "Z = 0")(0), 0.0, Route::monte_carlo};
  }
  check_monte_carlo_tail(f, factor);
  NormalStream normals(seed);
  const std::int64_t per_batch = std::max<std::int64_t>(1, batch_size / 2);
  double mean = 0.0;
  double sum_sq = 0.0;  // Welford's running Σ (y − mean)²
  std::int64_t n = 0;
  Eigen::MatrixXd xi(r, std::min(per_batch, pairs));
  Eigen::MatrixXd points(d, 2 * xi.cols());
  while (n < pairs) {
    const Eigen::Index b = std::min<std::int64_t>(per_batch, pairs - n);
    for (Eigen::Index j = 0; j < b; ++j) {
      for (Eigen::Index a = 0; a < r; ++a) xi(a, j) = normals.next();
    }
    points.leftCols(b) = factor * xi.leftCols(b);
    points.middleCols(b, b) = -points.leftCols(b);
    const Eigen::ArrayXd values = call_integrand(f, points.leftCols(2 * b), "Monte Carlo sample");
    for (Eigen::Index j = 0; j < b; ++j) {
      const double y = 0.5 * (values(j) + values(j + b));
      ++n;
      const double delta = y - mean;
      mean += delta / static_cast<double>(n);
      sum_sq += delta * (y - mean);
    }
  }
  const double variance = sum_sq / static_cast<double>(n - 1);
  return {mean, std::sqrt(variance / static_cast<double>(n)), Route::monte_carlo};
}

Estimate gaussian_expectation(const BatchIntegrand& f, const Eigen::MatrixXd& cov, const ExpectationOptions& options) {
  if (!(options.rel_tol >= 0) || !(options.abs_tol >= 0) || options.max_quadrature_nodes < 1 ||
      options.batch_size < 1 || options.max_order < 0 || options.initial_order < 0) {
    throw std::invalid_argument("ExpectationOptions: tolerances must be >= 0, orders >= 0 and node/batch sizes >= 1");
  }
  const CovarianceFactor fac = factor_covariance(cov, options.rank_tolerance, options.psd_tolerance);
  const int r = fac.rank();
  bool use_quadrature = false;
  switch (options.method) {
    case ExpectationMethod::automatic:
      use_quadrature = r == 0 || (r <= options.max_quadrature_rank && plan_orders(r, options).feasible());
      break;
    case ExpectationMethod::quadrature: use_quadrature = true; break;
    case ExpectationMethod::monte_carlo: use_quadrature = false; break;
  }
  if (use_quadrature) {
    if (auto kinked = kinked_route(f, fac.factor, options)) return *kinked;
    return quadrature_route(f, fac.factor, options);
  }
  return monte_carlo_expectation(f, fac.factor, options.mc_pairs, options.seed, options.batch_size);
}

Estimate expect_1d(const std::function<double(double)>& f, double variance, const ExpectationOptions& options) {
  const BatchIntegrand batch = [&f](const Eigen::MatrixXd& points) {
    Eigen::ArrayXd values(points.cols());
    for (Eigen::Index j = 0; j < points.cols(); ++j) values(j) = f(points(0, j));
    return values;
  };
  return gaussian_expectation(batch, Eigen::MatrixXd::Constant(1, 1, variance), options);
}

Estimate expect_2d(const std::function<double(double, double)>& f, double k11, double k12, double k22,
                   const ExpectationOptions& options) {
  const BatchIntegrand batch = [&f](const Eigen::MatrixXd& points) {
    Eigen::ArrayXd values(points.cols());
    for (Eigen::Index j = 0; j < points.cols(); ++j) values(j) = f(points(0, j), points(1, j));
    return values;
  };
  Eigen::MatrixXd cov(2, 2);
  cov << k11, k12, k12, k22;
  return gaussian_expectation(batch, cov, options);
}

}  // namespace tp::limits
