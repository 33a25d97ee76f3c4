// `tpc kernel`; the steps are listed in kernel_command.h.
#include "frontend/kernel_command.h"
#include "frontend/flag_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "frontend/activation.h"
#include "frontend/matrix_text.h"
#include "frontend/npz_writer.h"
#include "limits/csv_matrix.h"
#include "limits/gauss_hermite.h"
#include "limits/gaussian_expectation.h"
#include "limits/mlp_kernel.h"
#include "limits/mlp_program.h"
#include "limits/resident_memory.h"
#include "tp/errors.h"

namespace tp::frontend {

namespace {

using nlohmann::json;

/// A user error of this command: the whole message, printed after "tpc: error: ".
struct KernelUserError {
  std::string message;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// ---- step 2: lists of variances ----

std::vector<double> parse_variances(const std::string& flag, const std::string& text) {
  std::vector<double> values;
  std::stringstream in(text);
  std::string cell;
  std::size_t index = 0;
  while (std::getline(in, cell, ',')) {
    ++index;
    const std::string t = trim(cell);
    double v = 0.0;
    std::size_t used = 0;
    try {
      v = std::stod(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (t.empty() || used != t.size()) {
      throw KernelUserError{flag + ": '" + t + "' is not a number; give one variance, or one per layer separated by " +
                            "commas (e.g. " + flag + " 1,2,2,1)"};
    }
    if (!std::isfinite(v) || v < 0) {
      throw KernelUserError{flag + ": value " + std::to_string(index) + " is " + t +
                            ", but a variance must be a finite number >= 0"};
    }
    values.push_back(v);
  }
  if (values.empty() || (!text.empty() && text.back() == ',')) {
    throw KernelUserError{flag + ": expected a variance or a comma-separated list of them, found '" + text + "'"};
  }
  return values;
}

void check_lengths(const std::string& flag, const std::vector<double>& v, int depth) {
  const std::size_t layers = static_cast<std::size_t>(depth) + 1;
  if (v.size() == 1 || v.size() == layers) return;
  throw KernelUserError{flag + " has " + std::to_string(v.size()) + " values, but --depth " + std::to_string(depth) +
                        " needs 1 (the same in every layer) or " + std::to_string(layers) +
                        " (one per layer: the input layer, " + std::to_string(depth - 1) +
                        " hidden-to-hidden layer" + (depth - 1 == 1 ? "" : "s") + " and the readout)"};
}

// ---- step 5: printing ----

std::string describe_list(const std::vector<double>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + format_number(v[i]);
  return v.size() == 1 ? s + " (every layer)" : s + " (layers 1.." + std::to_string(v.size()) + ")";
}

/// Decimal places worth printing for numbers with this absolute error (3..10).
int places_for(double error) {
  if (!(error > 0)) return 10;
  return std::clamp(static_cast<int>(std::floor(-std::log10(error))), 3, 10);
}

void print_matrix(std::string& out, const Eigen::MatrixXd& m, double error) {
  append_text_matrix(out, m, places_for(error), m.cwiseAbs().maxCoeff() >= 1e6);
}

std::string layer_name(int layer, int depth) {
  if (layer == depth + 1) return "f = h^" + std::to_string(layer) + ", the readout";
  return "h^" + std::to_string(layer) + (layer == 1 ? ", first hidden layer" : ", hidden layer " + std::to_string(layer));
}

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1e", v);
  return buf;
}

// ---- the command ----

int run(const KernelArgs& a, std::ostream& out, std::ostream& err) {
  const bool as_json = a.format == "json";
  // 1. activation
  std::string problem;
  const ExprPtr phi = parse_activation(a.act, problem);
  if (!phi) throw KernelUserError{"--act: " + problem};
  // 2. depth and variances
  if (a.depth < 1)
    throw KernelUserError{"--depth must be at least 1 (the number of hidden layers), got " + std::to_string(a.depth)};
  const std::vector<double> sw2 = parse_variances("--sw2", a.sw2);
  const std::vector<double> sb2 = parse_variances("--sb2", a.sb2);
  check_lengths("--sw2", sw2, a.depth);
  check_lengths("--sb2", sb2, a.depth);
  const int order = a.order;
  if (order != 0 && (order < 2 || 2 * order > limits::max_gauss_hermite_order))
    throw KernelUserError{"--order must be 0 (the trapezoidal rule, refined to 1e-10) or a Gauss-Hermite order between 2 and " +
                          std::to_string(limits::max_gauss_hermite_order / 2) +
                          " (the error estimate uses twice the order), got " + std::to_string(a.order)};
  if (!a.output.empty() && (a.output.size() < 5 || a.output.substr(a.output.size() - 4) != ".npz"))
    throw KernelUserError{"--output " + a.output + ": the file name must end in .npz (a NumPy archive, read with np.load)"};
  if (!a.output.empty() && a.emit_program)
    throw KernelUserError{"--output writes the kernel matrices; it cannot be combined with --emit-program"};
  // 3. inputs
  if (a.inputs.empty() == a.x.empty())
    throw KernelUserError{"give the inputs either with --inputs FILE.csv (one input per row) or inline with --x "
                          "\"1,0;0.5,0.5\" (rows separated by ';')"};
  limits::CsvMatrix inputs;
  try {
    inputs = a.inputs.empty() ? limits::parse_csv_matrix(a.x, "--x", limits::CsvRows::lines_or_semicolons)
                              : limits::read_csv_matrix(a.inputs);
  } catch (const limits::CsvError& e) {
    throw KernelUserError{e.what()};
  }
  const std::string source = a.inputs.empty() ? "--x" : a.inputs;
  limits::MlpKernelSpec spec;
  try {
    spec = limits::make_mlp_kernel_spec(phi, a.depth, sw2, sb2);
  } catch (const limits::MlpKernelError& e) {
    throw KernelUserError{e.what()};
  }
  const std::string phi_text = to_string(spec.activation, {"x"});
  // 4a. the program
  if (a.emit_program) {
    std::string program;
    try {
      program = limits::mlp_nngp_program(spec, inputs.values);
    } catch (const limits::MlpKernelError& e) {
      throw KernelUserError{std::string("--emit-program: ") + e.what()};
    }
    if (as_json) out << json{{"ok", true}, {"program", program}}.dump(2) << "\n";
    else out << program;
    return 0;
  }
  // 4b. the kernels, if they fit: what the process holds now (the program, the inputs) plus what the route will
  // allocate (limits::mlp_kernel_bytes: 16 bytes per N x N entry for the in-place relu route, far more for the
  // layer-by-layer routes) plus the printed matrices (text or JSON: about 48 bytes per entry and layer; .npz: the
  // writer's buffers only, 4 MiB)
  limits::MlpKernelOptions options;
  options.use_closed_forms = !a.no_closed_forms;
  options.order = order;
  options.threads = a.threads;
  options.keep_all_layers = a.all_layers;
  options.distribute = true;  // every process of `mpirun -np K tpc kernel` runs this same call
  {
    const auto rows = static_cast<std::size_t>(inputs.values.rows()), dims = static_cast<std::size_t>(inputs.values.cols());
    const double N = static_cast<double>(rows), gib = 1024.0 * 1024.0 * 1024.0;
    const double layers_kept = a.all_layers ? a.depth + 1 : 1;
    const double output = a.output.empty() ? 48.0 * layers_kept * N * N : 4.0 * 1024 * 1024;
    const double need = limits::resident_bytes() + limits::mlp_kernel_bytes(spec, rows, dims, options) + output;
    if (need > a.budget_gib * gib)
      throw KernelUserError{std::to_string(inputs.values.rows()) + " inputs at depth " + std::to_string(a.depth) +
                            " need about " + format_number(std::ceil(need / gib * 10) / 10) +
                            " GiB (NNGP and NTK matrices, N x N doubles, working space and what tpc holds already), "
                            "over the memory budget of " + format_number(a.budget_gib) +
                            " GiB; pass fewer inputs or use --memory-budget " + format_number(std::ceil(need / gib * 10) / 10)};
  }
  limits::MlpKernelResult r;
  try {
    r = limits::compute_mlp_kernel(spec, inputs.values, options);
  } catch (const limits::MlpKernelError& e) {
    throw KernelUserError{e.what()};
  } catch (const limits::DivergentIntegral& e) {
    throw KernelUserError{"--act " + phi_text + ": " + e.what()};
  } catch (const NumericalError& e) {
    throw KernelUserError{"--act " + phi_text + ": " + e.what()};
  }
  const int layers = a.depth + 1;
  const double error_nngp = r.nngp_error.back(), error_ntk = r.ntk_error.back();
  // the matrices of layer l (1-based) in r: every layer, or the readout only
  auto nngp_of = [&](int l) -> const Eigen::MatrixXd& { return a.all_layers ? r.nngp[static_cast<std::size_t>(l - 1)] : r.nngp.back(); };
  auto ntk_of = [&](int l) -> const Eigen::MatrixXd& { return a.all_layers ? r.ntk[static_cast<std::size_t>(l - 1)] : r.ntk.back(); };
  // 5a. the .npz archive
  if (!a.output.empty()) {
    const long long n = inputs.values.rows(), L = layers;
    std::vector<NpzArray> arrays{{"nngp", {n, n}, r.output_nngp().data()},
                                 {"ntk", {n, n}, r.output_ntk().data()},
                                 {"error_nngp", {L}, r.nngp_error.data()},
                                 {"error_ntk", {L}, r.ntk_error.data()}};
    if (a.all_layers)
      for (int l = 1; l <= layers; ++l) {
        arrays.push_back({"nngp_layer" + std::to_string(l), {n, n}, nngp_of(l).data()});
        arrays.push_back({"ntk_layer" + std::to_string(l), {n, n}, ntk_of(l).data()});
      }
    try {  // the matrices are symmetric, so column-major storage is also the row-major order .npy expects
      write_npz(a.output, arrays);
    } catch (const NpzError& e) {
      throw KernelUserError{e.what()};
    }
  }
  // 5b. JSON: the scalars through nlohmann::json, the matrices appended by append_json_matrix
  if (as_json) {
    json j{{"ok", true},
           {"activation", phi_text},
           {"depth", a.depth},
           {"sw2", sw2},
           {"sb2", sb2},
           {"inputs", inputs.values.rows()},
           {"dimension", inputs.values.cols()},
           {"route", std::string(limits::route_name(r.route))},
           {"order", r.route == limits::Route::quadrature && r.order > 0 ? json(r.order) : json(nullptr)},
           {"spacing", r.spacing > 0 ? json(r.spacing) : json(nullptr)},
           {"nodes", r.route == limits::Route::quadrature ? json(r.nodes) : json(nullptr)},
           {"target_met", r.target_met},
           {"breakpoints", r.breakpoints},
           {"error", std::max(error_nngp, error_ntk)},
           {"error_nngp", error_nngp},
           {"error_ntk", error_ntk},
           {"error_nngp_layers", r.nngp_error},
           {"error_ntk_layers", r.ntk_error}};
    if (!a.output.empty()) j["output"] = a.output;
    std::string text = j.dump(2);
    text.pop_back();  // the closing brace
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (a.output.empty()) {
      text += ",\n  \"nngp\": ";
      append_json_matrix(text, r.output_nngp(), 2);
      text += ",\n  \"ntk\": ";
      append_json_matrix(text, r.output_ntk(), 2);
      if (a.all_layers) {
        text += ",\n  \"layers\": [";
        for (int l = 1; l <= layers; ++l) {
          const auto li = static_cast<std::size_t>(l - 1);
          text += (l > 1 ? ",\n    {" : "\n    {");
          text += "\n      \"layer\": " + std::to_string(l) + ",\n      \"error_nngp\": " + json(r.nngp_error[li]).dump() +
                  ",\n      \"error_ntk\": " + json(r.ntk_error[li]).dump() + ",\n      \"nngp\": ";
          append_json_matrix(text, nngp_of(l), 6);
          text += ",\n      \"ntk\": ";
          append_json_matrix(text, ntk_of(l), 6);
          text += "\n    }";
        }
        text += "\n  ]";
      }
    }
    text += "\n}\n";
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    return 0;
  }
  const auto n = inputs.values.rows();
  std::string text;
  text += "tpc kernel: MLP with phi(x) = " + phi_text + ", depth L = " + std::to_string(a.depth) + ", " +
          std::to_string(n) + " input" + (n == 1 ? "" : "s") + " in R^" + std::to_string(inputs.values.cols()) + " (" +
          source + ")\n";
  text += "sw2 = " + describe_list(sw2) + "; sb2 = " + describe_list(sb2) + "\n";
  text += "route: " + std::string(limits::route_name(r.route));
  if (r.route == limits::Route::quadrature) {
    std::ostringstream q;
    if (r.breakpoints.empty() && r.order == 0) {
      q << " (trapezoidal rule, spacing h = " << format_number(r.spacing) << " in the whitened variables, " << r.nodes
        << " nodes per entry; ";
    } else if (r.breakpoints.empty()) {
      q << " (Gauss-Hermite, order " << r.order << " per direction; ";
    } else {
      q << " (Gauss-Legendre panels split at the kinks x =";
      for (std::size_t b = 0; b < r.breakpoints.size(); ++b) q << (b ? ", " : " ") << r.breakpoints[b];
      q << ", " << r.order << " nodes per panel; ";
    }
    if (r.error_sample_pairs == 0) q << "diagonal by adaptive quadrature)";
    else
      q << "error estimate from "
        << (r.breakpoints.empty() && r.order == 0 ? "spacing h/1.5"
            : r.breakpoints.empty()               ? "order " + std::to_string(2 * r.order)
                                                  : std::to_string(2 * r.order) + " nodes")
        << " on " << r.error_sample_pairs << " pair"
        << (r.error_sample_pairs == 1 ? "" : "s") << ")";
    text += q.str();
  }
  text += "; max-abs error estimate: nngp " + short_number(error_nngp) + ", ntk " + short_number(error_ntk) + "\n";
  if (!r.target_met)
    text += "warning: the trapezoidal rule reached its node budget before its error estimate fell to 1e-10 (the "
            "variances are large); the estimate above is what it reached\n";
  if (!a.output.empty()) {
    text += "wrote " + a.output + ": nngp, ntk (" + std::to_string(n) + " x " + std::to_string(n) +
            ", the readout), error_nngp, error_ntk (per layer)" +
            (a.all_layers ? ", nngp_layer<l>, ntk_layer<l> for l = 1.." + std::to_string(layers) : std::string()) + "\n";
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    return 0;
  }
  for (int l = a.all_layers ? 1 : layers; l <= layers; ++l) {
    const auto li = static_cast<std::size_t>(l - 1);
    text += "\nNNGP K^" + std::to_string(l) + " (" + layer_name(l, a.depth) + ")";
    if (a.all_layers) text += ", error " + short_number(r.nngp_error[li]);
    text += "\n";
    print_matrix(text, nngp_of(l), r.nngp_error[li]);
    text += "\nNTK Theta^" + std::to_string(l) + " (" + layer_name(l, a.depth) + ")";
    if (a.all_layers) text += ", error " + short_number(r.ntk_error[li]);
    text += "\n";
    print_matrix(text, ntk_of(l), r.ntk_error[li]);
  }
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  (void)err;
  return 0;
}

}  // namespace

CLI::App* add_kernel_command(CLI::App& app, KernelArgs& args) {
  auto* sub = app.add_subcommand(
      "kernel", "the NNGP and NTK kernels of an MLP (NTK parametrization) on given inputs, in the infinite-width limit");
  sub->add_option("--act", args.act,
                  "activation: a function name (tanh, relu, erf, gelu, sigmoid, sin, cos, exp, identity, ...) or an "
                  "expression in x, e.g. \"x^3 - tanh(x)\"")
      ->required();
  sub->add_option("--depth", args.depth, "number of hidden layers L >= 1")->required();
  sub->add_option("--sw2", args.sw2, "weight variance sigma_w^2: one value, or L+1 comma-separated values (per layer)")
      ->default_val("1");
  sub->add_option("--sb2", args.sb2, "bias variance sigma_b^2: one value, or L+1 comma-separated values (per layer)")
      ->default_val("0");
  auto* file = sub->add_option("--inputs", args.inputs, "CSV file, one input x in R^d per row (header optional)");
  auto* inline_x = sub->add_option("--x", args.x, "inline inputs: rows separated by ';', e.g. \"1,0;0.5,0.5\"");
  file->excludes(inline_x);
  sub->add_option("--format", args.format, "output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  sub->add_flag("--all-layers", args.all_layers, "print the kernels of every layer, not only the readout");
  sub->add_option("--output", args.output,
                  "write the matrices to FILE.npz (NumPy archive: np.load(FILE)[\"nngp\"], [\"ntk\"], \"error_nngp\", "
                  "\"error_ntk\" per layer; with --all-layers also \"nngp_layer<l>\", \"ntk_layer<l>\") and print only a summary");
  sub->add_option("--order", args.order,
                  "smooth activations without a closed form: 0 = a 2-D trapezoidal rule whose spacing is refined until "
                  "the error estimate is at most 1e-10; K = the Gauss-Hermite rule of order K per direction "
                  "(activations with kinks, e.g. relu(x - 1), use Gauss-Legendre panels split at the kinks)")
      ->default_val(0);
  sub->add_flag("--no-closed-forms", args.no_closed_forms, "integrate by quadrature even when a closed form exists");
  sub->add_flag("--emit-program", args.emit_program,
                "print the network as a Tensor Program (.tp) whose outputs are the NNGP kernel, instead of computing");
  sub->add_option("--threads", args.threads, "worker threads (0 = all cores)")->check(non_negative_integer())->default_val(0);
  sub->add_option("--memory-budget", args.budget_gib,
                  "refuse input counts whose kernels need more memory than this many GiB (the route's matrices and "
                  "working space, the printed output and what tpc already holds)")
      ->check(positive_finite())
      ->default_val(8.0);
  return sub;
}

int run_kernel_command(const KernelArgs& args, std::ostream& out, std::ostream& err) {
  try {
    return run(args, out, err);
  } catch (const KernelUserError& e) {
    if (args.format == "json") out << json{{"ok", false}, {"error", e.message}}.dump(2) << "\n";
    else err << "tpc: error: " << e.message << "\n";
    return 1;
  }
}

}  // namespace tp::frontend
