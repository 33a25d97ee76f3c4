// See emit_program.h.
#include "apps/maml/emit_program.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "apps/maml/maml_error.h"
#include "limits/rng.h"

namespace tp::maml {

namespace {

/// A double as a literal the tpc lexer reads back exactly (fmt's shortest round-trip form, parenthesised if < 0).
std::string num(double x) {
  std::string s = fmt::format("{}", x);
  return x < 0 ? "(" + s + ")" : s;
}

/// Writes the program: names are suffixed by the meta-step s, task t, inner step r, point i, class k.
class Emitter {
 public:
  explicit Emitter(const EmitInstance& inst) : in_(inst) {}

  std::string run() {
    const auto d = in_.d, d_o = in_.d_out;
    os_ << "# First-order MAML of the µP linear network f(x) = v (u x + alpha beta) (TP4 App. D.1, Algorithms 2-3)\n"
        << "# written by `tpc maml emit-program`: d = " << d << ", d_o = " << d_o << ", " << in_.batches.size()
        << " meta-steps of " << (in_.batches.empty() ? 0 : in_.batches[0].size()) << " tasks, inner lr "
        << in_.options.inner_lr << " x " << in_.options.train_inner_steps << " step(s), meta lr " << in_.options.meta_lr
        << ", clip " << in_.options.clip << "\n"
        << "# sigma_u = " << in_.hyper.sigma_u << ", sigma_v = " << in_.hyper.sigma_v << ", alpha = " << in_.hyper.alpha
        << "; vectors are sqrt(n) times the columns of u and rows of v (coordinates of size 1)\n";
    // ZInit: ũ_1..ũ_d ~ N(0, σ_u²), ṽ_1..ṽ_{d_o} ~ N(0, σ_v²), independent.
    os_ << "input ";
    for (Eigen::Index j = 0; j < d; ++j) os_ << "u" << j << "_0, ";
    for (Eigen::Index k = 0; k < d_o; ++k) os_ << "v" << k << "_0" << (k + 1 < d_o ? ", " : "");
    os_ << " ~ N(0, [";
    for (Eigen::Index r = 0; r < d + d_o; ++r) {
      os_ << (r ? ", [" : "[");
      for (Eigen::Index c = 0; c < d + d_o; ++c) {
        const double var = r != c ? 0.0 : r < d ? in_.hyper.sigma_u * in_.hyper.sigma_u : in_.hyper.sigma_v * in_.hyper.sigma_v;
        os_ << (c ? ", " : "") << num(var);
      }
      os_ << "]";
    }
    os_ << "])\n";
    if (bias()) os_ << "b_0 = 0 * u0_0\n";
    std::vector<std::string> outputs;
    for (std::size_t s = 0; s < in_.batches.size(); ++s) {
      meta_step(s);
      for (Eigen::Index p = 0; p < in_.probes.cols(); ++p) {
        const std::string h = fmt::format("hp{}_{}", p, s + 1);
        os_ << h << " = " << hidden(in_.probes.col(p), fmt::format("_{}", s + 1), fmt::format("b_{}", s + 1)) << "\n";
        for (Eigen::Index k = 0; k < d_o; ++k)
          outputs.push_back(fmt::format("f_s{}_p{}_k{} = avg(v{}_{} * {})", s + 1, p, k, k, s + 1, h));
      }
    }
    os_ << "output ";
    for (std::size_t i = 0; i < outputs.size(); ++i) os_ << (i ? ", " : "") << outputs[i];
    os_ << "\n";
    return os_.str();
  }

 private:
  bool bias() const { return in_.hyper.alpha != 0.0; }

  /// Σ_j ξ_j ũ_j<suffix> + α b.
  std::string hidden(const Eigen::VectorXd& xi, const std::string& usuffix, const std::string& b) const {
    std::string e;
    for (Eigen::Index j = 0; j < xi.size(); ++j) e += fmt::format("{}{} * u{}{}", j ? " + " : "", num(xi[j]), j, usuffix);
    if (bias()) e += " + " + num(in_.hyper.alpha) + " * " + b;
    return e;
  }

  /// Logits and the cross-entropy gradient G<tag>_i_k of the points xs (columns) under (u<us>, b, v<vs>);
  /// writes the hidden vectors H<tag>_i.
  void loss_gradient(const Eigen::MatrixXd& xs, const std::vector<int>& labels, const std::string& tag,
                     const std::string& us, const std::string& b, const std::string& vs) {
    const Eigen::Index m = xs.cols();
    for (Eigen::Index i = 0; i < m; ++i) {
      os_ << "H" << tag << "_" << i << " = " << hidden(xs.col(i), us, b) << "\n";
      std::string z;
      for (Eigen::Index k = 0; k < in_.d_out; ++k) {
        os_ << "E" << tag << "_" << i << "_" << k << " = exp(avg(v" << k << vs << " * H" << tag << "_" << i << "))\n";
        z += fmt::format("{}E{}_{}_{}", k ? " + " : "", tag, i, k);
      }
      os_ << "Z" << tag << "_" << i << " = " << z << "\n";
      for (Eigen::Index k = 0; k < in_.d_out; ++k)
        os_ << "G" << tag << "_" << i << "_" << k << " = (E" << tag << "_" << i << "_" << k << " / Z" << tag << "_" << i
            << " - " << (labels[static_cast<std::size_t>(i)] == k ? 1 : 0) << ") / " << m << "\n";
    }
  }

  /// Scalar Σ_i G<tag>_i_k · xs(j, i) (j < 0: Σ_i G<tag>_i_k).
  std::string gx(const Eigen::MatrixXd& xs, const std::string& tag, Eigen::Index k, Eigen::Index j) const {
    std::string e = "(";
    for (Eigen::Index i = 0; i < xs.cols(); ++i)
      e += fmt::format("{}G{}_{}_{}{}", i ? " + " : "", tag, i, k, j < 0 ? "" : " * " + num(xs(j, i)));
    return e + ")";
  }

  /// The gradient vectors of the mean loss of points xs (tag) w.r.t. ũ_j, b̃, ṽ_k under v<vs>, as expressions.
  std::string grad_u(const Eigen::MatrixXd& xs, const std::string& tag, Eigen::Index j, const std::string& vs) const {
    std::string e;
    for (Eigen::Index k = 0; k < in_.d_out; ++k) e += fmt::format("{}{} * v{}{}", k ? " + " : "", gx(xs, tag, k, j), k, vs);
    return e;
  }
  std::string grad_b(const Eigen::MatrixXd& xs, const std::string& tag, const std::string& vs) const {
    std::string e = num(in_.hyper.alpha) + " * (";
    for (Eigen::Index k = 0; k < in_.d_out; ++k) e += fmt::format("{}{} * v{}{}", k ? " + " : "", gx(xs, tag, k, -1), k, vs);
    return e + ")";
  }
  std::string grad_v(const Eigen::MatrixXd& xs, const std::string& tag, Eigen::Index k) const {
    std::string e;
    for (Eigen::Index i = 0; i < xs.cols(); ++i) e += fmt::format("{}G{}_{}_{} * H{}_{}", i ? " + " : "", tag, i, k, tag, i);
    return e;
  }

  void meta_step(std::size_t s) {
    const auto& tasks = in_.batches[s];
    const std::string cur = fmt::format("_{}", s), next = fmt::format("_{}", s + 1);
    const double lr = in_.options.inner_lr;
    os_ << "# meta-step " << s + 1 << "\n";
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      const auto& task = tasks[t];
      std::string us = cur, vs = cur, b = "b" + cur;
      for (int r = 0; r < in_.options.train_inner_steps; ++r) {
        const std::string tag = fmt::format("s{}t{}r{}", s + 1, t, r);
        const std::string adapted = fmt::format("_s{}t{}r{}", s + 1, t, r + 1);
        loss_gradient(task.support, task.support_labels, tag, us, b, vs);
        for (Eigen::Index j = 0; j < in_.d; ++j)
          os_ << "u" << j << adapted << " = u" << j << us << " - " << num(lr) << " * (" << grad_u(task.support, tag, j, vs) << ")\n";
        if (bias()) os_ << "b" << adapted << " = " << b << " - " << num(lr) << " * " << grad_b(task.support, tag, vs) << "\n";
        for (Eigen::Index k = 0; k < in_.d_out; ++k)
          os_ << "v" << k << adapted << " = v" << k << vs << " - " << num(lr) << " * (" << grad_v(task.support, tag, k) << ")\n";
        us = vs = adapted;
        b = "b" + adapted;
      }
      const std::string q = fmt::format("s{}t{}q", s + 1, t);
      loss_gradient(task.query, task.query_labels, q, us, b, vs);
      for (Eigen::Index j = 0; j < in_.d; ++j) os_ << "gu" << j << "_" << q << " = " << grad_u(task.query, q, j, vs) << "\n";
      if (bias()) os_ << "gb_" << q << " = " << grad_b(task.query, q, vs) << "\n";
      for (Eigen::Index k = 0; k < in_.d_out; ++k) os_ << "gv" << k << "_" << q << " = " << grad_v(task.query, q, k) << "\n";
    }
    // Sum over tasks, global norm, clip, SGD.
    auto sum = [&](const std::string& name) {
      std::string e;
      for (std::size_t t = 0; t < tasks.size(); ++t) e += fmt::format("{}{}_s{}t{}q", t ? " + " : "", name, s + 1, t);
      return e;
    };
    std::vector<std::string> grads;
    for (Eigen::Index j = 0; j < in_.d; ++j) grads.push_back(fmt::format("gu{}", j));
    if (bias()) grads.push_back("gb");
    for (Eigen::Index k = 0; k < in_.d_out; ++k) grads.push_back(fmt::format("gv{}", k));
    std::string norm2;
    for (const auto& g : grads) {
      os_ << g << "_s" << s + 1 << " = " << sum(g) << "\n";
      norm2 += fmt::format("{}avg({}_s{} * {}_s{})", norm2.empty() ? "" : " + ", g, s + 1, g, s + 1);
    }
    const std::string scale = fmt::format("scale_s{}", s + 1);
    if (in_.options.clip > 0.0) {
      os_ << "ratio_s" << s + 1 << " = " << num(in_.options.clip) << " / sqrt(" << norm2 << ")\n";
      os_ << scale << " = (1 + ratio_s" << s + 1 << " - abs(1 - ratio_s" << s + 1 << ")) / 2\n";
    } else {
      os_ << scale << " = 1\n";
    }
    for (Eigen::Index j = 0; j < in_.d; ++j)
      os_ << "u" << j << next << " = u" << j << cur << " - " << num(in_.options.meta_lr) << " * " << scale << " * gu" << j << "_s" << s + 1 << "\n";
    if (bias()) os_ << "b" << next << " = b" << cur << " - " << num(in_.options.meta_lr) << " * " << scale << " * gb_s" << s + 1 << "\n";
    for (Eigen::Index k = 0; k < in_.d_out; ++k)
      os_ << "v" << k << next << " = v" << k << cur << " - " << num(in_.options.meta_lr) << " * " << scale << " * gv" << k << "_s" << s + 1 << "\n";
  }

  const EmitInstance& in_;
  std::ostringstream os_;
};

}  // namespace

EmitInstance tiny_instance(int d, int d_out, int tasks, int meta_steps, std::uint64_t seed) {
  if (d < 1 || d > 16) throw MamlError(fmt::format("--d must be in [1, 16] (got {})", d));
  if (d_out < 2 || d_out > 8) throw MamlError(fmt::format("--d-out must be in [2, 8] (got {})", d_out));
  if (tasks < 1 || tasks > 16) throw MamlError(fmt::format("--tasks must be in [1, 16] (got {})", tasks));
  if (meta_steps < 1 || meta_steps > 8) throw MamlError(fmt::format("--meta-steps must be in [1, 8] (got {})", meta_steps));
  limits::Rng rng(seed, 0xe317);
  EmitInstance inst;
  inst.d = d;
  inst.d_out = d_out;
  inst.hyper = {1.0, 0.5, 1.0};
  inst.options.inner_lr = 0.4;
  inst.options.train_inner_steps = 1;
  inst.options.meta_lr = 1.0;
  inst.options.clip = 1.5;
  inst.options.threads = 1;
  auto gaussian = [&](Eigen::Index rows, Eigen::Index cols) {
    Eigen::MatrixXd x(rows, cols);
    for (Eigen::Index c = 0; c < cols; ++c)
      for (Eigen::Index r = 0; r < rows; ++r) x(r, c) = rng.normal();
    return x;
  };
  std::size_t id = 0;
  for (int s = 0; s < meta_steps; ++s) {
    auto& batch = inst.batches.emplace_back();
    for (int t = 0; t < tasks; ++t) {
      Task task;
      task.support = gaussian(d, d_out);
      task.query = gaussian(d, d_out);
      for (int k = 0; k < d_out; ++k) {
        // a random labelling of the classes, as the TaskSampler does
        task.support_labels.push_back((k + s + t) % d_out);
        task.query_labels.push_back((k + s + t) % d_out);
        task.support_ids.push_back(id++);
        task.query_ids.push_back(id++);
      }
      batch.push_back(std::move(task));
    }
  }
  inst.probes = gaussian(d, 2);
  return inst;
}

std::vector<std::string> emitted_output_names(const EmitInstance& inst) {
  std::vector<std::string> names;
  for (std::size_t s = 0; s < inst.batches.size(); ++s)
    for (Eigen::Index p = 0; p < inst.probes.cols(); ++p)
      for (Eigen::Index k = 0; k < inst.d_out; ++k) names.push_back(fmt::format("f_s{}_p{}_k{}", s + 1, p, k));
  return names;
}

std::string emit_program(const EmitInstance& inst) { return Emitter(inst).run(); }

std::vector<double> run_instance(const EmitInstance& inst, LinearNet net) {
  std::vector<double> out;
  for (const auto& batch : inst.batches) {
    fomaml_step(net, batch, inst.options);
    const Eigen::MatrixXd f = net.logits(inst.probes);
    for (Eigen::Index p = 0; p < f.cols(); ++p)
      for (Eigen::Index k = 0; k < f.rows(); ++k) out.push_back(f(k, p));
  }
  return out;
}

}  // namespace tp::maml
