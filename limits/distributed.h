// Scale-out over MPI (Open MPI; optional: a build without MPI, TPC_MPI=OFF, has one process and the same
// results): independent jobs — the (width, seed) pairs of finite-width runs — split in contiguous blocks
// over the processes of `mpirun -np K tpc ...`, each block computed with the usual threads, and every
// job's result vector brought back in index order. Each job draws from streams seeded by its own index
// (limits/rng.h: Rng(seed, value)), never by a process or thread number, so K processes give bitwise the
// same results as one. Only rank 0 prints and writes files (frontend/tpc_main.cpp hands the other ranks a
// null output stream).
//
// MPI starts only when the process was launched by an MPI launcher (Open MPI's OMPI_COMM_WORLD_SIZE or
// PMIx's PMIX_RANK in the environment); otherwise everything runs in-process without touching MPI.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace tp::limits {

/// MPI for the lifetime of main(): initialized when launched by mpirun (and built with MPI), finalized
/// at destruction. Without it, process_rank() = 0 and process_count() = 1.
class DistributedSession {
 public:
  DistributedSession(int& argc, char**& argv);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;

 private:
  bool started_ = false;
};

int process_rank();   ///< 0..process_count()−1
int process_count();  ///< 1 without MPI

/// The indices [begin, end) of [0, count) that a rank owns: contiguous blocks in rank order whose sizes
/// differ by at most one (the first count % ranks ranks get one more).
struct IndexBlock {
  std::size_t begin = 0, end = 0;
  std::size_t size() const { return end - begin; }
};
IndexBlock block_of(std::size_t count, int rank, int ranks);

/// Computes rows[i] for every i in [0, count): each process calls block_job(its block) once, which returns
/// one vector per index of the block in order, and every process gets all `count` vectors in index order.
/// With one process this is block_job({0, count}). If block_job throws on any process, every process
/// throws the error of the lowest failing rank, with its type when it is tp::NumericalError,
/// tp::BudgetError or std::invalid_argument (else std::runtime_error) and its message.
std::vector<std::vector<double>> distributed_rows(
    std::size_t count, const std::function<std::vector<std::vector<double>>(IndexBlock)>& block_job);

}  // namespace tp::limits
