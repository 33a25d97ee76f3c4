// apps/maml/task_sampler.h: task shapes and labels, determinism, and the errors for data that cannot give
// the requested tasks.
#include <doctest/doctest.h>

#include <set>

#include "apps/maml/maml_error.h"
#include "apps/maml/task_sampler.h"

using namespace tp::maml;

TEST_CASE("a 5-way 1-shot task has one support and one query image per class, from distinct classes and drawers") {
  const ImageSet set = synthetic_image_set(12, 4, 3, 0.1, 7);
  const TaskSampler sampler(set, {5, 1, 1}, "train");
  tp::limits::Rng rng(1, 2);
  const auto tasks = sampler.sample(20, rng);
  REQUIRE(tasks.size() == 20);
  for (const auto& t : tasks) {
    CHECK(t.support.rows() == 9);
    CHECK(t.support.cols() == 5);
    CHECK(t.query.cols() == 5);
    std::set<std::size_t> classes;
    for (int l = 0; l < 5; ++l) {
      CHECK(t.support_labels[static_cast<std::size_t>(l)] == l);
      CHECK(t.query_labels[static_cast<std::size_t>(l)] == l);
      const std::size_t sid = t.support_ids[static_cast<std::size_t>(l)], qid = t.query_ids[static_cast<std::size_t>(l)];
      CHECK(sid != qid);
      CHECK(sid / 4 == qid / 4);  // same class (4 drawers per class), different drawer
      classes.insert(sid / 4);
      CHECK((t.support.col(l) - set.images[sid / 4][sid % 4]).norm() == 0.0);
      CHECK((t.query.col(l) - set.images[qid / 4][qid % 4]).norm() == 0.0);
    }
    CHECK(classes.size() == 5);
  }
}

TEST_CASE("the same seed gives the same tasks, another seed other tasks") {
  const ImageSet set = synthetic_image_set(30, 5, 2, 0.1, 1);
  const TaskSampler sampler(set, {5, 2, 3}, "train");
  tp::limits::Rng a(9, 1), b(9, 1), c(10, 1);
  const auto ta = sampler.sample(3, a), tb = sampler.sample(3, b), tc = sampler.sample(3, c);
  CHECK(ta[2].support_ids == tb[2].support_ids);
  CHECK(ta[2].query_ids == tb[2].query_ids);
  CHECK(ta[0].support.cols() == 10);
  CHECK(ta[0].query.cols() == 15);
  CHECK(ta[0].support_ids != tc[0].support_ids);
}

TEST_CASE("fewer classes than ways or fewer drawers than shots + queries is refused with the counts") {
  const ImageSet set = synthetic_image_set(4, 3, 2, 0.1, 1);
  try {
    TaskSampler s(set, {5, 1, 1}, "validation");
    FAIL("expected MamlError");
  } catch (const MamlError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("validation split has 4 classes") != std::string::npos);
    CHECK(msg.find("--ways 5") != std::string::npos);
  }
  try {
    TaskSampler s(set, {3, 2, 2}, "train");
    FAIL("expected MamlError");
  } catch (const MamlError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("has 3 drawers") != std::string::npos);
    CHECK(msg.find("--shots 2") != std::string::npos);
  }
  ImageSet ragged = synthetic_image_set(5, 3, 2, 0.1, 1);
  ragged.images[2][1] = Eigen::VectorXd::Zero(5);
  CHECK_THROWS_AS(TaskSampler(ragged, {5, 1, 1}, "train"), MamlError);
}

TEST_CASE("invert_pixels maps the loader's white background (1) to 0 and ink (0) to 1") {
  ImageSet set = synthetic_image_set(2, 2, 2, 0.0, 3);
  const Eigen::VectorXd before = set.images[1][0];
  invert_pixels(set);
  CHECK((set.images[1][0] - (Eigen::VectorXd::Ones(4) - before)).norm() == 0.0);
}
