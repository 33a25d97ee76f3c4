// N-way K-shot classification tasks drawn from an ImageSet (Finn et al. 2017 §5.1; TP4 App. D.1: 1-shot
// 5-way, one query image per class). A task picks `ways` distinct classes, shuffles their labels
// 0..ways-1, and takes shots + query_shots distinct drawers (images) of each class: the first `shots`
// form the support set, the rest the query set.
//
// Inputs are stored as columns (d × m), the layout the network multiplies (u ξ for ξ a column), and every
// image keeps its global id (class, drawer) so that kernel MAML can merge equal ξ in its readout stack.
// Sampling is a pure function of (seed, stream): the same seed gives the same tasks on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "apps/maml/omniglot.h"
#include "limits/rng.h"

namespace tp::maml {

struct TaskSpec {
  int ways = 5;         ///< N: classes per task (= the network's output dimension d_o)
  int shots = 1;        ///< K: support images per class
  int query_shots = 1;  ///< query images per class
};

/// One task: support and query inputs as columns, labels in 0..ways-1, global image ids.
struct Task {
  Eigen::MatrixXd support, query;  ///< d × (ways·shots), d × (ways·query_shots)
  std::vector<int> support_labels, query_labels;
  std::vector<std::size_t> support_ids, query_ids;  ///< TaskSampler::image_id of each column
};

/// Draws tasks from one split. Holds a reference to the ImageSet, which must outlive it.
class TaskSampler {
 public:
  /// Checks that the split can give such tasks: at least `ways` classes, every class at least
  /// shots + query_shots drawers, images of one size. Throws MamlError naming the split (`split_name`),
  /// the class and the counts.
  TaskSampler(const ImageSet& set, TaskSpec spec, std::string split_name);

  /// `count` tasks, drawn with rng.
  std::vector<Task> sample(std::size_t count, limits::Rng& rng) const;

  int dim() const { return dim_; }
  const TaskSpec& spec() const { return spec_; }
  const ImageSet& set() const { return *set_; }
  /// Global id of image (class, drawer): offsets_[class] + drawer.
  std::size_t image_id(std::size_t cls, std::size_t drawer) const { return offsets_[cls] + drawer; }
  std::size_t num_images() const { return offsets_.back(); }

 private:
  const ImageSet* set_;
  TaskSpec spec_;
  int dim_ = 0;
  std::vector<std::size_t> offsets_;  ///< prefix sums of drawers per class (size classes + 1)
};

/// x ← 1 − x for every pixel: from the loader's convention (white background = 1, torchvision ToTensor) to
/// ink = 1 on a 0 background, the convention of torchmeta's Omniglot (ImageOps.invert when it builds its
/// cache), which TP4's code and Table 4's hyperparameters used.
void invert_pixels(ImageSet& set);

/// An ImageSet of `classes` classes with `drawers` images each of side × side pixels: each class a random
/// prototype in [0, 1]^(side²), each image the prototype plus N(0, noise²) per pixel (tests, benchmarks and
/// `--synthetic` runs; separable when noise is small against the prototypes' distances).
ImageSet synthetic_image_set(std::size_t classes, std::size_t drawers, int side, double noise, std::uint64_t seed);

}  // namespace tp::maml
