// Scratch directories and fixture paths for the Omniglot data tests (tests/apps/maml/test_omniglot_*.cpp).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace tp::testing {

/// TPC_SOURCE_DIR/tests/apps/maml/fixtures/omniglot_tiny: 2 background + 2 evaluation alphabets.
inline std::string omniglot_fixture() { return std::string(TPC_SOURCE_DIR) + "/tests/apps/maml/fixtures/omniglot_tiny"; }

/// A fresh, empty directory under the system temp directory, removed when this object goes away.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("tpc-omniglot-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  /// A copy of the tiny fixture at path()/omniglot, to be damaged by a test.
  std::filesystem::path copy_fixture() const {
    const auto to = path_ / "omniglot";
    std::filesystem::copy(omniglot_fixture(), to, std::filesystem::copy_options::recursive);
    return to;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace tp::testing
