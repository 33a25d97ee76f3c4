// Tests: a level-1 Tensor Program from its text, failing the test case (REQUIRE) when it does not compile.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "frontend/sema.h"

namespace tp::testing {

inline Program compile(const std::string& text) {
  frontend::DiagnosticEngine diags;
  auto p = frontend::compile_source(text, diags);
  REQUIRE(p);
  return std::move(*p);
}

}  // namespace tp::testing
