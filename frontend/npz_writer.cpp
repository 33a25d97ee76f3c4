// .npz output; the format is described in npz_writer.h.
#include "frontend/npz_writer.h"

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

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

/// The archive's output: a libzip read/write source (zip_source_function(3)) over an open file. libzip hands it
/// the archive in pieces of 8 KiB (and seeks back once per entry to complete its local header); the pieces are
/// gathered in 1 MiB buffers, and a second thread writes each full buffer with pwrite while libzip copies and
/// checksums the next, so the copy into the page cache overlaps libzip's work. Errors of the writing thread are
/// reported by the next write or by the commit.
class FileSink {
 public:
  explicit FileSink(int fd) : fd_(fd), writer_([this] { write_loop(); }) {
    zip_error_init(&error_);
    filling_.reserve(buffer_size);
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  ~FileSink() {
    finish();
    zip_error_fini(&error_);
  }

  static zip_int64_t callback(void* self, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    return static_cast<FileSink*>(self)->command(data, len, cmd);
  }

 private:
  static constexpr std::size_t buffer_size = std::size_t{1} << 20;

  struct Chunk {
    std::vector<char> bytes;
    zip_uint64_t offset = 0;
  };

  zip_int64_t command(void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    switch (cmd) {
      case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR,
                                              ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS,
                                              ZIP_SOURCE_BEGIN_WRITE, ZIP_SOURCE_COMMIT_WRITE, ZIP_SOURCE_ROLLBACK_WRITE,
                                              ZIP_SOURCE_WRITE, ZIP_SOURCE_SEEK_WRITE, ZIP_SOURCE_TELL_WRITE, ZIP_SOURCE_REMOVE, -1);
      case ZIP_SOURCE_STAT: {  // the existing archive: empty (it is opened with ZIP_TRUNCATE)
        auto* st = static_cast<zip_stat_t*>(data);
        zip_stat_init(st);
        st->size = 0;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof(zip_stat_t);
      }
      case ZIP_SOURCE_OPEN: case ZIP_SOURCE_CLOSE: case ZIP_SOURCE_FREE: case ZIP_SOURCE_BEGIN_WRITE:
      case ZIP_SOURCE_REMOVE:
        return 0;
      case ZIP_SOURCE_READ: case ZIP_SOURCE_TELL:
        return 0;  // nothing to read back
      case ZIP_SOURCE_SEEK: {
        const zip_int64_t to = zip_source_seek_compute_offset(0, 0, data, len, &error_);
        return to < 0 ? -1 : 0;
      }
      case ZIP_SOURCE_WRITE:
        return write(static_cast<const char*>(data), len) ? static_cast<zip_int64_t>(len) : -1;
      case ZIP_SOURCE_SEEK_WRITE: {
        const zip_int64_t to = zip_source_seek_compute_offset(position_, length_, data, len, &error_);
        if (to < 0) return -1;
        position_ = static_cast<zip_uint64_t>(to);
        return 0;
      }
      case ZIP_SOURCE_TELL_WRITE:
        return static_cast<zip_int64_t>(position_);
      case ZIP_SOURCE_COMMIT_WRITE:
        return hand_over() && finish() ? 0 : -1;
      case ZIP_SOURCE_ROLLBACK_WRITE:
        filling_.clear();
        finish();
        return 0;
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&error_, data, len);
      default:
        zip_error_set(&error_, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }

  /// Appends bytes at position_ (a write after a seek starts a new buffer).
  bool write(const char* bytes, zip_uint64_t len) {
    if (position_ != filling_offset_ + filling_.size()) {
      if (!hand_over()) return false;
      filling_offset_ = position_;
    }
    filling_.insert(filling_.end(), bytes, bytes + len);
    position_ += len;
    length_ = std::max(length_, position_);
    return filling_.size() < buffer_size || hand_over();
  }

  /// Gives the filled buffer to the writing thread (waiting until it has taken the previous one) and continues
  /// in a spare buffer. False if the thread has failed.
  bool hand_over() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !pending_ || failed_errno_ != 0; });
    if (failed_errno_ != 0) {
      zip_error_set(&error_, ZIP_ER_WRITE, failed_errno_);
      return false;
    }
    if (filling_.empty()) return true;
    const zip_uint64_t next = filling_offset_ + filling_.size();
    pending_ = Chunk{std::move(filling_), filling_offset_};
    filling_ = std::move(spare_);
    filling_.clear();
    filling_.reserve(buffer_size);
    filling_offset_ = next;
    changed_.notify_all();
    return true;
  }

  /// Stops the writing thread after its last buffer; true if everything was written.
  bool finish() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      changed_.notify_all();
    }
    if (writer_.joinable()) writer_.join();
    if (failed_errno_ != 0) {
      zip_error_set(&error_, ZIP_ER_WRITE, failed_errno_);
      return false;
    }
    return true;
  }

  void write_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return pending_ || stop_; });
      if (!pending_) return;
      Chunk chunk = std::move(*pending_);
      lock.unlock();
      int failure = 0;
      for (std::size_t done = 0; done < chunk.bytes.size() && failure == 0;) {
        const ssize_t got = ::pwrite(fd_, chunk.bytes.data() + done, chunk.bytes.size() - done,
                                     static_cast<off_t>(chunk.offset + done));
        if (got > 0) done += static_cast<std::size_t>(got);
        else if (got < 0 && errno != EINTR) failure = errno;
        else if (got == 0) failure = EIO;
      }
      lock.lock();
      pending_.reset();
      spare_ = std::move(chunk.bytes);
      if (failure != 0) {
        failed_errno_ = failure;
        changed_.notify_all();
        return;
      }
      changed_.notify_all();
    }
  }

  int fd_;
  zip_error_t error_;
  zip_uint64_t position_ = 0, length_ = 0, filling_offset_ = 0;
  std::vector<char> filling_, spare_;
  std::optional<Chunk> pending_;
  bool stop_ = false;
  int failed_errno_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread writer_;  // last: started after the members it uses
};

}  // namespace

void write_npz(const std::string& path, const std::vector<NpzArray>& arrays) {
  auto fail = [&](const std::string& what) -> NpzError {
    return NpzError("--output " + path + ": " + what + "; check that the directory exists and is writable");
  };
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw fail(std::string("cannot create the file (") + std::strerror(errno) + ")");
  std::string failure;
  {
    FileSink sink(fd);
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* file = zip_source_function_create(&FileSink::callback, &sink, &error);
    zip_t* archive = file ? zip_open_from_source(file, ZIP_TRUNCATE, &error) : nullptr;
    if (!archive) {
      failure = "cannot create the archive (" + std::string(zip_error_strerror(&error)) + ")";
      if (file) zip_source_free(file);
    }
    zip_error_fini(&error);
    // headers and fragment lists must live until zip_close, which reads the sources
    std::vector<std::string> headers;
    headers.reserve(arrays.size());
    std::vector<std::array<zip_buffer_fragment_t, 2>> fragments(arrays.size());
    for (std::size_t a = 0; archive && a < arrays.size() && failure.empty(); ++a) {
      long long count = 1;
      for (long long s : arrays[a].shape) count *= s;
      headers.push_back(npy_header(arrays[a].shape));
      auto& parts = fragments[a];
      parts[0] = {reinterpret_cast<zip_uint8_t*>(headers.back().data()), headers.back().size()};
      parts[1] = {reinterpret_cast<zip_uint8_t*>(const_cast<double*>(arrays[a].data)), static_cast<zip_uint64_t>(count) * sizeof(double)};
      zip_source_t* source = zip_source_buffer_fragment(archive, parts.data(), 2, 0);
      const zip_int64_t index = source ? zip_file_add(archive, (arrays[a].name + ".npy").c_str(), source, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) : -1;
      if (index < 0) {
        if (source) zip_source_free(source);
        failure = "cannot add " + arrays[a].name + " (" + zip_strerror(archive) + ")";
      } else {
        zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
      }
    }
    if (archive && failure.empty() && zip_close(archive) != 0)
      failure = std::string("cannot write the file (") + zip_strerror(archive) + ")";
    if (archive && !failure.empty()) zip_discard(archive);  // zip_close frees the archive only on success
  }
  if (::close(fd) != 0 && failure.empty()) failure = std::string("cannot write the file (") + std::strerror(errno) + ")";
  if (!failure.empty()) {
    ::unlink(path.c_str());  // no half-written archive
    throw fail(failure);
  }
}

}  // namespace tp::frontend
