#include "frontend/auth/jwks_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "frontend/auth/test_tokens.h"
#include "frontend/auth/token_verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend::auth {
namespace {

using testing::Claims;
using ::testing::HasSubstr;
using testing::JwksOf;
using testing::NewEcKey;
using testing::NewOctKey;
using testing::Sign;
using testing::TestKey;
using testing::TestNow;
using testing::TestNowUnix;

class JwksFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "jwks_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/jwks.json";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  // Replaces the file the way deployment tools do: write, then rename.
  void Replace(const std::string& text) {
    const std::string tmp = path_ + ".new";
    std::ofstream(tmp) << text;
    ASSERT_EQ(rename(tmp.c_str(), path_.c_str()), 0);
  }
  // Rewrites the file in place (same inode).
  void Rewrite(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << text;
  }

  std::string TokenFor(const TestKey& key) {
    return Sign(
        key, absl::StrCat(R"({"alg":"ES256","kid":")", key.kid, "\"}"),
        Claims("https://id.example.com", R"("api")", TestNowUnix() + 60));
  }

  static ProviderSettings Settings() {
    ProviderSettings s;
    s.name = "corp";
    s.issuer = "https://id.example.com";
    s.audiences = {"api"};
    s.algorithms = {"ES256"};
    return s;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(JwksFileTest, LoadsAFile) {
  const TestKey a = NewEcKey("a");
  Replace(JwksOf({a.PublicJwk()}));
  auto file = JwksFile::Load(path_);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->path(), path_);
  EXPECT_EQ((*file)->Current()->size(), 1u);
  EXPECT_EQ((*file)->Current()->keys()[0].kid(), "a");
}

TEST_F(JwksFileTest, MissingOrBrokenFileAtLoadIsAnErrorNamingIt) {
  auto missing = JwksFile::Load(path_);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr(path_));

  Replace("{\"keys\": [");
  auto broken = JwksFile::Load(path_);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(),
              HasSubstr(absl::StrCat("JWKS file ", path_, ": ")));

  Replace(R"({"keys": []})");
  auto empty = JwksFile::Load(path_);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("no usable key"));
  EXPECT_THAT(empty.status().message(), HasSubstr(path_));

  auto dir = JwksFile::Load(dir_);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(), HasSubstr(dir_));
}

TEST_F(JwksFileTest, RotationByReload) {
  const TestKey old_key = NewEcKey("old");
  const TestKey new_key = NewEcKey("new");
  Replace(JwksOf({old_key.PublicJwk()}));
  auto loaded = JwksFile::Load(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::shared_ptr<JwksFile> file = *std::move(loaded);
  const TokenVerifier v(Settings(), file);
  EXPECT_TRUE(v.Verify(TokenFor(old_key), TestNow()).ok());
  EXPECT_EQ(v.Verify(TokenFor(new_key), TestNow()).refusal,
            Refusal::kUnknownKey);

  // Both during the change-over, then only the new one.
  Replace(JwksOf({new_key.PublicJwk(), old_key.PublicJwk()}));
  ASSERT_TRUE(file->Reload().ok());
  EXPECT_TRUE(v.Verify(TokenFor(old_key), TestNow()).ok());
  EXPECT_TRUE(v.Verify(TokenFor(new_key), TestNow()).ok());
  Replace(JwksOf({new_key.PublicJwk()}));
  ASSERT_TRUE(file->Reload().ok());
  EXPECT_TRUE(v.Verify(TokenFor(new_key), TestNow()).ok());
  EXPECT_EQ(v.Verify(TokenFor(old_key), TestNow()).refusal,
            Refusal::kUnknownKey);
}

TEST_F(JwksFileTest, AVerificationKeepsTheSetItStartedWith) {
  const TestKey a = NewEcKey("a");
  const TestKey b = NewEcKey("b");
  Replace(JwksOf({a.PublicJwk()}));
  auto loaded = JwksFile::Load(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::shared_ptr<const Jwks> before = (*loaded)->Current();
  Replace(JwksOf({b.PublicJwk()}));
  ASSERT_TRUE((*loaded)->Reload().ok());
  EXPECT_EQ(before->keys()[0].kid(), "a");  // still alive and unchanged
  EXPECT_EQ((*loaded)->Current()->keys()[0].kid(), "b");
}

// Calls Current() until `want` is its first kid or `deadline` passes.
bool WaitForKid(JwksFile& file, const std::string& want,
                absl::Duration deadline) {
  const absl::Time end = absl::Now() + deadline;
  while (absl::Now() < end) {
    if (file.Current()->keys()[0].kid() == want) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return file.Current()->keys()[0].kid() == want;
}

TEST_F(JwksFileTest, RotationIsPickedUpOnUseWithinAboutASecond) {
  const TestKey a = NewEcKey("a");
  const TestKey b = NewEcKey("b");
  const TestKey c = NewEcKey("c");
  Replace(JwksOf({a.PublicJwk()}));
  auto loaded = JwksFile::Load(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  JwksFile& file = **loaded;

  Replace(JwksOf({b.PublicJwk()}));  // a new inode
  EXPECT_TRUE(WaitForKid(file, "b", absl::Seconds(10)));
  Rewrite(JwksOf({c.PublicJwk(), a.PublicJwk()}));  // same inode, new size
  EXPECT_TRUE(WaitForKid(file, "c", absl::Seconds(10)));
  EXPECT_EQ(file.Current()->size(), 2u);
}

TEST_F(JwksFileTest, ABrokenFileKeepsTheOldKeys) {
  const TestKey a = NewEcKey("a");
  const TestKey b = NewEcKey("b");
  Replace(JwksOf({a.PublicJwk()}));
  auto loaded = JwksFile::Load(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::shared_ptr<JwksFile> file = *std::move(loaded);
  const TokenVerifier v(Settings(), file);

  Replace("{\"keys\": [ broken");
  const absl::Status s = file->Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(path_));
  EXPECT_TRUE(v.Verify(TokenFor(a), TestNow()).ok());

  // Nor does the check on use replace them (give it time to look).
  absl::SleepFor(JwksFile::kRecheckInterval + absl::Milliseconds(100));
  EXPECT_EQ(file->Current()->keys()[0].kid(), "a");
  EXPECT_TRUE(v.Verify(TokenFor(a), TestNow()).ok());

  // A set with no usable key is no better.
  Replace(JwksOf({R"({"kty":"OKP","crv":"Ed25519","x":"AA"})"}));
  EXPECT_FALSE(file->Reload().ok());
  EXPECT_TRUE(v.Verify(TokenFor(a), TestNow()).ok());

  // Nor is a deleted file.
  unlink(path_.c_str());
  EXPECT_TRUE(absl::IsNotFound(file->Reload()));
  EXPECT_TRUE(v.Verify(TokenFor(a), TestNow()).ok());

  // Once fixed, the new keys come in.
  Replace(JwksOf({b.PublicJwk()}));
  EXPECT_TRUE(WaitForKid(*file, "b", absl::Seconds(10)));
  EXPECT_TRUE(v.Verify(TokenFor(b), TestNow()).ok());
  EXPECT_EQ(v.Verify(TokenFor(a), TestNow()).refusal, Refusal::kUnknownKey);
}

TEST_F(JwksFileTest, OversizedFileIsRefused) {
  const TestKey a = NewEcKey("a");
  std::string big = JwksOf({a.PublicJwk()});
  big.insert(1, std::string(JwksFile::kMaxFileBytes, ' '));
  Replace(big);
  auto file = JwksFile::Load(path_);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("bytes (at most"));
}

}  // namespace
}  // namespace ssebridge::frontend::auth
