// Omniglot-format few-shot data: the loader for the real Omniglot layout (Lake et al. 2015) and for the
// dataset tpc generates in the same layout (apps/maml/omniglot_render.h).
//
// Layout: DIR/images_background/<alphabet>/<character>/<drawer>.png and DIR/images_evaluation/... ,
// 105×105 PNGs (Omniglot ships 1-bit grayscale; any PNG bit depth / colour type is accepted and converted
// to grayscale). Splits (documented in DESIGN.md): meta-train = the characters of images_background;
// the characters of images_evaluation are divided by alphabet into validation and test: with the evaluation
// alphabets sorted by directory name and numbered from 0, alphabet i goes to validation if i % 3 == 0 and to
// test otherwise (Omniglot's 20 → 7 validation, 13 test alphabets). Meta-training
// classes are augmented with rotations by 90°, 180°, 270° (each a new class), as in TP4 App. D.1 / torchmeta.
// Pixels: the image resized to side × side, grayscale in [0, 1] with white background = 1 (torchvision's
// Resize + ToTensor convention; the resize rule is Pillow's antialiased bilinear, apps/maml/image_resize.h),
// flattened row-major. Order: alphabets, characters and drawer files sorted by name; each meta-train
// character is followed by its rotated copies ("alphabet/character/rot90", ".../rot180", ".../rot270",
// counterclockwise). Hidden entries (names starting with '.') are ignored.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "apps/maml/data_error.h"

namespace tp::maml {

/// One split: classes, each with its images (one per drawer), every image a side*side vector.
struct ImageSet {
  int side = 28;
  std::vector<std::string> class_names;              ///< "alphabet/character" (+ "/rot90" etc.)
  std::vector<std::vector<Eigen::VectorXd>> images;  ///< images[class][drawer], size side*side
  std::size_t num_classes() const { return images.size(); }
};

struct OmniglotSplits {
  ImageSet train, validation, test;
};

struct OmniglotOptions {
  int side = 28;               ///< resize target
  bool rotations = true;       ///< add 90/180/270° rotated copies of every meta-train class
  std::size_t max_classes = 0; ///< 0 = all; else keep the first max_classes characters per split (tests);
                               ///< rotations are added after this cut, so train has up to 4·max_classes
  unsigned threads = 0;        ///< PNG decoding threads (0 = all cores)
};

/// The split rule above: true if evaluation alphabet number `index` (sorted by name, from 0) is validation.
inline bool is_validation_alphabet(std::size_t index) { return index % 3 == 0; }

/// Checks that `set` (named `split` in messages, e.g. "meta-train") can supply N-way K-shot episodes with
/// `queries` query images per class: at least `ways` classes, each with at least shots + queries images.
/// Throws DataError naming the split, and the first class that is too small, otherwise.
void check_few_shot(const ImageSet& set, const std::string& split, int ways, int shots, int queries);

/// Loads DIR in the Omniglot layout. Throws tp::maml::DataError (a std::runtime_error whose message names
/// the offending file or directory and the fix) on a missing directory, an unreadable or non-PNG file,
/// images of different sizes within the dataset, or a split with no classes.
OmniglotSplits load_omniglot(const std::string& dir, const OmniglotOptions& options = {});

}  // namespace tp::maml
