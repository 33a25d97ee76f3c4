// Omniglot-format few-shot data: the loader for the real Omniglot layout (Lake et al. 2015) and for the
// dataset tpc generates in the same layout (apps/maml/omniglot_render.h).
//
// Layout: DIR/images_background/<alphabet>/<character>/<drawer>.png and DIR/images_evaluation/... ,
// 105×105 PNGs (Omniglot ships 1-bit grayscale; any PNG bit depth / colour type is accepted and converted
// to grayscale). Splits (documented in DESIGN.md): meta-train = the characters of images_background;
// the characters of images_evaluation are divided by alphabet into validation and test. Meta-training
// classes are augmented with rotations by 90°, 180°, 270° (each a new class), as in TP4 App. D.1 / torchmeta.
// Pixels: the image resized to side × side, grayscale in [0, 1] with white background = 1 (torchvision's
// Resize + ToTensor convention), flattened row-major.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Dense>

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
  std::size_t max_classes = 0; ///< 0 = all; else keep the first max_classes characters per split (tests)
};

/// Loads DIR in the Omniglot layout. Throws tp::maml::DataError (a std::runtime_error whose message names
/// the offending file or directory and the fix) on a missing directory, an unreadable or non-PNG file,
/// images of different sizes within the dataset, or a split with no classes.
OmniglotSplits load_omniglot(const std::string& dir, const OmniglotOptions& options = {});

}  // namespace tp::maml
