// http_api_test.cc - the HTTP API's checks without sockets:
// confirmation values, header lookup, the token file, Host/Origin/auth
// decisions and routing on HttpApi::handle. End-to-end behaviour over real
// HTTP is in http_e2e.py.

#include "daemon/lib/notices.h"
#include "daemon/lib/hold.h"
#include "daemon/lib/http_api.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <filesystem>
#include <random>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace rd = rapport::daemon;
namespace http = boost::beast::http;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/rapport-http-test-XXXXXX";
    return ::mkdtemp(tmpl);
}

TEST(Confirm, HmacOverMessageIdWithoutBrackets) {
    std::string key(64, 'k');
    // python3: hmac.new(b'k'*64, b'abc@example.org', hashlib.sha256).hexdigest()
    const char* want = "cf538d3838fb6041a2ad969b3f51a2dbd8ba66dfc48e9711c7c08195f9c1dd17";
    EXPECT_EQ(rd::confirm_value(key, "abc@example.org"), want);
    EXPECT_EQ(rd::confirm_value(key, "<abc@example.org>"), want);
    EXPECT_EQ(rd::confirm_value(key, " <abc@example.org> "), want);
    EXPECT_NE(rd::confirm_value(key, "abd@example.org"), want);
    EXPECT_NE(rd::confirm_value(std::string(64, 'j'), "abc@example.org"), want);
}

TEST(Confirm, V1NonceForm) {
    // python3: hmac.new(b't'*64, b'v1:' + nonce, hashlib.sha256).hexdigest() (plugin/lib/confirm.js's format)
    std::string token(64, 't');
    std::string nonce = "1700000000-0123456789abcdef0123456789abcdef";
    std::string v = "v1:" + nonce + ":0ea079c009db3c1398e68e4e83002c069bbd457a4f90f55d1331cc9bc4a9fa85";
    std::string got;
    EXPECT_EQ(rd::check_confirm_v1(token, v, 1700000000, &got), "");
    EXPECT_EQ(got, nonce);
    EXPECT_EQ(rd::check_confirm_v1(token, v, 1700000000 + rd::kConfirmMaxAge), "");
    EXPECT_EQ(rd::check_confirm_v1(token, v, 1700000000 + rd::kConfirmMaxAge + 1), "too old");
    EXPECT_EQ(rd::check_confirm_v1(token, v, 1700000000 - rd::kConfirmSkew - 1), "dated in the future");
    EXPECT_EQ(rd::check_confirm_v1(std::string(64, 'u'), v, 1700000000), "does not match the API token");
    std::string flipped = v;
    flipped.back() = flipped.back() == '5' ? '6' : '5';
    EXPECT_EQ(rd::check_confirm_v1(token, flipped, 1700000000), "does not match the API token");
    for (const std::string& bad : std::vector<std::string>{"v1:", "v1::", "v1:1700000000-abc:" + std::string(64, 'a'), "v2:" + v.substr(3),
                            "v1:" + nonce, "v1:x" + nonce.substr(1) + ":" + std::string(64, 'a'),
                            "v1:" + nonce + ":" + std::string(63, 'a'), "v1:" + nonce + ":" + std::string(64, 'A'),
                            "v1:-0123456789abcdef0123456789abcdef:" + std::string(64, 'a')})
        EXPECT_NE(rd::check_confirm_v1(token, bad, 1700000000), "") << bad;
}

TEST(RawHeader, FindsFoldedCaseInsensitiveFieldsInTheHeaderOnly) {
    std::string m = "From: a@b\r\nx-rapport-confirm: ab\r\n cd\r\nSubject: s\r\n\r\nX-Rapport-Confirm: body\r\n";
    EXPECT_EQ(rd::raw_header(m, "X-Rapport-Confirm"), "ab cd");
    EXPECT_EQ(rd::raw_header(m, "subject"), "s");
    EXPECT_EQ(rd::raw_header(m, "To"), "");
    EXPECT_EQ(rd::raw_header("Subject: x\nX-Rapport-Confirm: lf\n\nbody", "X-Rapport-Confirm"), "lf");
    EXPECT_EQ(rd::raw_header("", "Subject"), "");
    EXPECT_EQ(rd::raw_header(":\r\n\r\n", ""), "");
}

TEST(SameSecret, ComparesWholeValues) {
    EXPECT_TRUE(rd::same_secret("abc", "abc"));
    EXPECT_FALSE(rd::same_secret("abc", "abd"));
    EXPECT_FALSE(rd::same_secret("abc", "ab"));
    EXPECT_FALSE(rd::same_secret("", "a"));
}

TEST(Token, CreatedOnceMode0600AndReused) {
    std::string dir = temp_dir();
    std::string t1 = rd::load_or_create_token(dir);
    EXPECT_EQ(t1.size(), 64u);
    struct stat st{};
    ASSERT_EQ(::stat((dir + "/api-token").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(rd::load_or_create_token(dir), t1);
    ::chmod((dir + "/api-token").c_str(), 0644);
    EXPECT_EQ(rd::load_or_create_token(dir), t1);
    ASSERT_EQ(::stat((dir + "/api-token").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u); // tightened
    std::ofstream(dir + "/api-token") << "short\n";
    std::string t2 = rd::load_or_create_token(dir);
    EXPECT_EQ(t2.size(), 64u);
    EXPECT_NE(t2, t1);
    std::filesystem::remove_all(dir);
}

TEST(HeldNotice, SaysWhatWhyAndHowWithEncodedSubject) {
    std::vector<rapport::policies::Finding> f{{"vague-subject", "Say which role you want.", rapport::policies::Action::warn}};
    std::string n = rd::held_notice("mx.example", "abc123", "jo@example.org", "Candidature spontanée – Zoë", f, 1700000000);
    auto head = n.substr(0, n.find("\r\n\r\n"));
    for (unsigned char c : head) ASSERT_LT(c, 128) << head; // header is ASCII (RFC 2047)
    EXPECT_NE(head.find("Subject: =?UTF-8?B?"), std::string::npos) << head;
    EXPECT_NE(head.find("Auto-Submitted: auto-generated"), std::string::npos);
    EXPECT_NE(n.find("Say which role you want."), std::string::npos);
    EXPECT_NE(n.find("rapportctl held release abc123"), std::string::npos);
    EXPECT_NE(n.find("Candidature spontanée – Zoë"), std::string::npos); // the body is 8bit UTF-8
    std::string plain = rd::held_notice("mx.example", "abc123", "jo@example.org", "CV\r\nBcc: x@y", f, 1700000000);
    EXPECT_NE(plain.find("Subject: Rapport held your message: CV  Bcc: x@y\r\n"), std::string::npos) << plain;
}

class Api : public ::testing::Test {
protected:
    void SetUp() override {
        cfg.state_dir = temp_dir();
        cfg.http = {"127.0.0.1", 2526};
        queue = std::make_unique<rd::Queue>(cfg.state_dir);
        holds = std::make_unique<rd::Holds>(cfg, *queue, nullptr, nullptr, nullptr, std::string(64, 't'),
                                            [](const std::string&) {});
        verdict = std::make_unique<rd::VerdictStage>(rapport::policies::default_policy(),
                                                     cfg.state_dir + "/history.db", 1);
        api = std::make_unique<rd::HttpApi>(cfg, *queue, *holds, *verdict, [](const std::string&) {});
    }
    void TearDown() override {
        api.reset();
        verdict.reset();
        holds.reset();
        queue.reset();
        std::filesystem::remove_all(cfg.state_dir);
    }
    rd::HttpResponse call(http::verb v, const std::string& target, std::map<std::string, std::string> headers,
                          std::string body = "") {
        rd::HttpRequest req{v, target, 11};
        for (const auto& [k, val] : headers) req.set(k, val);
        req.body() = body;
        req.prepare_payload();
        return api->handle(req);
    }
    std::map<std::string, std::string> good() {
        return {{"Host", "127.0.0.1:2526"}, {"Authorization", "Bearer " + std::string(64, 't')}};
    }
    static std::string error_of(const rd::HttpResponse& r) {
        return nlohmann::json::parse(r.body()).value("error", "");
    }
    rd::Config cfg;
    std::unique_ptr<rd::Queue> queue;
    std::unique_ptr<rd::Holds> holds;
    std::unique_ptr<rd::VerdictStage> verdict;
    std::unique_ptr<rd::HttpApi> api;
};

TEST_F(Api, HostMustBeOurs) {
    EXPECT_EQ(call(http::verb::get, "/api/v1/ping", good()).result_int(), 200u);
    for (const char* h : {"localhost:2526", "LOCALHOST:2526"}) {
        auto hd = good();
        hd["Host"] = h;
        EXPECT_EQ(call(http::verb::get, "/api/v1/ping", hd).result_int(), 200u) << h;
    }
    for (const char* h : {"evil.test:2526", "127.0.0.1", "127.0.0.1:2527", "127.0.0.1:2526.evil.test", "", "[::1]:2526"}) {
        auto hd = good();
        hd["Host"] = h;
        auto r = call(http::verb::get, "/api/v1/ping", hd);
        EXPECT_EQ(r.result_int(), 403u) << h;
        EXPECT_EQ(error_of(r), "forbidden_host") << h;
    }
    auto hd = good();
    hd.erase("Host");
    EXPECT_EQ(call(http::verb::get, "/api/v1/ping", hd).result_int(), 403u);
}

TEST_F(Api, OriginAndCors) {
    auto hd = good();
    hd["Origin"] = "http://127.0.0.1:2526";
    EXPECT_EQ(call(http::verb::get, "/api/v1/ping", hd).result_int(), 200u);
    hd["Origin"] = "http://localhost:2526";
    EXPECT_EQ(call(http::verb::get, "/api/v1/ping", hd).result_int(), 200u);
    for (const char* o : {"http://evil.test", "null", "https://127.0.0.1:2526", "http://127.0.0.1:2526.evil.test",
                          "chrome-extension://abc", "file://"}) {
        hd["Origin"] = o;
        auto r = call(http::verb::get, "/api/v1/ping", hd);
        EXPECT_EQ(r.result_int(), 403u) << o;
        EXPECT_EQ(r["Access-Control-Allow-Origin"], "") << o;
    }
    hd["Origin"] = "moz-extension://4f6c-uuid";
    auto r = call(http::verb::get, "/api/v1/ping", hd);
    EXPECT_EQ(r.result_int(), 200u);
    EXPECT_EQ(r["Access-Control-Allow-Origin"], "moz-extension://4f6c-uuid");
    r = call(http::verb::options, "/api/v1/analyze",
             {{"Host", "127.0.0.1:2526"}, {"Origin", "moz-extension://4f6c-uuid"}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(r.result_int(), 204u);
    EXPECT_NE(std::string(r["Access-Control-Allow-Headers"]).find("Authorization"), std::string::npos);
}

TEST_F(Api, TokenRequiredForDataNotForThePage) {
    auto r = call(http::verb::get, "/api/v1/messages", {{"Host", "127.0.0.1:2526"}});
    EXPECT_EQ(r.result_int(), 401u);
    EXPECT_EQ(r[http::field::www_authenticate], "Bearer");
    r = call(http::verb::get, "/api/v1/messages", {{"Host", "127.0.0.1:2526"}, {"Authorization", "Bearer " + std::string(64, 'u')}});
    EXPECT_EQ(error_of(r), "bad_token");
    r = call(http::verb::get, "/metrics", {{"Host", "127.0.0.1:2526"}});
    EXPECT_EQ(r.result_int(), 401u);
    r = call(http::verb::get, "/", {{"Host", "127.0.0.1:2526"}});
    EXPECT_EQ(r.result_int(), 200u);
    EXPECT_NE(r.body().find("<html"), std::string::npos);
    EXPECT_NE(std::string(r["Content-Security-Policy"]).find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(call(http::verb::get, "/app.js", {{"Host", "127.0.0.1:2526"}}).result_int(), 200u);
    EXPECT_EQ(call(http::verb::get, "/nope.js", {{"Host", "127.0.0.1:2526"}}).result_int(), 404u);
    EXPECT_EQ(call(http::verb::get, "/../etc/passwd", {{"Host", "127.0.0.1:2526"}}).result_int(), 404u);
}

TEST_F(Api, LoginLinkOnceThenSessionCookie) {
    auto r = call(http::verb::post, "/api/v1/login-links", good());
    ASSERT_EQ(r.result_int(), 200u);
    std::string url = nlohmann::json::parse(r.body())["url"];
    ASSERT_EQ(url.rfind("http://127.0.0.1:2526/login?code=", 0), 0u) << url;
    std::string path = url.substr(std::string("http://127.0.0.1:2526").size());
    r = call(http::verb::get, path, {{"Host", "127.0.0.1:2526"}});
    ASSERT_EQ(r.result_int(), 303u);
    std::string cookie(r[http::field::set_cookie]);
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(call(http::verb::get, path, {{"Host", "127.0.0.1:2526"}}).result_int(), 403u);
    std::string sess = cookie.substr(0, cookie.find(';'));
    EXPECT_EQ(call(http::verb::get, "/api/v1/messages", {{"Host", "127.0.0.1:2526"}, {"Cookie", "a=b; " + sess}}).result_int(), 200u);
    r = call(http::verb::post, "/api/v1/messages/abc/release", {{"Host", "127.0.0.1:2526"}, {"Cookie", sess}});
    EXPECT_EQ(error_of(r), "missing_page_header");
    r = call(http::verb::post, "/api/v1/messages/abc/release", {{"Host", "127.0.0.1:2526"}, {"Cookie", sess}, {"X-Rapport-Page", "1"}});
    EXPECT_EQ(r.result_int(), 404u);
    // A session cannot mint login links.
    r = call(http::verb::post, "/api/v1/login-links", {{"Host", "127.0.0.1:2526"}, {"Cookie", sess}, {"X-Rapport-Page", "1"}});
    EXPECT_EQ(r.result_int(), 403u);
}

TEST_F(Api, AnalyzeJsonDraftRecordsNothing) {
    auto hd = good();
    hd["Content-Type"] = "application/json";
    auto r = call(http::verb::post, "/api/v1/analyze", hd,
                  R"({"to":["hr@acme.co.uk"],"subject":"CV","body":"Hello,\n\nPlease find attached my CV.\n\nJo",)"
                  R"("attachments":[{"name":"cv.pdf","size":20000}],"message_id":"abc@example.org"})");
    ASSERT_EQ(r.result_int(), 200u) << r.body();
    auto j = nlohmann::json::parse(r.body());
    EXPECT_EQ(j["action"], "hold");
    EXPECT_EQ(j["confirm"], rd::confirm_value(std::string(64, 't'), "abc@example.org"));
    EXPECT_TRUE(queue->list(std::nullopt, "", 10).empty());
    // Header injection through JSON fields is neutralised.
    r = call(http::verb::post, "/api/v1/analyze", hd, R"({"subject":"Hi\r\nBcc: x@y.z\r\n\r\nbody","to":"a@b.c"})");
    EXPECT_EQ(r.result_int(), 200u);
    for (const char* bad : {"[]", "{\"to\":{}}", "{\"attachments\":[{\"name\":1}]}", "{\"html\":5}", "{\"body\":[1]}", "\"x\""}) {
        r = call(http::verb::post, "/api/v1/analyze", hd, bad);
        EXPECT_EQ(r.result_int(), 400u) << bad;
    }
}

TEST_F(Api, MessagesRoutes) {
    rd::Envelope env;
    env.mail_from = "jo@example.org";
    env.rcpts = {"hr@acme.co.uk"};
    env.received = 1700000000;
    std::string data = "From: jo@example.org\r\nTo: hr@acme.co.uk\r\nSubject: CV\r\nMessage-ID: <m1@x>\r\n\r\nHello\r\n";
    queue->write_spool("m1", env, data);
    rd::MessageInfo info;
    info.action = "hold";
    info.findings_json = R"([{"rule":"vague-subject","message":"Say which role.","action":"warn"}])";
    info.subject = "CV";
    info.header_from = "jo@example.org";
    info.header_to = "hr@acme.co.uk";
    queue->insert("m1", env, info, rd::Status::held, 0);
    // Expired by now (received in 2023, 7 days): listing held expires it first.
    auto r = call(http::verb::get, "/api/v1/messages?status=held", good());
    EXPECT_EQ(nlohmann::json::parse(r.body())["messages"].size(), 0u);
    r = call(http::verb::get, "/api/v1/messages?status=expired", good());
    auto l = nlohmann::json::parse(r.body())["messages"];
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0]["rules"], nlohmann::json::array({"vague-subject"}));
    r = call(http::verb::get, "/api/v1/messages/m1/raw", good());
    EXPECT_EQ(r.body(), data);
    EXPECT_EQ(call(http::verb::post, "/api/v1/messages/m1/release", good()).result_int(), 409u);
    EXPECT_EQ(call(http::verb::post, "/api/v1/messages/m1/drop", good()).result_int(), 200u);
    EXPECT_EQ(call(http::verb::get, "/api/v1/messages/m1/raw", good()).result_int(), 404u);
    EXPECT_EQ(call(http::verb::get, "/api/v1/messages/m1/nope", good()).result_int(), 404u);
    EXPECT_EQ(call(http::verb::get, "/api/v1/messages/" + std::string(100, 'a'), good()).result_int(), 404u);
}

// Untrusted input, generated: odd targets, cookies, origins, drafts. Every
// answer is a clean 2xx-4xx, never a 500 or a crash (run under ASan/UBSan).
TEST_F(Api, RandomRequestsNeverBreakIt) {
    std::mt19937 rng(20261125);
    auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    auto junk = [&](std::size_t max) {
        std::string s(rng() % (max + 1), '\0');
        for (auto& c : s) c = static_cast<char>(rng() % 256);
        return s;
    };
    const std::vector<std::string> paths = {
        "/", "/index.html", "/app.js", "/login", "/login?code=", "/login?code=%zz", "/logout", "/metrics", "/api/",
        "/api/v1/", "/api/v1/ping", "/api/v1/messages", "/api/v1/messages?status=", "/api/v1/messages?status=held&limit=0",
        "/api/v1/messages?limit=99999999999", "/api/v1/messages?status=%68eld", "/api/v1/messages?&&=&a", "/api/v1/messages/",
        "/api/v1/messages/x/", "/api/v1/messages/x/raw/y", "/api/v1/messages/%2e%2e/raw", "/api/v1/analyze",
        "/api/v1/stats", "/api/v1/login-links", "//", "/%", "/?", "*"};
    const std::vector<std::string> bodies = {
        "", "{}", "[]", "null", "{\"to\":[]}", "{\"to\":[1]}", "{\"to\":\"a\",\"cc\":null,\"html\":true,\"body\":\"<p>x\"}",
        "{\"attachments\":[{\"name\":\"cv.pdf\",\"size\":-5}]}", "{\"attachments\":[{\"name\":\"cv.pdf\",\"size\":1e300}]}",
        "{\"subject\":\"\\u0000\\r\\n\",\"message_id\":\"<\"}", "{\"message_id\":\"\"}", "From: a\r\n\r\nbody",
        "Subject: x", std::string(100000, '['), "{\"a\":" + std::string(5000, '[')};
    std::map<unsigned, int> seen;
    for (int i = 0; i < 3000; ++i) {
        std::map<std::string, std::string> hd;
        hd["Host"] = rng() % 8 ? "127.0.0.1:2526" : pick({"", "127.0.0.1:2526 ", "x", junk(20)});
        if (rng() % 2) hd["Authorization"] = pick({"Bearer " + std::string(64, 't'), "Bearer", "bearer " + std::string(64, 't'),
                                                   "Bearer " + junk(70), junk(10)});
        if (rng() % 4 == 0) hd["Origin"] = pick({"moz-extension://x", "http://127.0.0.1:2526", "null", junk(12)});
        if (rng() % 4 == 0) hd["Cookie"] = pick({"rapport_session=", "rapport_session=" + junk(64), ";;=;", junk(30)});
        if (rng() % 3 == 0) hd["Content-Type"] = pick({"application/json", "APPLICATION/JSON; charset=utf-8", "message/rfc822"});
        if (rng() % 5 == 0) hd["X-Rapport-Page"] = "1";
        std::string target = pick(paths);
        if (rng() % 6 == 0) target += junk(8);
        std::string body = rng() % 5 ? pick(bodies) : junk(300);
        auto verb = std::vector<http::verb>{http::verb::get, http::verb::post, http::verb::options, http::verb::put,
                                            http::verb::head}[rng() % 5];
        rd::HttpRequest req{verb, target, 11};
        for (const auto& [k, v] : hd) {
            boost::beast::error_code ec;
            req.set(k, v); // beast stores any bytes; a real parser would have refused some
            (void)ec;
        }
        req.body() = body;
        req.prepare_payload();
        auto r = api->handle(req);
        ++seen[r.result_int()];
        ASSERT_GE(r.result_int(), 200u) << target;
        ASSERT_LT(r.result_int(), 500u) << target << " " << r.body();
    }
    EXPECT_GT(seen[200], 0);
    EXPECT_GT(seen[401], 0);
    EXPECT_GT(seen[403], 0);
    EXPECT_GT(seen[404], 0);
}

} // namespace
