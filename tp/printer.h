// The program printer behind `tpc dump`: one statement per value in the .tp language, which parses back
// to a program that prints identically (tested as a fixpoint on every example).
#pragma once

#include <string>

#include "tp/ir.h"

namespace tp {

/// Prints the whole program: input groups, matrices, one line per op, then outputs.
std::string dump(const Program& p);

/// True if s can be written as a bare identifier in .tp ([A-Za-z_][A-Za-z0-9_]*, not a keyword).
bool is_plain_identifier(const std::string& s);

}  // namespace tp
