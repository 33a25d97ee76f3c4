// See singularity.h. Steps for each division a/b (and each power b^c with constant c < 0) of the tree:
//   1. for every random argument i and each of three base points (the other arguments at 0.37 and −1.21,
//      or 1 for scalars), sample b along argument i on a grid over [−64, 64] (step 1/128 on [−6, 6], 0
//      included, and 1/16 outside);
//   2. at each grid zero or sign change of b, bisect to the root t0; at each local minimum of |b| (a zero
//      that does not change sign, (x − 0.3)²), find the minimum t0 by golden-section search;
//   3. evaluate the whole expression q at t0 ± 1e−4 and t0 ± 1e−8 (a bounded function of the quotient, such
//      as tanh(1/x), is no pole); its growth exponent p = log10(|q(1e−8)| / |q(1e−4)|) / 4 (or a non-finite
//      value) ≥ 0.95 on either side is a pole; a zero where the denominator merely underflows (|b| below
//      1e-280 on both sides, 1/phi(x) far out) is a question of the tail, left to the tail checks.
// Then, numerically, for singularities no denominator shows (exp(-log|x|) = 1/|x|, |x|^(-c) with a scalar
// exponent), only where the tree holds a log or a power with a non-constant exponent — every other function
// of the catalogue is finite on the whole real line, and so is any composition of them without a division:
//   4. sample the whole expression q along each random argument on the same grids; its non-finite values and
//      its local maxima of |q| (refined by golden-section search) are candidate singularities t0;
//   5. divergent refinement: integrate |q| over the shells 10^-(k+1) δ < |t − t0| < 10^-k δ (k = 0..7,
//      δ = 0.1 max(1, |t0|)) by a midpoint rule in log|t − t0|; E|q| exists near t0 only if these shell
//      integrals shrink — they stay constant for |t − t0|^-1 and shrink by 10^-(1-p) per decade for
//      |t − t0|^-p — so shells 8 to 4 decades in that do not shrink below 0.8 of each other (p ≥ 0.975), or a
//      non-finite shell, is a divergent singularity.
#include "tp/singularity.h"

#include <algorithm>
#include <cmath>
#include <limits>
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
    if (auto found = visit(e); !found.empty()) return found;
    return may_be_singular(e) ? spikes(e) : "";
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
        if (auto found = pole_at(cq, whole_, point, k, root, &cd); !found.empty()) return found;
      before = prev;
      before_t = prev_t;
      prev_t = t;
      prev = v;
    }
    return "";
  }

  // The scan grids, the centre first (so the pole reported is the one nearest to it): step 1/128 on [−6, 6]
  // (0 included), then 1/16 out to −64 and to 64 (a Gaussian of variance 100 still puts weight at 30), then
  // geometric steps of 2% out to ±2^20: a pole anywhere on the line makes E|f(Z)| infinite (1/(x − 100)), and
  // a monotone denominator changes sign between two of these points wherever its zero is.
  static const std::vector<std::vector<double>>& grids() {
    static const std::vector<std::vector<double>> all = [] {
      std::vector<std::vector<double>> g(5);
      for (int s = -6 * 128; s <= 6 * 128; ++s) g[0].push_back(s / 128.0);
      for (int s = -6 * 16; s >= -64 * 16; --s) g[1].push_back(s / 16.0);
      for (int s = 6 * 16; s <= 64 * 16; ++s) g[2].push_back(s / 16.0);
      for (double t = 64; t <= 1 << 20; t *= 1.02) {
        g[3].push_back(-t);
        g[4].push_back(t);
      }
      return g;
    }();
    return all;
  }

  // Whether e holds a function that can be infinite at a finite point without a division: log, or a power
  // whose exponent is not a constant (|x|^(-c) with a scalar c).
  static bool may_be_singular(const ExprPtr& e) {
    if (!e) return false;
    if (e->kind == ExprKind::Call && e->fn == Function::log) return true;
    if (e->kind == ExprKind::Pow && e->rhs->kind != ExprKind::Const) return true;
    return may_be_singular(e->lhs) || may_be_singular(e->rhs);
  }

  // Steps 4–5: candidate singularities of the whole expression along each random argument.
  std::string spikes(const ExprPtr& q) const {
    const auto used = arguments_used(q);
    if (used.empty()) return "";
    const std::size_t n = static_cast<std::size_t>(used.back()) + 1;
    const CompiledExpr cq(q, std::vector<bool>(n, false));
    for (int i : used) {
      if (static_cast<std::size_t>(i) < random_.size() && !random_[static_cast<std::size_t>(i)]) continue;
      const auto k = static_cast<std::size_t>(i);
      for (double base : {0.37, -1.21}) {
        std::vector<double> point(n);
        for (std::size_t j = 0; j < n; ++j) point[j] = j < random_.size() && !random_[j] ? 1.0 : base;
        for (const std::vector<double>& ts : grids()) {
          int refined = 0;
          double a = std::abs(eval(cq, point, k, ts[0])), b = std::abs(eval(cq, point, k, ts[1]));
          for (std::size_t g = 1; g + 1 < ts.size(); ++g) {
            const double c = std::abs(eval(cq, point, k, ts[g + 1]));
            double t0 = std::nan("");
            if (std::isinf(b)) t0 = ts[g];  // NaN (log of a negative) is a domain error, reported by the integrators
            else if (b > a && b > c && refined++ < 64) t0 = highest(cq, point, k, ts[g - 1], ts[g + 1]);
            if (!std::isnan(t0))
              if (auto found = diverges_at(cq, q, point, k, t0); !found.empty()) return found;
            a = b;
            b = c;
          }
        }
      }
    }
    return "";
  }

  // The maximum of |q| on [lo, hi] (golden-section search; a non-finite value is the maximum).
  double highest(const CompiledExpr& cq, std::vector<double>& point, std::size_t k, double lo, double hi) const {
    const double g = 0.5 * (std::sqrt(5.0) - 1);
    auto size = [&](double t) {
      const double v = std::abs(eval(cq, point, k, t));
      return std::isnan(v) ? -1.0 : v;
    };
    for (int it = 0; it < 200 && hi - lo > 1e-15 * std::max(1.0, std::abs(lo)); ++it) {
      const double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
      if (size(a) > size(b)) hi = b;
      else lo = a;
    }
    return 0.5 * (lo + hi);
  }

  // Step 5 at t0: "" or the sentence naming the singularity and its growth.
  std::string diverges_at(const CompiledExpr& cq, const ExprPtr& q, std::vector<double>& point, std::size_t k, double t0) const {
    const double delta = 0.1 * std::max(1.0, std::abs(t0));
    for (double side : {-1.0, 1.0}) {
      std::vector<double> shell(8, 0.0);
      for (int d = 0; d < 8; ++d)
        for (int j = 0; j < 8; ++j) {  // s = δ 10^-(d + u), ds = s ln 10 du, midpoints in u
          const double s = delta * std::pow(10.0, -(d + (j + 0.5) / 8));
          shell[d] += std::abs(eval(cq, point, k, t0 + side * s)) * s * std::log(10.0) / 8;
        }
      const double ratio = shell[7] / shell[3];
      if (std::isnan(shell[7]) || std::isnan(shell[3])) continue;  // undefined there: the integrators refuse NaN
      if (std::isfinite(shell[7]) && std::isfinite(shell[3]) && !(ratio >= 0.8)) continue;
      if (!std::isfinite(shell[3]) && std::isfinite(shell[7])) continue;  // overflow far out, finite close in
      std::vector<std::string> names = names_;
      for (std::size_t j = names.size(); j <= k || j < point.size(); ++j) names.push_back("_arg" + std::to_string(j));
      std::ostringstream out;
      out.precision(6);
      const double at = std::abs(t0) < 1e-12 ? 0.0 : t0;
      out << to_string(q, names) << " is singular at " << names[k] << " = " << at
          << ": the integral of its absolute value over shells closing in on it does not shrink (divergent refinement)";
      if (std::isfinite(ratio) && ratio > 0) {
        out.precision(2);
        out << ", as for |" << names[k];
        if (at != 0) out << (at < 0 ? " + " : " - ") << std::abs(at);
        out << "|^-" << 1 + std::log10(ratio) / 4;
      }
      return out.str();
    }
    return "";
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

  std::string pole_at(const CompiledExpr& cq, const ExprPtr& q, std::vector<double>& point, std::size_t k, double t0,
                      const CompiledExpr* den = nullptr) const {
    if (den) {  // a denominator that only underflows to 0 (1/phi(x) at |x| > 38) is a tail, not a pole
      const double step = 1e-4 * std::max(1.0, std::abs(t0));
      if (std::abs(eval(*den, point, k, t0 - step)) < 1e-280 && std::abs(eval(*den, point, k, t0 + step)) < 1e-280) return "";
    }
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
