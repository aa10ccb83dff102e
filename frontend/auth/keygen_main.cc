// ssebridge-keygen: creates a development key pair for the demo's login,
// an EC P-256 private JWK (mode 0600) for the token signer and the public
// JWKS for the frontend's verifier. With --if_missing it does nothing when
// both files exist (the demo and docker-compose run it at every start); when
// only one exists, both are made anew, since a lone half is of no use.
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "frontend/auth/token_signer.h"

ABSL_FLAG(std::string, private_jwk, "",
          "Where to write the private key (a JWK, mode 0600). Required.");
ABSL_FLAG(std::string, public_jwks, "",
          "Where to write the public key set (a JWKS). Required.");
ABSL_FLAG(bool, if_missing, false, "Do nothing when both files already exist.");

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ssebridge-keygen --private_jwk FILE --public_jwks FILE [--if_missing]");
  absl::ParseCommandLine(argc, argv);
  const std::string private_jwk = absl::GetFlag(FLAGS_private_jwk);
  const std::string public_jwks = absl::GetFlag(FLAGS_public_jwks);
  if (private_jwk.empty() || public_jwks.empty()) {
    std::fprintf(stderr,
                 "ssebridge-keygen: --private_jwk FILE and --public_jwks FILE "
                 "are required\n");
    return 2;
  }
  if (private_jwk == public_jwks) {
    std::fprintf(stderr,
                 "ssebridge-keygen: --private_jwk and --public_jwks must be "
                 "different files\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_if_missing)) {
    const bool have_private = Exists(private_jwk);
    const bool have_public = Exists(public_jwks);
    if (have_private && have_public) {
      std::printf("ssebridge-keygen: %s and %s exist; nothing to do\n",
                  private_jwk.c_str(), public_jwks.c_str());
      return 0;
    }
    if (have_private || have_public) {
      std::fprintf(stderr,
                   "ssebridge-keygen: only %s exists; making a new pair\n",
                   (have_private ? private_jwk : public_jwks).c_str());
    }
  }
  const absl::Status s = ssebridge::frontend::auth::GenerateEs256KeyFiles(
      private_jwk, public_jwks);
  if (!s.ok()) {
    std::fprintf(stderr, "ssebridge-keygen: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  std::printf("ssebridge-keygen: wrote %s (private, 0600) and %s (public)\n",
              private_jwk.c_str(), public_jwks.c_str());
  return 0;
}
