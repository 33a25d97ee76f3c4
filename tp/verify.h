// The IR verifier: every invariant of ir.h, checked after building and after every pass in tests.
#pragma once

#include <string>
#include <vector>

#include "tp/ir.h"

namespace tp {

/// Returns one sentence per broken invariant (empty if the program is well formed).
std::vector<std::string> verify(const Program& p);
/// Throws IrError listing every broken invariant ("bug: ..." — a well-formed builder never trips it).
void verify_or_throw(const Program& p);

}  // namespace tp
