// Entry point of the tpc binary; everything lives in frontend/cli.cpp.
#include <iostream>

#include "frontend/cli.h"
#include "tp/leak_suppressions.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return tp::frontend::run_cli(args, std::cout, std::cerr);
}
