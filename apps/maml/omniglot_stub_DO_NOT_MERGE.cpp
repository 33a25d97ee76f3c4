// TEMPORARY (branch maml only; the integrator deletes this file when merging the loader of branch omni):
// lets tpc link before apps/maml/omniglot.cpp exists.
#include <stdexcept>

#include "apps/maml/omniglot.h"

namespace tp::maml {

OmniglotSplits load_omniglot(const std::string& dir, const OmniglotOptions&) {
  throw std::runtime_error(dir + ": the Omniglot loader is not in this build (branch maml stub); use --synthetic N");
}

}  // namespace tp::maml
