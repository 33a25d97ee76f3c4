// `tpc kernel`; the steps are listed in kernel_command.h.
#include "frontend/kernel_command.h"
#include "frontend/flag_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "frontend/activation.h"
#include "limits/csv_matrix.h"
#include "limits/gauss_hermite.h"
#include "limits/gaussian_expectation.h"
#include "limits/mlp_kernel.h"
#include "limits/mlp_program.h"
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

json matrix_json(const Eigen::MatrixXd& m) {
  json rows = json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    json row = json::array();
    for (Eigen::Index j = 0; j < m.cols(); ++j) row.push_back(m(i, j));
    rows.push_back(std::move(row));
  }
  return rows;
}

/// Decimal places worth printing for numbers with this absolute error (3..10).
int places_for(double error) {
  if (!(error > 0)) return 10;
  return std::clamp(static_cast<int>(std::floor(-std::log10(error))), 3, 10);
}

std::string format_entry(double v, int places, bool scientific) {
  char buf[64];
  if (scientific) std::snprintf(buf, sizeof buf, "%.9e", v);
  else std::snprintf(buf, sizeof buf, "%.*f", places, v);
  return buf;
}

void print_matrix(std::ostream& out, const Eigen::MatrixXd& m, double error) {
  const double big = m.cwiseAbs().maxCoeff();
  const bool scientific = big >= 1e6;
  const int places = places_for(error);
  std::vector<std::string> cells;
  std::size_t width = 0;
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      cells.push_back(format_entry(m(i, j), places, scientific));
      width = std::max(width, cells.back().size());
    }
  const std::size_t label_width = std::to_string(m.rows()).size() + 1;
  auto pad = [](const std::string& s, std::size_t w) { return std::string(w > s.size() ? w - s.size() : 0, ' ') + s; };
  out << std::string(label_width, ' ');
  for (Eigen::Index j = 0; j < m.cols(); ++j) out << "  " << pad("x" + std::to_string(j + 1), width);
  out << "\n";
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    const std::string label = "x" + std::to_string(i + 1);
    out << label << std::string(label_width - label.size(), ' ');
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      out << "  " << pad(cells[static_cast<std::size_t>(i * m.cols() + j)], width);
    out << "\n";
  }
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
  if (order < 2 || 2 * order > limits::max_gauss_hermite_order)
    throw KernelUserError{"--order must be between 2 and " + std::to_string(limits::max_gauss_hermite_order / 2) +
                          " (the error estimate uses twice the order), got " + std::to_string(a.order)};
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
  // 4b. the kernels, if they fit: NNGP and NTK of every layer (N×N doubles) and about 64 bytes per entry of
  // working and output matrices (measured), the univariate caches of the quadrature route (about order²/4
  // nodes × N, two of them) and, for JSON, every printed number (about 32 bytes each, measured).
  {
    const double N = static_cast<double>(inputs.values.rows()), gib = 1024.0 * 1024.0 * 1024.0;
    const double need = (16.0 * (a.depth + 1) + 64.0) * N * N + 4.0 * order * order * N +
                        (as_json ? 64.0 : 0.0) * N * N * (a.all_layers ? a.depth + 1 : 1);
    if (need > a.budget_gib * gib)
      throw KernelUserError{std::to_string(inputs.values.rows()) + " inputs at depth " + std::to_string(a.depth) +
                            " need about " + format_number(std::ceil(need / gib * 10) / 10) +
                            " GiB (NNGP and NTK matrices of every layer, N x N doubles), over the memory budget of " +
                            format_number(a.budget_gib) + " GiB; pass fewer inputs or use --memory-budget " +
                            format_number(std::ceil(need / gib))};
  }
  limits::MlpKernelOptions options;
  options.use_closed_forms = !a.no_closed_forms;
  options.order = order;
  options.threads = a.threads;
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
  // 5. print
  if (as_json) {
    json j{{"ok", true},
           {"activation", phi_text},
           {"depth", a.depth},
           {"sw2", sw2},
           {"sb2", sb2},
           {"inputs", inputs.values.rows()},
           {"dimension", inputs.values.cols()},
           {"route", std::string(limits::route_name(r.route))},
           {"order", r.route == limits::Route::quadrature ? json(r.order) : json(nullptr)},
           {"breakpoints", r.breakpoints},
           {"nngp", matrix_json(r.output_nngp())},
           {"ntk", matrix_json(r.output_ntk())},
           {"error", std::max(error_nngp, error_ntk)},
           {"error_nngp", error_nngp},
           {"error_ntk", error_ntk}};
    if (a.all_layers) {
      json all = json::array();
      for (int l = 1; l <= layers; ++l) {
        const auto li = static_cast<std::size_t>(l - 1);
        all.push_back({{"layer", l},
                       {"nngp", matrix_json(r.nngp[li])},
                       {"ntk", matrix_json(r.ntk[li])},
                       {"error_nngp", r.nngp_error[li]},
                       {"error_ntk", r.ntk_error[li]}});
      }
      j["layers"] = std::move(all);
    }
    out << j.dump(2) << "\n";
    return 0;
  }
  const auto n = inputs.values.rows();
  out << "tpc kernel: MLP with phi(x) = " << phi_text << ", depth L = " << a.depth << ", " << n << " input"
      << (n == 1 ? "" : "s") << " in R^" << inputs.values.cols() << " (" << source << ")\n";
  out << "sw2 = " << describe_list(sw2) << "; sb2 = " << describe_list(sb2) << "\n";
  out << "route: " << limits::route_name(r.route);
  if (r.route == limits::Route::quadrature) {
    if (r.breakpoints.empty()) {
      out << " (Gauss-Hermite, order " << r.order << " per direction; ";
    } else {
      out << " (Gauss-Legendre panels split at the kinks x =";
      for (std::size_t b = 0; b < r.breakpoints.size(); ++b) out << (b ? ", " : " ") << r.breakpoints[b];
      out << ", " << r.order << " nodes per panel; ";
    }
    if (r.error_sample_pairs == 0) out << "diagonal by adaptive quadrature)";
    else
      out << "error estimate from " << (r.breakpoints.empty() ? "order " : "") << 2 * r.order
          << (r.breakpoints.empty() ? "" : " nodes") << " on " << r.error_sample_pairs << " pair"
          << (r.error_sample_pairs == 1 ? "" : "s") << ")";
  }
  out << "; max-abs error estimate: nngp " << short_number(error_nngp) << ", ntk " << short_number(error_ntk)
      << "\n";
  for (int l = a.all_layers ? 1 : layers; l <= layers; ++l) {
    const auto li = static_cast<std::size_t>(l - 1);
    out << "\nNNGP K^" << l << " (" << layer_name(l, a.depth) << ")";
    if (a.all_layers) out << ", error " << short_number(r.nngp_error[li]);
    out << "\n";
    print_matrix(out, r.nngp[li], r.nngp_error[li]);
    out << "\nNTK Theta^" << l << " (" << layer_name(l, a.depth) << ")";
    if (a.all_layers) out << ", error " << short_number(r.ntk_error[li]);
    out << "\n";
    print_matrix(out, r.ntk[li], r.ntk_error[li]);
  }
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
  sub->add_option("--order", args.order, "Gauss-Hermite order per direction for smooth activations without a closed form (activations with kinks, e.g. relu(x - 1), use Gauss-Legendre panels split at the kinks)")
      ->default_val(limits::default_mlp_quadrature_order);
  sub->add_flag("--no-closed-forms", args.no_closed_forms, "integrate by quadrature even when a closed form exists");
  sub->add_flag("--emit-program", args.emit_program,
                "print the network as a Tensor Program (.tp) whose outputs are the NNGP kernel, instead of computing");
  sub->add_option("--threads", args.threads, "worker threads (0 = all cores)")->check(non_negative_integer())->default_val(0);
  sub->add_option("--memory-budget", args.budget_gib, "refuse input counts whose kernels need more memory than this many GiB")
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
