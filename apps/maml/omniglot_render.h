// A deterministic generator of an Omniglot-format dataset (the layout of Lake, Salakhutdinov & Tenenbaum,
// "Human-level concept learning through probabilistic program induction", Science 2015) from the Debian Noto
// fonts: Omniglot itself is not on the package registries, so tpc's default MAML data (TP4 §9.2, App. D.1)
// is generated in exactly its layout and read by the same loader (apps/maml/omniglot.h).
//
// Each writing system of apps/maml/noto_alphabets.h is an "alphabet"; its characters are code points that
// the primary font has glyphs for (FT_Get_Char_Index ≠ 0), without blank, tiny (marks) or near-duplicate
// glyphs; each character gets `drawers` images, "drawer" k using face k mod (faces having the glyph) and
// seeded random distortions: stroke weight (FreeType outline emboldening/thinning, i.e. dilation/erosion of
// the outline), an affine map (scale, aspect, rotation, shear, shift) and a smooth elastic displacement.
// Images are 105×105, centred, black strokes on white, written as 1-bit grayscale PNGs like Omniglot's.
// Alphabet i of those used goes to images_evaluation if i mod 5 ∈ {1, 3}, else to images_background
// (50 alphabets → 30 background, 20 evaluation, as in Omniglot). The same options give byte-identical files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tp::maml {

struct RenderOptions {
  std::string fonts_dir = "/usr/share/fonts/truetype/noto";  ///< Debian fonts-noto-core
  std::uint64_t seed = 1;
  int drawers = 20;         ///< images per character (Omniglot: 20)
  int alphabets = 50;       ///< how many alphabets (the first usable ones of the table); 0 = all usable
  int max_characters = 35;  ///< per alphabet; more candidates are thinned evenly over the code points
  int min_characters = 20;  ///< alphabets with fewer usable characters are skipped (capped at max_characters)
  int side = 105;           ///< image side in pixels (Omniglot: 105)
  unsigned threads = 0;     ///< 0 = all cores
};

struct RenderedAlphabet {
  std::string name;
  bool background = true;  ///< images_background (else images_evaluation)
  int characters = 0;
  int faces = 0;           ///< font faces used as drawers' styles
  std::vector<char32_t> code_points;
};

struct RenderSummary {
  std::vector<RenderedAlphabet> alphabets;
  std::size_t images = 0;
  std::uintmax_t bytes = 0;
  std::uint32_t crc32 = 0;  ///< dataset_digest.h of the written files
  double seconds = 0;       ///< wall time of the generation
};

/// Writes the dataset into `out_dir` (created if missing; it should be empty) with out_dir/MANIFEST.txt
/// (options, counts per split and alphabet, crc32). Throws DataError if the fonts directory is missing, no
/// alphabet is usable, or a file cannot be written.
RenderSummary render_omniglot(const std::string& out_dir, const RenderOptions& options);

}  // namespace tp::maml
