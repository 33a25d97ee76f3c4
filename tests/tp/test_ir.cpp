// The builder validates as it constructs; the verifier catches malformed programs; the printer's output
// parses back to the same program.
#include <doctest/doctest.h>

#include "frontend/sema.h"
#include "tp/builder.h"
#include "tp/errors.h"
#include "tp/printer.h"
#include "tp/verify.h"

using namespace tp;

TEST_CASE("builder makes a verified program and names generated values uniquely") {
  ProgramBuilder b;
  auto xs = b.add_inputs({"x", "_3"}, Eigen::Matrix2d::Identity());
  ValueId w = b.add_matrix("W", 2.0);
  ValueId h = b.add_nonlin("", call(Function::tanh, argument(0)), {xs[0]});
  ValueId g = b.add_matmul("g", w, h, false);
  ValueId k = b.add_moment("", mul(argument(0), argument(0)), {g});
  b.add_output("k", k);
  Program p = b.finish();
  CHECK(verify(p).empty());
  CHECK(p.size() == 6);
  CHECK(p.value(h).name == "_3_");  // "_3" is a user name, so the generated one moves aside
  CHECK(p.find("g") == g);
  CHECK_FALSE(p.uses_transpose());
}

TEST_CASE("builder rejects kind errors and bad covariances with IrError") {
  ProgramBuilder b;
  auto xs = b.add_inputs({"x"}, Eigen::MatrixXd::Identity(1, 1));
  ValueId w = b.add_matrix("W", 1.0);
  CHECK_THROWS_AS(b.add_matmul("bad", xs[0], xs[0], false), IrError);
  CHECK_THROWS_AS(b.add_matmul("bad", w, w, false), IrError);
  CHECK_THROWS_AS(b.add_matrix("V", -1.0), IrError);
  CHECK_THROWS_AS(b.add_nonlin("bad", argument(0), {w}), IrError);
  CHECK_THROWS_AS(b.add_nonlin("bad", argument(1), {xs[0]}), IrError);
  ValueId s = b.add_scalar("s", constant(2), {});
  CHECK_THROWS_AS(b.add_moment("bad", argument(0), {s}), IrError);
  CHECK_THROWS_AS(b.add_output("bad", xs[0]), IrError);
  Eigen::Matrix2d not_psd;
  not_psd << 1, 2, 2, 1;
  CHECK_THROWS_AS(b.add_inputs({"a", "b"}, not_psd), IrError);
  CHECK_THROWS_AS(b.add_inputs({"a"}, Eigen::Matrix2d::Identity()), IrError);
}

TEST_CASE("printed programs parse back to the same text (fixpoint) for constructed programs") {
  ProgramBuilder b;
  Eigen::Matrix3d cov;
  cov << 2, 0.5, 0, 0.5, 1, -0.25, 0, -0.25, 0.1;
  auto xs = b.add_inputs({"a", "b", "c"}, cov);
  ValueId w = b.add_matrix("W", 0.3);
  ValueId th = b.add_scalar("theta", constant(-0.125), {});
  ValueId y = b.add_matmul("y", w, xs[1], true);
  ValueId z = b.add_nonlin("z", sub(pow(argument(0), neg(argument(1))), div(argument(2), argument(1))),
                           {y, th, xs[2]});
  ValueId m = b.add_moment("m", mul(call(Function::gelu, argument(0)), argument(1)), {z, xs[0]});
  ValueId s = b.add_scalar("s", add(mul(argument(0), argument(0)), constant(1e-7)), {m});
  b.add_output("weird label (m)", m);
  b.add_output("s", s);
  Program p = b.finish();
  const std::string text = dump(p);
  frontend::DiagnosticEngine diags;
  auto again = frontend::compile_source(text, diags);
  REQUIRE(again);
  CHECK(dump(*again) == text);
  CHECK(again->outputs()[0].name == "weird label (m)");
}
