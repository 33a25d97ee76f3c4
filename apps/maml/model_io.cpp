// See model_io.h.
#include "apps/maml/model_io.h"

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "apps/maml/maml_error.h"

namespace tp::maml {

namespace {

constexpr const char* kMagic = "tpc-maml-model 1";

void write_matrix(std::ostream& os, const Eigen::MatrixXd& m) {
  const std::int64_t dims[2] = {m.rows(), m.cols()};
  os.write(reinterpret_cast<const char*>(dims), sizeof dims);
  os.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(sizeof(double) * m.size()));
}

Eigen::MatrixXd read_matrix(std::istream& is, const std::string& path) {
  std::int64_t dims[2] = {0, 0};
  is.read(reinterpret_cast<char*>(dims), sizeof dims);
  if (!is || dims[0] < 0 || dims[1] < 0 || dims[0] > (1 << 24) || dims[1] > (1 << 24))
    throw MamlError(fmt::format("{}: truncated or corrupt model file (bad matrix header)", path));
  Eigen::MatrixXd m(dims[0], dims[1]);
  is.read(reinterpret_cast<char*>(m.data()), static_cast<std::streamsize>(sizeof(double) * m.size()));
  if (!is) throw MamlError(fmt::format("{}: truncated model file", path));
  return m;
}

std::string family_name(ModelFamily f) {
  switch (f) {
    case ModelFamily::finite: return "finite";
    case ModelFamily::limit: return "limit";
    case ModelFamily::kernel: return "kernel";
  }
  return "?";
}

}  // namespace

void save_model(const std::string& path, const TrainedModel& model) {
  std::ofstream os(path, std::ios::binary);
  if (!os) throw MamlError(fmt::format("{}: cannot open for writing", path));
  const auto& c = model.config;
  Eigen::Index d = 0, d_out = 0;
  std::vector<Eigen::MatrixXd> mats;
  if (model.net) {
    d = model.net->input_dim();
    d_out = model.net->output_dim();
    mats = {model.net->u, model.net->beta, model.net->v};
  } else {
    d = model.kernel->input_dim();
    d_out = model.kernel->output_dim();
    mats = model.kernel->state();
  }
  os << kMagic << "\n"
     << "family " << family_name(c.family) << "\nwidth " << c.width << "\nkernel " << kernel_kind_name(c.kernel)
     << fmt::format("\nsigma_u {:.17g}\nsigma_v {:.17g}\nalpha {:.17g}\nsigma_b {:.17g}\nmeta_lr {:.17g}\n", c.hyper.sigma_u,
                    c.hyper.sigma_v, c.hyper.alpha, c.sigma_b, c.meta_lr)
     << "meta_steps " << model.meta_steps << "\ninput_dim " << d << "\noutput_dim " << d_out << "\nmatrices " << mats.size()
     << "\nend\n";
  for (const auto& m : mats) write_matrix(os, m);
  if (!os) throw MamlError(fmt::format("{}: write failed", path));
}

TrainedModel load_model(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  if (!is) throw MamlError(fmt::format("{}: cannot open the model file (write one with 'tpc maml train --out')", path));
  std::string line;
  if (!std::getline(is, line) || line != kMagic) throw MamlError(fmt::format("{}: not a tpc maml model file", path));
  std::map<std::string, std::string> kv;
  while (std::getline(is, line) && line != "end") {
    std::istringstream ls(line);
    std::string k, v;
    ls >> k >> v;
    kv[k] = v;
  }
  auto get = [&](const std::string& k) {
    auto it = kv.find(k);
    if (it == kv.end()) throw MamlError(fmt::format("{}: model header lacks '{}'", path, k));
    return it->second;
  };
  try {
    ModelConfig c;
    const std::string fam = get("family");
    c.family = fam == "finite" ? ModelFamily::finite : fam == "limit" ? ModelFamily::limit : ModelFamily::kernel;
    if (fam != "finite" && fam != "limit" && fam != "kernel") throw MamlError(fmt::format("{}: unknown model family '{}'", path, fam));
    c.width = std::stol(get("width"));
    if (!parse_kernel_kind(get("kernel"), c.kernel)) throw MamlError(fmt::format("{}: unknown kernel '{}'", path, get("kernel")));
    c.hyper = {std::stod(get("sigma_u")), std::stod(get("sigma_v")), std::stod(get("alpha"))};
    c.sigma_b = std::stod(get("sigma_b"));
    c.meta_lr = std::stod(get("meta_lr"));
    const Eigen::Index d = std::stol(get("input_dim")), d_out = std::stol(get("output_dim"));
    const long count = std::stol(get("matrices"));
    if (count < 0 || count > 8) throw MamlError(fmt::format("{}: corrupt header (matrices {})", path, count));
    std::vector<Eigen::MatrixXd> mats;
    for (long i = 0; i < count; ++i) mats.push_back(read_matrix(is, path));
    TrainedModel m;
    m.config = c;
    m.meta_steps = std::stoul(get("meta_steps"));
    if (c.family == ModelFamily::kernel) {
      m.kernel.emplace(KernelSpec{c.kernel, c.hyper.sigma_u, c.hyper.sigma_v, c.sigma_b}, d, d_out);
      m.kernel->restore(mats);
    } else {
      if (mats.size() != 3 || mats[0].cols() != d || mats[2].rows() != d_out || mats[0].rows() != mats[2].cols() ||
          mats[1].size() != mats[0].rows())
        throw MamlError(fmt::format("{}: the network's matrices do not fit together", path));
      LinearNet net;
      net.u = mats[0];
      net.beta = Eigen::Map<const Eigen::VectorXd>(mats[1].data(), mats[1].size());
      net.v = mats[2];
      net.alpha = c.hyper.alpha;
      m.net = std::move(net);
    }
    return m;
  } catch (const std::logic_error& e) {  // std::stol / stod on a corrupt header
    if (dynamic_cast<const MamlError*>(&e)) throw;
    throw MamlError(fmt::format("{}: corrupt model header ({})", path, e.what()));
  }
}

}  // namespace tp::maml
