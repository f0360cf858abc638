// golden_test.cc - tests/data/mime/X.eml must parse to exactly X.json.
//
// The .json files are to_json() output, pretty-printed (2 spaces). After a
// deliberate change to the model, regenerate them and review the diff:
//   RAPPORT_UPDATE_GOLDEN=1 build-mime/mime_tests --gtest_filter='Golden.*'
//   git diff tests/data/mime

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "mime/message.h"
#include "mime/model_json.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST(Golden, EveryFixtureMatches) {
    const fs::path dir = fs::path(RAPPORT_TEST_DATA) / "mime";
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    const char* env = std::getenv("RAPPORT_UPDATE_GOLDEN");
    bool update = env && std::string(env) == "1";
    std::vector<fs::path> emls;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".eml") emls.push_back(e.path());
    std::sort(emls.begin(), emls.end());
    ASSERT_GE(emls.size(), 10u);
    for (const auto& eml : emls) {
        SCOPED_TRACE(eml.filename().string());
        auto json = rapport::mime::to_json(rapport::mime::parse(slurp(eml))).dump(2) + "\n";
        fs::path expected = eml;
        expected.replace_extension(".json");
        if (update) {
            std::ofstream(expected, std::ios::binary) << json;
            continue;
        }
        ASSERT_TRUE(fs::exists(expected)) << "no " << expected << "; run with RAPPORT_UPDATE_GOLDEN=1";
        EXPECT_EQ(json, slurp(expected));
    }
}
