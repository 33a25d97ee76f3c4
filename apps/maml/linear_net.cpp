// See linear_net.h.
#include "apps/maml/linear_net.h"

#include <cmath>

#include "apps/maml/maml_error.h"
#include "limits/rng.h"

namespace tp::maml {

Eigen::MatrixXd LinearNet::features(const Eigen::MatrixXd& x) const {
  Eigen::MatrixXd h = u * x;
  if (alpha != 0.0) h.colwise() += alpha * beta;
  return h;
}

Eigen::MatrixXd LinearNet::logits(const Eigen::MatrixXd& x) const { return v * features(x); }

namespace {

void check_hyper(Eigen::Index d, Eigen::Index d_out, const LinearNetHyper& hyper) {
  if (d < 1 || d_out < 1) throw MamlError("the network needs input and output dimensions of at least 1");
  if (!(hyper.sigma_u > 0.0) || !std::isfinite(hyper.sigma_u)) throw MamlError("--sigma-u must be a positive number");
  if (!(hyper.sigma_v >= 0.0) || !std::isfinite(hyper.sigma_v)) throw MamlError("--sigma-v must be a number >= 0");
  if (!(hyper.alpha >= 0.0) || !std::isfinite(hyper.alpha)) throw MamlError("--alpha must be a number >= 0");
}

}  // namespace

LinearNet init_limit_net(Eigen::Index d, Eigen::Index d_out, const LinearNetHyper& hyper) {
  check_hyper(d, d_out, hyper);
  const Eigen::Index h = d + d_out;
  LinearNet net;
  net.alpha = hyper.alpha;
  net.u = Eigen::MatrixXd::Zero(h, d);
  net.u.topRows(d).diagonal().setConstant(hyper.sigma_u);
  net.v = Eigen::MatrixXd::Zero(d_out, h);
  net.v.rightCols(d_out).diagonal().setConstant(hyper.sigma_v);
  net.beta = Eigen::VectorXd::Zero(h);
  return net;
}

LinearNet project_limit_net(const LinearNet& limit, const Eigen::MatrixXd& omega) {
  if (omega.cols() != limit.hidden())
    throw MamlError("project_limit_net: Ω must have as many columns as the limit network's hidden size");
  const double s = 1.0 / std::sqrt(static_cast<double>(omega.rows()));
  LinearNet net;
  net.alpha = limit.alpha;
  // noalias: the products go straight into the new weights (no n × d temporary beside Ω; same arithmetic)
  net.u.noalias() = s * (omega * limit.u);
  net.beta.noalias() = s * (omega * limit.beta);
  net.v.noalias() = s * (limit.v * omega.transpose());
  return net;
}

Eigen::MatrixXd gaussian_projection(Eigen::Index n, Eigen::Index k, std::uint64_t seed) {
  // Row by row in the documented row-major order, straight into the column-major result (a row-major matrix
  // converted on return would hold Ω twice: 0.8 GiB at n = 65536 on 28×28 images).
  limits::Rng rng(seed, 0x4f6d);
  Eigen::MatrixXd omega(n, k);
  Eigen::RowVectorXd row(k);
  for (Eigen::Index i = 0; i < n; ++i) {
    rng.fill_normal(row.data(), static_cast<std::size_t>(k));
    omega.row(i) = row;
  }
  return omega;
}

LinearNet init_finite_net(Eigen::Index d, Eigen::Index d_out, Eigen::Index width, const LinearNetHyper& hyper,
                          std::uint64_t seed) {
  if (width < 1) throw MamlError("--width must be at least 1");
  return project_limit_net(init_limit_net(d, d_out, hyper), gaussian_projection(width, d + d_out, seed));
}

}  // namespace tp::maml
