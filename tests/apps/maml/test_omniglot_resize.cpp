// The loader's image operations (apps/maml/image_resize.h): Pillow's antialiased bilinear resize on known
// values, constant images, and rotations by quarter turns.
#include <doctest/doctest.h>

#include "apps/maml/image_resize.h"

using tp::maml::Raster;
using tp::maml::resize_bilinear_antialias;
using tp::maml::rotate_quarter_turns;

TEST_CASE("resizing a constant 105x105 image to 28x28 keeps it constant") {
  Raster in{105, 105, std::vector<double>(105 * 105, 0.625)};
  const Raster out = resize_bilinear_antialias(in, 28, 28);
  REQUIRE(out.values.size() == 28u * 28u);
  for (double v : out.values) CHECK(v == doctest::Approx(0.625).epsilon(1e-15));
}

TEST_CASE("downsampling by 2 uses the widened triangle: [0 0 1 1] -> [1/7 6/7]") {
  // Scale 2: taps of output 0 are inputs 0..2 with weights 0.75, 0.75, 0.25 (Pillow's precompute_coeffs).
  const Raster out = resize_bilinear_antialias(Raster{4, 1, {0, 0, 1, 1}}, 2, 1);
  CHECK(out.values[0] == doctest::Approx(1.0 / 7));
  CHECK(out.values[1] == doctest::Approx(6.0 / 7));
}

TEST_CASE("downsampling 3x3 to 1x1 weighs the centre 3/7 per axis") {
  Raster in{3, 3, std::vector<double>(9, 0.0)};
  in.values[4] = 1.0;
  CHECK(resize_bilinear_antialias(in, 1, 1).values[0] == doctest::Approx(9.0 / 49));
}

TEST_CASE("upsampling 2 -> 4 interpolates linearly between pixel centres") {
  const Raster out = resize_bilinear_antialias(Raster{2, 1, {0, 1}}, 4, 1);
  CHECK(out.values[0] == doctest::Approx(0.0));
  CHECK(out.values[1] == doctest::Approx(0.25));
  CHECK(out.values[2] == doctest::Approx(0.75));
  CHECK(out.values[3] == doctest::Approx(1.0));
}

TEST_CASE("a quarter turn is counterclockwise and four give the identity") {
  const Raster in{3, 2, {1, 2, 3, 4, 5, 6}};  // rows [1 2 3], [4 5 6]
  const Raster r = rotate_quarter_turns(in, 1);
  CHECK(r.width == 2);
  CHECK(r.height == 3);
  CHECK(r.values == std::vector<double>{3, 6, 2, 5, 1, 4});
  CHECK(rotate_quarter_turns(in, 4).values == in.values);
  CHECK(rotate_quarter_turns(in, 2).values == rotate_quarter_turns(r, 1).values);
  CHECK(rotate_quarter_turns(in, 2).values == std::vector<double>{6, 5, 4, 3, 2, 1});
  CHECK(rotate_quarter_turns(in, -1).values == rotate_quarter_turns(in, 3).values);
}
