// See emit_program.h. Steps: 1. tokenize the tiny corpus (min-count 1); 2. train the µP limit in double
// with the recorder on; 3. replay the recorded steps symbolically, one SSA name per new vector version;
// 4. list the outputs and take their values from the recorded logits and the final coefficient rows.
#include "apps/word2vec/emit_program.h"

#include <fmt/format.h>

#include "apps/word2vec/corpus.h"
#include "apps/word2vec/embedding_model.h"
#include "apps/word2vec/errors.h"
#include "apps/word2vec/row_kernels.h"

namespace tp::word2vec {

namespace {

std::string num(double x) { return fmt::format("{:.17g}", x); }

}  // namespace

EmittedProgram emit_program(const EmitOptions& o) {
  if (o.steps < 1 || o.steps > 1000) throw OptionError(fmt::format("--steps {} is out of range; give 1 to 1000", o.steps));
  if (!(o.sigma_u > 0)) throw OptionError(fmt::format("--sigma-u {} must be > 0", o.sigma_u));
  if (!(o.sigma_v >= 0)) throw OptionError(fmt::format("--sigma-v {} must be >= 0", o.sigma_v));
  CorpusOptions co;
  co.min_count = 1;
  co.window = o.window;
  const Corpus corpus = corpus_from_text(o.text, co, "<emit-program corpus>");
  ModelSpec spec;
  spec.vocab = corpus.vocab.size();
  spec.sigma_u = o.sigma_u;
  spec.sigma_v = o.sigma_v;
  auto model = make_model<double>(spec);
  TrainOptions to;
  to.window = o.window;
  to.negatives = o.negatives;
  to.sample = o.sample;
  to.lr = o.lr;
  to.weight_decay = o.weight_decay;
  to.epochs = 10000;
  to.threads = 1;
  to.seed = o.seed;
  EmittedProgram out;
  TrainHooks hooks;
  hooks.record = &out.steps;
  hooks.max_steps = o.steps;
  train(model, corpus, to, hooks);
  out.vocab = corpus.vocab;
  const std::size_t V = corpus.vocab.size();

  // 3. the program
  std::string p;
  auto line = [&p](const std::string& s) { p += s + "\n"; };
  line("# tpc word2vec emit-program: the first " + std::to_string(out.steps.size()) +
       " CBOW negative-sampling updates of word2vec in muP (TP4 §9.3, Eq. 38),");
  line("# as a NETSOR-T program. U_w = sqrt(n) * (input embedding), V_w = sqrt(n) * (output embedding).");
  line(fmt::format("# corpus: \"{}\"; lr {}, weight decay {}, window {}, negatives {}, seed {}", o.text, num(o.lr),
                   num(o.weight_decay), o.window, o.negatives, o.seed));
  std::string vocab_line = "# vocabulary:";
  for (std::size_t w = 0; w < V; ++w) vocab_line += fmt::format(" {}={}", w, corpus.vocab.words[w]);
  line(vocab_line);
  std::vector<std::string> u(V), v(V);
  std::vector<int> u_version(V, 0), v_version(V, 0);
  std::string inputs;
  for (std::size_t w = 0; w < V; ++w) inputs += (w ? ", u" : "u") + std::to_string(w);
  line(fmt::format("input {} ~ N(0, {})", inputs, num(o.sigma_u * o.sigma_u)));
  for (std::size_t w = 0; w < V; ++w) u[w] = "u" + std::to_string(w);
  if (o.sigma_v > 0) {
    std::string vin;
    for (std::size_t w = 0; w < V; ++w) vin += (w ? ", v" : "v") + std::to_string(w);
    line(fmt::format("input {} ~ N(0, {})", vin, num(o.sigma_v * o.sigma_v)));
    for (std::size_t w = 0; w < V; ++w) v[w] = "v" + std::to_string(w);
  }
  std::vector<std::string> outputs;
  std::vector<double> values;
  for (std::size_t k = 0; k < out.steps.size(); ++k) {
    const RecordedStep& s = out.steps[k];
    const std::size_t K = k + 1;
    std::string ctx, negs;
    for (auto c : s.context) ctx += (ctx.empty() ? "" : " ") + corpus.vocab.words[static_cast<std::size_t>(c)];
    for (auto c : s.negatives) negs += (negs.empty() ? "" : " ") + corpus.vocab.words[static_cast<std::size_t>(c)];
    line(fmt::format("# step {}: target '{}', context [{}], negatives [{}], lr {}", K,
                     corpus.vocab.words[static_cast<std::size_t>(s.target)], ctx, negs, num(s.lr)));
    std::string hsum;
    for (auto c : s.context) hsum += (hsum.empty() ? "" : " + ") + u[static_cast<std::size_t>(c)];
    const std::string h = fmt::format("h{}", K);
    line(fmt::format("{} = ({}) * {}", h, hsum, num(1.0 / static_cast<double>(s.context.size()))));
    const double decay = 1.0 - s.lr * o.weight_decay;
    std::string e;
    std::size_t logit = 0;
    for (int d = -1; d < static_cast<int>(s.negatives.size()); ++d) {
      const std::int32_t t = d < 0 ? s.target : s.negatives[static_cast<std::size_t>(d)];
      if (d >= 0 && t == s.target) continue;
      const auto tw = static_cast<std::size_t>(t);
      const double label = d < 0 ? 1.0 : 0.0;
      const std::string g = fmt::format("g{}_{}", K, logit);
      const std::string old_v = v[tw];
      if (old_v.empty()) {
        line(fmt::format("{} = {} * ({} - sigmoid(0))", g, num(s.lr), num(label)));
      } else {
        const std::string f = fmt::format("f{}_{}", K, logit);
        line(fmt::format("{} = avg({} * {})", f, h, old_v));
        line(fmt::format("{} = {} * ({} - sigmoid({}))", g, num(s.lr), num(label), f));
        outputs.push_back(f);
        values.push_back(s.logits[logit]);
        e += (e.empty() ? "" : " + ") + g + " * " + old_v;
      }
      const std::string new_v = fmt::format("v{}_{}", tw, ++v_version[tw]);
      if (old_v.empty()) line(fmt::format("{} = {} * {}", new_v, g, h));
      else line(fmt::format("{} = {} * {} + {} * {}", new_v, num(decay), old_v, g, h));
      v[tw] = new_v;
      ++logit;
    }
    std::string e_name;
    if (!e.empty()) {
      e_name = fmt::format("e{}", K);
      line(fmt::format("{} = {}", e_name, e));
    }
    for (auto c : s.context) {
      const auto cw = static_cast<std::size_t>(c);
      const std::string new_u = fmt::format("u{}_{}", cw, ++u_version[cw]);
      if (e_name.empty()) line(fmt::format("{} = {} * {}", new_u, num(decay), u[cw]));
      else line(fmt::format("{} = {} * {} + {} * {}", new_u, num(decay), u[cw], num(1.0 / static_cast<double>(s.context.size())), e_name));
      u[cw] = new_u;
    }
  }
  // 4. final inner products
  const std::size_t L = model.input.stride();
  const auto add = [&](const std::string& name, const std::string& a, const std::string& b, const double* ra, const double* rb) {
    line(fmt::format("{} = avg({} * {})", name, a, b));
    outputs.push_back(name);
    values.push_back(dot(ra, rb, L));
  };
  for (std::size_t a = 0; a < V; ++a)
    for (std::size_t b = a; b < V; ++b) add(fmt::format("uu_{}_{}", a, b), u[a], u[b], model.input.row(a), model.input.row(b));
  for (std::size_t a = 0; a < V; ++a)
    for (std::size_t b = 0; b < V; ++b)
      if (!v[b].empty()) add(fmt::format("uv_{}_{}", a, b), u[a], v[b], model.input.row(a), model.output.row(b));
  for (std::size_t a = 0; a < V; ++a)
    for (std::size_t b = a; b < V; ++b)
      if (!v[a].empty() && !v[b].empty()) add(fmt::format("vv_{}_{}", a, b), v[a], v[b], model.output.row(a), model.output.row(b));
  std::string out_line = "output ";
  for (std::size_t i = 0; i < outputs.size(); ++i) out_line += (i ? ", " : "") + outputs[i];
  line(out_line);
  out.program = std::move(p);
  out.output_names = std::move(outputs);
  out.limit_values = std::move(values);
  return out;
}

}  // namespace tp::word2vec
