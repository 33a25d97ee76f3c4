// The Omniglot-layout loader (Lake et al. 2015 layout; declared in apps/maml/omniglot.h).
//
// Steps:
//  1. List DIR/images_background and DIR/images_evaluation: alphabets → characters → drawer files, sorted.
//  2. Assign characters to splits (background → train; evaluation alphabets by is_validation_alphabet),
//     keep the first max_classes per split, refuse an empty split.
//  3. Decode and resize every image in parallel (libpng; image_resize.h), then check that all images have
//     the size of the first one.
//  4. Add the rotated copies of the meta-train classes.
#include "apps/maml/omniglot.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <filesystem>

#include "apps/maml/image_resize.h"
#include "apps/maml/png_io.h"
#include "limits/parallel.h"

namespace tp::maml {

namespace {

namespace fs = std::filesystem;

struct CharacterFiles {
  std::string name;  ///< "alphabet/character"
  std::vector<fs::path> files;
};

struct AlphabetFiles {
  std::string name;
  std::vector<CharacterFiles> characters;
};

const char* const kLayoutHint =
    "expected DIR/images_background/<alphabet>/<character>/<drawer>.png and DIR/images_evaluation/... "
    "(Omniglot's layout: unzip images_background.zip and images_evaluation.zip into DIR), or generate a "
    "dataset in that layout with 'tpc maml make-dataset --out DIR'";

bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

std::vector<fs::path> sorted_entries(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (hidden(e.path())) continue;
    if (directories ? e.is_directory() : !e.is_directory()) out.push_back(e.path());
  }
  if (ec) throw DataError(dir.string() + ": cannot list the directory (" + ec.message() + "); check its permissions");
  std::sort(out.begin(), out.end());
  return out;
}

// Step 1 for one split directory.
std::vector<AlphabetFiles> list_split(const fs::path& split_dir) {
  if (!fs::is_directory(split_dir)) {
    std::string msg = split_dir.string() + ": missing directory; " + kLayoutHint;
    const fs::path up = split_dir.parent_path().parent_path();
    if (!up.empty() && fs::is_directory(up / split_dir.filename()))
      msg += fmt::format(" (found {}: pass {} as the dataset directory)", (up / split_dir.filename()).string(),
                         up.string());
    throw DataError(msg);
  }
  std::vector<AlphabetFiles> alphabets;
  for (const auto& a : sorted_entries(split_dir, true)) {
    AlphabetFiles alphabet{a.filename().string(), {}};
    for (const auto& c : sorted_entries(a, true)) {
      CharacterFiles ch{alphabet.name + "/" + c.filename().string(), sorted_entries(c, false)};
      if (ch.files.empty())
        throw DataError(c.string() + ": character directory without images; it needs one PNG per drawer "
                                     "(remove the empty directory)");
      alphabet.characters.push_back(std::move(ch));
    }
    alphabets.push_back(std::move(alphabet));
  }
  return alphabets;
}

void keep_first(std::vector<CharacterFiles>& split, std::size_t max_classes) {
  if (max_classes > 0 && split.size() > max_classes) split.resize(max_classes);
}

void append(std::vector<CharacterFiles>& to, std::vector<CharacterFiles>&& from) {
  for (auto& c : from) to.push_back(std::move(c));
}

struct Decoded {
  int width = 0, height = 0;
  Eigen::VectorXd pixels;
};

// Step 3 for one file: 8-bit gray → [0, 1] → side × side.
Decoded decode(const fs::path& file, int side) {
  const GrayImage g = read_png_gray(file.string());
  Raster r{g.width, g.height, std::vector<double>(g.pixels.size())};
  for (std::size_t i = 0; i < g.pixels.size(); ++i) r.values[i] = g.pixels[i] / 255.0;
  const Raster small = resize_bilinear_antialias(r, side, side);
  return {g.width, g.height, Eigen::Map<const Eigen::VectorXd>(small.values.data(), static_cast<Eigen::Index>(small.values.size()))};
}

Eigen::VectorXd rotated(const Eigen::VectorXd& image, int side, int quarter_turns) {
  Raster r{side, side, std::vector<double>(image.data(), image.data() + image.size())};
  const Raster out = rotate_quarter_turns(r, quarter_turns);
  return Eigen::Map<const Eigen::VectorXd>(out.values.data(), image.size());
}

}  // namespace

void check_few_shot(const ImageSet& set, const std::string& split, int ways, int shots, int queries) {
  if (set.num_classes() < static_cast<std::size_t>(std::max(ways, 0)))
    throw DataError(fmt::format("{} split: {} classes, but {}-way tasks need at least {}; use fewer ways or a dataset "
                                "with more characters",
                                split, set.num_classes(), ways, ways));
  const auto needed = static_cast<std::size_t>(std::max(shots + queries, 0));
  for (std::size_t c = 0; c < set.num_classes(); ++c)
    if (set.images[c].size() < needed)
      throw DataError(fmt::format("{} split: class {} has {} images (drawers), but {} shots + {} queries need {}; use "
                                  "fewer shots or queries",
                                  split, set.class_names[c], set.images[c].size(), shots, queries, needed));
}

OmniglotSplits load_omniglot(const std::string& dir, const OmniglotOptions& options) {
  if (options.side < 1) throw DataError(fmt::format("image side {}: must be at least 1", options.side));
  const fs::path root(dir);
  if (!fs::is_directory(root)) throw DataError(dir + ": missing dataset directory; " + kLayoutHint);

  // Steps 1–2.
  std::vector<CharacterFiles> split_chars[3];  // train, validation, test
  for (auto& a : list_split(root / "images_background")) append(split_chars[0], std::move(a.characters));
  const auto evaluation = list_split(root / "images_evaluation");
  for (std::size_t i = 0; i < evaluation.size(); ++i) {
    auto chars = evaluation[i].characters;
    append(split_chars[is_validation_alphabet(i) ? 1 : 2], std::move(chars));
  }
  const char* split_names[3] = {"meta-train", "validation", "test"};
  const std::string split_dirs[3] = {(root / "images_background").string(), (root / "images_evaluation").string(),
                                     (root / "images_evaluation").string()};
  for (int s = 0; s < 3; ++s) {
    keep_first(split_chars[s], options.max_classes);
    if (split_chars[s].empty())
      throw DataError(fmt::format(
          "{}: the {} split has no classes ({} evaluation alphabet(s) found; evaluation alphabets 0, 3, 6, ... "
          "in name order are validation, the others test, so at least 2 are needed, each with character "
          "directories of PNG files); {}",
          split_dirs[s], split_names[s], evaluation.size(), kLayoutHint));
  }

  // Step 3: one job per file, errors reported for the first failing file in dataset order.
  struct Job {
    int split;
    std::size_t cls, drawer;
    const fs::path* file;
  };
  std::vector<Job> jobs;
  for (int s = 0; s < 3; ++s)
    for (std::size_t c = 0; c < split_chars[s].size(); ++c)
      for (std::size_t d = 0; d < split_chars[s][c].files.size(); ++d) jobs.push_back({s, c, d, &split_chars[s][c].files[d]});
  std::vector<Decoded> decoded(jobs.size());
  std::vector<std::exception_ptr> errors(jobs.size());
  limits::parallel_for(jobs.size(), options.threads, [&](std::size_t j) {
    try {
      decoded[j] = decode(*jobs[j].file, options.side);
    } catch (...) {
      errors[j] = std::current_exception();
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (std::size_t j = 1; j < jobs.size(); ++j)
    if (decoded[j].width != decoded[0].width || decoded[j].height != decoded[0].height)
      throw DataError(fmt::format("{}: image is {}×{} but {} is {}×{}; all images must have one size (Omniglot's "
                                  "are 105×105): replace or remove the odd file",
                                  jobs[j].file->string(), decoded[j].width, decoded[j].height, jobs[0].file->string(),
                                  decoded[0].width, decoded[0].height));

  // Step 4 and assembly.
  OmniglotSplits out;
  ImageSet* sets[3] = {&out.train, &out.validation, &out.test};
  std::size_t j = 0;
  for (int s = 0; s < 3; ++s) {
    ImageSet& set = *sets[s];
    set.side = options.side;
    for (const auto& ch : split_chars[s]) {
      std::vector<Eigen::VectorXd> images;
      for (std::size_t d = 0; d < ch.files.size(); ++d) images.push_back(std::move(decoded[j++].pixels));
      const bool rotate = s == 0 && options.rotations;
      set.class_names.push_back(ch.name);
      set.images.push_back(images);
      for (int q = 1; rotate && q < 4; ++q) {
        std::vector<Eigen::VectorXd> turned;
        for (const auto& im : images) turned.push_back(rotated(im, options.side, q));
        set.class_names.push_back(ch.name + "/rot" + std::to_string(90 * q));
        set.images.push_back(std::move(turned));
      }
    }
  }
  return out;
}

}  // namespace tp::maml
