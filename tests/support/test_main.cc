// main() of every fastrel GoogleTest binary (linked by fastrel_test()).
//
// ctest runs each test case of a binary as its own process, in parallel
// (`ctest -j`). Tests put their files under ::testing::TempDir(), which reads
// TEST_TMPDIR, so without care two processes of the same binary would share
// (and clobber) the same paths. This main gives every process a fresh private
// directory as TEST_TMPDIR and removes it when the tests are done.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

int main(int argc, char** argv) {
  std::string base = "/tmp";
  if (const char* env = getenv("TMPDIR"); env != nullptr && *env) base = env;
  if (const char* env = getenv("TEST_TMPDIR"); env != nullptr && *env)
    base = env;
  std::string pattern = base + "/fastrel-test-XXXXXX";
  char* dir = mkdtemp(pattern.data());
  if (dir == nullptr) {
    std::perror("fastrel test main: mkdtemp");
    return 2;
  }
  setenv("TEST_TMPDIR", dir, /*overwrite=*/1);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return rc;
}
