#include "apps/maml/image_resize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tp::maml {

namespace {

/// The taps of one output index: first input index and normalized weights.
struct Taps {
  int first = 0;
  std::vector<double> weights;
};

// Pillow's precompute_coeffs for the bilinear filter (support 1), in double precision.
std::vector<Taps> bilinear_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;
  std::vector<Taps> taps(static_cast<std::size_t>(out_size));
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    Taps& t = taps[static_cast<std::size_t>(i)];
    t.first = lo;
    double total = 0;
    for (int j = lo; j < hi; ++j) {
      const double w = std::max(0.0, 1.0 - std::abs((j - center + 0.5) / filter_scale));
      t.weights.push_back(w);
      total += w;
    }
    if (total != 0)
      for (double& w : t.weights) w /= total;
  }
  return taps;
}

}  // namespace

Raster resize_bilinear_antialias(const Raster& in, int out_width, int out_height) {
  if (out_width <= 0 || out_height <= 0 || in.width <= 0 || in.height <= 0)
    throw std::invalid_argument("resize_bilinear_antialias: sizes must be positive");
  const auto horizontal = bilinear_taps(in.width, out_width);
  const auto vertical = bilinear_taps(in.height, out_height);
  // Pass 1: rows (in.height × out_width).
  std::vector<double> rows(static_cast<std::size_t>(in.height) * out_width);
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < out_width; ++x) {
      const Taps& t = horizontal[static_cast<std::size_t>(x)];
      const double* src = in.values.data() + static_cast<std::size_t>(y) * in.width + t.first;
      double s = 0;
      for (std::size_t k = 0; k < t.weights.size(); ++k) s += t.weights[k] * src[k];
      rows[static_cast<std::size_t>(y) * out_width + x] = s;
    }
  // Pass 2: columns.
  Raster out{out_width, out_height, std::vector<double>(static_cast<std::size_t>(out_width) * out_height)};
  for (int y = 0; y < out_height; ++y) {
    const Taps& t = vertical[static_cast<std::size_t>(y)];
    for (int x = 0; x < out_width; ++x) {
      double s = 0;
      for (std::size_t k = 0; k < t.weights.size(); ++k)
        s += t.weights[k] * rows[(static_cast<std::size_t>(t.first) + k) * out_width + x];
      out.values[static_cast<std::size_t>(y) * out_width + x] = s;
    }
  }
  return out;
}

Raster rotate_quarter_turns(const Raster& in, int quarter_turns) {
  Raster cur = in;
  for (int q = ((quarter_turns % 4) + 4) % 4; q > 0; --q) {
    // Counterclockwise by 90°: new(r, c) = old(c, W − 1 − r); the new image is H wide and W high.
    Raster next{cur.height, cur.width, std::vector<double>(cur.values.size())};
    for (int r = 0; r < next.height; ++r)
      for (int c = 0; c < next.width; ++c)
        next.values[static_cast<std::size_t>(r) * next.width + c] =
            cur.values[static_cast<std::size_t>(c) * cur.width + (cur.width - 1 - r)];
    cur = std::move(next);
  }
  return cur;
}

}  // namespace tp::maml
