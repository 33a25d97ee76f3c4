// The writing systems the Omniglot-format generator (apps/maml/omniglot_render.h) draws its "alphabets" from:
// Unicode letter ranges of scripts covered by Debian's fonts-noto-core (Noto fonts, SIL OFL), each with the
// font families that cover it. Omniglot (Lake et al. 2015) has 50 alphabets; this table lists more than 50
// candidates so that the generator can skip those whose fonts are missing or yield too few characters.
#pragma once

#include <string>
#include <vector>

namespace tp::maml {

/// A block of code points: first, first + step, ..., up to last (inclusive).
struct CodeRange {
  char32_t first, last;
  int step = 1;
};

/// One candidate alphabet: its directory name, its font families (file stems without the style suffix,
/// e.g. "NotoSansArmenian"; every installed style -Regular, -Bold, -Italic, -BoldItalic is used as a face;
/// the first family is the primary one) and its letters.
struct AlphabetSpec {
  std::string name;
  std::vector<std::string> families;
  std::vector<CodeRange> letters;
};

/// The candidates in generation order (the order decides which alphabets a small --alphabets takes and,
/// through their position, the background/evaluation split).
const std::vector<AlphabetSpec>& noto_alphabets();

}  // namespace tp::maml
