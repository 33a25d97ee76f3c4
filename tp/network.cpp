// See network.h.
#include "tp/network.h"

#include <cmath>
#include <sstream>
#include <string>

namespace tp {

namespace {
std::string dims(const Eigen::MatrixXd& m) { return std::to_string(m.rows()) + "×" + std::to_string(m.cols()); }
}  // namespace

Eigen::Index first_bad_class_index(const NetworkSpec& s) {
  if (!(s.loss == LossKind::cross_entropy && s.train_y.cols() == 1 && s.output_dim > 1)) return -1;
  for (Eigen::Index i = 0; i < s.train_y.rows(); ++i) {
    const double k = s.train_y(i, 0);
    if (k != std::floor(k) || k < 0 || k >= s.output_dim) return i;
  }
  return -1;
}

std::string class_index_problem(const NetworkSpec& s, Eigen::Index i) {
  std::ostringstream value;
  value.precision(17);
  value << s.train_y(i, 0);
  return "target " + std::to_string(i + 1) + " is " + value.str() + ", not a class index in 0.." +
         std::to_string(s.output_dim - 1);
}

std::string network_problem(const NetworkSpec& s) {
  if (s.depth < 1) return "the network needs at least one hidden layer (depth L >= 1)";
  if (s.input_dim < 1 || s.output_dim < 1) return "the input and output dimensions must be at least 1";
  if (!s.activation) return "the network has no activation; set one, e.g. 'activation = tanh'";
  const std::size_t layers = static_cast<std::size_t>(s.depth) + 1;
  if (s.abc.a.size() != layers || s.abc.b.size() != layers)
    return "the parametrization has " + std::to_string(s.abc.a.size()) + " exponents a_l and " +
           std::to_string(s.abc.b.size()) + " exponents b_l but a depth-" + std::to_string(s.depth) +
           " network has " + std::to_string(layers) + " layers (L hidden layers plus the readout)";
  if (!s.abc.c_l.empty() && s.abc.c_l.size() != layers)
    return "per-layer learning-rate exponents c_l need " + std::to_string(layers) + " entries, found " +
           std::to_string(s.abc.c_l.size());
  if (!(s.lr > 0) || !std::isfinite(s.lr)) return "the learning rate must be a positive finite number";
  if (!(s.weight_decay >= 0) || !std::isfinite(s.weight_decay)) return "the weight decay must be >= 0 and finite";
  if (s.steps < 0) return "the number of training steps must be >= 0";
  const auto m = s.train_x.rows();
  if (s.steps > 0 && m == 0) return "training needs at least one training point; add data";
  if (s.train_x.cols() != s.input_dim && m > 0)
    return "the training inputs are " + dims(s.train_x) + " but the input dimension is " + std::to_string(s.input_dim);
  if (s.train_y.rows() != m)
    return "there are " + std::to_string(m) + " training inputs but " + std::to_string(s.train_y.rows()) + " targets";
  const bool class_indices = s.loss == LossKind::cross_entropy && s.train_y.cols() == 1 && s.output_dim > 1;
  if (m > 0 && s.train_y.cols() != s.output_dim && !class_indices)
    return "the targets are " + dims(s.train_y) + " but the output dimension is " + std::to_string(s.output_dim);
  if (const Eigen::Index i = first_bad_class_index(s); i >= 0) return class_index_problem(s, i);
  if (s.eval_x.rows() > 0 && s.eval_x.cols() != s.input_dim)
    return "the evaluation points are " + dims(s.eval_x) + " but the input dimension is " + std::to_string(s.input_dim);
  if (!s.train_x.allFinite() || !s.train_y.allFinite() || !s.eval_x.allFinite())
    return "the data contain a NaN or infinite value";
  if (s.batch == BatchMode::minibatch && (s.batch_size < 1 || s.batch_size > m))
    return "the minibatch size must be between 1 and the number of training points (" + std::to_string(m) + ")";
  return "";
}

}  // namespace tp
