// See maml_command.h. `tpc maml train | test | compare | emit-program` (TP4 §9.2, App. D.1):
//  train        meta-trains one model (a width, the µP limit or a kernel) and writes it with --out;
//  test         meta-test accuracy of a model file on the test (or validation) split;
//  compare      TP4 Table 2: every finite width, the limit and the GP/NTK baselines over seeds, with a plot;
//  emit-program a few meta-steps of a tiny instance as a level-1 tpc program; --check evaluates it with the
//               exact linear route of `tpc limit` against Algorithm 3 and fits Algorithm 2's convergence rate.
// Errors that are the user's (flags out of range, data that cannot give the tasks, missing files) print a
// message naming the flag or file and exit 1.
#include "frontend/maml_command.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/maml/compare.h"
#include "apps/maml/emit_program.h"
#include "apps/maml/maml_error.h"
#include "apps/maml/model_io.h"
#include "apps/maml/omniglot.h"
#include "frontend/diagnostics.h"
#include "frontend/flag_checks.h"
#include "frontend/plot.h"
#include "frontend/sema.h"
#include "limits/coordcheck.h"
#include "limits/linear_limit.h"

#ifndef TPC_DEFAULT_DATA_DIR
#define TPC_DEFAULT_DATA_DIR "data"
#endif

namespace tp::frontend {

using nlohmann::json;
using namespace tp::maml;

namespace {

// ---- shared flags -------------------------------------------------------------------------------------------

struct DataArgs {
  std::string omniglot = TPC_DEFAULT_DATA_DIR "/omniglot";
  int synthetic = 0;  ///< > 0: a synthetic data set with this many meta-train classes instead of Omniglot
  std::size_t max_classes = 0;
  bool no_rotations = false;
  bool white_ink = false;  ///< keep the loader's white-background pixels instead of inverting to ink = 1
};

struct RunArgs {
  int ways = 5, shots = 1, query_shots = 1;
  std::size_t batch = 32;
  std::size_t meta_steps = 0;  ///< 0: from --epochs
  std::size_t epochs = 100;
  double inner_lr = 0.4, clip = 0.5;
  int inner_steps = 1, test_inner_steps = 20;
  std::size_t test_tasks = 1000;
  unsigned threads = 0;
  double budget_gib = 8.0;
  std::string format = "text";
  bool no_progress = false;
};

/// Hyperparameter overrides (NaN = the model's default, TP4 Table 4).
struct HyperArgs {
  double meta_lr = NAN, sigma_u = NAN, sigma_v = NAN, alpha = NAN, sigma_b = NAN;
};

void add_data_flags(CLI::App* sub, DataArgs& a) {
  sub->add_option("--omniglot", a.omniglot,
                  "Omniglot-layout directory (images_background/, images_evaluation/); default: the generated data set")
      ->default_str(TPC_DEFAULT_DATA_DIR "/omniglot");
  sub->add_option("--synthetic", a.synthetic,
                  "use a synthetic data set (random class prototypes + pixel noise, 8x8 images) with this many "
                  "meta-train classes instead of Omniglot (smoke tests)")
      ->check(CLI::Range(5, 100000));
  sub->add_option("--max-classes", a.max_classes, "keep at most this many characters per split (0 = all)")
      ->check(CLI::Range(0, 1000000));
  sub->add_flag("--no-rotations", a.no_rotations, "do not add 90/180/270-degree rotations as meta-train classes");
  sub->add_flag("--white-background", a.white_ink,
                "feed pixels as loaded (background 1); by default they are inverted to ink = 1 on 0, as torchmeta "
                "stores Omniglot for TP4's code");
}

void add_run_flags(CLI::App* sub, RunArgs& a, bool training) {
  sub->add_option("--ways", a.ways, "N: classes per task")->check(CLI::Range(2, 100))->default_val(5);
  sub->add_option("--shots", a.shots, "K: support images per class")->check(CLI::Range(1, 100))->default_val(1);
  sub->add_option("--query-shots", a.query_shots, "query images per class")->check(CLI::Range(1, 100))->default_val(1);
  sub->add_option("--inner-lr", a.inner_lr, "inner (adaptation) SGD step size")->check(CLI::Range(1e-12, 1e6))->default_val(0.4);
  sub->add_option("--test-inner-steps", a.test_inner_steps, "inner steps at meta-test")->check(CLI::Range(1, 1000))->default_val(20);
  sub->add_option("--test-tasks", a.test_tasks, "meta-test tasks per evaluation")->check(CLI::Range(1, 10000000))->default_val(1000);
  sub->add_option("--threads", a.threads, "worker threads (0 = all cores)")->check(CLI::Range(0, 1024))->default_val(0);
  sub->add_option("--memory-budget", a.budget_gib,
                  "GiB this process may take (with the data set it holds): network models over it are refused before any "
                  "work, with the figure")
      ->check(positive_finite())
      ->default_val(8.0);
  sub->add_option("--format", a.format, "output format: text or json")->check(CLI::IsMember({"text", "json"}))->default_val("text");
  sub->add_flag("--no-progress", a.no_progress, "no progress line on stderr");
  if (!training) return;
  sub->add_option("--batch", a.batch, "tasks per meta-step")->check(CLI::Range(1, 4096))->default_val(32);
  sub->add_option("--meta-steps", a.meta_steps, "meta-training steps (overrides --epochs)")->check(CLI::Range(1, 100000000));
  sub->add_option("--epochs", a.epochs, "meta-training epochs of 100 meta-steps (TP4: 100)")->check(CLI::Range(1, 1000000))->default_val(100);
  sub->add_option("--inner-steps", a.inner_steps, "inner steps in meta-training")->check(CLI::Range(1, 1000))->default_val(1);
  sub->add_option("--clip", a.clip, "clip the meta-gradient at this global norm (0 = off)")->check(CLI::Range(0.0, 1e12))->default_val(0.5);
}

void add_hyper_flags(CLI::App* sub, HyperArgs& a) {
  sub->add_option("--meta-lr", a.meta_lr, "meta (outer) SGD learning rate (default: TP4 Table 4 per width)")->check(CLI::Range(1e-12, 1e6));
  sub->add_option("--sigma-u", a.sigma_u, "initialization scale of u (default: TP4 Table 4)")->check(CLI::Range(1e-12, 1e6));
  sub->add_option("--sigma-v", a.sigma_v, "initialization scale of v (default: TP4 Table 4)")->check(CLI::Range(0.0, 1e6));
  sub->add_option("--alpha", a.alpha, "bias multiplier alpha (default: TP4 Table 4)")->check(CLI::Range(0.0, 1e6));
  sub->add_option("--sigma-b", a.sigma_b, "first-layer bias scale of the relu kernels (default 1)")->check(CLI::Range(0.0, 1e6));
}

ModelConfig apply(ModelConfig c, const HyperArgs& h) {
  if (!std::isnan(h.meta_lr)) c.meta_lr = h.meta_lr;
  if (!std::isnan(h.sigma_u)) c.hyper.sigma_u = h.sigma_u;
  if (!std::isnan(h.sigma_v)) c.hyper.sigma_v = h.sigma_v;
  if (!std::isnan(h.alpha)) c.hyper.alpha = h.alpha;
  if (!std::isnan(h.sigma_b)) c.sigma_b = h.sigma_b;
  return c;
}

RunOptions run_options(const RunArgs& a) {
  RunOptions o;
  o.tasks = {a.ways, a.shots, a.query_shots};
  o.fomaml.inner_lr = a.inner_lr;
  o.fomaml.train_inner_steps = a.inner_steps;
  o.fomaml.test_inner_steps = a.test_inner_steps;
  o.fomaml.clip = a.clip;
  o.fomaml.threads = a.threads;
  o.batch = a.batch;
  o.meta_steps = a.meta_steps > 0 ? a.meta_steps : 100 * a.epochs;
  o.test_tasks = a.test_tasks;
  o.memory_budget_bytes = a.budget_gib * 1024.0 * 1024.0 * 1024.0;
  return o;
}

/// "limit", "relu-gp", ... or a width.
ModelConfig parse_model(const std::string& name) {
  if (name == "limit" || name == "inf" || name == "mup-limit") return default_config(ModelFamily::limit);
  KernelKind k;
  if (parse_kernel_kind(name, k)) return default_config(ModelFamily::kernel, 0, k);
  std::size_t pos = 0;
  long long w = -1;
  try {
    w = std::stoll(name, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != name.size() || w < 1 || w > (1 << 20))
    throw MamlError("--model: '" + name + "' is not a width in [1, 1048576], 'limit', 'linear-gp', 'linear-ntk', "
                    "'relu-gp' or 'relu-ntk'");
  return default_config(ModelFamily::finite, static_cast<Eigen::Index>(w));
}

/// "--widths 2,8,32": widths in [1, 2^20].
std::vector<std::size_t> parse_widths(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t pos = 0;
    long long w = -1;
    try {
      w = std::stoll(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != item.size() || w < 1 || w > (1 << 20))
      throw MamlError("--widths: '" + item + "' is not a width in [1, 1048576]; write e.g. --widths 2,8,32");
    out.push_back(static_cast<std::size_t>(w));
  }
  return out;
}

std::vector<double> parse_doubles(const std::string& text, const std::string& flag) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t pos = 0;
    double v = NAN;
    try {
      v = std::stod(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != item.size() || !(v >= 0.0) || !std::isfinite(v))
      throw MamlError(flag + ": '" + item + "' is not a number >= 0; write a comma-separated list, e.g. " + flag + " 0.1,0.2");
    out.push_back(v);
  }
  return out;
}

/// The data: Omniglot (or the generated set in its layout), or a synthetic set.
struct Data {
  OmniglotSplits splits;
  std::string description;
};

Data load_data(const DataArgs& a, int side = 28) {
  Data d;
  if (a.synthetic > 0) {
    const auto c = static_cast<std::size_t>(a.synthetic);
    d.splits.train = synthetic_image_set(c, 20, 8, 0.35, 1);
    d.splits.validation = synthetic_image_set(std::max<std::size_t>(5, c / 4), 20, 8, 0.35, 2);
    d.splits.test = synthetic_image_set(std::max<std::size_t>(5, c / 2), 20, 8, 0.35, 3);
    d.description = fmt::format("synthetic: {} / {} / {} classes of 20 images, 8x8 (prototype + N(0, 0.35^2) noise)",
                                d.splits.train.num_classes(), d.splits.validation.num_classes(), d.splits.test.num_classes());
    return d;
  }
  OmniglotOptions o;
  o.side = side;
  o.rotations = !a.no_rotations;
  o.max_classes = a.max_classes;
  d.splits = load_omniglot(a.omniglot, o);
  if (!a.white_ink)
    for (ImageSet* s : {&d.splits.train, &d.splits.validation, &d.splits.test}) invert_pixels(*s);
  d.description = fmt::format("{}: {} meta-train / {} validation / {} test classes, {}x{} images{}", a.omniglot,
                              d.splits.train.num_classes(), d.splits.validation.num_classes(), d.splits.test.num_classes(),
                              d.splits.train.side, d.splits.train.side, a.white_ink ? " (white background)" : " (ink = 1)");
  return d;
}

/// A throttled progress line on stderr: "\r<label>: done/total tasks, X tasks/s, ETA ...".
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool on) : err_(err), on_(on), start_(std::chrono::steady_clock::now()) {}
  void update(std::size_t done, std::size_t total, const std::string& label) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    err_ << fmt::format("\r{}: {}/{} tasks, {:.0f} tasks/s, ETA {}   ", label, done, total, rate, duration(eta)) << std::flush;
    shown_ = true;
  }
  void finish() {
    if (shown_) err_ << "\n";
    shown_ = false;
  }
  static std::string duration(double s) {
    const long t = static_cast<long>(s + 0.5);
    return t >= 3600 ? fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60) : fmt::format("{}m{:02}s", t / 60, t % 60);
  }

 private:
  std::ostream& err_;
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_{};
};

json hyper_json(const ModelConfig& c) {
  json j{{"meta_lr", c.meta_lr}, {"sigma_u", c.hyper.sigma_u}, {"sigma_v", c.hyper.sigma_v}};
  if (c.family == ModelFamily::kernel) j["sigma_b"] = c.sigma_b;
  else j["alpha"] = c.hyper.alpha;
  return j;
}

std::string hyper_text(const ModelConfig& c) {
  if (c.family == ModelFamily::kernel)
    return fmt::format("meta lr {:g}, sigma_u {:g}, sigma_v {:g}, sigma_b {:g}", c.meta_lr, c.hyper.sigma_u, c.hyper.sigma_v, c.sigma_b);
  return fmt::format("meta lr {:g}, sigma_u {:g}, sigma_v {:g}, alpha {:g}", c.meta_lr, c.hyper.sigma_u, c.hyper.sigma_v, c.hyper.alpha);
}

/// Runs body; a user error becomes a message (text on err, or JSON on out) and exit code 1.
int guarded(const std::string& cmd, bool as_json, std::ostream& out, std::ostream& err, const std::function<int()>& body) {
  auto fail = [&](const std::string& msg) {
    if (as_json) out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
    else err << "tpc maml " << cmd << ": error: " << msg << "\n";
    return 1;
  };
  try {
    return body();
  } catch (const MamlError& e) {
    return fail(e.what());
  } catch (const PlotError& e) {
    return fail(e.what());
  } catch (const std::runtime_error& e) {  // the Omniglot loader's DataError (names the file) and other I/O errors
    return fail(e.what());
  }
}

// ---- train ---------------------------------------------------------------------------------------------------

struct TrainArgs {
  DataArgs data;
  RunArgs run;
  HyperArgs hyper;
  std::string model = "limit";
  std::string out_file;
  std::size_t val_tasks = 500;
  std::uint64_t seed = 0;
};

int run_train(const TrainArgs& a, std::ostream& out, std::ostream& err) {
  const bool as_json = a.run.format == "json";
  return guarded("train", as_json, out, err, [&] {
    const ModelConfig config = apply(parse_model(a.model), a.hyper);
    RunOptions run = run_options(a.run);
    validate(config, run);
    const Data data = load_data(a.data);
    const TaskSampler train(data.splits.train, run.tasks, "meta-train");
    const TaskSampler val(data.splits.validation, run.tasks, "validation");
    check_model_memory(config, train.dim(), run.tasks.ways, run);
    TrainedModel m = initial_model(config, train.dim(), run.tasks.ways, a.seed);
    ProgressLine progress(err, !a.run.no_progress);
    const std::size_t total = run.meta_steps * run.batch + a.val_tasks;
    std::size_t done = 0;
    const auto t0 = std::chrono::steady_clock::now();
    meta_train(m, train, run, a.seed, [&](std::size_t n) { progress.update(done += n, total, "train " + config.label()); });
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto acc = evaluate(m, val, a.val_tasks, run, a.seed, [&](std::size_t n) { progress.update(done += n, total, "validate"); });
    progress.finish();
    if (!a.out_file.empty()) save_model(a.out_file, m);
    const auto [vm, vsd] = mean_sd(acc);
    const double ci = 1.96 * vsd / std::sqrt(static_cast<double>(acc.size()));
    double tail = 0.0, tail_acc = 0.0;
    const std::size_t k = std::min<std::size_t>(10, m.history.size());
    for (std::size_t i = m.history.size() - k; i < m.history.size(); ++i) {
      tail += m.history[i].query_loss / static_cast<double>(k);
      tail_acc += m.history[i].query_accuracy / static_cast<double>(k);
    }
    const double rate = static_cast<double>(run.meta_steps * run.batch) / train_s;
    if (as_json) {
      out << json{{"ok", true},
                  {"model", config.key()},
                  {"label", config.label()},
                  {"hyper", hyper_json(config)},
                  {"data", data.description},
                  {"meta_steps", run.meta_steps},
                  {"batch", run.batch},
                  {"train_seconds", train_s},
                  {"train_tasks_per_second", rate},
                  {"final_query_loss", tail},
                  {"final_query_accuracy", tail_acc},
                  {"validation_accuracy", vm},
                  {"validation_ci95", ci},
                  {"validation_tasks", acc.size()},
                  {"out", a.out_file}}
                 .dump(2)
          << "\n";
    } else {
      out << fmt::format("tpc maml train: {} ({}), first-order MAML {}-way {}-shot\n", config.label(), hyper_text(config),
                         run.tasks.ways, run.tasks.shots)
          << "data: " << data.description << "\n"
          << fmt::format("{} meta-steps x {} tasks in {:.1f} s ({:.0f} tasks/s); last 10 steps: query loss {:.4f}, accuracy {:.2f}%\n",
                         run.meta_steps, run.batch, train_s, rate, tail, 100 * tail_acc)
          << fmt::format("validation accuracy after {} inner steps: {:.2f}% ± {:.2f}% (95% CI, {} tasks)\n",
                         run.fomaml.test_inner_steps, 100 * vm, 100 * ci, acc.size());
      if (!a.out_file.empty()) out << "model written to " << a.out_file << "\n";
    }
    return 0;
  });
}

// ---- test ----------------------------------------------------------------------------------------------------

struct TestArgs {
  DataArgs data;
  RunArgs run;
  std::string model_file;
  std::string split = "test";
  std::uint64_t seed = 0;
};

int run_test(const TestArgs& a, std::ostream& out, std::ostream& err) {
  const bool as_json = a.run.format == "json";
  return guarded("test", as_json, out, err, [&] {
    const TrainedModel m = load_model(a.model_file);
    RunOptions run = run_options(a.run);
    const Data data = load_data(a.data);
    const ImageSet& set = a.split == "test" ? data.splits.test : data.splits.validation;
    const TaskSampler sampler(set, run.tasks, a.split);
    const Eigen::Index d = m.net ? m.net->input_dim() : m.kernel->input_dim();
    const Eigen::Index d_out = m.net ? m.net->output_dim() : m.kernel->output_dim();
    if (d != sampler.dim())
      throw MamlError(fmt::format("{}: the model takes {} pixels but the {} split's images have {}", a.model_file, d, a.split, sampler.dim()));
    if (d_out != run.tasks.ways)
      throw MamlError(fmt::format("{}: the model has {} outputs; run with --ways {}", a.model_file, d_out, d_out));
    check_model_memory(m.config, d, d_out, run, false);
    ProgressLine progress(err, !a.run.no_progress);
    std::size_t done = 0;
    const auto acc = evaluate(m, sampler, run.test_tasks, run, a.seed, [&](std::size_t n) { progress.update(done += n, run.test_tasks, "test"); });
    progress.finish();
    const auto [mean, sd] = mean_sd(acc);
    const double ci = 1.96 * sd / std::sqrt(static_cast<double>(acc.size()));
    if (as_json) {
      out << json{{"ok", true}, {"model", m.config.key()}, {"label", m.config.label()}, {"hyper", hyper_json(m.config)},
                  {"meta_steps", m.meta_steps}, {"split", a.split}, {"accuracy", mean}, {"ci95", ci}, {"tasks", acc.size()},
                  {"data", data.description}}
                 .dump(2)
          << "\n";
    } else {
      out << fmt::format("tpc maml test: {} ({}, {} meta-steps) on the {} split\n", m.config.label(), hyper_text(m.config),
                         m.meta_steps, a.split)
          << "data: " << data.description << "\n"
          << fmt::format("accuracy after {} inner steps: {:.2f}% ± {:.2f}% (95% CI, {} tasks)\n", run.fomaml.test_inner_steps,
                         100 * mean, 100 * ci, acc.size());
    }
    return 0;
  });
}

// ---- compare -------------------------------------------------------------------------------------------------

struct CompareCmdArgs {
  DataArgs data;
  RunArgs run;
  HyperArgs hyper;
  std::string widths = "2,8,32,128,512,2048,8192";
  std::string kernels = "linear-gp,linear-ntk,relu-gp,relu-ntk";
  bool no_limit = false;
  std::size_t seeds = 3;
  std::uint64_t seed_base = 0;
  std::size_t kernel_meta_steps = 0;
  std::string plot;
  bool sweep = false;
  std::size_t sweep_meta_steps = 300, val_tasks = 300;
  std::string grid_meta_lr = "0.05,0.1,0.2,0.4", grid_sigma_u = "0.5,1", grid_sigma_v = "0.03125,0.125,0.5",
              grid_alpha = "0.5,1,2", grid_sigma_b = "0.5,1";
};

std::vector<ModelConfig> compare_models(const CompareCmdArgs& a) {
  std::vector<ModelConfig> models;
  if (a.widths != "none")
    for (std::size_t w : parse_widths(a.widths)) models.push_back(apply(default_config(ModelFamily::finite, static_cast<Eigen::Index>(w)), a.hyper));
  if (!a.no_limit) models.push_back(apply(default_config(ModelFamily::limit), a.hyper));
  if (a.kernels != "none") {
    std::stringstream ss(a.kernels);
    std::string item;
    while (std::getline(ss, item, ',')) {
      KernelKind k;
      if (!parse_kernel_kind(item, k))
        throw MamlError("--kernels: '" + item + "' is not one of linear-gp, linear-ntk, relu-gp, relu-ntk (or 'none')");
      models.push_back(apply(default_config(ModelFamily::kernel, 0, k), a.hyper));
    }
  }
  return models;
}

void write_plot(const std::string& path, const std::vector<CompareRow>& rows, const std::string& data) {
  PlotPanel panel;
  const std::string source = data.substr(0, data.find(':'));  // the data directory, or "synthetic"
  panel.title = "first-order MAML, 5-way 1-shot meta-test accuracy (" + source.substr(source.find_last_of('/') + 1) + ")";
  panel.xlabel = "log2(width)";
  panel.ylabel = "accuracy (%)";
  PlotSeries finite{"finite width", {}, {}, false};
  double xmin = 1, xmax = 13;
  for (const auto& r : rows)
    if (r.config.family == ModelFamily::finite) {
      finite.x.push_back(std::log2(static_cast<double>(r.config.width)));
      finite.y.push_back(100 * r.mean);
    }
  if (!finite.x.empty()) {
    xmin = *std::min_element(finite.x.begin(), finite.x.end());
    xmax = *std::max_element(finite.x.begin(), finite.x.end());
    if (xmax - xmin < 1) xmax = xmin + 1;
    panel.series.push_back(finite);
  }
  for (const auto& r : rows)
    if (r.config.family != ModelFamily::finite)
      panel.series.push_back({r.config.label(), {xmin, xmax}, {100 * r.mean, 100 * r.mean}, true});
  write_png(path, {panel});
}

int run_compare_cmd(const CompareCmdArgs& a, std::ostream& out, std::ostream& err) {
  const bool as_json = a.run.format == "json";
  return guarded("compare", as_json, out, err, [&] {
    CompareOptions o;
    o.models = compare_models(a);
    o.run = run_options(a.run);
    o.seeds = a.seeds;
    o.seed_base = a.seed_base;
    o.kernel_meta_steps = a.kernel_meta_steps;
    for (const auto& m : o.models) validate(m, o.run);
    SweepGrid grid;
    if (a.sweep) {
      grid.meta_lr = parse_doubles(a.grid_meta_lr, "--grid-meta-lr");
      grid.sigma_u = parse_doubles(a.grid_sigma_u, "--grid-sigma-u");
      grid.sigma_v = parse_doubles(a.grid_sigma_v, "--grid-sigma-v");
      grid.alpha = parse_doubles(a.grid_alpha, "--grid-alpha");
      grid.sigma_b = parse_doubles(a.grid_sigma_b, "--grid-sigma-b");
    }
    const Data data = load_data(a.data);
    const TaskSampler train(data.splits.train, o.run.tasks, "meta-train");
    const TaskSampler test(data.splits.test, o.run.tasks, "test");
    const auto t0 = std::chrono::steady_clock::now();
    json sweep_json = json::array();
    if (a.sweep) {
      const TaskSampler val(data.splits.validation, o.run.tasks, "validation");
      RunOptions sr = o.run;
      sr.meta_steps = a.sweep_meta_steps;
      for (auto& m : o.models) {
        std::size_t points = 0;
        auto all = sweep(m, grid, sr, train, val, a.val_tasks, a.seed_base, [&](const SweepPoint& p) {
          if (!a.run.no_progress)
            err << fmt::format("\rsweep {}: point {} ({}): validation {:.2f}%      ", m.label(), ++points, hyper_text(p.config),
                               100 * p.validation_accuracy)
                << std::flush;
        });
        m = best_of(all);
        json pts = json::array();
        for (const auto& p : all) pts.push_back({{"hyper", hyper_json(p.config)}, {"validation_accuracy", p.validation_accuracy}});
        sweep_json.push_back({{"model", m.key()}, {"best", hyper_json(m)}, {"points", pts}});
        if (!a.run.no_progress) err << "\n";
      }
    }
    // Text: the header first, then each row as soon as it is done (a long run shows its results early).
    auto row_text = [](const CompareRow& r) {
      return fmt::format("{:<12} {:>8.2f} ± {:<5.2f}  {:>10.0f}  {:>9}  {}\n", r.config.label(), 100 * r.mean, 100 * r.sd,
                         r.train_tasks_per_second, ProgressLine::duration(r.seconds), hyper_text(r.config));
    };
    if (!as_json)
      out << fmt::format("tpc maml compare: first-order MAML, {}-way {}-shot, batch {}, inner lr {:g} ({} step(s) in training, {} at "
                         "test), clip {:g}\n",
                         o.run.tasks.ways, o.run.tasks.shots, o.run.batch, o.run.fomaml.inner_lr, o.run.fomaml.train_inner_steps,
                         o.run.fomaml.test_inner_steps, o.run.fomaml.clip)
          << "data: " << data.description << "\n"
          << fmt::format("{} meta-steps{}; {} test tasks; {} seeds ({}..{}); mean ± s.d. over seeds of the meta-test accuracy\n\n",
                         o.run.meta_steps,
                         o.kernel_meta_steps > 0 ? fmt::format(" ({} for kernels)", o.kernel_meta_steps) : std::string(),
                         o.run.test_tasks, o.seeds, o.seed_base, o.seed_base + o.seeds - 1)
          << fmt::format("{:<12} {:>16}  {:>10}  {:>9}  {}\n", "model", "accuracy (%)", "tasks/s", "time", "hyperparameters")
          << std::flush;
    ProgressLine progress(err, !a.run.no_progress);
    const auto rows = run_compare(
        o, train, test,
        [&](std::size_t done, std::size_t total, const std::string& row) { progress.update(done, total, "compare [" + row + "]"); },
        [&](const CompareRow& r) {
          if (as_json) return;
          progress.finish();
          out << row_text(r) << std::flush;
        });
    progress.finish();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!a.plot.empty()) write_plot(a.plot, rows, data.description);
    if (as_json) {
      json jr = json::array();
      for (const auto& r : rows)
        jr.push_back({{"model", r.config.key()},
                      {"label", r.config.label()},
                      {"width", r.config.family == ModelFamily::finite ? json(r.config.width) : json(nullptr)},
                      {"hyper", hyper_json(r.config)},
                      {"accuracy_mean", r.mean},
                      {"accuracy_sd", r.sd},
                      {"accuracy_per_seed", r.accuracy},
                      {"final_train_query_loss", r.final_train_loss},
                      {"seconds", r.seconds},
                      {"train_tasks_per_second", r.train_tasks_per_second}});
      json j{{"ok", true}, {"data", data.description}, {"seeds", o.seeds}, {"seed_base", o.seed_base},
             {"meta_steps", o.run.meta_steps}, {"kernel_meta_steps", o.kernel_meta_steps > 0 ? o.kernel_meta_steps : o.run.meta_steps},
             {"batch", o.run.batch}, {"test_tasks", o.run.test_tasks}, {"wall_seconds", wall}, {"rows", jr}};
      if (a.sweep) j["sweep"] = sweep_json;
      if (!a.plot.empty()) j["plot"] = a.plot;
      out << j.dump(2) << "\n";
      return 0;
    }
    out << fmt::format("\nwall time {}{}\n", ProgressLine::duration(wall), a.plot.empty() ? "" : "; plot written to " + a.plot);
    return 0;
  });
}

// ---- emit-program --------------------------------------------------------------------------------------------

struct EmitArgs {
  int d = 3, d_out = 2, tasks = 2, meta_steps = 2;
  std::uint64_t seed = 0;
  std::string out_file;
  bool check = false;
  std::string widths = "64,256,1024,4096";
  std::size_t seeds = 32;
  std::string format = "text";
};

int run_emit(const EmitArgs& a, std::ostream& out, std::ostream& err) {
  const bool as_json = a.format == "json";
  return guarded("emit-program", as_json, out, err, [&] {
    const EmitInstance inst = tiny_instance(a.d, a.d_out, a.tasks, a.meta_steps, a.seed);
    const std::string text = emit_program(inst);
    if (!a.out_file.empty()) {
      std::ofstream f(a.out_file);
      if (!(f << text)) throw MamlError(a.out_file + ": cannot write the program");
    }
    if (!a.check) {
      if (a.out_file.empty()) out << text;
      else if (as_json) out << json{{"ok", true}, {"out", a.out_file}, {"outputs", emitted_output_names(inst)}}.dump(2) << "\n";
      else out << "program written to " << a.out_file << " (" << emitted_output_names(inst).size() << " outputs)\n";
      return 0;
    }
    // 1. the program's exact limit (tpc limit --route exact) against Algorithm 3.
    DiagnosticEngine diags;
    auto program = compile_source(text, diags);
    if (!program) {
      SourceFile file{"<emitted>", text};
      throw std::logic_error("the emitted program does not compile (a bug):\n" + render(diags.diagnostics(), file));
    }
    const auto lim = limits::linear_limit(*program);
    const auto engine = run_instance(inst, init_limit_net(inst.d, inst.d_out, inst.hyper));
    const auto names = emitted_output_names(inst);
    double max_diff = 0.0;
    for (std::size_t i = 0; i < engine.size(); ++i) max_diff = std::max(max_diff, std::abs(lim.limit.outputs[i].value - engine[i]));
    // 2. Algorithm 2 at growing widths: RMS distance to the limit over seeds and its fitted exponent.
    const std::vector<std::size_t> widths = parse_widths(a.widths);
    if (widths.size() < 2) throw MamlError("--widths: need at least two widths to fit an exponent");
    std::vector<std::vector<double>> dist(widths.size(), std::vector<double>(a.seeds));
    for (std::size_t w = 0; w < widths.size(); ++w)
      for (std::size_t s = 0; s < a.seeds; ++s) {
        const auto f = run_instance(inst, init_finite_net(inst.d, inst.d_out, static_cast<Eigen::Index>(widths[w]), inst.hyper, s));
        double sq = 0.0;
        for (std::size_t i = 0; i < f.size(); ++i) sq += (f[i] - engine[i]) * (f[i] - engine[i]);
        dist[w][s] = std::sqrt(sq / static_cast<double>(f.size()));
      }
    std::vector<double> rms;
    const auto [slope, slope_err] = limits::fit_exponent(widths, dist, rms);
    if (as_json) {
      json outs = json::array();
      for (std::size_t i = 0; i < names.size(); ++i)
        outs.push_back({{"name", names[i]}, {"tpc_limit", lim.limit.outputs[i].value}, {"algorithm3", engine[i]}});
      json conv = json::array();
      for (std::size_t w = 0; w < widths.size(); ++w) conv.push_back({{"width", widths[w]}, {"rms_distance", rms[w]}});
      out << json{{"ok", true}, {"outputs", outs}, {"max_abs_difference", max_diff}, {"convergence", conv},
                  {"exponent", slope}, {"exponent_error", slope_err}, {"seeds", a.seeds}}
                 .dump(2)
          << "\n";
    } else {
      out << fmt::format("tpc maml emit-program --check: d = {}, d_o = {}, {} tasks x {} meta-steps; {} outputs\n", inst.d,
                         inst.d_out, a.tasks, a.meta_steps, names.size())
          << fmt::format("{:<14} {:>22} {:>22}\n", "output", "tpc limit (exact)", "Algorithm 3");
      for (std::size_t i = 0; i < names.size(); ++i)
        out << fmt::format("{:<14} {:>22.15g} {:>22.15g}\n", names[i], lim.limit.outputs[i].value, engine[i]);
      out << fmt::format("max |tpc limit - Algorithm 3| = {:.2e}\n\n", max_diff)
          << fmt::format("Algorithm 2 (width n) vs the limit, RMS over outputs and {} seeds:\n", a.seeds);
      for (std::size_t w = 0; w < widths.size(); ++w) out << fmt::format("  n = {:<6} {:.4e}\n", widths[w], rms[w]);
      out << fmt::format("fitted exponent {:.3f} ± {:.3f} (theory: -1/2)\n", slope, slope_err);
    }
    (void)err;
    return 0;
  });
}

}  // namespace

Subcommands add_maml_commands(CLI::App* parent) {
  Subcommands subs;
  {
    auto args = std::make_shared<TrainArgs>();
    auto* sub = parent->add_subcommand("train", "meta-train one model by first-order MAML (a width, the µP limit or a GP/NTK "
                                                "kernel) and report its validation accuracy; --out writes the model");
    sub->add_option("--model", args->model, "a width n, 'limit', 'linear-gp', 'linear-ntk', 'relu-gp' or 'relu-ntk'")->default_val("limit");
    sub->add_option("--out", args->out_file, "write the trained model here (read by 'tpc maml test')");
    sub->add_option("--val-tasks", args->val_tasks, "validation tasks evaluated after training")->check(CLI::Range(1, 10000000))->default_val(500);
    sub->add_option("--seed", args->seed, "seed of the initialization and the task stream")->default_val(0);
    add_data_flags(sub, args->data);
    add_run_flags(sub, args->run, true);
    add_hyper_flags(sub, args->hyper);
    subs.push_back({sub, [args](std::ostream& o, std::ostream& e) { return run_train(*args, o, e); }});
  }
  {
    auto args = std::make_shared<TestArgs>();
    auto* sub = parent->add_subcommand("test", "meta-test accuracy of a model written by 'tpc maml train --out'");
    sub->add_option("model", args->model_file, "the model file")->required();
    sub->add_option("--split", args->split, "test or validation")->check(CLI::IsMember({"test", "validation"}))->default_val("test");
    sub->add_option("--seed", args->seed, "seed of the test tasks")->default_val(0);
    add_data_flags(sub, args->data);
    add_run_flags(sub, args->run, false);
    subs.push_back({sub, [args](std::ostream& o, std::ostream& e) { return run_test(*args, o, e); }});
  }
  {
    auto args = std::make_shared<CompareCmdArgs>();
    auto* sub = parent->add_subcommand("compare", "TP4 Table 2: meta-test accuracy of finite widths, the µP limit and the "
                                                  "linear/relu GP and NTK, mean ± s.d. over seeds, with a plot");
    sub->add_option("--widths", args->widths, "comma-separated finite widths, or 'none'")->default_val("2,8,32,128,512,2048,8192");
    sub->add_flag("--no-limit", args->no_limit, "leave out the µP limit");
    sub->add_option("--kernels", args->kernels, "comma-separated kernel baselines (linear-gp, linear-ntk, relu-gp, relu-ntk) or 'none'")
        ->default_val("linear-gp,linear-ntk,relu-gp,relu-ntk");
    sub->add_option("--seeds", args->seeds, "seeds per model")->check(CLI::Range(1, 1000))->default_val(3);
    sub->add_option("--seed-base", args->seed_base, "first seed")->default_val(0);
    sub->add_option("--kernel-meta-steps", args->kernel_meta_steps,
                    "meta-steps of the kernel baselines (0 = --meta-steps; their cost grows with the readout stack)")
        ->check(CLI::Range(0, 100000000))
        ->default_val(0);
    sub->add_option("--plot", args->plot, "write a PNG of accuracy vs log2(width) with the limit and baselines as lines");
    sub->add_flag("--sweep", args->sweep, "pick every model's hyperparameters by validation accuracy over the grid (--grid-*)");
    sub->add_option("--sweep-meta-steps", args->sweep_meta_steps, "meta-steps per sweep point")->check(CLI::Range(1, 100000000))->default_val(300);
    sub->add_option("--val-tasks", args->val_tasks, "validation tasks per sweep point")->check(CLI::Range(1, 10000000))->default_val(300);
    sub->add_option("--grid-meta-lr", args->grid_meta_lr, "sweep values of the meta learning rate")->default_val("0.05,0.1,0.2,0.4");
    sub->add_option("--grid-sigma-u", args->grid_sigma_u, "sweep values of sigma_u")->default_val("0.5,1");
    sub->add_option("--grid-sigma-v", args->grid_sigma_v, "sweep values of sigma_v")->default_val("0.03125,0.125,0.5");
    sub->add_option("--grid-alpha", args->grid_alpha, "sweep values of alpha (networks)")->default_val("0.5,1,2");
    sub->add_option("--grid-sigma-b", args->grid_sigma_b, "sweep values of sigma_b (kernels)")->default_val("0.5,1");
    add_data_flags(sub, args->data);
    add_run_flags(sub, args->run, true);
    add_hyper_flags(sub, args->hyper);
    subs.push_back({sub, [args](std::ostream& o, std::ostream& e) { return run_compare_cmd(*args, o, e); }});
  }
  {
    auto args = std::make_shared<EmitArgs>();
    auto* sub = parent->add_subcommand("emit-program", "write a few first-order MAML meta-steps of a tiny instance as a level-1 "
                                                       "tpc program (TP4 Thm D.1); --check compares 'tpc limit' with Algorithm 3");
    sub->add_option("--d", args->d, "input dimension")->check(CLI::Range(1, 16))->default_val(3);
    sub->add_option("--d-out", args->d_out, "output dimension = ways")->check(CLI::Range(2, 8))->default_val(2);
    sub->add_option("--tasks", args->tasks, "tasks per meta-step")->check(CLI::Range(1, 16))->default_val(2);
    sub->add_option("--meta-steps", args->meta_steps, "meta-steps")->check(CLI::Range(1, 8))->default_val(2);
    sub->add_option("--seed", args->seed, "seed of the instance's inputs")->default_val(0);
    sub->add_option("--out", args->out_file, "write the program here (default: standard output)");
    sub->add_flag("--check", args->check, "evaluate the program's exact limit against Algorithm 3 and fit Algorithm 2's rate");
    sub->add_option("--widths", args->widths, "widths of the convergence fit (--check)")->default_val("64,256,1024,4096");
    sub->add_option("--seeds", args->seeds, "seeds per width (--check)")->check(CLI::Range(2, 100000))->default_val(32);
    sub->add_option("--format", args->format, "output format: text or json")->check(CLI::IsMember({"text", "json"}))->default_val("text");
    subs.push_back({sub, [args](std::ostream& o, std::ostream& e) { return run_emit(*args, o, e); }});
  }
  return subs;
}

}  // namespace tp::frontend
