// NTP training converges to kernel gradient descent with the NTK of limits/mlp_kernel.h (TP4 Cor. 3.9):
// finite-width means of f_t (the unrolled program on the finite-width executor) against kernel GD, and the
// route's applicability (Eq. 5 equivalents accepted, µP refused with the reason).
#include <doctest/doctest.h>

#include <cmath>

#include "limits/finite.h"
#include "limits/kernel_gd.h"
#include "limits/statistics.h"
#include "tp/unroll.h"

using namespace tp;

namespace {

NetworkSpec ntp_spec(ExprPtr act) {
  NetworkSpec s;
  s.depth = 2;
  s.input_dim = 2;
  s.activation = std::move(act);
  s.abc = preset("ntp", 2);
  s.lr = 1.0;
  s.steps = 3;
  s.train_x.resize(3, 2);
  s.train_x << 1, 0.5, -0.5, 1, 0.3, -1;
  s.train_y.resize(3, 1);
  s.train_y << 1, -1, 0.5;
  s.eval_x.resize(1, 2);
  s.eval_x << 0.2, 0.9;
  return s;
}

}  // namespace

TEST_CASE("kernel GD route: NTP and its Eq. 5 equivalents only") {
  auto s = ntp_spec(call(Function::relu, argument(0)));
  CHECK(limits::kernel_gd_unavailable(s).empty());
  s.abc = shift(s.abc, Rational(1, 3));
  CHECK(limits::kernel_gd_unavailable(s).empty());
  s.abc = preset("mup", 2);
  CHECK(limits::kernel_gd_unavailable(s).find("NTK parametrization") != std::string::npos);
  CHECK_THROWS_AS(limits::kernel_gd_limit(s), std::invalid_argument);
}

TEST_CASE("NTP relu: finite-width means of f_t converge to kernel gradient descent with the NTK") {
  const auto s = ntp_spec(call(Function::relu, argument(0)));
  const auto limit = limits::kernel_gd_limit(s);
  const UnrolledProgram up = unroll(s);
  limits::FiniteOptions fo;
  fo.width = 1024;
  fo.seeds.clear();
  for (std::uint64_t k = 0; k < 40; ++k) fo.seeds.push_back(k);
  const auto fr = limits::run_finite(up.program, fo);
  int checked = 0;
  for (std::size_t o = 0; o < up.outputs.size(); ++o) {
    const auto& u = up.outputs[o];
    const std::size_t p = static_cast<std::size_t>(u.eval ? s.train_x.rows() + u.point : u.point);
    const limits::Estimate& lim = limit.f[static_cast<std::size_t>(u.step)][p];
    const limits::Estimate& fin = fr.summary[o];
    CAPTURE(fr.names[o]);
    CAPTURE(lim.value);
    CAPTURE(fin.value);
    CAPTURE(fin.error);
    CHECK(std::abs(lim.value - fin.value) < 4 * fin.error + lim.error + 0.02);
    ++checked;
  }
  CHECK(checked == 4 * 4);
  // Training moved f at the training points (the test is not comparing zeros).
  CHECK(std::abs(limit.f[3][0].value) > 0.3);
}
