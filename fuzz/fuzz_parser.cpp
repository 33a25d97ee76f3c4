// libFuzzer target for the .tp front end: lexer, parser, sema (lowering and kind checks), the diagnostic
// renderer and the program printer. Properties checked on every input:
//   1. compile_source never crashes, hangs or throws: user mistakes are diagnostics (STYLE.md "Errors");
//   2. when the input compiles, its dump compiles again, and dump(reparse(dump(p))) == dump(p)
//      (the round-trip property documented in tp/printer.h).
// The finite-width executor is never run: it allocates n x n matrices.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "frontend/diagnostics.h"
#include "frontend/sema.h"
#include "tp/leak_suppressions.h"
#include "tp/printer.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& text, const std::string& detail) {
  std::fprintf(stderr, "fuzz_parser: %s\n--- dump ---\n%s\n--- detail ---\n%s\n", what, text.c_str(), detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tp::frontend::DiagnosticEngine diags;
  const auto program = tp::frontend::compile_source(text, diags);
  (void)tp::frontend::render(diags.diagnostics(), {"fuzz.tp", text});
  if (!program) return 0;

  const std::string dumped = tp::dump(*program);
  tp::frontend::DiagnosticEngine again_diags;
  const auto again = tp::frontend::compile_source(dumped, again_diags);
  if (!again) fail("the dump of a valid program does not compile", dumped,
                   tp::frontend::render(again_diags.diagnostics(), {"dump.tp", dumped}));
  const std::string redumped = tp::dump(*again);
  if (redumped != dumped) fail("dump(reparse(dump(p))) != dump(p)", dumped, redumped);
  return 0;
}
