// Kink and singularity hyperplanes of an expression; see kink_hyperplanes.h.
#include "limits/kink_hyperplanes.h"

#include <cmath>

namespace tp::limits {

namespace {

/// e as normal·z + offset, or nullopt if e is not affine in its arguments.
struct Affine {
  Eigen::VectorXd normal;
  double offset = 0.0;
};

std::optional<Affine> affine(const ExprPtr& e, int d) {
  switch (e->kind) {
    case ExprKind::Const: return Affine{Eigen::VectorXd::Zero(d), e->value};
    case ExprKind::Arg: {
      if (e->arg < 0 || e->arg >= d) return std::nullopt;
      Affine a{Eigen::VectorXd::Zero(d), 0.0};
      a.normal(e->arg) = 1.0;
      return a;
    }
    case ExprKind::Neg: {
      auto a = affine(e->lhs, d);
      if (a) a->normal = -a->normal, a->offset = -a->offset;
      return a;
    }
    case ExprKind::Add:
    case ExprKind::Sub: {
      auto a = affine(e->lhs, d), b = affine(e->rhs, d);
      if (!a || !b) return std::nullopt;
      const double s = e->kind == ExprKind::Add ? 1.0 : -1.0;
      return Affine{a->normal + s * b->normal, a->offset + s * b->offset};
    }
    case ExprKind::Mul:
    case ExprKind::Div: {
      auto a = affine(e->lhs, d), b = affine(e->rhs, d);
      if (!a || !b) return std::nullopt;
      const bool a_const = a->normal.isZero(0.0), b_const = b->normal.isZero(0.0);
      if (e->kind == ExprKind::Div) {
        if (!b_const || b->offset == 0.0) return std::nullopt;
        return Affine{a->normal / b->offset, a->offset / b->offset};
      }
      if (a_const) return Affine{a->offset * b->normal, a->offset * b->offset};
      if (b_const) return Affine{b->offset * a->normal, b->offset * a->offset};
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

bool is_constant(const ExprPtr& e) { return max_argument(e) < 0; }

/// The zero set of e, as hyperplanes (see the header comment); false if unknown.
bool zeros(const ExprPtr& e, int d, std::vector<Hyperplane>& out) {
  if (auto a = affine(e, d)) {
    if (!a->normal.isZero(0.0)) out.push_back({a->normal, a->offset});
    return true;  // a constant has no zero set worth splitting at (0 everywhere is the integrand's business)
  }
  switch (e->kind) {
    case ExprKind::Neg: return zeros(e->lhs, d, out);
    case ExprKind::Mul: return zeros(e->lhs, d, out) && zeros(e->rhs, d, out);
    case ExprKind::Div: return zeros(e->lhs, d, out);
    case ExprKind::Pow:
      if (e->rhs->kind == ExprKind::Const && e->rhs->value > 0) return zeros(e->lhs, d, out);
      return false;
    case ExprKind::Call:
      switch (e->fn) {
        case Function::abs:
        case Function::relu:
        case Function::sign:
        case Function::sqrt: return zeros(e->lhs, d, out);
        case Function::exp:
        case Function::normcdf:
        case Function::normpdf:
        case Function::sigmoid: return true;
        default: return false;
      }
    default: return false;
  }
}

bool collect(const ExprPtr& e, int d, std::vector<Hyperplane>& out) {
  if (!e) return true;
  if (!collect(e->lhs, d, out) || !collect(e->rhs, d, out)) return false;
  switch (e->kind) {
    case ExprKind::Div: return is_constant(e->rhs) || zeros(e->rhs, d, out);
    case ExprKind::Pow: {
      const bool smooth_power = e->rhs->kind == ExprKind::Const && e->rhs->value >= 0 &&
                                e->rhs->value == std::floor(e->rhs->value);
      return smooth_power || is_constant(e->lhs) || zeros(e->lhs, d, out);
    }
    case ExprKind::Call:
      switch (e->fn) {
        case Function::relu:
        case Function::step:
        case Function::abs:
        case Function::sign:
        case Function::log:
        case Function::sqrt: return is_constant(e->lhs) || zeros(e->lhs, d, out);
        default: return true;
      }
    default: return true;
  }
}

}  // namespace

std::optional<std::vector<Hyperplane>> kink_hyperplanes(const ExprPtr& e, int d) {
  std::vector<Hyperplane> out;
  if (!collect(e, d, out)) return std::nullopt;
  std::vector<Hyperplane> unique;  // log(abs(x)) names x = 0 twice
  for (const Hyperplane& h : out) {
    bool seen = false;
    for (const Hyperplane& u : unique) seen = seen || (u.offset == h.offset && u.normal == h.normal);
    if (!seen) unique.push_back(h);
  }
  return unique;
}

}  // namespace tp::limits
