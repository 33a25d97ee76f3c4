// Every example in examples/ runs end to end at a small width, and where it is a NETSOR program its
// limit is computed and lies within 6 standard errors of a moderate-width run.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "limits/finite.h"
#include "limits/gaussian_limit.h"

namespace fs = std::filesystem;

TEST_CASE("every example runs at finite width and agrees with its limit when it has one") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TPC_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".tp") continue;
    ++count;
    CAPTURE(entry.path().string());
    std::ifstream in(entry.path());
    std::ostringstream ss;
    ss << in.rdbuf();
    if (tp::frontend::is_network_script(ss.str())) continue;  // level-2 scripts are not Tensor Programs yet
    tp::frontend::DiagnosticEngine diags;
    auto p = tp::frontend::compile_source(ss.str(), diags);
    REQUIRE(p);
    tp::limits::FiniteOptions o;
    o.width = 512;
    o.seeds = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    auto fin = tp::limits::run_finite(*p, o);
    REQUIRE(fin.summary.size() == p->outputs().size());
    bool has_limit = true;
    tp::limits::LimitResult lim;
    try {
      lim = tp::limits::gaussian_limit(*p);
    } catch (const tp::limits::RouteUnavailable&) {
      has_limit = false;
      CHECK(p->uses_transpose());
    }
    if (!has_limit) continue;
    for (std::size_t j = 0; j < lim.outputs.size(); ++j) {
      CAPTURE(lim.names[j]);
      // finite-width bias is O(1/n), far below the seed noise at n = 512
      CHECK(std::abs(fin.summary[j].value - lim.outputs[j].value) < 6 * fin.summary[j].error);
    }
  }
  CHECK(count >= 3);
}
