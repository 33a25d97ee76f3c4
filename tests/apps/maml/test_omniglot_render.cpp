// The Omniglot-format generator (apps/maml/omniglot_render.h) on a tiny configuration: the same seed gives
// byte-identical files whatever the thread count, another seed other files; the output is in Omniglot's layout
// (1-bit 105×105 PNGs) and the loader reads it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/maml/dataset_digest.h"
#include "apps/maml/omniglot.h"
#include "apps/maml/omniglot_render.h"
#include "apps/maml/png_io.h"
#include "omniglot_test_dirs.h"

namespace {

namespace fs = std::filesystem;
using tp::testing::ScratchDir;

tp::maml::RenderOptions tiny(std::uint64_t seed, unsigned threads) {
  tp::maml::RenderOptions o;
  o.seed = seed;
  o.alphabets = 4;
  o.max_characters = 2;
  o.drawers = 2;
  o.threads = threads;
  return o;
}

}  // namespace

TEST_CASE("the generator is deterministic: same seed same bytes, another seed other bytes") {
  ScratchDir a("render-a"), b("render-b"), c("render-c");
  const auto sa = tp::maml::render_omniglot(a.str() + "/ds", tiny(5, 2));
  const auto sb = tp::maml::render_omniglot(b.str() + "/ds", tiny(5, 1));
  const auto sc = tp::maml::render_omniglot(c.str() + "/ds", tiny(6, 2));
  CHECK(sa.images == 4 * 2 * 2);
  CHECK(sa.crc32 == sb.crc32);
  CHECK(sa.bytes == sb.bytes);
  CHECK(sa.crc32 != sc.crc32);
  const auto da = tp::maml::digest_dataset(a.str() + "/ds");
  CHECK(da.files == 16);
  CHECK(da.crc32 == sa.crc32);
  std::ifstream m(a.str() + "/ds/MANIFEST.txt");
  std::stringstream text;
  text << m.rdbuf();
  CHECK(text.str().find("crc32 " + tp::maml::format_crc32(sa.crc32)) != std::string::npos);
  CHECK(text.str().find("images_background alphabets 2 characters 4 images 8") != std::string::npos);
}

TEST_CASE("generated files are 105x105 one-bit PNGs in Omniglot's layout that the loader reads") {
  ScratchDir d("render-layout");
  const auto sum = tp::maml::render_omniglot(d.str(), tiny(1, 2));
  REQUIRE(sum.alphabets.size() == 4);
  CHECK(sum.alphabets[0].background);
  CHECK_FALSE(sum.alphabets[1].background);
  const fs::path first = d.path() / "images_background" / sum.alphabets[0].name / "character01" / "0001_01.png";
  REQUIRE(fs::is_regular_file(first));
  std::ifstream f(first, std::ios::binary);
  char header[26];
  f.read(header, 26);
  CHECK(static_cast<int>(header[24]) == 1);  // IHDR bit depth
  CHECK(static_cast<int>(header[25]) == 0);  // colour type: grayscale
  const auto g = tp::maml::read_png_gray(first.string());
  CHECK(g.width == 105);
  CHECK(g.height == 105);
  const auto splits = tp::maml::load_omniglot(d.str());
  CHECK(splits.train.num_classes() == 2 * 2 * 4);
  CHECK(splits.validation.num_classes() == 2);
  CHECK(splits.test.num_classes() == 2);
}

TEST_CASE("a missing font directory names the Debian package") {
  auto o = tiny(1, 1);
  o.fonts_dir = "/nonexistent/fonts";
  ScratchDir d("render-fonts");
  try {
    tp::maml::render_omniglot(d.str(), o);
    FAIL("expected DataError");
  } catch (const tp::maml::DataError& e) {
    CHECK(std::string(e.what()).find("/nonexistent/fonts: missing font directory") != std::string::npos);
    CHECK(std::string(e.what()).find("fonts-noto-core") != std::string::npos);
  }
}
