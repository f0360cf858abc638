// imap_reader_test.cc - the inbox reader's pure parts and its settings:
// folder names in modified UTF-7, certificate verification (against
// certificates made here with the openssl command), and the [imap] /
// [outcomes] config keys. The reader itself talks to a real
// Dovecot in ledger_e2e.py.

#include "daemon/lib/config.h"
#include "daemon/lib/imap_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

using namespace rapport::daemon;
namespace fs = std::filesystem;

namespace {

Config load(std::vector<const char*> args) {
    args.insert(args.begin(), "rapportd");
    return load_config(static_cast<int>(args.size()), args.data());
}

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/rapport-imap-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string file(const std::string& name, const std::string& text, fs::perms perms = fs::perms::owner_read |
                                                                                          fs::perms::owner_write) {
        fs::path p = path / name;
        std::ofstream(p) << text;
        fs::permissions(p, perms);
        return p.string();
    }
};

std::string der_of(const fs::path& pem) {
    FILE* f = std::fopen(pem.c_str(), "r");
    if (!f) return {};
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!x) return {};
    unsigned char* buf = nullptr;
    int n = i2d_X509(x, &buf);
    std::string der(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    X509_free(x);
    return der;
}

} // namespace

TEST(ImapNames, ModifiedUtf7) {
    EXPECT_EQ(imap_mailbox_name("INBOX"), "INBOX");
    EXPECT_EQ(imap_mailbox_name("Jobs/Replies"), "Jobs/Replies");
    EXPECT_EQ(imap_mailbox_name("Tom & Jerry"), "Tom &- Jerry");
    // RFC 3501 5.1.3's own examples.
    EXPECT_EQ(imap_mailbox_name("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    EXPECT_EQ(imap_mailbox_name("Boîte de réception"), "Bo&AO4-te de r&AOk-ception");
    EXPECT_EQ(imap_mailbox_name("Posteingang 😀"), "Posteingang &2D3eAA-");
}

class Certificates : public ::testing::Test {
protected:
    TempDir dir;
    void SetUp() override {
        std::string d = dir.path.string();
        auto run = [&](const std::string& cmd) {
            return std::system(("cd '" + d + "' && " + cmd + " >/dev/null 2>&1").c_str());
        };
        ASSERT_EQ(run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
                      "-days 2 -subj '/CN=Test CA' -addext basicConstraints=critical,CA:TRUE "
                      "-addext keyUsage=critical,keyCertSign"),
                  0) << "needs the openssl command";
        ASSERT_EQ(run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s.key -out s.csr "
                      "-subj '/CN=mail.example.org'"),
                  0);
        std::ofstream(dir.path / "s.ext") << "subjectAltName=DNS:mail.example.org,IP:127.0.0.1\n"
                                             "extendedKeyUsage=serverAuth\n";
        ASSERT_EQ(run("openssl x509 -req -in s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out s.pem -days 2 "
                      "-extfile s.ext"),
                  0);
        ASSERT_EQ(run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key "
                      "-out self.pem -days 2 -subj '/CN=mail.example.org' "
                      "-addext subjectAltName=DNS:mail.example.org"),
                  0);
    }
};

TEST_F(Certificates, VerifiedAgainstTheGivenCaOnly) {
    std::vector<std::string> chain{der_of(dir.path / "s.pem")};
    ASSERT_FALSE(chain[0].empty());
    std::string ca = (dir.path / "ca.pem").string();
    EXPECT_EQ(verify_chain(chain, "mail.example.org", ca), "");
    EXPECT_EQ(verify_chain(chain, "127.0.0.1", ca), "");
    EXPECT_EQ(verify_chain(chain, "other.example.org", ca), "it is not made out to other.example.org");
    EXPECT_EQ(verify_chain(chain, "127.0.0.2", ca), "it is not made out to 127.0.0.2");
    // Without the CA: the system's trust store knows nothing of it.
    EXPECT_NE(verify_chain(chain, "mail.example.org", ""), "");
    // A self-signed certificate is not trusted because it names the host.
    EXPECT_NE(verify_chain({der_of(dir.path / "self.pem")}, "mail.example.org", ca), "");
    EXPECT_EQ(verify_chain({}, "mail.example.org", ca), "the server sent no certificate");
    EXPECT_EQ(verify_chain({"not DER"}, "mail.example.org", ca), "the server's certificate could not be read");
    EXPECT_EQ(verify_chain(chain, "mail.example.org", (dir.path / "missing.pem").string()),
              "the ca_file " + (dir.path / "missing.pem").string() + " could not be read");
}

TEST(ImapConfig, UrlsAndDefaults) {
    TempDir dir;
    std::string secret = dir.file("secret", "pw\n");
    auto cfg = [&](const std::string& imap) {
        return dir.file("c.toml", "[imap]\n" + imap + "user = \"ann@example.org\"\nsecret_file = \"" + secret + "\"\n");
    };
    Config a = load({"--config", cfg("url = \"imaps://mail.example.org\"\n").c_str()});
    EXPECT_TRUE(a.imap.enabled());
    EXPECT_TRUE(a.imap.implicit_tls);
    EXPECT_EQ(a.imap.port, 993);
    EXPECT_TRUE(a.imap.require_tls);
    EXPECT_EQ(a.imap.folders, std::vector<std::string>{"INBOX"});
    EXPECT_EQ(a.imap.poll_seconds, 60u);
    EXPECT_DOUBLE_EQ(a.outcomes.follow_up_days, 7.0);
    Config b = load({"--config", cfg("url = \"imap://mail.example.org:1143\"\nfolders = [\"INBOX\", \"Jobs\"]\n"
                                     "poll_seconds = 5\n").c_str()});
    EXPECT_FALSE(b.imap.implicit_tls);
    EXPECT_EQ(b.imap.port, 1143);
    EXPECT_TRUE(b.imap.require_tls) << "beyond loopback imap:// must STARTTLS";
    EXPECT_EQ(b.imap.folders, (std::vector<std::string>{"INBOX", "Jobs"}));
    Config c = load({"--config", cfg("url = \"imap://127.0.0.1:1143\"\n").c_str()});
    EXPECT_FALSE(c.imap.require_tls) << "loopback: plain when the server offers no STARTTLS";
    Config none = load({});
    EXPECT_FALSE(none.imap.enabled());
    Config f = load({"--config", dir.file("f.toml", "[outcomes]\nfollow_up_days = 0.5\n").c_str()});
    EXPECT_DOUBLE_EQ(f.outcomes.follow_up_days, 0.5);
    Config g = load({"--config", dir.file("g.toml", "[outcomes]\nfollow_up_days = 10\n").c_str()});
    EXPECT_DOUBLE_EQ(g.outcomes.follow_up_days, 10.0);
    EXPECT_TRUE(g.outcomes.enabled) << "the ledger is on unless turned off";
    Config off = load({"--config", dir.file("off.toml", "[outcomes]\nenabled = false\n").c_str()});
    EXPECT_FALSE(off.outcomes.enabled);
}

TEST(ImapConfig, Refusals) {
    TempDir dir;
    std::string secret = dir.file("secret", "pw\n");
    std::string loose = dir.file("loose", "pw\n", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                                      fs::perms::others_read);
    auto refused = [&](const std::string& body, const std::string& why) {
        std::string f = dir.file("c.toml", body);
        try {
            load({"--config", f.c_str()});
            ADD_FAILURE() << "accepted: " << body;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
    };
    std::string ok_auth = "user = \"ann\"\nsecret_file = \"" + secret + "\"\n";
    refused("[imap]\nurl = \"pop3://mail.example.org\"\n" + ok_auth, "expected imaps://");
    refused("[imap]\nurl = \"imaps://ann:pw@mail.example.org\"\n" + ok_auth, "not in the URL");
    refused("[imap]\nurl = \"imaps://mail.example.org/INBOX\"\n" + ok_auth, "no path");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\nsecret_file = \"" + secret + "\"\n", "imap.user");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\nuser = \"ann\"\n", "either secret_file");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\nuser = \"ann\"\nsecret_file = \"" + secret +
                "\"\noauth_token_command = \"x\"\n",
            "either secret_file");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\nuser = \"ann\"\nsecret_file = \"" + loose + "\"\n",
            "readable by others");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\n" + ok_auth + "folders = []\n", "at least one folder");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\n" + ok_auth + "folders = \"INBOX\"\n", "list of folder names");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\n" + ok_auth + "poll_seconds = 0\n", "poll_seconds");
    refused("[imap]\nurl = \"imaps://mail.example.org\"\n" + ok_auth + "pasword = \"x\"\n", "unknown key 'pasword'");
    refused("[outcomes]\nfollow_up_days = -1\n", "follow_up_days");
    refused("[outcomes]\nfollow_up = 3\n", "unknown key");
    refused("[outcomes]\nenabled = \"no\"\n", "outcomes.enabled");
}
