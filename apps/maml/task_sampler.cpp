// See task_sampler.h.
#include "apps/maml/task_sampler.h"

#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "apps/maml/maml_error.h"

namespace tp::maml {

namespace {

/// Uniform integer in [0, k), k ≥ 1 (a 64-bit draw modulo k; bias below k·2^-64, irrelevant here).
std::size_t uniform_index(limits::Rng& rng, std::size_t k) { return static_cast<std::size_t>(rng.next_u64() % k); }

/// The first `take` entries of a uniformly random permutation of 0..n-1 (partial Fisher–Yates).
std::vector<std::size_t> choose(limits::Rng& rng, std::size_t n, std::size_t take) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (std::size_t i = 0; i < take; ++i) std::swap(idx[i], idx[i + uniform_index(rng, n - i)]);
  idx.resize(take);
  return idx;
}

}  // namespace

TaskSampler::TaskSampler(const ImageSet& set, TaskSpec spec, std::string split_name) : set_(&set), spec_(spec) {
  if (spec.ways < 2) throw MamlError(fmt::format("--ways must be at least 2 (got {})", spec.ways));
  if (spec.shots < 1) throw MamlError(fmt::format("--shots must be at least 1 (got {})", spec.shots));
  if (spec.query_shots < 1) throw MamlError(fmt::format("--query-shots must be at least 1 (got {})", spec.query_shots));
  const std::size_t classes = set.num_classes();
  if (classes < static_cast<std::size_t>(spec.ways))
    throw MamlError(fmt::format("the {} split has {} classes, fewer than --ways {}: use fewer ways or a larger data set",
                                split_name, classes, spec.ways));
  const std::size_t need = static_cast<std::size_t>(spec.shots + spec.query_shots);
  offsets_.assign(1, 0);
  for (std::size_t c = 0; c < classes; ++c) {
    const auto& imgs = set.images[c];
    const std::string name = c < set.class_names.size() ? set.class_names[c] : std::to_string(c);
    if (imgs.size() < need)
      throw MamlError(fmt::format("class '{}' of the {} split has {} drawers (images), fewer than --shots {} + "
                                  "--query-shots {} = {}",
                                  name, split_name, imgs.size(), spec.shots, spec.query_shots, need));
    for (const auto& im : imgs) {
      if (dim_ == 0) dim_ = static_cast<int>(im.size());
      if (im.size() == 0 || static_cast<int>(im.size()) != dim_)
        throw MamlError(fmt::format("class '{}' of the {} split has an image of {} pixels, expected {}", name,
                                    split_name, im.size(), dim_));
    }
    offsets_.push_back(offsets_.back() + imgs.size());
  }
}

std::vector<Task> TaskSampler::sample(std::size_t count, limits::Rng& rng) const {
  const auto ways = static_cast<std::size_t>(spec_.ways);
  const auto shots = static_cast<std::size_t>(spec_.shots);
  const auto queries = static_cast<std::size_t>(spec_.query_shots);
  std::vector<Task> tasks(count);
  for (auto& t : tasks) {
    t.support.resize(dim_, static_cast<Eigen::Index>(ways * shots));
    t.query.resize(dim_, static_cast<Eigen::Index>(ways * queries));
    const auto classes = choose(rng, set_->num_classes(), ways);  // label l ↔ classes[l]: a random labelling
    for (std::size_t label = 0; label < ways; ++label) {
      const std::size_t c = classes[label];
      const auto drawers = choose(rng, set_->images[c].size(), shots + queries);
      for (std::size_t k = 0; k < shots + queries; ++k) {
        const bool is_support = k < shots;
        auto& x = is_support ? t.support : t.query;
        const auto col = static_cast<Eigen::Index>(is_support ? label * shots + k : label * queries + (k - shots));
        x.col(col) = set_->images[c][drawers[k]];
        (is_support ? t.support_labels : t.query_labels).push_back(static_cast<int>(label));
        (is_support ? t.support_ids : t.query_ids).push_back(image_id(c, drawers[k]));
      }
    }
  }
  return tasks;
}

void invert_pixels(ImageSet& set) {
  for (auto& cls : set.images)
    for (auto& im : cls) im = (1.0 - im.array()).matrix();
}

ImageSet synthetic_image_set(std::size_t classes, std::size_t drawers, int side, double noise, std::uint64_t seed) {
  limits::Rng rng(seed, 0x5e7);
  ImageSet set;
  set.side = side;
  const Eigen::Index dim = static_cast<Eigen::Index>(side) * side;
  for (std::size_t c = 0; c < classes; ++c) {
    Eigen::VectorXd proto(dim);
    for (Eigen::Index i = 0; i < dim; ++i) proto[i] = rng.uniform();
    set.class_names.push_back(fmt::format("synthetic/{}", c));
    auto& imgs = set.images.emplace_back();
    for (std::size_t k = 0; k < drawers; ++k) {
      Eigen::VectorXd im = proto;
      for (Eigen::Index i = 0; i < dim; ++i) im[i] += noise * rng.normal();
      imgs.push_back(std::move(im));
    }
  }
  return set;
}

}  // namespace tp::maml
