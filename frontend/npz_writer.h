// NumPy .npz files (a zip archive of .npy arrays, as np.savez writes them) of float64 arrays, for
// `tpc kernel --output K.npz`; np.load(path)["nngp"] reads them back.
//
// .npy (NumPy "format" module, NEP 1, version 1.0): the magic "\x93NUMPY", the version bytes 1 0, a little-endian
// uint16 header length, then the header — the Python dict literal {'descr': '<f8', 'fortran_order': False,
// 'shape': (r, c), } padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes — then
// the values in C (row-major) order. The archive is written with libzip (Debian libzip-dev), entries stored
// uncompressed like np.savez, Zip64 when an entry exceeds 4 GiB; the array data is handed to libzip in place (no
// copy of the matrices).
#pragma once

#include <Eigen/Core>

#include <stdexcept>
#include <string>
#include <vector>

namespace tp::frontend {

/// One array of the archive: name (stored as "<name>.npy"), shape (empty = a 0-d scalar) and row-major values.
struct NpzArray {
  std::string name;
  std::vector<long long> shape;
  const double* data = nullptr;  ///< product of shape values (1 for a scalar); must outlive write_npz
};

/// A file that cannot be written: the message names the path and the cause.
struct NpzError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The .npy header (magic to the final '\n') of a float64 array of this shape.
std::string npy_header(const std::vector<long long>& shape);

/// Writes (replaces) the archive at path. Throws NpzError.
void write_npz(const std::string& path, const std::vector<NpzArray>& arrays);

}  // namespace tp::frontend
