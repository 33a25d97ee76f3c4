// Tests: a level-1 Tensor Program, or a `network graph` script's GraphSpec, from its text, failing the test case
// (REQUIRE, with the diagnostics) when it does not compile.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "frontend/diagnostics.h"
#include "frontend/network_script.h"
#include "frontend/sema.h"

namespace tp::testing {

inline Program compile(const std::string& text) {
  frontend::DiagnosticEngine diags;
  auto p = frontend::compile_source(text, diags);
  REQUIRE(p);
  return std::move(*p);
}

inline GraphSpec compile_graph(const std::string& text) {
  frontend::DiagnosticEngine diags;
  auto s = frontend::compile_graph_network(text, "", diags);
  INFO(frontend::render(diags.diagnostics(), {"net.tp", text}));
  REQUIRE(s.has_value());
  return s->spec;
}

}  // namespace tp::testing
