// Grayscale PNG reading and writing through libpng (the PNG specification, ISO/IEC 15948): the loader reads
// Omniglot's 1-bit grayscale files (Lake et al. 2015) and any other bit depth / colour type; the generator
// writes 1-bit grayscale files like Omniglot's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tp::maml {

/// An 8-bit grayscale raster, row-major, 0 = black, 255 = white.
struct GrayImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};

/// Decodes the PNG file at `path` to 8-bit grayscale (1-bit pixels become 0/255; colour is converted to
/// luminance; alpha is composited onto white). Throws DataError naming the file if it cannot be opened, is
/// not a PNG, or libpng rejects it.
GrayImage read_png_gray(const std::string& path);

/// Encodes `image` as a grayscale PNG of bit depth 1 (pixel ≥ 128 → white) or 8. No time or text chunks,
/// so equal images give byte-identical files.
std::vector<std::uint8_t> encode_png_gray(const GrayImage& image, int bit_depth);

/// Writes `bytes` to `path` (binary); throws DataError naming the file if that fails.
void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);

}  // namespace tp::maml
