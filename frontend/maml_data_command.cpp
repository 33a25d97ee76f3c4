// `tpc maml make-dataset` (the Omniglot-format dataset from the Noto fonts, apps/maml/omniglot_render.h) and
// `tpc maml dataset-info` (loads a dataset in Omniglot's layout, Lake et al. 2015, and prints its splits).
//
// make-dataset steps: 1. refuse a non-empty target unless --force; 2. render into a sibling temporary
// directory; 3. replace the target by it with one rename, so an interrupted run leaves no half-written
// dataset under the target name; 4. print counts, crc32, size and time.
#include "frontend/maml_data_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "apps/maml/data_error.h"
#include "apps/maml/dataset_digest.h"
#include "apps/maml/omniglot.h"
#include "apps/maml/omniglot_render.h"

namespace tp::frontend {

namespace {

namespace fs = std::filesystem;

const std::string kDefaultOmniglotDir = std::string(TPC_DEFAULT_DATA_DIR) + "/omniglot";

struct MakeDatasetArgs {
  std::string out = kDefaultOmniglotDir;
  maml::RenderOptions render;
  bool force = false;
};

/// Removes a directory tree when it goes out of scope (the temporary of make-dataset, on every exit path).
struct RemoveTree {
  fs::path path;
  ~RemoveTree() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

int run_make_dataset(const MakeDatasetArgs& args, std::ostream& out, std::ostream& err) {
  const fs::path target = fs::absolute(args.out).lexically_normal();
  const RemoveTree tmp{target.parent_path() / fmt::format(".{}.tmp-{}", target.filename().string(), ::getpid())};
  try {
    // Step 1.
    std::error_code ec;
    if (fs::exists(target) && !fs::is_directory(target))
      throw maml::DataError(target.string() + ": exists and is not a directory; choose another --out");
    if (fs::is_directory(target) && !fs::is_empty(target, ec) && !args.force)
      throw maml::DataError(target.string() + ": directory is not empty; pass --force to replace it or choose "
                                              "another --out");
    // Step 2.
    fs::remove_all(tmp.path, ec);
    const maml::RenderSummary sum = maml::render_omniglot(tmp.path.string(), args.render);
    // Step 3.
    if (fs::exists(target)) fs::remove_all(target);
    fs::create_directories(target.parent_path());
    fs::rename(tmp.path, target);
    // Step 4.
    std::size_t chars[2] = {0, 0}, alphas[2] = {0, 0};
    for (const auto& a : sum.alphabets) chars[a.background ? 0 : 1] += a.characters, ++alphas[a.background ? 0 : 1];
    out << fmt::format("wrote {} (Omniglot layout, generated from the Noto fonts; seed {}, {} drawers)\n",
                       target.string(), args.render.seed, args.render.drawers);
    out << fmt::format("  images_background  {:3d} alphabets {:5d} characters {:6d} images\n", alphas[0], chars[0],
                       chars[0] * static_cast<std::size_t>(args.render.drawers));
    out << fmt::format("  images_evaluation  {:3d} alphabets {:5d} characters {:6d} images\n", alphas[1], chars[1],
                       chars[1] * static_cast<std::size_t>(args.render.drawers));
    out << fmt::format("  crc32 {}  {:.1f} MB of PNG  {:.1f} s\n", maml::format_crc32(sum.crc32), sum.bytes / 1e6,
                       sum.seconds);
    return 0;
  } catch (const maml::DataError& e) {
    err << "tpc: error: " << e.what() << "\n";
    return 1;
  } catch (const fs::filesystem_error& e) {
    err << "tpc: error: " << e.path1().string() << ": " << e.code().message() << "; check the --out path\n";
    return 1;
  }
}

struct DatasetInfoArgs {
  std::string dir = kDefaultOmniglotDir;
  int side = 28;
  bool rotations = true;
};

int run_dataset_info(const DatasetInfoArgs& args, std::ostream& out, std::ostream& err) {
  try {
    maml::OmniglotOptions opt;
    opt.side = args.side;
    opt.rotations = args.rotations;
    const maml::OmniglotSplits s = maml::load_omniglot(args.dir, opt);
    const maml::DatasetDigest d = maml::digest_dataset(args.dir);
    out << fmt::format("{}: {} image files, {} bytes, crc32 {}\n", args.dir, d.files, d.bytes,
                       maml::format_crc32(d.crc32));
    out << fmt::format("{:<11} {:>8} {:>8} {:>9}  {}\n", "split", "classes", "images", "drawers", "image");
    const std::pair<const char*, const maml::ImageSet*> sets[] = {
        {"meta-train", &s.train}, {"validation", &s.validation}, {"test", &s.test}};
    for (const auto& [name, set] : sets) {
      std::size_t images = 0, lo = SIZE_MAX, hi = 0;
      for (const auto& c : set->images) images += c.size(), lo = std::min(lo, c.size()), hi = std::max(hi, c.size());
      out << fmt::format("{:<11} {:>8} {:>8} {:>9}  {}×{}{}\n", name, set->num_classes(), images,
                         lo == hi ? std::to_string(lo) : fmt::format("{}-{}", lo, hi), set->side, set->side,
                         set == &s.train && args.rotations ? " (classes include 90/180/270° rotations)" : "");
    }
    return 0;
  } catch (const maml::DataError& e) {
    err << "tpc: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

Subcommands add_maml_data_commands(CLI::App* parent) {
  Subcommands subs;

  auto make_args = std::make_shared<MakeDatasetArgs>();
  auto* make = parent->add_subcommand(
      "make-dataset", "generate the default Omniglot-format dataset (alphabets of the Noto fonts, ~20 distorted "
                      "\"drawers\" per character, 105×105 1-bit PNGs) in Omniglot's directory layout");
  make->add_option("--out", make_args->out, "target directory (replaced only with --force)")
      ->default_val(kDefaultOmniglotDir);
  make->add_option("--seed", make_args->render.seed, "random seed of the distortions")->default_val(1);
  make->add_option("--drawers", make_args->render.drawers, "images per character")
      ->check(CLI::Range(1, 100))
      ->default_val(20);
  make->add_option("--alphabets", make_args->render.alphabets, "number of alphabets (0 = every usable one)")
      ->check(CLI::Range(0, 1000))
      ->default_val(50);
  make->add_option("--characters", make_args->render.max_characters, "at most this many characters per alphabet")
      ->check(CLI::Range(1, 200))
      ->default_val(35);
  make->add_option("--fonts", make_args->render.fonts_dir, "directory of the Noto .ttf files (fonts-noto-core)")
      ->default_val(make_args->render.fonts_dir);
  make->add_option("--threads", make_args->render.threads, "worker threads (0 = all cores)")->default_val(0);
  make->add_flag("--force", make_args->force, "replace a non-empty target directory");
  subs.push_back({make, [make_args](std::ostream& out, std::ostream& err) { return run_make_dataset(*make_args, out, err); }});

  auto info_args = std::make_shared<DatasetInfoArgs>();
  auto* info = parent->add_subcommand(
      "dataset-info", "load a dataset in Omniglot's layout (the real Omniglot or a generated one) and print its "
                      "meta-train / validation / test splits");
  info->add_option("--omniglot", info_args->dir, "dataset directory (holding images_background/ and "
                                                 "images_evaluation/)")
      ->default_val(kDefaultOmniglotDir);
  info->add_option("--side", info_args->side, "resize images to side × side")->check(CLI::Range(1, 512))->default_val(28);
  info->add_flag("!--no-rotations", info_args->rotations, "do not add rotated copies of the meta-train classes");
  subs.push_back({info, [info_args](std::ostream& out, std::ostream& err) { return run_dataset_info(*info_args, out, err); }});
  return subs;
}

}  // namespace tp::frontend
