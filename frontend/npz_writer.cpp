// .npz output; the format is described in npz_writer.h.
#include "frontend/npz_writer.h"

#include <zip.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tp::frontend {

std::string npy_header(const std::vector<long long>& shape) {
  static_assert(std::endian::native == std::endian::little, "the .npy data are written as little-endian '<f8'");
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
  if (shape.size() == 1) dict.pop_back();  // "(n,)"
  dict += "), }";
  const std::size_t prefix = 10;                        // magic (6) + version (2) + header length (2)
  std::size_t total = prefix + dict.size() + 1;         // + '\n'
  total = (total + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  const auto len = static_cast<unsigned>(dict.size());
  std::string header("\x93NUMPY\x01\x00", 8);
  header += static_cast<char>(len & 0xff);
  header += static_cast<char>(len >> 8);
  return header + dict;
}

namespace {

/// libzip's error as text.
std::string zip_message(zip_error_t* error) { return zip_error_strerror(error); }

}  // namespace

// The archive is built in a libzip memory buffer and then written with a few large write calls: libzip 1.7's
// own file output goes through a 4 KiB stdio buffer (15,000 write calls for 64 MB).
void write_npz(const std::string& path, const std::vector<NpzArray>& arrays) {
  auto fail = [&](const std::string& what) -> NpzError {
    return NpzError("--output " + path + ": " + what + "; check that the directory exists and is writable");
  };
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw fail(std::string("cannot create the file (") + std::strerror(errno) + ")");
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* memory = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* archive = memory ? zip_open_from_source(memory, ZIP_TRUNCATE, &error) : nullptr;
  if (!archive) {
    const std::string cause = zip_message(&error);
    if (memory) zip_source_free(memory);
    zip_error_fini(&error);
    std::fclose(file);
    throw fail("cannot create the archive (" + cause + ")");
  }
  zip_source_keep(memory);  // read back after zip_close
  std::vector<std::string> headers;  // headers and fragment lists must live until zip_close, which reads the sources
  headers.reserve(arrays.size());
  std::vector<std::array<zip_buffer_fragment_t, 2>> fragments(arrays.size());
  auto abandon = [&](const std::string& what) -> NpzError {
    const std::string cause = zip_strerror(archive);
    zip_discard(archive);
    zip_source_free(memory);
    zip_error_fini(&error);
    std::fclose(file);
    return fail(what + " (" + cause + ")");
  };
  for (const NpzArray& a : arrays) {
    long long count = 1;
    for (long long s : a.shape) count *= s;
    headers.push_back(npy_header(a.shape));
    auto& parts = fragments[headers.size() - 1];
    parts[0] = {reinterpret_cast<zip_uint8_t*>(headers.back().data()), headers.back().size()};
    parts[1] = {reinterpret_cast<zip_uint8_t*>(const_cast<double*>(a.data)), static_cast<zip_uint64_t>(count) * sizeof(double)};
    zip_source_t* source = zip_source_buffer_fragment(archive, parts.data(), 2, 0);
    if (!source) throw abandon("cannot add " + a.name);
    const zip_int64_t index = zip_file_add(archive, (a.name + ".npy").c_str(), source, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      throw abandon("cannot add " + a.name);
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) throw abandon("cannot build the archive");
  // copy the finished archive to the file in 8 MiB pieces
  bool ok = zip_source_open(memory) == 0;
  std::vector<char> piece(std::size_t{8} << 20);
  while (ok) {
    const zip_int64_t got = zip_source_read(memory, piece.data(), piece.size());
    if (got < 0) ok = false;
    if (got <= 0) break;
    ok = std::fwrite(piece.data(), 1, static_cast<std::size_t>(got), file) == static_cast<std::size_t>(got);
  }
  zip_source_close(memory);
  zip_source_free(memory);
  zip_error_fini(&error);
  const int write_errno = errno;
  if (std::fclose(file) != 0 || !ok)
    throw fail(std::string("cannot write the file (") + std::strerror(write_errno ? write_errno : EIO) + ")");
}

}  // namespace tp::frontend
