// `tpc kernel` in process: text and JSON output on examples/kernel_inputs.csv, --emit-program, and one test
// per bad input (exit 1, one clear message, no result printed).
#include <unistd.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numbers>
#include <sstream>

#include "cli_runner.h"
#include "frontend/cli.h"
#include "frontend/npz_writer.h"
#include "frontend/sema.h"
#include "limits/resident_memory.h"

namespace {

using tp::testing::Run;
using tp::testing::tpc;

const std::string inputs_csv = std::string(TPC_SOURCE_DIR) + "/examples/kernel_inputs.csv";

/// Runs `tpc kernel` with args; expects exit 1, nothing on stdout and a message containing `message`.
void expect_user_error(std::vector<std::string> args, const std::string& message) {
  args.insert(args.begin(), "kernel");
  const Run r = tpc(args);
  CAPTURE(r.err);
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("tpc kernel prints the readout's NNGP and NTK with labels, route and error estimate") {
  const Run r = tpc({"kernel", "--act", "relu", "--depth", "3", "--sw2", "2", "--sb2", "0.1", "--inputs", inputs_csv});
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("phi(x) = relu(x), depth L = 3, 4 inputs in R^3") != std::string::npos);
  CHECK(r.out.find("route: closed_form") != std::string::npos);
  CHECK(r.out.find("NNGP K^4 (f = h^4, the readout)") != std::string::npos);
  CHECK(r.out.find("NTK Theta^4") != std::string::npos);
  // K^l(x1,x1) for |x1|^2/d = 1: 2·1 + 0.1 = 2.1, then K ↦ 2·K/2 + 0.1 three times = 2.4
  CHECK(r.out.find("x1  2.4000000000") != std::string::npos);
  // Θ: 2.1, 2.2 + 2.1, 2.3 + 4.3, 2.4 + 6.6 = 9
  CHECK(r.out.find("9.0000000000") != std::string::npos);
}

TEST_CASE("tpc kernel --format json has ok, route, N x N matrices and errors; --all-layers adds every layer") {
  const Run r = tpc({"kernel", "--act", "tanh", "--depth", "2", "--sw2", "1.5", "--sb2", "0.1", "--inputs", inputs_csv,
                     "--format", "json", "--all-layers"});
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == true);
  CHECK(j["route"] == "quadrature");
  CHECK(j["order"].is_null());  // the trapezoidal rule, refined to 1e-10
  CHECK(j["spacing"].get<double>() > 0);
  CHECK(j["activation"] == "tanh(x)");
  CHECK(j["inputs"] == 4);
  CHECK(j["dimension"] == 3);
  REQUIRE(j["nngp"].size() == 4);
  REQUIRE(j["nngp"][0].size() == 4);
  REQUIRE(j["ntk"].size() == 4);
  CHECK(j["error"].get<double>() < 1e-10);
  CHECK(j["error"].get<double>() >= j["error_nngp"].get<double>());
  REQUIRE(j["layers"].size() == 3);
  CHECK(j["layers"][0]["layer"] == 1);
  CHECK(j["layers"][2]["nngp"] == j["nngp"]);
  CHECK(j["layers"][2]["ntk"] == j["ntk"]);
  // symmetric, NTK ≥ NNGP on the diagonal
  for (int a = 0; a < 4; ++a) {
    CHECK(j["ntk"][a][a].get<double>() > j["nngp"][a][a].get<double>());
    for (int b = 0; b < 4; ++b) CHECK(j["nngp"][a][b] == j["nngp"][b][a]);
  }
  const Run plain = tpc({"kernel", "--act", "tanh", "--depth", "2", "--inputs", inputs_csv, "--format", "json"});
  CHECK(!nlohmann::json::parse(plain.out).contains("layers"));
}

TEST_CASE("tpc kernel takes inline inputs and expressions in x; the known relu value comes out") {
  const Run r = tpc({"kernel", "--act", "relu", "--depth", "1", "--sw2", "2", "--sb2", "0", "--x", "1,0;0,1",
                     "--format", "json"});
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["nngp"][0][1].get<double>() == doctest::Approx(1 / std::numbers::pi).epsilon(1e-15));
  const Run e = tpc({"kernel", "--act", "x^3 - tanh(x)", "--depth", "2", "--x", "1,0;0.5,0.5", "--order", "64"});
  CHECK(e.code == 0);
  CHECK(e.out.find("phi(x) = x^3 - tanh(x)") != std::string::npos);
  CHECK(e.out.find("order 64") != std::string::npos);
  const Run per_layer = tpc({"kernel", "--act", "erf", "--depth", "2", "--sw2", "1,2,0.5", "--sb2", "0,0.1,0.2",
                             "--x", "1;2"});
  CHECK(per_layer.code == 0);
  CHECK(per_layer.out.find("sw2 = 1, 2, 0.5 (layers 1..3)") != std::string::npos);
}

TEST_CASE("tpc kernel: leaky relu is a closed form, relu(x - 1) is split at its kink (issue 13.1)") {
  // leaky relu at depth 1 on orthogonal unit inputs, sw2 = 1, sb2 = 0: E φ(u)φ(v) = (P J1(π/2) + Q h(π/2))/(2π)
  // with P = 1.01, Q = −0.2, J1(π/2) = h(π/2) = 1: (1.01 − 0.2)/(2π); Gauss–Hermite gave 0.25916 ± 6.7e−4 here (off by 1.3e−3).
  const Run r = tpc({"kernel", "--act", "relu(x) - 0.1*relu(-x)", "--depth", "1", "--sw2", "2", "--x", "1,0;0,1",
                     "--format", "json"});
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["route"] == "closed_form");
  CHECK(std::abs(j["nngp"][0][1].get<double>() - 2 * 0.81 / (2 * std::numbers::pi)) <= j["error_nngp"].get<double>());
  const Run k = tpc({"kernel", "--act", "relu(x - 1)", "--depth", "1", "--x", "1,0;0,1"});
  CHECK(k.code == 0);
  CHECK(k.out.find("Gauss-Legendre panels split at the kinks x = 1, 48 nodes per panel") != std::string::npos);
}

TEST_CASE("tpc kernel --emit-program prints a Tensor Program that compiles") {
  const Run r = tpc({"kernel", "--act", "tanh", "--depth", "3", "--sw2", "1.5", "--sb2", "0.1", "--inputs", inputs_csv,
                     "--emit-program"});
  REQUIRE(r.code == 0);
  tp::frontend::DiagnosticEngine diags;
  const auto p = tp::frontend::compile_source(r.out, diags);
  REQUIRE_MESSAGE(p, r.out);
  CHECK(p->outputs().size() == 10);
  CHECK(p->find("W_3") >= 0);
  CHECK(r.out.find("output K_1_2 = avg(1.5 * tanh(h_3_1) * tanh(h_3_2)) + 0.1") != std::string::npos);
}

TEST_CASE("bad activations exit 1 with an --act message") {
  expect_user_error({"--act", "x^3 - tanh(y)", "--depth", "2", "--x", "1"},
                    "--act: use of undefined name 'y'; did you mean 'x'?");
  expect_user_error({"--act", "tanh(", "--depth", "2", "--x", "1"}, "--act: expected an expression");
  expect_user_error({"--act", "2", "--depth", "2", "--x", "1"}, "--act: ");
  expect_user_error({"--act", "avg(x) * x", "--depth", "2", "--x", "1"}, "--act: 'avg(x) * x' is not a function of x");
  expect_user_error({"--act", "x; matrix W ~ N(0, 1/n)", "--depth", "2", "--x", "1"},
                    "--act: an activation is one expression in x on one line");
  expect_user_error({"--act", "frobnicate", "--depth", "2", "--x", "1"}, "--act: use of undefined name 'frobnicate'");
}

TEST_CASE("a divergent Gaussian expectation exits 1 and names the layer") {
  expect_user_error({"--act", "exp(x^2)", "--depth", "2", "--x", "1,0;0,1"},
                    "--act exp(x^2): the kernel of layer 2 diverges");
  const Run j = tpc({"kernel", "--act", "exp(x^2)", "--depth", "2", "--x", "1,0;0,1", "--format", "json"});
  CHECK(j.code == 1);
  const auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["ok"] == false);
  CHECK(parsed["error"].get<std::string>().find("diverges") != std::string::npos);
}

TEST_CASE("bad depth, variances and inputs exit 1 with a message naming the flag") {
  expect_user_error({"--act", "tanh", "--depth", "0", "--x", "1"}, "--depth must be at least 1");
  expect_user_error({"--act", "tanh", "--depth", "3", "--sw2", "1,2", "--x", "1"},
                    "--sw2 has 2 values, but --depth 3 needs 1 (the same in every layer) or 4");
  expect_user_error({"--act", "tanh", "--depth", "1", "--sb2", "1,2,3", "--x", "1"}, "--sb2 has 3 values");
  expect_user_error({"--act", "tanh", "--depth", "2", "--sw2", "-1", "--x", "1"},
                    "--sw2: value 1 is -1, but a variance must be a finite number >= 0");
  expect_user_error({"--act", "tanh", "--depth", "2", "--sb2", "0.1,abc,0", "--x", "1"}, "--sb2: 'abc' is not a number");
  expect_user_error({"--act", "tanh", "--depth", "2", "--sw2", "inf", "--x", "1"}, "a variance must be a finite number");
  expect_user_error({"--act", "tanh", "--depth", "2", "--x", "1,nan"}, "--x: row 1: non-finite value 'nan' in column 2");
  expect_user_error({"--act", "tanh", "--depth", "2", "--x", "1,2;3"},
                    "--x: row 2: expected 2 columns (as in row 1) but found 1");
  expect_user_error({"--act", "tanh", "--depth", "2", "--inputs", "/nonexistent/x.csv"},
                    "/nonexistent/x.csv: cannot read the file");
  expect_user_error({"--act", "tanh", "--depth", "2"}, "give the inputs either with --inputs");
  expect_user_error({"--act", "tanh", "--depth", "2", "--x", "1", "--order", "1"}, "a Gauss-Hermite order between 2 and 256");
  const auto empty = std::filesystem::temp_directory_path() / ("tpc_test_kernel_empty_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(empty) << "# nothing here\n";
  expect_user_error({"--act", "tanh", "--depth", "2", "--inputs", empty.string()}, "no data");
  const auto ragged = std::filesystem::temp_directory_path() / ("tpc_test_kernel_ragged_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(ragged) << "1,2\n3,4\n5\n";
  expect_user_error({"--act", "tanh", "--depth", "2", "--inputs", ragged.string()},
                    ragged.filename().string() + ":3: expected 2 columns (as in line 1) but found 1");
  std::filesystem::remove(empty);
  std::filesystem::remove(ragged);
  const Run both = tpc({"kernel", "--act", "tanh", "--depth", "2", "--x", "1", "--inputs", inputs_csv});
  CHECK(both.code == 1);
  const Run no_act = tpc({"kernel", "--depth", "2", "--x", "1"});
  CHECK(no_act.code == 1);
  CHECK(no_act.err.find("--act") != std::string::npos);
}

TEST_CASE("npy_header: the NumPy 1.0 header of a float64 array, data aligned to 64 bytes") {
  const std::string h = tp::frontend::npy_header({2, 3});
  CHECK(h.rfind(std::string("\x93NUMPY\x01\x00", 8), 0) == 0);
  CHECK(h.size() % 64 == 0);
  CHECK(static_cast<unsigned char>(h[8]) + 256 * static_cast<unsigned char>(h[9]) == h.size() - 10);
  CHECK(h.find("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }") == 10);
  CHECK(h.back() == '\n');
  CHECK(tp::frontend::npy_header({5}).find("'shape': (5,), }") != std::string::npos);
  CHECK(tp::frontend::npy_header({}).find("'shape': (), }") != std::string::npos);
}

TEST_CASE("tpc kernel --output K.npz writes a zip of .npy arrays and prints a summary; other names are refused") {
  const std::string path = std::filesystem::temp_directory_path() / ("tpc_kernel_test_output_" + std::to_string(::getpid()) + ".npz");
  const Run r = tpc({"kernel", "--act", "relu", "--depth", "3", "--sw2", "2", "--sb2", "0.1", "--inputs", inputs_csv,
                     "--output", path});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("wrote " + path + ": nngp, ntk (4 x 4, the readout)") != std::string::npos);
  CHECK(r.out.find("NNGP K^4") == std::string::npos);  // the matrices are in the file only
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(bytes.rfind("PK\x03\x04", 0) == 0);
  for (const char* name : {"nngp.npy", "ntk.npy", "error_nngp.npy", "error_ntk.npy"})
    CHECK(bytes.find(name) != std::string::npos);
  CHECK(bytes.find("'shape': (4, 4), }") != std::string::npos);
  CHECK(bytes.find("'shape': (4,), }") != std::string::npos);
  std::filesystem::remove(path);
  expect_user_error({"--act", "relu", "--depth", "2", "--x", "1", "--output", "K.txt"}, "must end in .npz");
  expect_user_error({"--act", "relu", "--depth", "2", "--x", "1", "--output", "/nonexistent-dir/K.npz"}, "--output /nonexistent-dir/K.npz");
}

namespace {

/// CRC-32 (ISO 3309, as zip uses), bit by bit: an independent check of the archive's checksums.
std::uint32_t crc32_of(const unsigned char* p, std::size_t n) {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int b = 0; b < 8; ++b) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::uint32_t le32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int b = 3; b >= 0; --b) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(b)]);
  return v;
}

}  // namespace

TEST_CASE("write_npz: a 3 MB array goes through several write buffers; its local header carries size and CRC of the data") {
  const std::string path = std::filesystem::temp_directory_path() / ("tpc_npz_big_" + std::to_string(::getpid()) + ".npz");
  std::vector<double> values(400000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.001 * static_cast<double>(i)) * 1e3;
  const double small[3] = {1.5, -2.0, 3.25};
  tp::frontend::write_npz(path, {{"big", {400, 1000}, values.data()}, {"small", {3}, small}});
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  REQUIRE(bytes.size() > 3200000);
  REQUIRE(bytes.rfind("PK\x03\x04", 0) == 0);
  const std::size_t name_len = static_cast<unsigned char>(bytes[26]) | static_cast<std::size_t>(static_cast<unsigned char>(bytes[27])) << 8;
  const std::size_t extra_len = static_cast<unsigned char>(bytes[28]) | static_cast<std::size_t>(static_cast<unsigned char>(bytes[29])) << 8;
  CHECK(bytes.substr(30, name_len) == "big.npy");
  const std::size_t data = 30 + name_len + extra_len;
  const std::string header = tp::frontend::npy_header({400, 1000});
  const std::size_t size = header.size() + values.size() * sizeof(double);
  CHECK(le32(bytes, 22) == size);  // uncompressed size (stored: the same as compressed)
  CHECK(le32(bytes, 18) == size);
  REQUIRE(bytes.size() > data + size);
  CHECK(bytes.compare(data, header.size(), header) == 0);
  CHECK(std::memcmp(bytes.data() + data + header.size(), values.data(), values.size() * sizeof(double)) == 0);
  CHECK(le32(bytes, 14) == crc32_of(reinterpret_cast<const unsigned char*>(bytes.data() + data), size));
  CHECK(bytes.find("small.npy") != std::string::npos);
}

TEST_CASE("write_npz: a device that fills up is reported with its cause, and no half-written archive is left") {
  if (!std::filesystem::exists("/dev/full")) return;
  const auto link = std::filesystem::temp_directory_path() / ("tpc_npz_full_" + std::to_string(::getpid()) + ".npz");
  std::filesystem::remove(link);
  std::filesystem::create_symlink("/dev/full", link);
  std::vector<double> values(300000, 1.0);  // more than one 1 MiB write buffer
  std::string message;
  try {
    tp::frontend::write_npz(link.string(), {{"a", {300000}, values.data()}});
  } catch (const tp::frontend::NpzError& e) {
    message = e.what();
  }
  CHECK(message.find("--output " + link.string() + ": cannot write the file") != std::string::npos);
  CHECK(message.find("No space left on device") != std::string::npos);
  CHECK(!std::filesystem::is_symlink(link));
  std::filesystem::remove(link);
}

TEST_CASE("tpc kernel --memory-budget counts what tpc holds plus what the route needs: 16 bytes per entry for relu, "
          "every layer for erf") {
  const double mib = 1048576.0, gib = 1024 * mib;
  auto budget = [&](double extra_mib) { return std::to_string((tp::limits::resident_bytes() + extra_mib * mib) / gib); };
  std::string x;  // inputs in R^1
  for (int i = 0; i < 1000; ++i) x += (i ? ";" : "") + std::to_string(0.5 + 0.001 * i);
  const auto npz = std::filesystem::temp_directory_path() / ("tpc_test_kernel_budget_" + std::to_string(::getpid()) + ".npz");
  // relu, N = 1000: K and Θ in place are 16 MB (the former estimate, 80 bytes per entry, said 80 MB)
  const Run relu = tpc({"kernel", "--act", "relu", "--depth", "2", "--x", x, "--output", npz.string(), "--memory-budget",
                        budget(40)});
  CHECK(relu.code == 0);
  CHECK(relu.err == "");
  std::filesystem::remove(npz);
  // erf, N = 300, depth 10: the layer-by-layer route holds all 11 layers' K and Θ, 16 MB, and the text 4 MB (the
  // former estimate, 80 bytes per entry and the text, said 11 MB and did not count the process)
  std::string y;
  for (int i = 0; i < 300; ++i) y += (i ? ";" : "") + std::to_string(0.5 + 0.001 * i);
  const Run erf = tpc({"kernel", "--act", "erf", "--depth", "10", "--x", y, "--memory-budget", budget(12)});
  CHECK(erf.code == 1);
  CHECK(erf.out == "");
  CHECK(erf.err.find("need about") != std::string::npos);
  CHECK(erf.err.find("what tpc holds already") != std::string::npos);
  CHECK(tpc({"kernel", "--act", "erf", "--depth", "10", "--x", y, "--memory-budget", budget(40)}).code == 0);
}
