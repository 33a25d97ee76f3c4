// Image resampling for the Omniglot loader: the antialiased bilinear ("triangle") resize of Pillow's
// Image.resize(BILINEAR) (src/libImaging/Resample.c), which is what torchvision's Resize does on PIL images,
// the pipeline of Omniglot few-shot papers (Finn et al. 2017 MAML; TP4 App. D.1 via torchmeta:
// Resize(28) + ToTensor on 105×105 images of Lake et al. 2015); and exact rotations by multiples of 90°.
//
// Resize rule (separable, first along rows then along columns): for output index i of n_out with
// scale s = n_in / n_out and f = max(s, 1), the output is the normalized weighted mean of inputs j with
// weights tri((j + 0.5 − (i + 0.5) s) / f), tri(t) = max(0, 1 − |t|), over j in
// [⌊(i+0.5)s − f + 0.5⌋, ⌊(i+0.5)s + f + 0.5⌋) ∩ [0, n_in). When downsampling (s > 1) the triangle is
// widened to the input spacing, so every input pixel contributes (an area-like antialias filter). Unlike
// Pillow, which rounds to 8 bits after each pass, values stay in double precision.
#pragma once

#include <vector>

namespace tp::maml {

/// A grayscale raster of doubles, row-major.
struct Raster {
  int width = 0, height = 0;
  std::vector<double> values;
};

/// `in` resized to out_width × out_height with Pillow's antialiased bilinear filter (rule above).
Raster resize_bilinear_antialias(const Raster& in, int out_width, int out_height);

/// `in` rotated counterclockwise by quarter_turns × 90° (as PIL's Image.rotate(90 · k)).
Raster rotate_quarter_turns(const Raster& in, int quarter_turns);

}  // namespace tp::maml
