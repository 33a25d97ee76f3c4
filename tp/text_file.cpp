// See text_file.h.
#include "tp/text_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tp {

TextFile read_text_file(const std::string& path, std::size_t max_bytes) {
  TextFile out;
  auto fail = [&](TextFile::Problem p, std::string cause) {
    out.problem = p;
    out.cause = std::move(cause);
    out.text.clear();
    return out;
  };
  const std::string too_large = "it is larger than " + std::to_string(max_bytes >> 20) + " MiB";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(TextFile::Problem::unreadable, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return fail(TextFile::Problem::directory, "it is a directory");
  if (S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) > max_bytes)
    return fail(TextFile::Problem::too_large, too_large);
  errno = 0;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return fail(TextFile::Problem::unreadable, std::strerror(errno ? errno : EIO));
  char buf[1 << 16];
  while (const std::size_t got = std::fread(buf, 1, sizeof buf, f.get())) {
    // A device or pipe without end (/dev/zero) or a file that grew: stop at the cap.
    if (out.text.size() + got > max_bytes) return fail(TextFile::Problem::too_large, too_large);
    out.text.append(buf, got);
  }
  if (std::ferror(f.get())) return fail(TextFile::Problem::unreadable, std::strerror(errno ? errno : EIO));
  return out;
}

}  // namespace tp
