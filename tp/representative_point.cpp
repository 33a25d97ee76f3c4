// See representative_point.h for why one generic point carries the exponents of the whole data set.
#include "tp/representative_point.h"

namespace tp {

NetworkSpec representative_point_spec(const NetworkSpec& spec) {
  NetworkSpec r = spec;
  const Eigen::Index d = spec.train_x.cols();
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(1, d);
  for (Eigen::Index j = 0; j < d; ++j) {
    bool nonzero = false;
    for (Eigen::Index i = 0; i < spec.train_x.rows(); ++i) nonzero = nonzero || spec.train_x(i, j) != 0;
    for (Eigen::Index i = 0; i < spec.eval_x.rows(); ++i) nonzero = nonzero || spec.eval_x(i, j) != 0;
    if (nonzero) x(0, j) = 1.0;
  }
  r.train_x = x;
  if (spec.loss == LossKind::cross_entropy && spec.train_y.rows() > 0) r.train_y = spec.train_y.topRows(1);
  else r.train_y = Eigen::MatrixXd::Ones(1, spec.train_y.cols());
  r.eval_x = spec.eval_x.rows() > 0 ? x : Eigen::MatrixXd(0, d);
  r.batch = BatchMode::full;
  r.batch_size = 0;
  return r;
}

}  // namespace tp
