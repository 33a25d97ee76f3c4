// apps/maml/linear_net.h + fomaml.h: the two initializers of the one network (Algorithms 2 and 3), the
// exact invariance behind TP4 Thm D.1 (the finite network stays n^{-1/2} Ω × a limit-form state), and
// Algorithm 2 with a random projection of the limit's initialization converging to Algorithm 3's
// trajectory at the rate n^{-1/2}.
#include <doctest/doctest.h>

#include <cmath>

#include "apps/maml/fomaml.h"
#include "apps/maml/linear_net.h"
#include "limits/coordcheck.h"

using namespace tp::maml;

namespace {

std::vector<std::vector<Task>> batches(const ImageSet& set, int ways, std::size_t steps, std::size_t batch, std::uint64_t seed) {
  const TaskSampler sampler(set, {ways, 1, 1}, "train");
  std::vector<std::vector<Task>> out;
  for (std::size_t s = 0; s < steps; ++s) {
    tp::limits::Rng rng(seed, s);
    out.push_back(sampler.sample(batch, rng));
  }
  return out;
}

}  // namespace

TEST_CASE("Algorithm 3's initialization is diagonal: u = [σ_u I; 0], v = [0, σ_v I], β = 0, f_0 = 0") {
  const LinearNet net = init_limit_net(4, 3, {0.5, 0.25, 2.0});
  CHECK(net.hidden() == 7);
  CHECK(net.u.topRows(4).isApprox(0.5 * Eigen::MatrixXd::Identity(4, 4)));
  CHECK(net.u.bottomRows(3).norm() == 0.0);
  CHECK(net.v.leftCols(4).norm() == 0.0);
  CHECK(net.v.rightCols(3).isApprox(0.25 * Eigen::MatrixXd::Identity(3, 3)));
  CHECK(net.logits(Eigen::MatrixXd::Random(4, 6)).norm() == 0.0);
}

TEST_CASE("Algorithm 2's initialization has entries N(0, σ²/n) and is seeded") {
  const LinearNet a = init_finite_net(20, 5, 4000, {0.5, 2.0, 1.0}, 3), b = init_finite_net(20, 5, 4000, {0.5, 2.0, 1.0}, 3);
  CHECK(a.u == b.u);
  const double var_u = a.u.squaredNorm() / static_cast<double>(a.u.size()) * 4000;
  const double var_v = a.v.squaredNorm() / static_cast<double>(a.v.size()) * 4000;
  CHECK(var_u == doctest::Approx(0.25).epsilon(0.02));
  CHECK(var_v == doctest::Approx(4.0).epsilon(0.02));
  CHECK(a.beta.norm() == 0.0);
}

TEST_CASE("the finite network stays a projection n^{-1/2} Ω (·) of a (d + d_o)-dimensional state during MAML") {
  // TP4 Thm D.1's mechanism: gradients of u and β are combinations of vᵀ's columns, of v of hidden vectors.
  const ImageSet set = synthetic_image_set(10, 4, 3, 0.3, 5);
  const Eigen::MatrixXd omega = gaussian_projection(300, 9 + 5, 11);
  LinearNet net = project_limit_net(init_limit_net(9, 5, {1.0, 0.5, 1.0}), omega);
  FomamlOptions o;
  o.meta_lr = 0.3;
  o.train_inner_steps = 3;
  for (const auto& b : batches(set, 5, 4, 6, 2)) fomaml_step(net, b, o);
  // least-squares residuals of u, β, vᵀ in the column space of Ω
  const auto qr = omega.colPivHouseholderQr();
  auto residual = [&](const Eigen::MatrixXd& m) { return (omega * qr.solve(m) - m).norm() / m.norm(); };
  CHECK(residual(net.u) < 1e-12);
  CHECK(residual(net.beta) < 1e-12);
  CHECK(residual(net.v.transpose()) < 1e-12);
}

TEST_CASE("Algorithm 2 from a random projection of the limit's initialization converges to Algorithm 3 like n^(-1/2)") {
  const ImageSet set = synthetic_image_set(10, 4, 3, 0.3, 5);
  const auto bs = batches(set, 5, 3, 4, 8);
  const TaskSampler sampler(set, {5, 1, 1}, "test");
  tp::limits::Rng rng(99, 0);
  const auto probe_tasks = sampler.sample(3, rng);
  FomamlOptions o;
  o.meta_lr = 0.5;
  o.threads = 1;
  const LinearNetHyper hyper{1.0, 0.5, 1.0};
  auto trajectory = [&](LinearNet net) {
    std::vector<double> f;
    for (const auto& b : bs) {
      fomaml_step(net, b, o);
      const auto q = adapted_query_logits(net, probe_tasks, 5, o);  // the meta-test predictor too
      for (const auto& m : q) f.insert(f.end(), m.data(), m.data() + m.size());
    }
    return f;
  };
  const auto limit = trajectory(init_limit_net(9, 5, hyper));
  const std::vector<std::size_t> widths{100, 400, 1600, 6400};
  std::vector<std::vector<double>> dist(widths.size());
  for (std::size_t w = 0; w < widths.size(); ++w)
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      const auto f = trajectory(project_limit_net(init_limit_net(9, 5, hyper),
                                                  gaussian_projection(static_cast<Eigen::Index>(widths[w]), 14, seed)));
      double sq = 0;
      for (std::size_t i = 0; i < f.size(); ++i) sq += (f[i] - limit[i]) * (f[i] - limit[i]);
      dist[w].push_back(std::sqrt(sq / static_cast<double>(f.size())));
    }
  std::vector<double> rms;
  const auto [slope, err] = tp::limits::fit_exponent(widths, dist, rms);
  MESSAGE("fitted exponent " << slope << " ± " << err << "; rms " << rms[0] << " .. " << rms.back());
  CHECK(rms.back() < rms.front() / 4);
  CHECK(slope == doctest::Approx(-0.5).epsilon(0.3));  // |slope + 1/2| < 0.15
}
