// Unit tests for daemon/lib/config: flags over file over defaults, strict keys.

#include "daemon/lib/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace rapport::daemon;

namespace {
Config load(std::vector<const char*> args) {
    args.insert(args.begin(), "rapportd");
    return load_config(static_cast<int>(args.size()), args.data());
}
std::string write_tmp(const std::string& text) {
    char path[] = "/tmp/rapport-config-test-XXXXXX";
    int fd = mkstemp(path);
    ::close(fd);
    std::ofstream(path) << text;
    return path;
}
} // namespace

TEST(Config, Defaults) {
    setenv("XDG_STATE_HOME", "/tmp/xdg", 1);
    unsetenv("STATE_DIRECTORY");
    Config c = load({});
    EXPECT_EQ(c.listen.str(), "127.0.0.1:2525");
    EXPECT_EQ(c.http.str(), "127.0.0.1:2526");
    EXPECT_EQ(c.state_dir, "/tmp/xdg/rapport");
    EXPECT_TRUE(c.capture());
    EXPECT_EQ(c.relay.lifetime, 5u * 24 * 3600);
}

TEST(Config, FlagsOverrideFile) {
    auto f = write_tmp("[smtp]\nlisten = \"127.0.0.1:30000\"\nmax_recipients = 7\n"
                       "[upstream]\nurl = \"smtp://127.0.0.1:25\"\nusername = \"u\"\npassword = \"p\"\n");
    Config c = load({"--config", f.c_str(), "--listen", "[::1]:2600", "--upstream=smtps://mail.example.org"});
    EXPECT_EQ(c.listen.host, "::1");
    EXPECT_EQ(c.listen.port, 2600);
    EXPECT_EQ(c.limits.max_recipients, 7u);
    EXPECT_EQ(c.upstream.host, "mail.example.org");
    EXPECT_EQ(c.upstream.port, 465);
    EXPECT_TRUE(c.upstream.implicit_tls);
    EXPECT_TRUE(c.upstream.require_tls);
    EXPECT_EQ(c.upstream.username, "u");
    unlink(f.c_str());
}

TEST(Config, UnknownKeysAndBadValuesAreRefused) {
    auto f = write_tmp("[smtp]\nmax_recipient = 7\n");
    EXPECT_THROW(load({"--config", f.c_str()}), ConfigError);
    unlink(f.c_str());
    auto g = write_tmp("[smtp]\nmax_recipients = \"many\"\n");
    EXPECT_THROW(load({"--config", g.c_str()}), ConfigError);
    unlink(g.c_str());
    EXPECT_THROW(load({"--listen", "nowhere"}), ConfigError);
    EXPECT_THROW(load({"--bogus"}), ConfigError);
    EXPECT_THROW(load({"--upstream", "http://x"}), ConfigError);
    EXPECT_THROW(load({"--upstream", "smtp://user:pw@x:25"}), ConfigError); // never on the command line
}

TEST(Config, LoopbackUpstreamNeedsNoTls) {
    EXPECT_FALSE(parse_upstream("smtp://127.0.0.1:2500").require_tls);
    EXPECT_FALSE(parse_upstream("smtp://localhost:2500").require_tls);
    EXPECT_TRUE(parse_upstream("smtp://relay.example:587").require_tls);
    EXPECT_EQ(parse_upstream("smtp://relay.example").port, 587);
}

TEST(Config, SecretFile) {
    auto s = write_tmp("relayuser:pa:ss\n");
    auto f = write_tmp("[upstream]\nurl = \"smtp://127.0.0.1:25\"\nsecret_file = \"" + s + "\"\n");
    Config c = load({"--config", f.c_str()});
    EXPECT_EQ(c.upstream.username, "relayuser");
    EXPECT_EQ(c.upstream.password, "pa:ss");
    unlink(s.c_str());
    unlink(f.c_str());
}

// [upstream] auth: a token command instead of a password, for providers
// that take no password from mail programs.
TEST(Config, UpstreamOAuth) {
    auto f = write_tmp("[upstream]\nurl = \"smtp://smtp-mail.outlook.com:587\"\nusername = \"priya@outlook.com\"\n"
                       "auth = \"xoauth2\"\noauth_token_command = \"oama access priya@outlook.com\"\n");
    Config c = load({"--config", f.c_str()});
    EXPECT_EQ(c.upstream.auth, UpstreamAuth::xoauth2);
    EXPECT_TRUE(c.upstream.oauth());
    EXPECT_EQ(c.upstream.oauth_token_command, "oama access priya@outlook.com");
    EXPECT_EQ(c.upstream.username, "priya@outlook.com");
    EXPECT_EQ(c.upstream.host, "smtp-mail.outlook.com");
    // --upstream replaces the URL, not the way of signing in.
    c = load({"--config", f.c_str(), "--upstream", "smtp://smtp.gmail.com:587"});
    EXPECT_EQ(c.upstream.auth, UpstreamAuth::xoauth2);
    EXPECT_EQ(c.upstream.oauth_token_command, "oama access priya@outlook.com");
    unlink(f.c_str());
    auto g = write_tmp("[upstream]\nurl = \"smtp://smtp.gmail.com:587\"\nusername = \"p@gmail.com\"\n"
                       "auth = \"oauthbearer\"\noauth_token_command = \"t\"\n");
    EXPECT_EQ(load({"--config", g.c_str()}).upstream.auth, UpstreamAuth::oauthbearer);
    unlink(g.c_str());
    EXPECT_EQ(Config{}.upstream.auth, UpstreamAuth::password);

    auto refused = [](const std::string& upstream, const std::string& why) {
        auto h = write_tmp("[upstream]\nurl = \"smtp://relay.example:587\"\n" + upstream);
        try {
            load({"--config", h.c_str()});
            ADD_FAILURE() << "accepted: " << upstream;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
        unlink(h.c_str());
    };
    refused("auth = \"oauth\"\n", "expected \"password\", \"xoauth2\" or \"oauthbearer\"");
    refused("username = \"u\"\nauth = \"xoauth2\"\n", "needs upstream.oauth_token_command");
    refused("auth = \"xoauth2\"\noauth_token_command = \"t\"\n", "needs upstream.username");
    refused("username = \"u\"\npassword = \"p\"\nauth = \"xoauth2\"\noauth_token_command = \"t\"\n",
            "remove upstream.password");
    refused("username = \"u\"\noauth_token_command = \"t\"\n", "set upstream.auth");
    refused("auth = 2\n", "upstream.auth: expected a string");
}

// [hold] notify_desktop: unset (the process decides: desktop_notify.h), or as set.
TEST(Config, NotifyDesktop) {
    EXPECT_FALSE(Config{}.hold.notify_desktop.has_value());
    auto on = write_tmp("[hold]\nnotify_desktop = true\n");
    EXPECT_EQ(load({"--config", on.c_str()}).hold.notify_desktop, std::optional<bool>(true));
    unlink(on.c_str());
    auto off = write_tmp("[hold]\nnotify_desktop = false\n");
    EXPECT_EQ(load({"--config", off.c_str()}).hold.notify_desktop, std::optional<bool>(false));
    unlink(off.c_str());
    auto bad = write_tmp("[hold]\nnotify_desktop = \"yes\"\n");
    try {
        load({"--config", bad.c_str()});
        ADD_FAILURE() << "accepted notify_desktop = \"yes\"";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("hold.notify_desktop: expected true or false"), std::string::npos) << e.what();
    }
    unlink(bad.c_str());
}

// Beyond loopback, TLS and someone to log in; the API stays local.
TEST(Config, RefusesToListenPubliclyWithoutTlsAndAccounts) {
    Config c;
    EXPECT_EQ(refuse_to_listen(c, false), "");                      // loopback: fine as it is
    c.listen = parse_host_port("0.0.0.0:2525", "smtp.listen");
    std::string why = refuse_to_listen(c, false);
    EXPECT_NE(why.find("refusing to listen on 0.0.0.0:2525 (not loopback)"), std::string::npos) << why;
    EXPECT_NE(why.find("TLS certificate"), std::string::npos) << why;
    EXPECT_NE(why.find("SMTP AUTH accounts"), std::string::npos) << why;
    c.tls_cert = "/etc/rapport/cert.pem";
    c.tls_key = "/etc/rapport/key.pem";
    why = refuse_to_listen(c, false);
    EXPECT_EQ(why.find("TLS certificate"), std::string::npos) << why;
    EXPECT_NE(why.find("SMTP AUTH accounts"), std::string::npos) << why;
    EXPECT_EQ(refuse_to_listen(c, true), "");                       // members
    c.users["jake"] = "correct horse";
    EXPECT_EQ(refuse_to_listen(c, false), "");                      // [auth] users
    c.tls_key.clear();
    EXPECT_NE(refuse_to_listen(c, true).find("TLS certificate"), std::string::npos);
    Config h;
    h.http = parse_host_port("192.168.1.5:2526", "http.listen");
    EXPECT_NE(refuse_to_listen(h, true).find("refusing to serve the HTTP API on 192.168.1.5:2526"), std::string::npos);
}

// [store]: PostgreSQL for several rapportd; each mistake named by its key.
TEST(Config, Store) {
    EXPECT_FALSE(Config{}.store.enabled()); // SQLite under the state directory
    auto ok = write_tmp("[store]\nurl = \"postgresql://rapport@db.example:5433/rapport?sslmode=verify-full\"\n"
                        "pool_size = 4\n");
    Config c = load({"--config", ok.c_str()});
    EXPECT_TRUE(c.store.enabled());
    EXPECT_EQ(c.store.url, "postgresql://rapport@db.example:5433/rapport?sslmode=verify-full");
    EXPECT_EQ(c.store.pool_size, 4u);
    EXPECT_EQ(store_connection(c.store), c.store.url); // no password file: ~/.pgpass or none
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    EXPECT_EQ(c.store.node, host); // the node's name in its claims: the machine's, unless set
    unlink(ok.c_str());
    auto named = write_tmp("[store]\nurl = \"postgresql://rapport@db/rapport\"\nnode = \"node2\"\n");
    EXPECT_EQ(load({"--config", named.c_str()}).store.node, "node2");
    unlink(named.c_str());

    auto secret = write_tmp("s3cret &=/ x\n");
    ::chmod(secret.c_str(), 0600);
    StoreSettings s{"postgresql://rapport@db/rapport", secret, 2, ""};
    EXPECT_EQ(store_connection(s), "postgresql://rapport@db/rapport?password=s3cret%20%26%3D%2F%20x");
    s.url += "?sslmode=require";
    EXPECT_EQ(store_connection(s), "postgresql://rapport@db/rapport?sslmode=require&password=s3cret%20%26%3D%2F%20x");
    ::chmod(secret.c_str(), 0644);
    try {
        store_connection(s);
        ADD_FAILURE() << "a password file others can read was used";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("store.password_file: "), std::string::npos) << e.what();
    }
    unlink(secret.c_str());

    auto refused = [](const std::string& store, const std::string& why) {
        auto h = write_tmp("[store]\n" + store);
        try {
            load({"--config", h.c_str()});
            ADD_FAILURE() << "accepted: " << store;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
        unlink(h.c_str());
    };
    refused("url = \"mysql://rapport@db/rapport\"\n", "store.url: expected postgresql://");
    refused("url = \"/var/lib/rapport/store.db\"\n", "store.url: expected postgresql://");
    refused("url = \"postgresql://rapport:pw@db/rapport\"\n", "store.url: the password does not belong in the URL");
    refused("url = \"postgres://rapport:pw@db/rapport\"\n", "store.url: the password does not belong in the URL");
    refused("url = \"postgresql://rapport@db/rapport?sslmode=require&password=pw\"\n",
            "store.url: the password does not belong in the URL");
    refused("url = 5\n", "store.url: expected a string");
    refused("url = \"postgresql://rapport@db/rapport\"\npool_size = 0\n", "store.pool_size must be at least 1");
    refused("uri = \"postgresql://rapport@db/rapport\"\n", "store: unknown key 'uri'");
}
