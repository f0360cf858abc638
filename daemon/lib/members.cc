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

std::string_view to_string(Role r) { return r == Role::adviser ? "adviser" : "member"; }

std::optional<Role> parse_role(std::string_view s) {
    if (s == "member") return Role::member;
    if (s == "adviser") return Role::adviser;
    return std::nullopt;
}

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

Members::Members(const std::string& state_dir) {
    init_sodium();
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

Members::~Members() { sqlite3_close(db_); }

void Members::add(std::string_view name, std::string_view password, std::string_view group, Role role) {
    std::string n = normalise_name(name);
    check_group(group);
    if (password.size() < kMinPassword)
        throw MemberError("the password needs at least " + std::to_string(kMinPassword) + " characters");
    std::string hash = hash_password(password); // slow: outside the lock
    std::lock_guard lk(mu_);
    if (find_locked(n)) throw MemberError("there is already a member called " + n);
    Stmt(db_, "INSERT INTO members (name, hash, grp, role, created) VALUES (?, ?, ?, ?, ?)")
        .bind(1, n).bind(2, hash).bind(3, group).bind(4, to_string(role))
        .bind(5, static_cast<std::int64_t>(std::time(nullptr))).step();
}

bool Members::remove(std::string_view name) {
    std::string n = normalise_name(name);
    std::lock_guard lk(mu_);
    Stmt(db_, "DELETE FROM members WHERE name = ?").bind(1, n).step();
    return sqlite3_changes(db_) > 0;
}

void Members::set_password(std::string_view name, std::string_view password) {
    std::string n = normalise_name(name);
    if (password.size() < kMinPassword)
        throw MemberError("the password needs at least " + std::to_string(kMinPassword) + " characters");
    std::string hash = hash_password(password);
    std::lock_guard lk(mu_);
    Stmt(db_, "UPDATE members SET hash = ? WHERE name = ?").bind(1, hash).bind(2, n).step();
    if (sqlite3_changes(db_) == 0) throw MemberError("there is no member called " + n);
}

void Members::set_group(std::string_view name, std::string_view group) {
    std::string n = normalise_name(name);
    check_group(group);
    std::lock_guard lk(mu_);
    Stmt(db_, "UPDATE members SET grp = ? WHERE name = ?").bind(1, group).bind(2, n).step();
    if (sqlite3_changes(db_) == 0) throw MemberError("there is no member called " + n);
}

void Members::set_role(std::string_view name, Role role) {
    std::string n = normalise_name(name);
    std::lock_guard lk(mu_);
    Stmt(db_, "UPDATE members SET role = ? WHERE name = ?").bind(1, to_string(role)).bind(2, n).step();
    if (sqlite3_changes(db_) == 0) throw MemberError("there is no member called " + n);
}

void Members::set_language(std::string_view name, std::string_view language) {
    std::string n = normalise_name(name);
    auto lang = policies::parse_language_setting(language);
    if (!lang) throw MemberError("a language is " + policies::language_setting_choices());
    std::lock_guard lk(mu_);
    Stmt(db_, "UPDATE members SET lang = ? WHERE name = ?").bind(1, *lang).bind(2, n).step();
    if (sqlite3_changes(db_) == 0) throw MemberError("there is no member called " + n);
}

std::optional<Member> Members::find_locked(const std::string& name) const {
    Stmt s(db_, (std::string("SELECT ") + kCols + " FROM members WHERE name = ?").c_str());
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return read_member(s);
}

std::optional<Member> Members::find(std::string_view name) const {
    std::string n;
    try {
        n = normalise_name(name);
    } catch (const MemberError&) {
        return std::nullopt;
    }
    std::lock_guard lk(mu_);
    return find_locked(n);
}

std::vector<Member> Members::list() const {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT ") + kCols + " FROM members ORDER BY name").c_str());
    std::vector<Member> out;
    while (s.step()) out.push_back(read_member(s));
    return out;
}

bool Members::empty() const {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT EXISTS(SELECT 1 FROM members)");
    return !s.step() || s.i64(0) == 0;
}

std::optional<Member> Members::verify(std::string_view name, std::string_view password) const {
    std::string hash;
    std::optional<Member> who;
    try {
        std::string n = normalise_name(name);
        std::lock_guard lk(mu_);
        Stmt s(db_, (std::string("SELECT ") + kCols + ", hash FROM members WHERE name = ?").c_str());
        s.bind(1, n);
        if (s.step()) {
            who = read_member(s);
            hash = s.text(6);
        }
    } catch (const MemberError&) {
    }
    if (hash.empty()) {
        // Same work for an unknown name as for a known one, the first time
        // too (a hash made on first use would cost a second argon2id run):
        // a fixed hash with the interactive limits, of a random password
        // nobody knows.
        password_matches(kDummyHash, password);
        return std::nullopt;
    }
    if (!password_matches(hash, password)) return std::nullopt;
    return who;
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
    std::lock_guard lk(mu_);
    Stmt(db_, "UPDATE members SET token_generation = token_generation + 1 WHERE name = ?").bind(1, n).step();
    if (sqlite3_changes(db_) == 0) throw MemberError("there is no member called " + n);
    return member_token(api_token, n, find_locked(n)->token_generation);
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
