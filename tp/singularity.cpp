// See singularity.h. Steps for each division a/b (and each power b^c with constant c < 0) of the tree:
//   1. for every random argument i and each of three base points (the other arguments at 0.37 and −1.21,
//      or 1 for scalars), sample b along argument i on a grid over [−64, 64] (step 1/128 on [−6, 6], 0
//      included, and 1/16 outside);
//   2. at each grid zero or sign change of b, bisect to the root t0; at each local minimum of |b| (a zero
//      that does not change sign, (x − 0.3)²), find the minimum t0 by golden-section search;
//   3. evaluate the whole expression q at t0 ± 1e−4 and t0 ± 1e−8 (a bounded function of the quotient, such
//      as tanh(1/x), is no pole); its growth exponent p = log10(|q(1e−8)| / |q(1e−4)|) / 4 (or a non-finite
//      value) ≥ 0.95 on either side is a pole.
#include "tp/singularity.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "tp/compiled_expr.h"

namespace tp {

namespace {

class PoleFinder {
 public:
  PoleFinder(const std::vector<bool>& random, const std::vector<std::string>& names) : random_(random), names_(names) {}

  // The zeros of every denominator in e, judged by the growth of the whole expression (tanh(1/x) is bounded).
  std::string run(const ExprPtr& e) {
    whole_ = e;
    return visit(e);
  }

 private:
  std::string visit(const ExprPtr& e) {
    if (!e) return "";
    if (auto found = visit(e->lhs); !found.empty()) return found;
    if (auto found = visit(e->rhs); !found.empty()) return found;
    if (e->kind == ExprKind::Div && !is_constant_expr(e->rhs)) return check(e->rhs);
    if (e->kind == ExprKind::Pow && e->rhs->kind == ExprKind::Const && e->rhs->value < 0) return check(e->lhs);
    return "";
  }

  static bool is_constant_expr(const ExprPtr& e) { return max_argument(e) < 0; }

  double eval(const CompiledExpr& c, std::vector<double>& point, std::size_t i, double t) const {
    point[i] = t;
    return c.eval_scalar(point);
  }

  // Steps 1–3 for one denominator.
  std::string check(const ExprPtr& den) const {
    const ExprPtr& q = whole_;
    const auto used = arguments_used(den);
    if (used.empty()) return "";
    const std::size_t n = static_cast<std::size_t>(std::max(used.back(), max_argument(q))) + 1;
    const std::vector<bool> scalars(n, false);
    const CompiledExpr cq(q, scalars), cd(den, scalars);
    for (int i : used) {
      if (static_cast<std::size_t>(i) < random_.size() && !random_[static_cast<std::size_t>(i)]) continue;
      for (double base : {0.37, -1.21}) {
        std::vector<double> point(n);
        for (std::size_t j = 0; j < n; ++j)
          point[j] = j < random_.size() && !random_[j] ? 1.0 : base;
        const auto k = static_cast<std::size_t>(i);
        for (const std::vector<double>& ts : grids())
          if (auto found = scan(cq, cd, point, k, ts); !found.empty()) return found;
      }
    }
    return "";
  }

  // Steps 1–2 along one grid.
  std::string scan(const CompiledExpr& cq, const CompiledExpr& cd, std::vector<double>& point, std::size_t k,
                   const std::vector<double>& ts) const {
    double before_t = ts[0], prev_t = ts[0], prev = eval(cd, point, k, prev_t), before = std::nan("");
    for (std::size_t g = 1; g < ts.size(); ++g) {
      const double t = ts[g];
      const double v = eval(cd, point, k, t);
      double root = std::nan("");
      if (v == 0) root = t;
      else if (std::isfinite(prev) && std::isfinite(v) && (prev < 0) != (v < 0)) root = bisect(cd, point, k, prev_t, t, prev);
      else if (std::abs(prev) < std::abs(before) && std::abs(prev) < std::abs(v))  // |b| dips: a double zero?
        root = lowest(cd, point, k, std::min(before_t, t), std::max(before_t, t));
      if (!std::isnan(root))
        if (auto found = pole_at(cq, whole_, point, k, root); !found.empty()) return found;
      before = prev;
      before_t = prev_t;
      prev_t = t;
      prev = v;
    }
    return "";
  }

  // The scan grids, the centre first (so the pole reported is the one nearest to it): step 1/128 on [−6, 6]
  // (0 included), then 1/16 out to −64 and to 64 (a Gaussian of variance 100 still puts weight at 30).
  static const std::vector<std::vector<double>>& grids() {
    static const std::vector<std::vector<double>> all = [] {
      std::vector<std::vector<double>> g(3);
      for (int s = -6 * 128; s <= 6 * 128; ++s) g[0].push_back(s / 128.0);
      for (int s = -6 * 16; s >= -64 * 16; --s) g[1].push_back(s / 16.0);
      for (int s = 6 * 16; s <= 64 * 16; ++s) g[2].push_back(s / 16.0);
      return g;
    }();
    return all;
  }

  double bisect(const CompiledExpr& cd, std::vector<double>& point, std::size_t k, double lo, double hi, double f_lo) const {
    for (int it = 0; it < 80; ++it) {  // lo and hi in either order; f(lo) = f_lo and f(hi) differ in sign
      const double mid = 0.5 * (lo + hi);
      if (mid == lo || mid == hi) break;
      const double f = eval(cd, point, k, mid);
      if (f == 0) return mid;
      if ((f < 0) == (f_lo < 0)) {
        lo = mid;
        f_lo = f;
      } else {
        hi = mid;
      }
    }
    return 0.5 * (lo + hi);
  }

  // The minimum of |b| on [lo, hi] (golden-section search), where a zero that does not change sign would be.
  double lowest(const CompiledExpr& cd, std::vector<double>& point, std::size_t k, double lo, double hi) const {
    const double g = 0.5 * (std::sqrt(5.0) - 1);
    for (int it = 0; it < 100 && hi - lo > 1e-15 * std::max(1.0, std::abs(lo)); ++it) {
      const double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
      if (std::abs(eval(cd, point, k, a)) < std::abs(eval(cd, point, k, b))) hi = b;
      else lo = a;
    }
    return 0.5 * (lo + hi);
  }

  std::string pole_at(const CompiledExpr& cq, const ExprPtr& q, std::vector<double>& point, std::size_t k, double t0) const {
    for (double side : {-1.0, 1.0}) {
      const double near = std::abs(eval(cq, point, k, t0 + side * 1e-8 * std::max(1.0, std::abs(t0))));
      const double far = std::abs(eval(cq, point, k, t0 + side * 1e-4 * std::max(1.0, std::abs(t0))));
      const double p = std::log10(near / far) / 4;
      if (!std::isfinite(near) || (far > 0 && p >= 0.95)) {
        std::vector<std::string> names = names_;
        for (std::size_t j = names.size(); j <= k || j < point.size(); ++j) names.push_back("_arg" + std::to_string(j));
        std::ostringstream out;
        out.precision(6);
        const double at = std::abs(t0) < 1e-12 ? 0.0 : t0;
        out << to_string(q, names) << " has a pole at " << names[k] << " = " << at;
        if (std::isfinite(near) && std::isfinite(p)) {
          out << ", where it grows like |" << names[k];
          if (at != 0) out << (at < 0 ? " + " : " - ") << std::abs(at);
          out.precision(2);
          out << "|^-" << p;
        }
        return out.str();
      }
    }
    return "";
  }

  const std::vector<bool>& random_;
  const std::vector<std::string>& names_;
  ExprPtr whole_;
};

}  // namespace

std::string find_pole(const ExprPtr& e, const std::vector<bool>& random, const std::vector<std::string>& names) {
  return PoleFinder(random, names).run(e);
}

std::string find_pole(const Program& p) {
  for (const Value& v : p.values()) {
    if ((v.op != Op::Nonlin && v.op != Op::Moment) || !v.expr) continue;
    std::vector<bool> random;
    std::vector<std::string> names;
    for (ValueId id : v.operands) {
      random.push_back(p.values()[static_cast<std::size_t>(id)].kind == ValueKind::Vector);
      names.push_back(p.values()[static_cast<std::size_t>(id)].name);
    }
    const std::string found = find_pole(v.expr, random, names);
    if (found.empty()) continue;
    const std::string where = v.range.valid() ? " (line " + std::to_string(v.range.begin.line) + ")" : "";
    return "'" + v.name + "'" + where + ": " + found;
  }
  return "";
}

}  // namespace tp
