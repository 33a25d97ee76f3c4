// The Omniglot-format generator (declared in apps/maml/omniglot_render.h).
//
// Steps:
//  1. For every candidate alphabet (in parallel): find its installed faces, list the code points of its
//     letter ranges that the primary face maps to a glyph, thin them evenly to 3 × max_characters, drop
//     blank, tiny and near-duplicate glyphs (intersection over union ≥ 0.8 of 20×20 ink masks), thin the
//     rest evenly to max_characters. Keep alphabets with at least min(min_characters, max_characters).
//  2. Take the first `alphabets` usable ones; alphabet i goes to images_evaluation iff i mod 5 ∈ {1, 3}.
//     Characters are numbered globally in that order (Omniglot's file names: <character>_<drawer>.png).
//  3. Render every drawer of every character (in parallel over alphabets) with its own random stream,
//     seeded by (seed, alphabet's table index, code point, drawer), and write 1-bit PNGs.
//  4. Digest the written files (crc32) and write MANIFEST.txt.
#include "apps/maml/omniglot_render.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numbers>

#include "apps/maml/data_error.h"
#include "apps/maml/dataset_digest.h"
#include "apps/maml/noto_alphabets.h"
#include "apps/maml/png_io.h"
#include "limits/parallel.h"

namespace tp::maml {

namespace {

namespace fs = std::filesystem;

constexpr int kEm = 96;               // FreeType rendering size (pixels per em)
constexpr double kDuplicateIoU = 0.8; // near-duplicate threshold on 20×20 ink masks

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fully specified generator, so the files depend on the
/// seed only, not on the standard library's distributions.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) { return SplitMix64{a ^ (b * 0xD1B54A32D192ED03ull)}.next(); }

struct FtLibrary {
  FT_Library lib = nullptr;
  FtLibrary() {
    if (FT_Init_FreeType(&lib) != 0) throw std::runtime_error("FreeType initialization failed");
  }
  ~FtLibrary() { FT_Done_FreeType(lib); }
  FtLibrary(const FtLibrary&) = delete;
  FtLibrary& operator=(const FtLibrary&) = delete;
};

struct FtFace {
  FT_Face face = nullptr;
  FtFace(FT_Library lib, const std::string& file) {
    if (FT_New_Face(lib, file.c_str(), 0, &face) != 0)
      throw DataError(file + ": FreeType cannot open this font; reinstall fonts-noto-core");
    FT_Set_Pixel_Sizes(face, 0, kEm);
  }
  ~FtFace() { FT_Done_Face(face); }
  FtFace(const FtFace&) = delete;
  FtFace& operator=(const FtFace&) = delete;
};

/// The installed faces of an alphabet, primary family first.
std::vector<std::string> face_files(const AlphabetSpec& spec, const std::string& fonts_dir) {
  std::vector<std::string> out;
  for (const auto& family : spec.families)
    for (const char* style : {"Regular", "Bold", "Italic", "BoldItalic"}) {
      const fs::path p = fs::path(fonts_dir) / (family + "-" + style + ".ttf");
      if (fs::is_regular_file(p)) out.push_back(p.string());
    }
  return out;
}

/// An 8-bit coverage bitmap of a glyph with the bounding box of its ink (coverage ≥ 128).
struct Coverage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> values;
  int x0 = 0, y0 = 0, x1 = -1, y1 = -1;
  int ink = 0;
  double at(double x, double y) const {  // bilinear, pixel centres at integer + 0.5, 0 outside
    const double fx = x - 0.5, fy = y - 0.5;
    const int ix = static_cast<int>(std::floor(fx)), iy = static_cast<int>(std::floor(fy));
    const double ax = fx - ix, ay = fy - iy;
    auto v = [&](int xx, int yy) -> double {
      if (xx < 0 || yy < 0 || xx >= width || yy >= height) return 0.0;
      return values[static_cast<std::size_t>(yy) * width + xx];
    };
    return ((1 - ax) * (1 - ay) * v(ix, iy) + ax * (1 - ay) * v(ix + 1, iy) + (1 - ax) * ay * v(ix, iy + 1) +
            ax * ay * v(ix + 1, iy + 1)) / 255.0;
  }
};

/// Renders glyph `index` of `face`, its outline offset by `stroke_delta` pixels (> 0 thicker, < 0 thinner).
Coverage render_glyph(FT_Face face, FT_UInt index, double stroke_delta) {
  Coverage c;
  if (FT_Load_Glyph(face, index, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) != 0) return c;
  FT_GlyphSlot slot = face->glyph;
  if (slot->format != FT_GLYPH_FORMAT_OUTLINE) return c;
  if (stroke_delta != 0) FT_Outline_Embolden(&slot->outline, static_cast<FT_Pos>(std::lround(stroke_delta * 64)));
  if (FT_Render_Glyph(slot, FT_RENDER_MODE_NORMAL) != 0) return c;
  const FT_Bitmap& b = slot->bitmap;
  if (b.pixel_mode != FT_PIXEL_MODE_GRAY) return c;
  c.width = static_cast<int>(b.width);
  c.height = static_cast<int>(b.rows);
  c.values.resize(static_cast<std::size_t>(c.width) * c.height);
  c.x0 = c.width;
  c.y0 = c.height;
  for (int y = 0; y < c.height; ++y)
    for (int x = 0; x < c.width; ++x) {
      const std::uint8_t v = b.buffer[static_cast<std::ptrdiff_t>(y) * b.pitch + x];
      c.values[static_cast<std::size_t>(y) * c.width + x] = v;
      if (v >= 128) {
        ++c.ink;
        c.x0 = std::min(c.x0, x), c.x1 = std::max(c.x1, x);
        c.y0 = std::min(c.y0, y), c.y1 = std::max(c.y1, y);
      }
    }
  return c;
}

/// The 20×20 ink mask of a glyph's bounding box (aspect kept, centred): the near-duplicate signature.
std::array<bool, 400> signature(const Coverage& c) {
  std::array<bool, 400> m{};
  const double w = c.x1 - c.x0 + 1, h = c.y1 - c.y0 + 1, s = std::max(w, h) / 20.0;
  const double cx = (c.x0 + c.x1 + 1) / 2.0, cy = (c.y0 + c.y1 + 1) / 2.0;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 20; ++x) m[static_cast<std::size_t>(y * 20 + x)] = c.at(cx + (x - 9.5) * s, cy + (y - 9.5) * s) >= 0.5;
  return m;
}

double iou(const std::array<bool, 400>& a, const std::array<bool, 400>& b) {
  int both = 0, any = 0;
  for (std::size_t i = 0; i < a.size(); ++i) both += a[i] && b[i], any += a[i] || b[i];
  return any == 0 ? 1.0 : static_cast<double>(both) / any;
}

template <class T>
std::vector<T> thin_evenly(const std::vector<T>& v, std::size_t at_most) {
  if (v.size() <= at_most) return v;
  std::vector<T> out;
  for (std::size_t k = 0; k < at_most; ++k) out.push_back(v[k * v.size() / at_most]);
  return out;
}

struct Selected {
  std::size_t table_index = 0;
  std::vector<std::string> faces;
  std::vector<char32_t> code_points;
};

// Step 1 for one alphabet.
Selected select_characters(std::size_t table_index, const RenderOptions& options) {
  const AlphabetSpec& spec = noto_alphabets()[table_index];
  Selected sel{table_index, face_files(spec, options.fonts_dir), {}};
  if (sel.faces.empty()) return sel;
  FtLibrary lib;
  FtFace primary(lib.lib, sel.faces.front());
  std::vector<char32_t> candidates;
  for (const auto& r : spec.letters)
    for (char32_t cp = r.first; cp <= r.last; cp += static_cast<char32_t>(r.step))
      if (FT_Get_Char_Index(primary.face, cp) != 0) candidates.push_back(cp);
  const auto max_chars = static_cast<std::size_t>(std::max(options.max_characters, 1));
  std::vector<std::array<bool, 400>> kept_masks;
  for (char32_t cp : thin_evenly(candidates, 3 * max_chars)) {
    const Coverage c = render_glyph(primary.face, FT_Get_Char_Index(primary.face, cp), 0.0);
    if (c.ink < 40 || std::max(c.x1 - c.x0, c.y1 - c.y0) + 1 < kEm / 4) continue;  // blank or a mark
    const auto m = signature(c);
    if (std::any_of(kept_masks.begin(), kept_masks.end(), [&](const auto& k) { return iou(k, m) >= kDuplicateIoU; }))
      continue;
    kept_masks.push_back(m);
    sel.code_points.push_back(cp);
  }
  sel.code_points = thin_evenly(sel.code_points, max_chars);
  return sel;
}

/// One drawer's 105×105 image (0 = ink, 255 = paper) of glyph `cp` (step 3).
GrayImage draw(const std::vector<std::unique_ptr<FtFace>>& faces, char32_t cp, int drawer, std::uint64_t stream,
               int side) {
  std::vector<FT_Face> having;
  for (const auto& f : faces)
    if (FT_Get_Char_Index(f->face, cp) != 0) having.push_back(f->face);
  FT_Face face = having[static_cast<std::size_t>(drawer) % having.size()];
  SplitMix64 rng{stream};
  const double stroke = rng.uniform(-3.5, 1.5);
  Coverage g = render_glyph(face, FT_Get_Char_Index(face, cp), stroke);
  if (g.ink < 20) g = render_glyph(face, FT_Get_Char_Index(face, cp), 0.0);  // thinned away: plain weight
  if (g.ink < 20) g = render_glyph(faces.front()->face, FT_Get_Char_Index(faces.front()->face, cp), 0.0);
  const double size = rng.uniform(0.55, 0.78) * side;  // longer side of the ink box, in output pixels
  const double scale = size / std::max(g.x1 - g.x0 + 1, g.y1 - g.y0 + 1);
  const double aspect = std::exp(rng.uniform(-0.15, 0.15));
  const double angle = rng.uniform(-0.2, 0.2), shear = rng.uniform(-0.2, 0.2);
  const double tx = rng.uniform(-4, 4), ty = rng.uniform(-4, 4);
  // Forward map glyph offset → output offset: A = R(angle) · [[1, shear], [0, 1]] · diag(sx, sy).
  const double sx = scale * aspect, sy = scale / aspect, c = std::cos(angle), s = std::sin(angle);
  const double a00 = c * sx, a01 = (c * shear - s) * sy, a10 = s * sx, a11 = (s * shear + c) * sy;
  const double det = a00 * a11 - a01 * a10;
  const double i00 = a11 / det, i01 = -a01 / det, i10 = -a10 / det, i11 = a00 / det;
  // Elastic displacement: three plane waves per axis, about 0.3–1.5 cycles across the image.
  struct Wave {
    double kx, ky, phase, amp;
  };
  std::array<Wave, 6> waves;
  const double amplitude = rng.uniform(0.5, 2.0);
  for (auto& w : waves) {
    const double f = rng.uniform(0.3, 1.5) * 2 * std::numbers::pi / side, dir = rng.uniform(0, 2 * std::numbers::pi);
    w = {f * std::cos(dir), f * std::sin(dir), rng.uniform(0, 2 * std::numbers::pi), amplitude / std::sqrt(3.0)};
  }
  const double gcx = (g.x0 + g.x1 + 1) / 2.0, gcy = (g.y0 + g.y1 + 1) / 2.0;
  const double ocx = side / 2.0 + tx, ocy = side / 2.0 + ty;
  // sin(kx·u + ky·v + φ) = sin(kx·u) cos(ky·v + φ) + cos(kx·u) sin(ky·v + φ): tabulate per column and row.
  const auto n = static_cast<std::size_t>(side);
  std::vector<double> col_sin(6 * n), col_cos(6 * n), row_sin(6 * n), row_cos(6 * n);
  for (std::size_t k = 0; k < 6; ++k)
    for (std::size_t t = 0; t < n; ++t) {
      const double pos = static_cast<double>(t) + 0.5;
      col_sin[k * n + t] = waves[k].amp * std::sin(waves[k].kx * pos);
      col_cos[k * n + t] = waves[k].amp * std::cos(waves[k].kx * pos);
      row_sin[k * n + t] = std::sin(waves[k].ky * pos + waves[k].phase);
      row_cos[k * n + t] = std::cos(waves[k].ky * pos + waves[k].phase);
    }
  GrayImage out{side, side, std::vector<std::uint8_t>(n * n, 255)};
  for (std::size_t y = 0; y < n; ++y)
    for (std::size_t x = 0; x < n; ++x) {
      double du = 0, dv = 0;
      for (std::size_t k = 0; k < 3; ++k)
        du += col_sin[k * n + x] * row_cos[k * n + y] + col_cos[k * n + x] * row_sin[k * n + y];
      for (std::size_t k = 3; k < 6; ++k)
        dv += col_sin[k * n + x] * row_cos[k * n + y] + col_cos[k * n + x] * row_sin[k * n + y];
      const double ox = static_cast<double>(x) + 0.5 + du - ocx, oy = static_cast<double>(y) + 0.5 + dv - ocy;
      if (g.at(gcx + i00 * ox + i01 * oy, gcy + i10 * ox + i11 * oy) >= 0.5) out.pixels[y * n + x] = 0;
    }
  return out;
}

void write_manifest(const fs::path& dir, const RenderOptions& options, const RenderSummary& sum) {
  std::size_t chars[2] = {0, 0}, alphas[2] = {0, 0};
  for (const auto& a : sum.alphabets) chars[a.background ? 0 : 1] += a.characters, ++alphas[a.background ? 0 : 1];
  const auto d = static_cast<std::size_t>(options.drawers);
  std::ofstream m(dir / "MANIFEST.txt");
  m << "# An Omniglot-format dataset (layout of Lake et al. 2015) generated by 'tpc maml make-dataset' from the\n"
       "# Debian fonts-noto-core fonts; NOT the real Omniglot. Regenerate with the options below.\n";
  m << fmt::format("seed {}\ndrawers {}\nmax_characters {}\nside {}\n", options.seed, options.drawers,
                   options.max_characters, options.side);
  m << fmt::format("images_background alphabets {} characters {} images {}\n", alphas[0], chars[0], chars[0] * d);
  m << fmt::format("images_evaluation alphabets {} characters {} images {}\n", alphas[1], chars[1], chars[1] * d);
  m << fmt::format("total alphabets {} characters {} images {} bytes {}\n", alphas[0] + alphas[1], chars[0] + chars[1],
                   sum.images, sum.bytes);
  m << fmt::format("crc32 {}  (zlib crc32 over each PNG's relative path, a NUL byte and its contents, sorted by path)\n",
                   format_crc32(sum.crc32));
  m << "# split alphabet characters faces first_code_point\n";
  for (const auto& a : sum.alphabets)
    m << fmt::format("{} {} {} {} U+{:04X}\n", a.background ? "images_background" : "images_evaluation", a.name,
                     a.characters, a.faces, static_cast<std::uint32_t>(a.code_points.front()));
  if (!m) throw DataError((dir / "MANIFEST.txt").string() + ": cannot write the manifest; check free space");
}

}  // namespace

RenderSummary render_omniglot(const std::string& out_dir, const RenderOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (!fs::is_directory(options.fonts_dir))
    throw DataError(options.fonts_dir + ": missing font directory; install the Noto fonts with "
                                        "'apt-get install fonts-noto-core' or pass --fonts DIR");
  if (options.drawers < 1 || options.side < 8 || options.max_characters < 1)
    throw DataError("render options: drawers and max_characters must be at least 1 and side at least 8");
  // Step 1.
  const auto& table = noto_alphabets();
  std::vector<Selected> selected(table.size());
  std::vector<std::exception_ptr> errors(table.size());
  limits::parallel_for(table.size(), options.threads, [&](std::size_t i) {
    try {
      selected[i] = select_characters(i, options);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  // Step 2.
  const auto needed = static_cast<std::size_t>(std::min(options.min_characters, options.max_characters));
  std::vector<Selected> used;
  for (auto& s : selected)
    if (s.code_points.size() >= std::max<std::size_t>(needed, 1) &&
        (options.alphabets <= 0 || used.size() < static_cast<std::size_t>(options.alphabets)))
      used.push_back(std::move(s));
  if (used.empty())
    throw DataError(options.fonts_dir + ": no usable alphabet (no Noto font of apps/maml/noto_alphabets.h found); "
                                        "install fonts-noto-core or pass --fonts DIR");
  RenderSummary sum;
  std::vector<int> first_id(used.size());
  int next_id = 1;
  for (std::size_t i = 0; i < used.size(); ++i) {
    RenderedAlphabet a;
    a.name = table[used[i].table_index].name;
    a.background = !(i % 5 == 1 || i % 5 == 3);
    a.characters = static_cast<int>(used[i].code_points.size());
    a.faces = static_cast<int>(used[i].faces.size());
    a.code_points = used[i].code_points;
    sum.alphabets.push_back(a);
    first_id[i] = next_id;
    next_id += a.characters;
    sum.images += used[i].code_points.size() * static_cast<std::size_t>(options.drawers);
  }
  // Step 3.
  const fs::path root(out_dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw DataError(out_dir + ": cannot create the directory (" + ec.message() + ")");
  errors.assign(used.size(), nullptr);
  limits::parallel_for(used.size(), options.threads, [&](std::size_t i) {
    try {
      const RenderedAlphabet& a = sum.alphabets[i];
      FtLibrary lib;
      std::vector<std::unique_ptr<FtFace>> faces;
      for (const auto& f : used[i].faces) faces.push_back(std::make_unique<FtFace>(lib.lib, f));
      const fs::path alphabet_dir = root / (a.background ? "images_background" : "images_evaluation") / a.name;
      for (std::size_t c = 0; c < a.code_points.size(); ++c) {
        const fs::path char_dir = alphabet_dir / fmt::format("character{:02d}", c + 1);
        fs::create_directories(char_dir);
        for (int d = 0; d < options.drawers; ++d) {
          const std::uint64_t stream =
              mix(mix(mix(options.seed, used[i].table_index), a.code_points[c]), static_cast<std::uint64_t>(d));
          const GrayImage im = draw(faces, a.code_points[c], d, stream, options.side);
          write_file((char_dir / fmt::format("{:04d}_{:02d}.png", first_id[i] + static_cast<int>(c), d + 1)).string(),
                     encode_png_gray(im, 1));
        }
      }
    } catch (...) {
      errors[i] = std::current_exception();
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  // Step 4.
  const DatasetDigest digest = digest_dataset(out_dir);
  sum.bytes = digest.bytes;
  sum.crc32 = digest.crc32;
  write_manifest(root, options, sum);
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sum;
}

}  // namespace tp::maml
