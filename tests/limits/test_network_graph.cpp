// tp/network_graph.h: an MLP script as a graph network has the same finite-width law. Two independent programs —
// tp::unroll's (SGD only) and the graph's unroll (tp/graph_unroll.h) — run on the finite-width executor with
// independent draws give the same E f_t and E f_t² at every training point and step, with and without biases.
// A wrong exponent or bias convention in network_graph shifts them by many standard errors.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "limits/finite.h"
#include "limits/statistics.h"
#include "tp/graph_unroll.h"
#include "tp/mlp_phase.h"
#include "tp/network_graph.h"
#include "tp/unroll.h"

using namespace tp;

namespace {

// "mup", "ntp", or "mup-shifted": µP moved by TP4's symmetry θ = 1/2 (a + θ, b − θ, c − 2θ: the same training)
// with the hidden layer's rate halved (c_2 + 1/2), so that a, b and c all enter the biases' and weights' rules.
NetworkSpec mlp(bool biases, const std::string& preset_name) {
  NetworkSpec s;
  s.depth = 2;
  s.input_dim = 2;
  s.biases = biases;
  s.activation = call(Function::tanh, argument(0));
  s.activation_text = "tanh";
  if (preset_name == "mup-shifted") {
    s.abc = shift(preset("mup", 2), Rational(1, 2));
    s.abc.c_l = {s.abc.c, s.abc.c + Rational(1, 2), s.abc.c};
  } else {
    s.abc = preset(preset_name, 2);
  }
  s.lr = 0.5;
  s.steps = 2;
  s.train_x.resize(3, 2);
  s.train_x << 1, 0.5, -0.5, 1, 0.3, -1;
  s.train_y.resize(3, 1);
  s.train_y << 1, -1, 0.5;
  return s;
}

// f_t at training point i over the seeds, from a program's outputs named by name(t, i).
struct Moments {
  std::vector<double> f, f2;
};

limits::FiniteResult run(const Program& p, std::uint64_t first_seed) {
  limits::FiniteOptions o;
  o.width = 64;
  o.seeds.clear();
  for (std::uint64_t k = 0; k < 96; ++k) o.seeds.push_back(first_seed + k);
  return limits::run_finite(p, o);
}

limits::Estimate mean_of(const limits::FiniteResult& r, std::size_t q, bool square) {
  std::vector<double> xs;
  for (const auto& s : r.per_seed) xs.push_back(square ? s.values[q] * s.values[q] : s.values[q]);
  return limits::mean_with_error(xs, limits::Route::finite_width);
}

}  // namespace

TEST_CASE("an MLP as a graph (tp/network_graph.h) has the MLP's finite-width law: SGD, with and without biases") {
  for (const bool biases : {false, true})
    for (const char* name : {"mup", "ntp", "mup-shifted"}) {
      CAPTURE(biases);
      CAPTURE(name);
      const NetworkSpec s = mlp(biases, name);
      const GraphSpec g = network_graph(s);
      REQUIRE(graph_problem(g).empty());
      const UnrolledProgram up = unroll(s);
      const GraphUnrolled gp = unroll_graph(g);
      const limits::FiniteResult a = run(up.program, 1000), b = run(gp.program, 5000);
      int compared = 0;
      for (std::size_t q = 0; q < up.outputs.size(); ++q) {
        const UnrolledOutput& u = up.outputs[q];
        if (u.kind != UnrolledOutput::Kind::f || u.eval) continue;
        const std::string name_g = "f_t" + std::to_string(u.step) + "_e" + std::to_string(u.point + 1) + "_k1";
        std::size_t qg = gp.program.outputs().size();
        for (std::size_t j = 0; j < gp.program.outputs().size(); ++j)
          if (gp.program.outputs()[j].name == name_g) qg = j;
        REQUIRE(qg < gp.program.outputs().size());
        for (const bool square : {false, true}) {
          const limits::Estimate x = mean_of(a, q, square), y = mean_of(b, qg, square);
          CAPTURE(name_g);
          CAPTURE(square);
          CHECK(std::abs(x.value - y.value) <= 5 * std::hypot(x.error, y.error) + 1e-12);
          ++compared;
        }
      }
      CHECK(compared == 2 * 3 * 3);
    }
}

TEST_CASE("graph_quantity reads the MLP phase's quantities as graph nodes") {
  GraphQuantity q;
  REQUIRE(graph_quantity("h^2_0", 2, q));
  CHECK((q.node == "h^2" && q.step == 0 && !q.delta));
  REQUIRE(graph_quantity("Δh^1_1", 2, q));
  CHECK((q.node == "h^1" && q.step == 1 && q.delta));
  REQUIRE(graph_quantity("Δf_t", 2, q));
  CHECK((q.node == "f" && q.step == 2 && q.delta));
  CHECK_FALSE(graph_quantity("ΔW^1 x^0", 2, q));
  CHECK_FALSE(graph_quantity("W^3_0 Δx^2", 2, q));
  CHECK_FALSE(graph_quantity("Δh^1_0", 2, q));
}
