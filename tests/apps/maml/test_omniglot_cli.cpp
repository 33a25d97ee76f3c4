// `tpc maml make-dataset` and `tpc maml dataset-info` through the command line: success output, refusal to
// overwrite, nothing half-written on failure, bad flags and missing data with exit code 1.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "../../frontend/cli_runner.h"
#include "omniglot_test_dirs.h"

namespace {

namespace fs = std::filesystem;
using tp::testing::ScratchDir;
using tp::testing::tpc;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("tpc maml dataset-info prints the splits of the fixture") {
  const auto r = tpc({"maml", "dataset-info", "--omniglot", tp::testing::omniglot_fixture()});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "24 image files"));
  CHECK(contains(r.out, "meta-train        16       48"));
  CHECK(contains(r.out, "validation         2        6"));
  CHECK(contains(r.out, "28×28"));
}

TEST_CASE("tpc maml dataset-info on a missing directory exits 1 naming it") {
  const auto r = tpc({"maml", "dataset-info", "--omniglot", "/nonexistent/omniglot"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "tpc: error: /nonexistent/omniglot: missing dataset directory"));
}

TEST_CASE("tpc maml make-dataset writes a tiny dataset, refuses to overwrite it, replaces it with --force") {
  ScratchDir d("cli-make");
  const std::string out = d.str() + "/omni";
  const std::vector<std::string> args = {"maml", "make-dataset", "--out", out, "--alphabets", "4",
                                         "--characters", "1", "--drawers", "2"};
  auto r = tpc(args);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "images_background    2 alphabets     2 characters      4 images"));
  CHECK(contains(r.out, "crc32 0x"));
  CHECK(fs::is_regular_file(out + "/MANIFEST.txt"));
  r = tpc(args);
  CHECK(r.code == 1);
  CHECK(contains(r.err, out + ": directory is not empty; pass --force"));
  auto forced = args;
  forced.push_back("--force");
  CHECK(tpc(forced).code == 0);
  // Only the dataset is left in the parent: no temporary directory.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(d.path())) entries += e.path().filename() == "omni" ? 0 : 1;
  CHECK(entries == 0);
}

TEST_CASE("tpc maml make-dataset without fonts fails, exit 1, and leaves nothing behind") {
  ScratchDir d("cli-fonts");
  const auto r = tpc({"maml", "make-dataset", "--out", d.str() + "/omni", "--fonts", "/nonexistent/fonts"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "/nonexistent/fonts: missing font directory"));
  CHECK(fs::is_empty(d.path()));
}

TEST_CASE("tpc maml make-dataset rejects out-of-range flags") {
  auto r = tpc({"maml", "make-dataset", "--drawers", "0"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "--drawers"));
  r = tpc({"maml", "make-dataset", "--characters", "-3"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "--characters"));
}
