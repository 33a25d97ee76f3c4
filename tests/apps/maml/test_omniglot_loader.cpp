// The Omniglot-layout loader (apps/maml/omniglot.h) on the tiny fixture in the real layout (1-bit grayscale
// PNGs as Omniglot ships, plus one 8-bit file): splits, rotations, pixel convention; and every bad-input case
// with the file named in the message.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "apps/maml/omniglot.h"
#include "apps/maml/image_resize.h"
#include "apps/maml/png_io.h"
#include "omniglot_test_dirs.h"

namespace {

namespace fs = std::filesystem;
using tp::maml::DataError;
using tp::maml::load_omniglot;
using tp::maml::OmniglotOptions;
using tp::testing::omniglot_fixture;
using tp::testing::ScratchDir;

std::string load_error(const std::string& dir, const OmniglotOptions& options = {}) {
  try {
    load_omniglot(dir, options);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the tiny fixture loads into meta-train with rotations, validation and test by alphabet") {
  const auto s = load_omniglot(omniglot_fixture());
  // Background: Armenian, Cherokee × 2 characters × (original + 3 rotations).
  REQUIRE(s.train.num_classes() == 16);
  CHECK(s.train.class_names[0] == "Armenian/character01");
  CHECK(s.train.class_names[1] == "Armenian/character01/rot90");
  CHECK(s.train.class_names[3] == "Armenian/character01/rot270");
  CHECK(s.train.class_names[4] == "Armenian/character02");
  CHECK(s.train.class_names[8] == "Cherokee/character01");
  // Evaluation alphabets in name order: Bengali (0 → validation), Devanagari (1 → test).
  REQUIRE(s.validation.num_classes() == 2);
  CHECK(s.validation.class_names[0] == "Bengali/character01");
  REQUIRE(s.test.num_classes() == 2);
  CHECK(s.test.class_names[1] == "Devanagari/character02");
  for (const auto* set : {&s.train, &s.validation, &s.test}) {
    CHECK(set->side == 28);
    for (const auto& cls : set->images) {
      REQUIRE(cls.size() == 3);
      for (const auto& im : cls) {
        REQUIRE(im.size() == 28 * 28);
        CHECK(im.minCoeff() >= 0.0);
        CHECK(im.maxCoeff() <= 1.0);
        CHECK(im(0) == doctest::Approx(1.0));    // white paper in the corner
        CHECK(im.minCoeff() < 0.5);              // some ink
      }
    }
  }
}

TEST_CASE("rotated classes hold the counterclockwise quarter turns of the original images") {
  const auto s = load_omniglot(omniglot_fixture());
  const Eigen::VectorXd& base = s.train.images[4][1];
  for (int q = 1; q < 4; ++q) {
    tp::maml::Raster r{28, 28, std::vector<double>(base.data(), base.data() + base.size())};
    const auto turned = tp::maml::rotate_quarter_turns(r, q);
    const Eigen::VectorXd& loaded = s.train.images[4 + static_cast<std::size_t>(q)][1];
    for (int i = 0; i < 28 * 28; ++i) CHECK(loaded(i) == doctest::Approx(turned.values[static_cast<std::size_t>(i)]));
  }
}

TEST_CASE("options: no rotations, a class cut and another side") {
  OmniglotOptions o;
  o.rotations = false;
  o.max_classes = 1;
  o.side = 14;
  const auto s = load_omniglot(omniglot_fixture(), o);
  CHECK(s.train.num_classes() == 1);
  CHECK(s.validation.num_classes() == 1);
  CHECK(s.test.num_classes() == 1);
  CHECK(s.train.images[0][0].size() == 14 * 14);
  o.rotations = true;
  CHECK(load_omniglot(omniglot_fixture(), o).train.num_classes() == 4);
}

TEST_CASE("1-bit and 8-bit grayscale PNGs decode to 0/255 pixels and round-trip through the encoder") {
  const std::string dir = omniglot_fixture() + "/images_evaluation/Devanagari/character02/";
  for (const char* name : {"0008_01.png", "0008_02.png"}) {  // 1-bit, 8-bit
    const auto g = tp::maml::read_png_gray(dir + name);
    CHECK(g.width == 105);
    CHECK(g.height == 105);
    for (auto v : g.pixels) REQUIRE((v == 0 || v == 255));
    for (int depth : {1, 8}) {
      ScratchDir tmp("png");
      const std::string file = tmp.str() + "/x.png";
      tp::maml::write_file(file, tp::maml::encode_png_gray(g, depth));
      CHECK(tp::maml::read_png_gray(file).pixels == g.pixels);
    }
  }
}

TEST_CASE("a missing dataset or split directory is named with the layout and the generator as the fix") {
  const std::string missing = load_error("/nonexistent/omniglot");
  CHECK(contains(missing, "/nonexistent/omniglot: missing dataset directory"));
  CHECK(contains(missing, "tpc maml make-dataset"));
  ScratchDir tmp("nosplit");
  const auto dir = tmp.copy_fixture();
  fs::remove_all(dir / "images_evaluation");
  const std::string e = load_error(dir.string());
  CHECK(contains(e, (dir / "images_evaluation").string() + ": missing directory"));
  CHECK(contains(e, "images_background.zip"));
  const std::string nested = load_error((dir / "images_background").string());
  CHECK(contains(nested, "pass " + dir.string() + " as the dataset directory"));
}

TEST_CASE("a file that is not a PNG is named") {
  ScratchDir tmp("notpng");
  const auto dir = tmp.copy_fixture();
  const auto bad = dir / "images_background/Cherokee/character02/notes.txt";
  std::ofstream(bad) << "hello\n";
  const std::string e = load_error(dir.string());
  CHECK(contains(e, bad.string() + ": not a PNG file"));
}

TEST_CASE("a truncated PNG is reported as unreadable") {
  ScratchDir tmp("truncated");
  const auto dir = tmp.copy_fixture();
  const auto file = dir / "images_evaluation/Bengali/character01/0003_02.png";
  fs::resize_file(file, 60);
  const std::string e = load_error(dir.string());
  CHECK(contains(e, file.string() + ": unreadable PNG"));
}

TEST_CASE("an image of another size is named next to the size of the first image") {
  ScratchDir tmp("size");
  const auto dir = tmp.copy_fixture();
  const auto odd = dir / "images_evaluation/Bengali/character02/0004_99.png";
  tp::maml::GrayImage small{50, 40, std::vector<std::uint8_t>(50 * 40, 255)};
  tp::maml::write_file(odd.string(), tp::maml::encode_png_gray(small, 1));
  const std::string e = load_error(dir.string());
  CHECK(contains(e, odd.string() + ": image is 50×40"));
  CHECK(contains(e, "105×105"));
}

TEST_CASE("an empty split and an empty character directory are refused") {
  ScratchDir tmp("empty");
  const auto dir = tmp.copy_fixture();
  fs::remove_all(dir / "images_evaluation/Devanagari");
  const std::string e = load_error(dir.string());
  CHECK(contains(e, "the test split has no classes"));
  CHECK(contains(e, "1 evaluation alphabet(s)"));
  fs::create_directories(dir / "images_background/Armenian/character03");
  const std::string e2 = load_error(dir.string());
  CHECK(contains(e2, (dir / "images_background/Armenian/character03").string() + ": character directory without images"));
}

TEST_CASE("few-shot checks name the split and the class that is too small") {
  const auto s = load_omniglot(omniglot_fixture());
  tp::maml::check_few_shot(s.train, "meta-train", 5, 1, 2);
  std::string e;
  try {
    tp::maml::check_few_shot(s.validation, "validation", 5, 1, 1);
  } catch (const DataError& x) {
    e = x.what();
  }
  CHECK(contains(e, "validation split: 2 classes, but 5-way tasks need at least 5"));
  try {
    tp::maml::check_few_shot(s.test, "test", 2, 1, 5);
  } catch (const DataError& x) {
    e = x.what();
  }
  CHECK(contains(e, "test split: class Devanagari/character01 has 3 images (drawers), but 1 shots + 5 queries need 6"));
}
