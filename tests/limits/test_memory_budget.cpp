// The shared budget check (limits/memory_budget.h): it counts what the process holds beside the new arrays, and
// every engine that uses it refuses a run whose arrays alone fit the budget but whose total does not.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "limits/finite.h"
#include "limits/graph_builders.h"
#include "limits/graph_train.h"
#include "limits/memory_budget.h"
#include "limits/mlp_train.h"
#include "limits/resident_memory.h"
#include "tp/errors.h"
#include "tests/compile_text.h"

using namespace tp;

namespace {

std::string refusal(const std::function<void()>& work) {
  try {
    work();
  } catch (const BudgetError& e) {
    return e.what();
  }
  return "";
}

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

TEST_CASE("check_memory_budget: the total, both parts and the budget; a held part over the budget asks for a larger one") {
  const limits::MemoryRequest r{"width n = 64", 300 * kMiB, "2 seeds at once", "use a smaller width"};
  CHECK_NOTHROW(limits::check_memory_budget(r, 1024 * kMiB, 700 * kMiB));
  const std::string over = refusal([&] { limits::check_memory_budget(r, 900 * kMiB, 700 * kMiB); });
  CHECK(over == "width n = 64 needs about 1000 MiB (700 MiB held already by this process, 300 MiB for 2 seeds at once), "
                "over the memory budget of 900 MiB; use a smaller width");
  const std::string held = refusal([&] { limits::check_memory_budget(r, 500 * kMiB, 700 * kMiB); });
  CHECK(held.find("this process alone already holds more than the budget") != std::string::npos);
  CHECK(held.find("raise --memory-budget") != std::string::npos);
  CHECK(limits::memory_text(1.55 * 1024 * kMiB) == "1.6 GiB");
  CHECK(limits::memory_text(1000) == "1 MiB");
}

TEST_CASE("finite width, MLP and graph training count what the process holds beside their arrays") {
  REQUIRE(limits::resident_bytes() > 1 * kMiB);
  // finite width: a budget one byte over the arrays passed before (the held part was not counted)
  const Program p = tp::testing::compile("input x ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\ng = W x\noutput q = avg(g*g)\n");
  limits::FiniteOptions fo;
  fo.width = 256;
  fo.seeds = {0};
  fo.threads = 1;
  fo.memory_budget_bytes = limits::finite_memory_bytes(p, fo.width, 1) + 1;
  const std::string finite = refusal([&] { (void)limits::run_finite(p, fo); });
  CHECK(finite.find("width n = 256 needs about") != std::string::npos);
  CHECK(finite.find("held already by this process") != std::string::npos);
  fo.memory_budget_bytes = limits::resident_bytes() + limits::finite_memory_bytes(p, fo.width, 1) + 64 * kMiB;
  CHECK_NOTHROW((void)limits::run_finite(p, fo));

  // MLP training at width 32: its arrays are well under 1 MiB, the process is not
  limits::MlpTraining spec;
  spec.abc = preset("mup", 2);
  spec.activation = call(Function::tanh, argument(0));
  spec.steps = 1;
  limits::default_data(2, 2, spec.inputs, spec.targets);
  const std::string mlp = refusal([&] { (void)limits::train_mlp(spec, 32, 0, 1 * kMiB); });
  CHECK(mlp.find("training at width n = 32") != std::string::npos);
  CHECK(mlp.find("held already") != std::string::npos);
  CHECK_NOTHROW((void)limits::train_mlp(spec, 32, 0, limits::resident_bytes() + 64 * kMiB));

  // the same MLP as a graph at width 32
  const GraphSpec g = limits::mlp_graph(spec);
  limits::GraphTrainOptions go;
  go.memory_budget_bytes = 1 * kMiB;
  const std::string graph = refusal([&] { (void)limits::train_graph(g, 32, 0, go); });
  CHECK(graph.find("training the graph at width n = 32") != std::string::npos);
  CHECK(graph.find("held already") != std::string::npos);
}
