// Entry point of the tpc binary; everything lives in frontend/cli.cpp. Under `mpirun -np K tpc ...` every
// rank runs the same command (limits/distributed.h splits the independent jobs); only rank 0 prints.
#include <iostream>
#include <ostream>

#include "frontend/cli.h"
#include "limits/distributed.h"
#include "tp/leak_suppressions.h"

int main(int argc, char** argv) {
  tp::limits::DistributedSession mpi(argc, argv);
  std::vector<std::string> args(argv, argv + argc);
  if (tp::limits::process_rank() == 0) return tp::frontend::run_cli(args, std::cout, std::cerr);
  std::ostream null(nullptr);  // a stream without a buffer: every write fails silently
  return tp::frontend::run_cli(args, null, null);
}
