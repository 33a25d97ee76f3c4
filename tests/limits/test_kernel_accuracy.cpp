// Issue #13 item 5: NNGP/NTK of smooth activations to 1e-10 at every variance, and a printed error that bounds
// the actual error, against an independent reference (nested adaptive Gauss–Kronrod, reference_quadrature.h).
// Before the trapezoidal rule (Gauss–Hermite of order 160), tanh at sw2 = 2 with inputs of |x|²/d up to 2 was
// off by more than 1e-9 in the NTK.
#include <doctest/doctest.h>

#include <cmath>

#include "limits/mlp_kernel.h"
#include "reference_quadrature.h"

namespace {

using namespace tp;
using namespace tp::limits;

/// The recursions of mlp_kernel.h with every transform by kronrod_gauss_2d (diagonal entries included).
struct Reference {
  std::vector<Eigen::MatrixXd> nngp, ntk;
};

template <class F, class DF>
Reference kronrod_kernel(F f, DF df, const Eigen::MatrixXd& x, int depth, double sw2, double sb2) {
  const Eigen::Index n = x.rows();
  Eigen::MatrixXd k = sw2 * x * x.transpose() / static_cast<double>(x.cols());
  k.array() += sb2;
  Reference r;
  r.nngp.push_back(k);
  r.ntk.push_back(k);
  for (int l = 1; l <= depth; ++l) {
    const Eigen::MatrixXd kl = r.nngp.back(), tl = r.ntk.back();
    Eigen::MatrixXd kn(n, n), tn(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = i; j < n; ++j) {
        const double a = kl(i, i), c = kl(i, j), b = kl(j, j);
        const double e = testing::kronrod_gauss_2d([&](double u, double v) { return f(u) * f(v); }, a, c, b);
        const double ed = testing::kronrod_gauss_2d([&](double u, double v) { return df(u) * df(v); }, a, c, b);
        kn(i, j) = kn(j, i) = sw2 * e + sb2;
        tn(i, j) = tn(j, i) = kn(i, j) + sw2 * ed * tl(i, j);
      }
    r.nngp.push_back(kn);
    r.ntk.push_back(tn);
  }
  return r;
}

/// Three inputs in R^2 with |x|²/d = 2, 1.25 and 0.5 (large variances are the hard integrands for tanh).
Eigen::MatrixXd three_inputs() {
  Eigen::MatrixXd x(3, 2);
  x << 2.0, 0.0,  //
      1.0, -1.5,  //
      -0.6, 0.8;
  return x;
}

}  // namespace

TEST_CASE("check: tanh kernels reach 1e-10 at sw2 = 0.5, 1, 2 and 3 (depth 3), and the printed error bounds the actual error") {
  const Eigen::MatrixXd x = three_inputs();
  auto tanh_f = [](double u) { return std::tanh(u); };
  auto tanh_d = [](double u) { return 1 - std::tanh(u) * std::tanh(u); };
  for (double sw2 : {0.5, 1.0, 2.0, 3.0}) {
    CAPTURE(sw2);
    const auto spec = make_mlp_kernel_spec(call(Function::tanh, argument(0)), 3, {sw2}, {0.1});
    const MlpKernelResult r = compute_mlp_kernel(spec, x);
    const Reference ref = kronrod_kernel(tanh_f, tanh_d, x, 3, sw2, 0.1);
    CHECK(r.route == Route::quadrature);
    CHECK(r.order == 0);  // the trapezoidal rule
    CHECK(r.target_met);
    for (std::size_t l = 0; l < 4; ++l) {
      CAPTURE(l);
      const double dk = (r.nngp[l] - ref.nngp[l]).cwiseAbs().maxCoeff();
      const double dt = (r.ntk[l] - ref.ntk[l]).cwiseAbs().maxCoeff();
      CHECK(dk <= 1e-10);
      CHECK(dt <= 1e-10);
      CHECK(dk <= r.nngp_error[l] + 1e-14);  // the reference's own error is below 1e-14
      CHECK(dt <= r.ntk_error[l] + 1e-14);
      CHECK(r.nngp_error[l] <= 1e-10);
      CHECK(r.ntk_error[l] <= 1e-10);
    }
  }
}

TEST_CASE("check: at sw2 = 2 Gauss-Hermite of order 160 (the former default) misses 1e-10, the default rule does not") {
  const Eigen::MatrixXd x = three_inputs();
  auto tanh_f = [](double u) { return std::tanh(u); };
  auto tanh_d = [](double u) { return 1 - std::tanh(u) * std::tanh(u); };
  const auto spec = make_mlp_kernel_spec(call(Function::tanh, argument(0)), 3, {2.0}, {0.1});
  const Reference ref = kronrod_kernel(tanh_f, tanh_d, x, 3, 2.0, 0.1);
  MlpKernelOptions gauss_hermite;
  gauss_hermite.order = default_mlp_quadrature_order;
  const MlpKernelResult old = compute_mlp_kernel(spec, x, gauss_hermite);
  const MlpKernelResult now = compute_mlp_kernel(spec, x);
  const double old_error = (old.ntk.back() - ref.ntk.back()).cwiseAbs().maxCoeff();
  const double new_error = (now.ntk.back() - ref.ntk.back()).cwiseAbs().maxCoeff();
  MESSAGE("NTK readout: Gauss-Hermite 160 off by " << old_error << ", trapezoidal (h = " << now.spacing << ", "
                                                   << now.nodes << " nodes) off by " << new_error);
  CHECK(old_error > 1e-10);
  CHECK(new_error <= 1e-10);
  CHECK(new_error <= now.ntk_error.back() + 1e-14);
}
