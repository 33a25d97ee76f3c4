#include "apps/maml/png_io.h"

#include <png.h>

#include <csetjmp>
#include <fstream>
#include <iterator>
#include <new>
#include <stdexcept>

#include "apps/maml/data_error.h"

namespace tp::maml {

namespace {

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open the file; check that it exists and is readable");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(path + ": read error; check the file system and the file's permissions");
  return bytes;
}

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}

void flush_nothing(png_structp) {}

// libpng reports errors by longjmp; this C-style frame holds no objects with destructors. Returns false on
// a libpng error (only possible on out-of-memory for these fixed, valid parameters).
bool encode_rows(const std::vector<png_bytep>& rows, int width, int height, int bit_depth,
                 std::vector<std::uint8_t>* out) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, append_bytes, flush_nothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), bit_depth,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 9);
  png_write_info(png, info);
  png_write_image(png, const_cast<png_bytepp>(rows.data()));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

GrayImage read_png_gray(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_bytes(path);
  if (bytes.size() < 8 || png_sig_cmp(bytes.data(), 0, 8) != 0)
    throw DataError(path + ": not a PNG file; a character directory may hold only its drawers' .png images "
                           "(remove the file or convert it to PNG)");
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw DataError(path + ": unreadable PNG (libpng: " + image.message + "); replace the file");
  image.format = PNG_FORMAT_GRAY;
  GrayImage out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.assign(PNG_IMAGE_SIZE(image), 255);
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&image, &white, out.pixels.data(), 0, nullptr))
    throw DataError(path + ": unreadable PNG (libpng: " + image.message + "); replace the file");
  return out;
}

std::vector<std::uint8_t> encode_png_gray(const GrayImage& image, int bit_depth) {
  if (bit_depth != 1 && bit_depth != 8) throw std::invalid_argument("encode_png_gray: bit depth must be 1 or 8");
  const int w = image.width, h = image.height;
  const int stride = bit_depth == 8 ? w : (w + 7) / 8;
  std::vector<std::uint8_t> packed(static_cast<std::size_t>(stride) * h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::uint8_t v = image.pixels[static_cast<std::size_t>(y) * w + x];
      if (bit_depth == 8)
        packed[static_cast<std::size_t>(y) * stride + x] = v;
      else if (v >= 128)
        packed[static_cast<std::size_t>(y) * stride + x / 8] |= static_cast<std::uint8_t>(0x80u >> (x % 8));
    }
  std::vector<png_bytep> rows(static_cast<std::size_t>(h));
  for (int y = 0; y < h; ++y) rows[static_cast<std::size_t>(y)] = packed.data() + static_cast<std::size_t>(y) * stride;
  std::vector<std::uint8_t> out;
  if (!encode_rows(rows, w, h, bit_depth, &out)) throw std::bad_alloc();
  return out;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw DataError(path + ": cannot write the file; check free space and permissions");
}

}  // namespace tp::maml
