// members.h - the job club's members: who may send through rapportd.
//
//   Members m(state_dir);                      // <state>/members.db, mode 0600
//   m.add("amira", "pass phrase", "new", Role::member);
//   if (auto who = m.verify("amira", "pass phrase")) ...   // slow on purpose
//
// A member logs in to SMTP (AUTH PLAIN/LOGIN over TLS) and to the held-mail
// page with a name and a password. Their mail is kept under their name: the
// sending history, the template memory, held mail and statistics belong to
// the member, not to the From address, because everyone in a club may send
// as the shared jobclub@ address.
//
// Passwords are stored only as argon2id hashes (libsodium crypto_pwhash_str,
// "interactive" limits: about 64 MiB and a few tens of milliseconds per
// check, which is what makes guessing expensive). verify() therefore must
// not run on a network thread; rapportd runs it on a thread of its own.
//
// Roles: a "member" sees and decides about their own mail only; an
// "adviser" sees everyone's. Groups pick the policy ([groups.NAME] in the
// policy file); "" means the policy's main rules. A member's language
// ("auto", or en, fr, de, es, pl) is the one Rapport coaches them in, over
// the daemon's [coach] language, and the page's language for them.
//
// API tokens for a member's mail client add-on are not stored: a token is
// NAME.GENERATION.MAC with MAC = HMAC-SHA256(the daemon's API token,
// "member-token:NAME:GENERATION"), so the daemon can check it without a
// table of secrets, and `rapportctl member token NAME` (which bumps the
// generation) revokes the previous one.
//
// The database is opened per call site (rapportctl in one process, the
// daemon in another), so a member added while rapportd runs can log in at
// once. Thread-safe.

#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace rapport::daemon {

enum class Role { member, adviser };
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

struct Member {
    std::string name;   // lower case; the SMTP AUTH name and the account key
    std::string group;  // policy group; "" = the main rules
    Role role = Role::member;
    std::int64_t created = 0;
    std::int64_t token_generation = 0; // 0: no add-on token issued yet
    std::string language = "auto";     // findings and page: "auto" or a language (policies/language.h)
};

struct MemberError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Members {
public:
    explicit Members(const std::string& state_dir); // throws std::runtime_error
    ~Members();
    Members(const Members&) = delete;
    Members& operator=(const Members&) = delete;

    // Names: 1-64 characters of letters, digits and . _ @ + - (an e-mail
    // address works); case-insensitive. Passwords: at least kMinPassword
    // characters. Throws MemberError with a sentence for the adviser.
    static constexpr std::size_t kMinPassword = 8;
    static std::string normalise_name(std::string_view name); // throws MemberError
    static void check_group(std::string_view group);           // throws MemberError

    void add(std::string_view name, std::string_view password, std::string_view group, Role role);
    bool remove(std::string_view name);   // false when there is no such member
    void set_password(std::string_view name, std::string_view password);
    void set_group(std::string_view name, std::string_view group);
    void set_role(std::string_view name, Role role);
    // "auto" or a language Rapport speaks; throws MemberError otherwise.
    void set_language(std::string_view name, std::string_view language);
    std::optional<Member> find(std::string_view name) const;
    std::vector<Member> list() const;
    bool empty() const;

    // The member when `password` is theirs. Takes as long for an unknown
    // name as for a wrong password, so timing does not tell who is a member.
    std::optional<Member> verify(std::string_view name, std::string_view password) const;

    // A new add-on token for `name` (the old one stops working).
    std::string issue_token(std::string_view name, std::string_view api_token);
    // The member's current add-on token (what issue_token last returned).
    std::optional<std::string> current_token(std::string_view name, std::string_view api_token) const;
    // The member a token belongs to, if it is current.
    std::optional<Member> by_token(std::string_view token, std::string_view api_token) const;

private:
    std::optional<Member> find_locked(const std::string& name) const;
    mutable std::mutex mu_;
    sqlite3* db_ = nullptr;
};

// Hashes a password with argon2id (libsodium's encoded "$argon2id$..." form).
std::string hash_password(std::string_view password);
bool password_matches(std::string_view encoded_hash, std::string_view password);

} // namespace rapport::daemon
