// See distributed.h.
#include "limits/distributed.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tp/errors.h"

#ifdef TPC_HAVE_MPI
#include <mpi.h>
#endif

namespace tp::limits {

namespace {

int g_rank = 0, g_count = 1;

#ifdef TPC_HAVE_MPI
bool launched_by_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK"); }

enum class ErrorKind : int { none = 0, numerical, budget, invalid_argument, other };

[[noreturn]] void rethrow(ErrorKind kind, const std::string& message) {
  switch (kind) {
    case ErrorKind::numerical: throw NumericalError(message);
    case ErrorKind::budget: throw BudgetError(message);
    case ErrorKind::invalid_argument: throw std::invalid_argument(message);
    default: throw std::runtime_error(message);
  }
}
#endif

}  // namespace

DistributedSession::DistributedSession(int& argc, char**& argv) {
#ifdef TPC_HAVE_MPI
  if (!launched_by_mpirun()) return;
  MPI_Init(&argc, &argv);
  started_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_count);
#else
  (void)argc;
  (void)argv;
#endif
}

DistributedSession::~DistributedSession() {
#ifdef TPC_HAVE_MPI
  if (started_) MPI_Finalize();
#endif
  g_rank = 0;
  g_count = 1;
}

int process_rank() { return g_rank; }
int process_count() { return g_count; }

IndexBlock block_of(std::size_t count, int rank, int ranks) {
  const auto r = static_cast<std::size_t>(rank), k = static_cast<std::size_t>(ranks);
  const std::size_t base = count / k, extra = count % k;
  IndexBlock b;
  b.begin = r * base + std::min(r, extra);
  b.end = b.begin + base + (r < extra ? 1 : 0);
  return b;
}

std::vector<std::vector<double>> distributed_rows(
    std::size_t count, const std::function<std::vector<std::vector<double>>(IndexBlock)>& block_job) {
  if (g_count == 1) return block_job({0, count});
#ifdef TPC_HAVE_MPI
  const IndexBlock mine = block_of(count, g_rank, g_count);
  std::vector<std::vector<double>> local;
  ErrorKind kind = ErrorKind::none;
  std::string message;
  try {
    local = block_job(mine);
    if (local.size() != mine.size()) throw std::logic_error("distributed_rows: the job returned the wrong number of rows");
  } catch (const NumericalError& e) {
    kind = ErrorKind::numerical, message = e.what();
  } catch (const BudgetError& e) {
    kind = ErrorKind::budget, message = e.what();
  } catch (const std::invalid_argument& e) {
    kind = ErrorKind::invalid_argument, message = e.what();
  } catch (const std::exception& e) {
    kind = ErrorKind::other, message = e.what();
  }
  // 1. Errors: every rank learns the lowest failing rank, which broadcasts its kind and message.
  std::vector<int> kinds(static_cast<std::size_t>(g_count));
  int my_kind = static_cast<int>(kind);
  MPI_Allgather(&my_kind, 1, MPI_INT, kinds.data(), 1, MPI_INT, MPI_COMM_WORLD);
  for (int r = 0; r < g_count; ++r) {
    if (kinds[static_cast<std::size_t>(r)] == 0) continue;
    int length = static_cast<int>(message.size());
    MPI_Bcast(&length, 1, MPI_INT, r, MPI_COMM_WORLD);
    message.resize(static_cast<std::size_t>(length));
    MPI_Bcast(message.data(), length, MPI_CHAR, r, MPI_COMM_WORLD);
    rethrow(static_cast<ErrorKind>(kinds[static_cast<std::size_t>(r)]), message);
  }
  // 2. Row lengths of every index, then the rows themselves, in index order (blocks are in rank order).
  std::vector<int> my_lengths;
  for (const auto& row : local) my_lengths.push_back(static_cast<int>(row.size()));
  std::vector<int> counts(static_cast<std::size_t>(g_count)), displs(static_cast<std::size_t>(g_count));
  for (int r = 0; r < g_count; ++r) {
    const IndexBlock b = block_of(count, r, g_count);
    counts[static_cast<std::size_t>(r)] = static_cast<int>(b.size());
    displs[static_cast<std::size_t>(r)] = static_cast<int>(b.begin);
  }
  std::vector<int> lengths(count);
  MPI_Allgatherv(my_lengths.data(), static_cast<int>(my_lengths.size()), MPI_INT, lengths.data(), counts.data(),
                 displs.data(), MPI_INT, MPI_COMM_WORLD);
  std::vector<double> mine_flat;
  for (const auto& row : local) mine_flat.insert(mine_flat.end(), row.begin(), row.end());
  std::vector<int> value_counts(static_cast<std::size_t>(g_count), 0), value_displs(static_cast<std::size_t>(g_count), 0);
  std::size_t total = 0;
  for (int r = 0; r < g_count; ++r) {
    const IndexBlock b = block_of(count, r, g_count);
    std::size_t c = 0;
    for (std::size_t i = b.begin; i < b.end; ++i) c += static_cast<std::size_t>(lengths[i]);
    value_displs[static_cast<std::size_t>(r)] = static_cast<int>(total);
    value_counts[static_cast<std::size_t>(r)] = static_cast<int>(c);
    total += c;
  }
  std::vector<double> flat(total);
  MPI_Allgatherv(mine_flat.data(), static_cast<int>(mine_flat.size()), MPI_DOUBLE, flat.data(), value_counts.data(),
                 value_displs.data(), MPI_DOUBLE, MPI_COMM_WORLD);
  std::vector<std::vector<double>> rows(count);
  std::size_t at = 0;
  for (std::size_t i = 0; i < count; ++i) {
    rows[i].assign(flat.begin() + static_cast<std::ptrdiff_t>(at), flat.begin() + static_cast<std::ptrdiff_t>(at + static_cast<std::size_t>(lengths[i])));
    at += static_cast<std::size_t>(lengths[i]);
  }
  return rows;
#else
  return block_job({0, count});
#endif
}

}  // namespace tp::limits
