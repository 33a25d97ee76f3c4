// A matrix of doubles as a NumPy .npy file (format version 1.0, numpy.lib.format: the magic "\x93NUMPY",
// version bytes 1 0, a little-endian uint16 header length, a Python-literal header dict padded with spaces
// to a multiple of 64 bytes and ending in "\n", then the raw data). Written column-major
// ('fortran_order': True), so Eigen's storage goes out as it is; numpy.load reads it back with the same shape.
// Used by `tpc run --save-init` to hand the sampled initial values to another program (the PyTorch peer in
// bench/ feeds them through its own training for an exact comparison).
#pragma once

#include <Eigen/Core>
#include <string>

namespace tp::limits {

/// Writes m to path; throws std::runtime_error naming the path when the file cannot be written.
void write_npy(const std::string& path, const Eigen::MatrixXd& m);

}  // namespace tp::limits
