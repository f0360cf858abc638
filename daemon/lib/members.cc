// members.cc - see members.h.

#include "daemon/lib/members.h"

#include "daemon/lib/hold.h"   // hmac_hex, same_secret
#include "common/files.h"
#include "common/sqlite.h"
#include "policies/language.h"

#include <sodium.h>
#include <sqlite3.h>

#include <cctype>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rapport::daemon {

using sqlite::Stmt;

namespace {

void init_sodium() {
    // Safe to call more than once and from several threads.
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

Member read_member(Stmt& s) {
    Member m;
    m.name = s.text(0);
    m.group = s.text(1);
    m.role = parse_role(s.text(2)).value_or(Role::member);
    m.created = s.i64(3);
    m.token_generation = s.i64(4);
    m.language = s.text(5);
    return m;
}

constexpr const char* kCols = "name, grp, role, created, token_generation, lang";

constexpr const char* kDummyHash =
    "$argon2id$v=19$m=65536,t=2,p=1$9z1l11U3Yn6lbsSy0qoBew$ykcQc+1Zwvl48970zq3QdfNNfr5DaLr9rVu/aSRv9tQ";

} // namespace

std::string hash_password(std::string_view password) {
    init_sodium();
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("out of memory while hashing a password");
    return out;
}

bool password_matches(std::string_view encoded_hash, std::string_view password) {
    init_sodium();
    std::string h(encoded_hash); // needs a NUL-terminated string
    return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string Members::normalise_name(std::string_view name) {
    if (name.empty() || name.size() > 64) throw MemberError("a member name has 1 to 64 characters");
    std::string out;
    for (unsigned char c : name) {
        if (!(std::isalnum(c) || c == '.' || c == '_' || c == '@' || c == '+' || c == '-'))
            throw MemberError("a member name may use letters, digits and . _ @ + - only");
        out += static_cast<char>(std::tolower(c));
    }
    return out;
}

void Members::check_group(std::string_view group) {
    if (group.size() > 64) throw MemberError("a group name has at most 64 characters");
    for (unsigned char c : group)
        if (!(std::isalnum(c) || c == '_' || c == '-'))
            throw MemberError("a group name may use letters, digits, _ and - only (as in the policy's [groups.NAME])");
}

namespace {

// <state>/members.db: one machine's members.
class SqliteMemberRows final : public MemberRows {
public:
    explicit SqliteMemberRows(const std::string& state_dir);
    ~SqliteMemberRows() override { sqlite3_close(db_); }

    bool insert(const Member& m, const std::string& hash) override {
        std::lock_guard lk(mu_);
        Stmt(db_, "INSERT OR IGNORE INTO members (name, hash, grp, role, created) VALUES (?, ?, ?, ?, ?)")
            .bind(1, m.name).bind(2, hash).bind(3, m.group).bind(4, to_string(m.role)).bind(5, m.created).step();
        return sqlite3_changes(db_) > 0;
    }
    bool remove(const std::string& name) override { return change("DELETE FROM members WHERE name = ?", name); }
    bool set_hash(const std::string& name, const std::string& hash) override {
        return change("UPDATE members SET hash = ? WHERE name = ?", name, hash);
    }
    bool set_group(const std::string& name, const std::string& group) override {
        return change("UPDATE members SET grp = ? WHERE name = ?", name, group);
    }
    bool set_role(const std::string& name, Role role) override {
        return change("UPDATE members SET role = ? WHERE name = ?", name, std::string(to_string(role)));
    }
    bool set_language(const std::string& name, const std::string& language) override {
        return change("UPDATE members SET lang = ? WHERE name = ?", name, language);
    }
    std::optional<std::pair<Member, std::string>> find(const std::string& name) const override {
        std::lock_guard lk(mu_);
        Stmt s(db_, (std::string("SELECT ") + kCols + ", hash FROM members WHERE name = ?").c_str());
        s.bind(1, name);
        if (!s.step()) return std::nullopt;
        return std::make_pair(read_member(s), s.text(6));
    }
    std::vector<Member> list() const override {
        std::lock_guard lk(mu_);
        Stmt s(db_, (std::string("SELECT ") + kCols + " FROM members ORDER BY name").c_str());
        std::vector<Member> out;
        while (s.step()) out.push_back(read_member(s));
        return out;
    }
    bool any() const override {
        std::lock_guard lk(mu_);
        Stmt s(db_, "SELECT EXISTS(SELECT 1 FROM members)");
        return s.step() && s.i64(0) != 0;
    }
    std::optional<std::int64_t> bump_token(const std::string& name) override {
        std::lock_guard lk(mu_);
        sqlite::Transaction t(db_);
        Stmt(db_, "UPDATE members SET token_generation = token_generation + 1 WHERE name = ?").bind(1, name).step();
        if (sqlite3_changes(db_) == 0) return std::nullopt;
        Stmt s(db_, "SELECT token_generation FROM members WHERE name = ?");
        s.bind(1, name);
        s.step();
        std::int64_t gen = s.i64(0);
        t.commit();
        return gen;
    }

private:
    // One statement on the member `name` (its last parameter; `value`, when
    // given, its first): whether a row was there.
    bool change(const char* sql, const std::string& name, std::optional<std::string> value = std::nullopt) {
        std::lock_guard lk(mu_);
        Stmt st(db_, sql);
        if (value) st.bind(1, *value).bind(2, name);
        else st.bind(1, name);
        st.step();
        return sqlite3_changes(db_) > 0;
    }
    mutable std::mutex mu_;
    sqlite3* db_ = nullptr;
};

SqliteMemberRows::SqliteMemberRows(const std::string& state_dir) {
    std::string path = state_dir + "/members.db";
    // Created private before SQLite opens it: it holds password hashes.
    // When root (rapportctl run by the adviser with sudo) creates it for a
    // daemon that runs as its own user, it must belong to the state
    // directory's owner or the daemon could not read it. SQLite gives its
    // journal files the database's owner itself.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        common::own_like(fd, state_dir);
        ::close(fd);
    }
    db_ = sqlite::open(path, true); // rapportctl and rapportd share the file
    // A members.db without the lang column gets it ('auto' for everyone),
    // from whichever of rapportctl and rapportd opens it first (the other
    // may win the race: then the column is there all the same).
    auto has_lang = [&] {
        return sqlite3_exec(db_, "SELECT lang FROM members LIMIT 0", nullptr, nullptr, nullptr) == SQLITE_OK;
    };
    try {
        sqlite::exec(db_, "CREATE TABLE IF NOT EXISTS members ("
                          " name TEXT PRIMARY KEY, hash TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '',"
                          " role TEXT NOT NULL DEFAULT 'member', created INTEGER NOT NULL,"
                          " token_generation INTEGER NOT NULL DEFAULT 0)");
        if (!has_lang()) {
            try {
                sqlite::exec(db_, "ALTER TABLE members ADD COLUMN lang TEXT NOT NULL DEFAULT 'auto'");
            } catch (const sqlite::Error&) {
                if (!has_lang()) throw;
            }
        }
    } catch (const sqlite::Error& e) {
        sqlite3_close(db_);
        throw std::runtime_error("cannot set up " + path + ": " + e.what());
    }
}

void check_password(std::string_view password) {
    if (password.size() < Members::kMinPassword)
        throw MemberError("the password needs at least " + std::to_string(Members::kMinPassword) + " characters");
}

void must_exist(bool found, const std::string& name) {
    if (!found) throw MemberError("there is no member called " + name);
}

} // namespace

Members::Members(const std::string& state_dir) : Members(std::make_unique<SqliteMemberRows>(state_dir)) {}

Members::Members(std::unique_ptr<MemberRows> rows) : rows_(std::move(rows)) { init_sodium(); }

Members::~Members() = default;

void Members::add(std::string_view name, std::string_view password, std::string_view group, Role role) {
    std::string n = normalise_name(name);
    check_group(group);
    check_password(password);
    Member m;
    m.name = n;
    m.group = std::string(group);
    m.role = role;
    m.created = static_cast<std::int64_t>(std::time(nullptr));
    if (!rows_->insert(m, hash_password(password))) throw MemberError("there is already a member called " + n);
}

bool Members::remove(std::string_view name) { return rows_->remove(normalise_name(name)); }

void Members::set_password(std::string_view name, std::string_view password) {
    std::string n = normalise_name(name);
    check_password(password);
    must_exist(rows_->set_hash(n, hash_password(password)), n);
}

void Members::set_group(std::string_view name, std::string_view group) {
    std::string n = normalise_name(name);
    check_group(group);
    must_exist(rows_->set_group(n, std::string(group)), n);
}

void Members::set_role(std::string_view name, Role role) {
    std::string n = normalise_name(name);
    must_exist(rows_->set_role(n, role), n);
}

void Members::set_language(std::string_view name, std::string_view language) {
    std::string n = normalise_name(name);
    auto lang = policies::parse_language_setting(language);
    if (!lang) throw MemberError("a language is " + policies::language_setting_choices());
    must_exist(rows_->set_language(n, *lang), n);
}

std::optional<Member> Members::find(std::string_view name) const {
    std::string n;
    try {
        n = normalise_name(name);
    } catch (const MemberError&) {
        return std::nullopt;
    }
    auto row = rows_->find(n);
    if (!row) return std::nullopt;
    return std::move(row->first);
}

std::vector<Member> Members::list() const { return rows_->list(); }

bool Members::empty() const { return !rows_->any(); }

std::optional<Member> Members::verify(std::string_view name, std::string_view password) const {
    std::optional<std::pair<Member, std::string>> row;
    try {
        row = rows_->find(normalise_name(name));
    } catch (const MemberError&) {
    }
    if (!row) {
        // Same work for an unknown name as for a known one, the first time
        // too (a hash made on first use would cost a second argon2id run):
        // a fixed hash with the interactive limits, of a random password
        // nobody knows.
        password_matches(kDummyHash, password);
        return std::nullopt;
    }
    if (!password_matches(row->second, password)) return std::nullopt;
    return std::move(row->first);
}

namespace {
std::string token_mac(std::string_view api_token, const std::string& name, std::int64_t gen) {
    return hmac_hex(api_token, "member-token:" + name + ":" + std::to_string(gen));
}

std::string member_token(std::string_view api_token, const std::string& name, std::int64_t gen) {
    return name + "." + std::to_string(gen) + "." + token_mac(api_token, name, gen);
}
} // namespace

std::string Members::issue_token(std::string_view name, std::string_view api_token) {
    std::string n = normalise_name(name);
    auto gen = rows_->bump_token(n);
    must_exist(gen.has_value(), n);
    return member_token(api_token, n, *gen);
}

std::optional<std::string> Members::current_token(std::string_view name, std::string_view api_token) const {
    auto m = find(name);
    if (!m || m->token_generation == 0) return std::nullopt;
    return member_token(api_token, m->name, m->token_generation);
}

std::optional<Member> Members::by_token(std::string_view token, std::string_view api_token) const {
    // NAME.GEN.MAC: split from the right, a name may contain dots.
    auto last = token.rfind('.');
    if (last == std::string_view::npos || last == 0) return std::nullopt;
    auto mid = token.rfind('.', last - 1);
    if (mid == std::string_view::npos || mid == 0) return std::nullopt;
    std::string_view gen_s = token.substr(mid + 1, last - mid - 1), mac = token.substr(last + 1);
    if (gen_s.empty() || gen_s.size() > 12) return std::nullopt;
    std::int64_t gen = 0;
    for (char c : gen_s) {
        if (c < '0' || c > '9') return std::nullopt;
        gen = gen * 10 + (c - '0');
    }
    auto m = find(token.substr(0, mid));
    if (!m || m->token_generation == 0 || m->token_generation != gen) return std::nullopt;
    if (!same_secret(mac, token_mac(api_token, m->name, gen))) return std::nullopt;
    return m;
}

} // namespace rapport::daemon
